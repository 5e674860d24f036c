"""Alembic migrations of each system, run in-process.

The migration scripts live in ``migrations/{system}/versions``. Both systems share one
``env.py`` shape; the target metadata is handed in by the caller (only for autogenerate), so
storage never imports a system's rows.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(
    system: str, connection: sa.Connection, metadata: sa.MetaData | None = None
) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR / system))
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", str(MIGRATIONS_DIR / system / "versions"))
    config.attributes["connection"] = connection
    config.attributes["target_metadata"] = metadata
    return config


def upgrade(engine: Engine, system: str) -> None:
    """Bring ``engine``'s database to the newest schema of ``system``."""
    with engine.begin() as connection:
        command.upgrade(alembic_config(system, connection), "head")


def is_current(engine: Engine, system: str) -> bool:
    """Whether the database is at the newest migration of ``system``."""
    with engine.connect() as connection:
        config = alembic_config(system, connection)
        head = ScriptDirectory.from_config(config).get_current_head()
        current = MigrationContext.configure(connection).get_current_revision()
    return current == head


def make_revision(engine: Engine, system: str, metadata: sa.MetaData, message: str) -> None:
    """Autogenerate a migration from the difference between ``metadata`` and the database."""
    with engine.begin() as connection:
        config = alembic_config(system, connection, metadata)
        command.revision(config, message=message, autogenerate=True)
