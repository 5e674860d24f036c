from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase

from expressway.storage.declarative import TYPE_ANNOTATION_MAP, system_metadata


class WorkforceBase(DeclarativeBase):
    """The workforce IdP's tables: a metadata of their own, never shared with the tenant's."""

    metadata = system_metadata()
    type_annotation_map = TYPE_ANNOTATION_MAP


def org_fk() -> sa.ForeignKey:
    """Every org-owned row names its org; deleting an org deletes everything it owns."""
    return sa.ForeignKey("orgs.id", ondelete="CASCADE")
