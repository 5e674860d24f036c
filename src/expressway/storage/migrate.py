"""Alembic migrations of each system, run in-process.

The migration scripts live in ``migrations/{system}/versions``. Both systems share one
``env.py`` shape; the target metadata is handed in by the caller (only for autogenerate), so
storage never imports a system's rows.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

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


def _lock_key(name: str) -> int:
    """A PostgreSQL advisory lock key: a stable signed 64-bit number, the same in every process
    and release."""
    digest = hashlib.sha256(f"expressway:{name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def migration_lock_key(system: str) -> int:
    """The advisory lock key of ``system``'s migrations."""
    return _lock_key(f"migrate:{system}")


def bootstrap_lock_key(system: str) -> int:
    """The advisory lock key of ``system``'s bootstrap (``init``, and ``serve``'s start)."""
    return _lock_key(f"bootstrap:{system}")


def hold_bootstrap_lock(session: Session, system: str) -> None:
    """Let one bootstrap of ``system`` at a time make what a new database needs: on PostgreSQL,
    take an advisory lock that ends with ``session``'s transaction, so a second replica starting
    at once waits, then finds everything made (without it, both would make the signing keys and
    one would fail on the settings row). SQLite needs none: its write transactions already
    begin with ``BEGIN IMMEDIATE``, one at a time."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": bootstrap_lock_key(system)}
        )


def upgrade(engine: Engine, system: str) -> None:
    """Bring ``engine``'s database to the newest schema of ``system``.

    Safe when several replicas start at once: on PostgreSQL the migration's transaction first
    takes an advisory lock of its own, so the upgrades run one after the other and each one after
    the first finds the schema current (without it, all but one would fail on the tables the
    first was making). The lock ends with the transaction. SQLite needs none: the engine begins
    every write transaction with ``BEGIN IMMEDIATE``, which already lets one writer in at a time.
    """
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": migration_lock_key(system)}
            )
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
