"""Statements on SQLite's own cursor (:mod:`expressway.storage.sqlite_driver`): the rows they
write read back through SQLAlchemy as if SQLAlchemy had written them, and a transaction fails as
the engine's would."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from expressway.storage.engine import NO_WAIT_OPTION, WriteLockTaken, make_engine
from expressway.storage.faults import database_fault
from expressway.storage.sqlite_driver import (
    KeptConnection,
    SqliteStatement,
    on_sqlite_driver,
    sqlite_transaction,
)
from expressway.storage.types import UTCDateTime


class _Base(DeclarativeBase):
    pass


class Event(_Base):
    __tablename__ = "driver_events"
    id: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    at: Mapped[datetime]
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
    note: Mapped[str | None]


EVENTS: sa.Table = Event.__table__  # type: ignore[assignment]

#: Two timestamps of Expressway's own type (UTC, aware), as the tenant's rows keep them.
STAMPS = sa.Table(
    "driver_stamps",
    _Base.metadata,
    sa.Column("id", sa.String(16), primary_key=True),
    sa.Column("created_at", UTCDateTime()),
    sa.Column("updated_at", UTCDateTime()),
)


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'driver.sqlite3'}")
    _Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


def _ids(engine: sa.Engine) -> list[str]:
    with Session(engine) as session:
        return list(session.scalars(sa.select(Event.id).order_by(Event.id)))


def test_rows_written_on_the_cursor_read_back_as_sqlalchemy_writes_them(
    engine: sa.Engine,
) -> None:
    at = datetime(2026, 11, 29, 19, 45, 1, 123456, tzinfo=UTC)
    insert = SqliteStatement(EVENTS.insert(), engine.dialect)
    rows = [
        {"id": "a", "at": at, "details": {"scope": "read:things", "n": [1, 2]}, "note": None},
        {"id": "b", "at": at, "details": {}, "note": "é\ufffd"},
    ]
    with sqlite_transaction(engine) as cursor:
        insert.execute_many(cursor, rows)
    with Session(engine) as session:
        session.execute(EVENTS.insert(), [{**rows[0], "id": "c"}, {**rows[1], "id": "d"}])
        session.commit()
        written = {
            event.id: (event.at, event.details, event.note)
            for event in session.scalars(sa.select(Event))
        }
        stored = dict(session.execute(sa.text("SELECT id, at FROM driver_events")).all())

    assert written["a"] == written["c"]
    assert written["b"] == written["d"]
    assert written["a"][1:] == (rows[0]["details"], None)
    assert written["b"][1:] == ({}, "é\ufffd")
    # Byte for byte as SQLAlchemy stores a datetime, so that comparisons in SQL order them.
    assert stored["a"] == stored["c"]


def test_a_select_binds_its_parameters_by_name(engine: sa.Engine) -> None:
    insert = SqliteStatement(EVENTS.insert(), engine.dialect)
    lookup = SqliteStatement(
        sa.select(EVENTS.c.note).where(EVENTS.c.id == sa.bindparam("wanted")), engine.dialect
    )
    with sqlite_transaction(engine) as cursor:
        insert.execute(cursor, {"id": "x", "at": datetime.now(UTC), "details": {}, "note": "n"})
        assert lookup.execute(cursor, {"wanted": "x"}).fetchone() == ("n",)
        assert lookup.execute(cursor, {"wanted": "y"}).fetchone() is None


def test_timestamps_are_stored_as_sqlalchemy_stores_them_whichever_came_before(
    engine: sa.Engine,
) -> None:
    """The processed form of a timestamp is kept for the next parameter holding the same one:
    a parameter holding another (even an equal one, or one in another zone) is processed."""
    now = datetime(2026, 12, 1, 5, 40, 1, 654321, tzinfo=UTC)
    later = datetime(2026, 12, 1, 5, 40, 2, tzinfo=UTC)
    same_instant = now.astimezone(timezone(timedelta(hours=-5)))
    rows = [
        {"id": "a", "created_at": now, "updated_at": now},
        {"id": "b", "created_at": now, "updated_at": later},
        {"id": "c", "created_at": later, "updated_at": same_instant},
        {"id": "d", "created_at": None, "updated_at": now},
    ]
    insert = SqliteStatement(STAMPS.insert(), engine.dialect)
    with sqlite_transaction(engine) as cursor:
        for row in rows:
            insert.execute(cursor, row)
    with Session(engine) as session:
        session.execute(STAMPS.insert(), [{**row, "id": row["id"] * 2} for row in rows])
        session.commit()
        stored = {
            row.id: (row.created_at, row.updated_at)
            for row in session.execute(sa.text("SELECT * FROM driver_stamps"))
        }
    for row in rows:
        assert stored[row["id"]] == stored[row["id"] * 2]
    assert stored["a"] == (stored["b"][0], stored["a"][0])
    assert stored["c"][1] == stored["a"][0]
    assert stored["b"][1] != stored["a"][0]
    with pytest.raises(ValueError, match="naive"), sqlite_transaction(engine) as cursor:
        insert.execute(
            cursor, {"id": "e", "created_at": now, "updated_at": now.replace(tzinfo=None)}
        )


def test_only_sqlite_statements_are_made() -> None:
    with pytest.raises(ValueError, match="SQLite"):
        SqliteStatement(EVENTS.insert(), postgresql.dialect())


def test_a_block_that_raises_keeps_nothing(engine: sa.Engine) -> None:
    insert = SqliteStatement(EVENTS.insert(), engine.dialect)

    def insert_then_fail() -> None:
        with sqlite_transaction(engine) as cursor:
            insert.execute(
                cursor, {"id": "gone", "at": datetime.now(UTC), "details": {}, "note": None}
            )
            raise RuntimeError("after the insert")

    with pytest.raises(RuntimeError):
        insert_then_fail()
    assert _ids(engine) == []
    # The connection went back to the pool with no transaction open: the next one writes.
    with sqlite_transaction(engine) as cursor:
        insert.execute(cursor, {"id": "kept", "at": datetime.now(UTC), "details": {}, "note": None})
    assert _ids(engine) == ["kept"]


def test_a_driver_error_comes_out_as_sqlalchemys_and_keeps_nothing(engine: sa.Engine) -> None:
    insert = SqliteStatement(EVENTS.insert(), engine.dialect)
    row = {"id": "same", "at": datetime.now(UTC), "details": {}, "note": None}

    def insert_twice() -> None:
        with sqlite_transaction(engine) as cursor:
            insert.execute(cursor, {**row, "id": "first"})
            insert.execute(cursor, row)
            insert.execute(cursor, row)

    with pytest.raises(sa_exc.IntegrityError) as raised:
        insert_twice()
    assert isinstance(raised.value.orig, sqlite3.IntegrityError)
    assert database_fault(raised.value) is None, "a constraint is not a fault of the database"
    assert _ids(engine) == []


def test_a_database_held_by_another_writer_is_a_fault_of_the_database(tmp_path: Path) -> None:
    path = tmp_path / "busy.sqlite3"
    # The engine's busy timeout is 30 s; this one gives up at once, as the engine would then.
    engine = sa.create_engine(
        f"sqlite:///{path}", connect_args={"timeout": 0.05, "isolation_level": None}
    )
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("PRAGMA journal_mode=WAL")
        holder.execute("CREATE TABLE t (x)")
        holder.execute("BEGIN IMMEDIATE")
        with pytest.raises(sa_exc.OperationalError) as raised, sqlite_transaction(engine):
            pass
    finally:
        holder.close()
        engine.dispose()
    fault = database_fault(raised.value)
    assert fault is not None
    assert fault.kind == "unavailable"


def test_a_read_only_file_drops_the_connection_from_the_pool(engine: sa.Engine) -> None:
    with sqlite_transaction(engine) as cursor:
        first = cursor.connection
    read_only = sqlite3.OperationalError("attempt to write a readonly database")
    read_only.sqlite_errorcode = 8  # type: ignore[attr-defined]

    def write_to_a_read_only_file() -> None:
        with sqlite_transaction(engine) as cursor:
            assert cursor.connection is first, "the pool lends its one idle connection"
            raise read_only

    with pytest.raises(sa_exc.OperationalError) as raised:
        write_to_a_read_only_file()
    assert raised.value.connection_invalidated
    fault = database_fault(raised.value)
    assert fault is not None
    assert fault.kind == "read_only"
    with sqlite_transaction(engine) as cursor:
        assert cursor.connection is not first, "a connection that found the file read-only"


def test_only_engines_on_pythons_sqlite3_module_take_this_path(engine: sa.Engine) -> None:
    assert on_sqlite_driver(engine)
    # Made, not connected: create_engine opens nothing.
    assert not on_sqlite_driver(sa.create_engine("postgresql+psycopg://127.0.0.1/none"))


def _row(row_id: str) -> dict[str, Any]:
    return {"id": row_id, "at": datetime.now(UTC), "details": {}, "note": None}


def _busy_timeout(cursor: sqlite3.Cursor) -> int:
    value: int = cursor.execute("PRAGMA busy_timeout").fetchone()[0]
    return value


def test_a_kept_connection_does_not_wait_for_the_write_lock(engine: sa.Engine) -> None:
    """While another connection holds the write lock, a transaction on the kept connection is
    refused at once (not after the 30 s busy timeout) and writes nothing; once the lock is free
    it commits, on the same connection, which waits for locks as usual again afterwards."""
    insert = SqliteStatement(EVENTS.insert(), engine.dialect)
    kept = KeptConnection(engine)
    holder = sqlite3.connect(engine.url.database or "", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        with pytest.raises(WriteLockTaken), kept.transaction() as cursor:
            insert.execute(cursor, _row("x"))
        assert time.monotonic() - started < 1
        holder.rollback()

        with kept.transaction() as cursor:
            first = cursor.connection
            assert _busy_timeout(cursor) == 30_000
            insert.execute(cursor, _row("y"))
        with kept.transaction() as cursor:
            assert cursor.connection is first
        assert engine.pool.checkedout() == 1  # type: ignore[attr-defined]
    finally:
        holder.close()
        kept.close()
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    assert _ids(engine) == ["y"]


def test_a_kept_connection_that_found_the_file_read_only_is_replaced(engine: sa.Engine) -> None:
    kept = KeptConnection(engine)
    with kept.transaction() as cursor:
        first = cursor.connection
    read_only = sqlite3.OperationalError("attempt to write a readonly database")
    read_only.sqlite_errorcode = 8  # type: ignore[attr-defined]
    with pytest.raises(sa_exc.OperationalError), kept.transaction():
        raise read_only
    with kept.transaction() as cursor:
        assert cursor.connection is not first
    kept.close()
    with pytest.raises(ValueError, match="SQLite's own driver"):
        KeptConnection(sa.create_engine("postgresql+psycopg://localhost/none"))


def test_a_session_that_may_not_wait_is_refused_at_once_and_rolls_back_nothing(
    engine: sa.Engine,
) -> None:
    """A session on a connection with the no-wait option (what the event loop uses for a SCIM
    create) gets :class:`WriteLockTaken` at its first statement, at once, while another
    connection holds the write lock; the connection it used waits for locks as usual after."""
    no_wait = engine.execution_options(**{NO_WAIT_OPTION: True})
    holder = sqlite3.connect(engine.url.database or "", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        started = time.monotonic()
        with pytest.raises(WriteLockTaken), Session(no_wait) as session:
            session.execute(EVENTS.insert(), _row("x"))
        assert time.monotonic() - started < 1
        holder.rollback()

        with Session(no_wait) as session:
            session.execute(EVENTS.insert(), _row("y"))
            session.commit()
        with engine.connect() as connection:
            driver = connection.connection.driver_connection
            assert isinstance(driver, sqlite3.Connection)
            assert _busy_timeout(driver.cursor()) == 30_000
    finally:
        holder.close()
    assert engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    assert _ids(engine) == ["y"]


def test_temporary_data_is_kept_in_memory(engine: sa.Engine) -> None:
    """Savepoints' journals (a batch of SCIM creates) and sorts never become files."""
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA temp_store").scalar() == 2
