"""Alembic migrations of each system, run in-process.

The migration scripts live in ``migrations/{system}/versions``. Both systems share one
``env.py`` shape; the target metadata is handed in by the caller (only for autogenerate), so
storage never imports a system's rows.

Every ``serve`` and ``init`` starts with :func:`upgrade`, which almost always finds nothing to
do. Alembic is imported only when there is something to do: imported and run, it stayed in the
serving process for good, 10.4 MB of its resident memory (a tenant on a current database,
122.1 MB before ``initialise_tenant`` and 132.5 MB after, against 122.1 MB with the check below).
"""

from __future__ import annotations

import ast
import functools
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
#: Alembic's table of the revisions a database is at (one row per head).
VERSION_TABLE = "alembic_version"


def alembic_config(
    system: str, connection: sa.Connection, metadata: sa.MetaData | None = None
) -> Config:
    from alembic.config import Config

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
    if is_at_heads(engine, system):
        return
    from alembic import command

    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(
                sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": migration_lock_key(system)}
            )
        command.upgrade(alembic_config(system, connection), "head")


def is_at_heads(engine: Engine, system: str) -> bool:
    """Whether the database is stamped with exactly the newest revisions of ``system``'s
    scripts, told without importing Alembic. False whenever it cannot tell (no version table,
    scripts it cannot read), so that :func:`upgrade` asks Alembic."""
    heads = script_heads(system)
    if not heads:
        return False
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table(VERSION_TABLE):
            return False
        stamped = connection.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}"))  # noqa: S608 - a constant
        return frozenset(stamped.scalars()) == heads


@functools.cache
def script_heads(system: str) -> frozenset[str]:
    """The revisions of ``system``'s migration scripts that no other script revises: what
    Alembic's ``ScriptDirectory.get_heads()`` answers (a test holds them equal), read from each
    script's ``revision`` and ``down_revision`` assignments. Empty when a script has a form this
    reading does not know, which :func:`is_at_heads` takes for "cannot tell"."""
    revisions: set[str] = set()
    revised: set[str] = set()
    for script in sorted((MIGRATIONS_DIR / system / "versions").glob("*.py")):
        values = _assignments(script)
        revision, down = values.get("revision"), values.get("down_revision", ...)
        if not isinstance(revision, str) or down is ...:
            return frozenset()
        if isinstance(down, str):
            down = (down,)
        if not (
            down is None or (isinstance(down, tuple) and all(isinstance(d, str) for d in down))
        ):
            return frozenset()
        revisions.add(revision)
        revised.update(down or ())
    return frozenset(revisions - revised)


def _assignments(script: Path) -> dict[str, object]:
    """The constant values a module assigns at its top level, by name."""
    values: dict[str, object] = {}
    for node in ast.parse(script.read_text(encoding="utf-8")).body:
        targets: list[ast.expr]
        if isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        elif isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        else:
            continue
        try:
            constant = ast.literal_eval(value)
        except (ValueError, TypeError, SyntaxError, RecursionError):
            continue
        for target in targets:
            if isinstance(target, ast.Name):
                values[target.id] = constant
    return values


def is_current(engine: Engine, system: str) -> bool:
    """Whether the database is at the newest migration of ``system``, as Alembic tells."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    with engine.connect() as connection:
        config = alembic_config(system, connection)
        head = ScriptDirectory.from_config(config).get_current_head()
        current = MigrationContext.configure(connection).get_current_revision()
    return current == head


def make_revision(engine: Engine, system: str, metadata: sa.MetaData, message: str) -> None:
    """Autogenerate a migration from the difference between ``metadata`` and the database."""
    from alembic import command

    with engine.begin() as connection:
        config = alembic_config(system, connection, metadata)
        command.revision(config, message=message, autogenerate=True)
