"""Throwaway databases for tests: a SQLite file, or a uniquely named PostgreSQL database.

PostgreSQL is found at ``EXPRESSWAY_TEST_POSTGRES_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``, trust auth); each test session makes its
own database there and drops it afterwards.
"""

from __future__ import annotations

import os
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa

from expressway import hashing

POSTGRES_ADMIN_URL = os.environ.get(
    "EXPRESSWAY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


def postgres_unreachable_reason() -> str | None:
    """Why PostgreSQL cannot be used, or None when it can."""
    try:
        engine = sa.create_engine(POSTGRES_ADMIN_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        return f"no PostgreSQL reachable at {POSTGRES_ADMIN_URL}: {type(exc).__name__}: {exc}"
    return None


@contextmanager
def postgres_database() -> Iterator[str]:
    """A fresh, uniquely named PostgreSQL database, dropped on exit."""
    name = f"expressway_test_{secrets.token_hex(6)}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(POSTGRES_ADMIN_URL).set(database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def require_postgres() -> None:
    """Skip the test when no PostgreSQL is reachable; fail it instead when
    ``EXPRESSWAY_REQUIRE_POSTGRES`` is set (CI must not pass by skipping the PostgreSQL half)."""
    reason = postgres_unreachable_reason()
    if reason:
        if os.environ.get("EXPRESSWAY_REQUIRE_POSTGRES"):
            pytest.fail(f"EXPRESSWAY_REQUIRE_POSTGRES is set, but {reason}")
        pytest.skip(reason)


@contextmanager
def fresh_database(backend: str, directory: Path) -> Iterator[str]:
    """The URL of an empty database of ``backend`` (``sqlite``: a file in ``directory``;
    ``postgresql``: a new database, dropped on exit, see :func:`require_postgres`)."""
    if backend == "sqlite":
        yield sqlite_url(directory)
        return
    require_postgres()
    with postgres_database() as url:
        yield url


def sqlite_url(directory: Path) -> str:
    return f"sqlite:///{directory / 'tenant.db'}"


def sqlite_write_lock_is_free(database: str) -> bool:
    """Whether another connection to the SQLite file ``database`` can take its write lock at
    once (``BEGIN IMMEDIATE`` without waiting); it is given back at once."""
    other = sqlite3.connect(database, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
    except sqlite3.OperationalError:
        return False
    finally:
        other.close()
    return True


def write_lock_at_password_checks(monkeypatch: pytest.MonkeyPatch, database: str) -> list[bool]:
    """From now on, at each password check (:func:`expressway.hashing.verify_password`),
    whether the SQLite file's write lock was free: the list returned grows with each check."""
    lock_was_free: list[bool] = []
    verify = hashing.verify_password

    def verify_while_trying_the_lock(stored: str, password: str) -> bool:
        lock_was_free.append(sqlite_write_lock_is_free(database))
        return verify(stored, password)

    monkeypatch.setattr(hashing, "verify_password", verify_while_trying_the_lock)
    return lock_was_free


@contextmanager
def statements_on(engine: sa.Engine) -> Iterator[list[str]]:
    """Every statement ``engine`` runs while the block runs, in order."""
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)
