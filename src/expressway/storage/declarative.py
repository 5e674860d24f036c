"""What both systems' declarative bases share: constraint names Alembic can diff, and the column
types that behave the same on SQLite and PostgreSQL. Each system still has its own metadata, so
their tables never mix."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from expressway.storage.types import JSONType, UTCDateTime

#: Deterministic constraint names, so that migrations name (and can later drop) what they make.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

TYPE_ANNOTATION_MAP: dict[Any, Any] = {
    datetime: UTCDateTime(),
    dict[str, Any]: JSONType,
    list[Any]: JSONType,
}


def system_metadata() -> sa.MetaData:
    """A new metadata for one system's tables."""
    return sa.MetaData(naming_convention=NAMING_CONVENTION)
