"""Statements run on SQLite's own cursor, for the few writes too frequent for SQLAlchemy's
execution machinery.

On SQLite a small statement takes the library a few microseconds, so what a transaction costs is
mostly what SQLAlchemy does around each statement: the session, the execution context, the
parameters' processing, the result's wrapping. For the token endpoint's batched writes (read the
throttling counters, record each ``jti``, insert the log events, commit), a batch of one took
769-910 µs through a session against 342-432 µs on the driver's cursor, and the token endpoint
served 765 against 892 tokens a second on average over three alternating runs each (16
connections, two processes, ``bench/token_endpoint.py``'s set-up; the writer thread holds the
interpreter lock for less of the time, so the event loop gets more of it).

SQLAlchemy still does everything but run the statement: :class:`SqliteStatement` is a Core
statement compiled once by SQLAlchemy for the engine's dialect, whose parameters go through the
same bind processors (a ``datetime`` stored as SQLAlchemy stores it, a JSON column serialised as
SQLAlchemy serialises it), and :func:`sqlite_transaction` keeps the engine's rules: ``BEGIN
IMMEDIATE``, a driver error raised as SQLAlchemy's (so :func:`expressway.storage.faults.
database_fault` reads it), a connection that found its file read-only dropped from the pool.
Everything else in Expressway uses sessions; use this only where a profile shows the need.

:class:`SessionStatement` is the same for a statement of a session's transaction (a SCIM
create's reads and inserts, its log event, a lookup's reads): it runs on the cursor of the
session's own connection, after what the session would do first (begin the transaction, flush
pending changes), and tells the in-process caches of the table it wrote
(:mod:`~expressway.storage.table_writes`); on PostgreSQL it is ``session.execute``.

:class:`KeptConnection` is for a writer that must not wait, because it runs on the event loop:
it checks one connection out of the pool at its first transaction and keeps it (so it does not
wait for the pool after that), and its transactions begin only if the write lock is free
(:class:`~expressway.storage.engine.WriteLockTaken` otherwise, at once, for the caller to do
the write where waiting is harmless: a thread).
"""

from __future__ import annotations

import contextlib
import sqlite3
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql.compiler import SQLCompiler

from expressway.storage.engine import as_sqlalchemy_error, begin_immediate_now, is_read_only_error
from expressway.storage.table_writes import note_write
from expressway.storage.types import UTCDateTime

#: What a :class:`SessionStatement` runs.
Statement = sa.Insert | sa.Update | sa.Delete | sa.Select[*tuple[Any, ...]]


def on_sqlite_driver(engine: Engine | sa.Connection) -> bool:
    """Whether ``engine`` (or a connection) is on SQLite through Python's own ``sqlite3``
    module, which this module drives."""
    return engine.dialect.name == "sqlite" and engine.dialect.driver == "pysqlite"


class SqliteStatement:
    """A Core statement compiled once for ``dialect`` (SQLite's, whose parameters are
    positional), run with :meth:`execute` on a cursor of :func:`sqlite_transaction`."""

    def __init__(self, statement: sa.ClauseElement, dialect: Dialect) -> None:
        if dialect.name != "sqlite":
            raise ValueError(f"a SqliteStatement needs SQLite's dialect, not {dialect.name}")
        compiled = statement.compile(dialect=dialect)
        if not isinstance(compiled, SQLCompiler) or compiled.positiontup is None:
            raise ValueError("the dialect's parameters must be positional")
        self.sql = compiled.string
        #: Each parameter's name, in order, with the processor SQLAlchemy applies to its value.
        self._parameters: list[tuple[str, Callable[[Any], Any] | None]] = [
            (name, _bind_processor(compiled.binds[name].type, dialect))
            for name in compiled.positiontup
        ]
        #: For a ``SELECT``, the processor SQLAlchemy applies to each column's value read (a
        #: ``datetime``, a JSON document, a boolean); None when no column has one.
        processors = (
            [
                column.type.dialect_impl(dialect).result_processor(dialect, None)
                for column in statement.selected_columns
            ]
            if isinstance(statement, sa.Select)
            else []
        )
        self._row_processors = processors if any(processors) else None
        #: The values the statement holds itself (a ``LIMIT``'s, a literal compared with).
        self._own_values = {
            name: bind.effective_value
            for name, bind in compiled.binds.items()
            if not bind.required and name in compiled.positiontup
        }

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        """The driver's parameters for ``values`` (each by its bind name), processed."""
        if self._own_values:
            values = self._own_values | dict(values)
        # A list made first: a fifth faster than a generator (a SCIM create passes 70 values).
        return tuple(
            [
                process(values[name]) if process is not None else values[name]
                for name, process in self._parameters
            ]
        )

    def execute(self, cursor: sqlite3.Cursor, values: Mapping[str, Any]) -> sqlite3.Cursor:
        return cursor.execute(self.sql, self.parameters(values))

    def rows(self, cursor: sqlite3.Cursor, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """:meth:`execute`, then its rows, each value as SQLAlchemy would read it."""
        rows: list[tuple[Any, ...]] = self.execute(cursor, values).fetchall()
        processors = self._row_processors
        if processors is None:
            return rows
        return [
            tuple(
                value if process is None or value is None else process(value)
                for process, value in zip(processors, row, strict=True)
            )
            for row in rows
        ]

    def execute_many(self, cursor: sqlite3.Cursor, rows: Sequence[Mapping[str, Any]]) -> None:
        cursor.executemany(self.sql, [self.parameters(values) for values in rows])


class _LastTimestamp:
    """A timestamp's stored form, kept for the next parameter that holds the same ``datetime``
    object: a request stamps the rows it writes with one ``now`` (a SCIM create passes it six
    times), and SQLAlchemy's processing of a timestamp takes 1.5 µs. Shared by every statement
    on one dialect; the pair is replaced whole, so a thread reads either the old or the new."""

    __slots__ = ("_last", "_process")

    def __init__(self, process: Callable[[Any], Any]) -> None:
        self._process = process
        self._last: tuple[Any, Any] = (None, None)

    def __call__(self, value: Any) -> Any:
        seen, stored = self._last
        if value is seen and value is not None:
            return stored
        stored = self._process(value)
        self._last = (value, stored)
        return stored


#: Each dialect's :class:`_LastTimestamp`.
_timestamps: weakref.WeakKeyDictionary[Dialect, _LastTimestamp] = weakref.WeakKeyDictionary()


def _bind_processor(
    type_: sa.types.TypeEngine[Any], dialect: Dialect
) -> Callable[[Any], Any] | None:
    """The processor SQLAlchemy applies to a parameter of ``type_``; a timestamp's keeps the
    last one it processed (:class:`_LastTimestamp`)."""
    process = type_.dialect_impl(dialect).bind_processor(dialect)
    if process is None or not isinstance(type_, UTCDateTime):
        return process
    kept = _timestamps.get(dialect)
    if kept is None:
        kept = _timestamps[dialect] = _LastTimestamp(process)
    return kept


@contextmanager
def sqlite_transaction(engine: Engine) -> Iterator[sqlite3.Cursor]:
    """A cursor in a write transaction (``BEGIN IMMEDIATE``, as the engine begins one) on a
    connection of ``engine``'s pool: committed when the block ends normally, rolled back when it
    raises. A driver error comes out as SQLAlchemy's own exception for it."""
    pooled = engine.raw_connection()
    try:
        with _transaction(pooled, engine, wait=True) as cursor:
            yield cursor
    finally:
        pooled.close()


class KeptConnection:
    """One connection of ``engine``'s pool, held for transactions that must not wait: checked
    out at the first, kept until :meth:`close` (or until it is invalidated, then replaced)."""

    def __init__(self, engine: Engine) -> None:
        if not on_sqlite_driver(engine):
            raise ValueError("a KeptConnection needs an engine on SQLite's own driver")
        self.engine = engine
        self._pooled: PoolProxiedConnection | None = None

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Cursor]:
        """:func:`sqlite_transaction`, begun only if no other connection holds the write lock:
        :class:`~expressway.storage.engine.WriteLockTaken` at once if one does."""
        if self._pooled is None or not self._pooled.is_valid:
            self.close()
            self._pooled = self.engine.raw_connection()
        with _transaction(self._pooled, self.engine, wait=False) as cursor:
            yield cursor

    def close(self) -> None:
        """Give the connection back to the pool."""
        if self._pooled is not None:
            pooled, self._pooled = self._pooled, None
            pooled.close()


@contextmanager
def _transaction(
    pooled: PoolProxiedConnection, engine: Engine, *, wait: bool
) -> Iterator[sqlite3.Cursor]:
    invalidated = False
    try:
        connection = pooled.driver_connection
        if not isinstance(connection, sqlite3.Connection):
            raise TypeError("sqlite_transaction needs an engine on SQLite's own driver")
        cursor = connection.cursor()
        try:
            if wait:
                cursor.execute("BEGIN IMMEDIATE")
            else:
                begin_immediate_now(cursor)
            yield cursor
            cursor.execute("COMMIT")
        except BaseException as exc:
            if connection.in_transaction:
                # The error that matters is the first one, not the rollback's.
                with contextlib.suppress(sqlite3.Error):
                    connection.rollback()
            if not isinstance(exc, sqlite3.Error):
                raise
            # As the engine's handle_error does: a file opened read-only stays so for the
            # connection's life, so the next transaction must have a new connection.
            invalidated = is_read_only_error(exc)
            raise as_sqlalchemy_error(exc, engine.dialect) from exc
        finally:
            cursor.close()
    finally:
        if invalidated:
            pooled.invalidate()


class SessionStatement:
    """A Core statement run in a session's transaction: on SQLite's own driver, on the cursor of
    the session's connection (a :class:`SqliteStatement`, compiled once for the engine's
    dialect); on any other database, by ``session.execute``.

    For the statements of the SCIM server's most frequent requests (a create, a lookup),
    SQLAlchemy's work around each statement (the session's execution, the execution context, the
    result, the ORM's loading) cost several times SQLite's own. What the session would do around
    the statement is done here: the transaction is begun by the session as the engine's rules
    say (``session.connection()``), pending changes of the unit of work are flushed first, the
    written table's :class:`~expressway.storage.table_writes.TableWrites` counters are told, and
    a driver error comes out as SQLAlchemy's exception for it, a connection that found its file
    read-only dropped from the pool; rows come back with each value as SQLAlchemy reads it.
    Engine events of each statement (``before_cursor_execute``) do not fire."""

    def __init__(self, statement: Statement) -> None:
        self.statement = statement
        table = None if isinstance(statement, sa.Select) else statement.table
        #: The table an ``INSERT``/``UPDATE``/``DELETE`` writes.
        self.table: str | None = table.name if isinstance(table, sa.Table) else None
        # Per dialect: each engine has its own, whose settings (its JSON serialiser) the bind
        # processors follow.
        self._compiled: weakref.WeakKeyDictionary[Dialect, SqliteStatement] = (
            weakref.WeakKeyDictionary()
        )

    def run(self, session: Session, values: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """Run the statement with ``values`` (by bind name); its rows, if it returns any."""
        if session.autoflush:
            session.flush()
        connection, driver = _connections(session)
        if driver is None:
            result = session.execute(self.statement, values)
            return [tuple(row) for row in result] if isinstance(self.statement, sa.Select) else []
        dialect = connection.dialect
        compiled = self._compiled.get(dialect)
        if compiled is None:
            compiled = self._compiled[dialect] = SqliteStatement(self.statement, dialect)
        cursor = driver.cursor()
        try:
            try:
                rows = compiled.rows(cursor, values)
            finally:
                # Before a read-only connection is closed below: its cursor cannot be after.
                cursor.close()
        except sqlite3.Error as exc:
            if is_read_only_error(exc):
                connection.invalidate(exc)
            raise as_sqlalchemy_error(exc, dialect) from exc
        if self.table is not None:
            note_write(session, self.table)
        return rows


#: Where a session keeps its transaction's connections for :class:`SessionStatement`.
_CONNECTIONS = "expressway.sqlite_driver.connections"


def _connections(session: Session) -> tuple[sa.Connection, sqlite3.Connection | None]:
    """The connection of ``session``'s transaction (begun if it was not) and, on SQLite's own
    driver, the driver's connection under it. Both are kept in the session's ``info`` for the
    rest of the transaction: asking the session each time cost more than SQLite's insert."""
    transaction = session.get_transaction()
    kept = session.info.get(_CONNECTIONS)
    if kept is not None and transaction is not None and kept[0] is transaction:
        return kept[1], kept[2]
    connection = session.connection()
    driver = connection.connection.driver_connection if on_sqlite_driver(connection) else None
    if driver is not None and not isinstance(driver, sqlite3.Connection):
        raise TypeError("SQLite's own driver gave no sqlite3 connection")
    session.info[_CONNECTIONS] = (session.get_transaction(), connection, driver)
    return connection, driver


#: The name of :func:`savepoint`'s savepoints (SQLite lets a name be reused by nested ones).
_SAVEPOINT = "expressway_item"


class SavepointLost(Exception):
    """What a :func:`savepoint`'s block wrote could not be undone (the connection failed while
    rolling back to it): the transaction may hold it still, and must be rolled back whole."""


@contextmanager
def savepoint(session: Session) -> Iterator[None]:
    """A savepoint in ``session``'s transaction (begun if it was not): what the block wrote is
    kept when it ends normally and undone when it raises (the exception goes on, or
    :class:`SavepointLost` if the undoing failed), while the transaction and what was written
    before the block stay.

    For a batch of requests written in one transaction (:mod:`~expressway.storage.group_commit`)
    each in a savepoint of its own, so that one refused request undoes only its own writes. The
    session's pending changes are flushed before the savepoint and the block's before its end,
    so each lands on its own side. After an undone block the session holds no objects
    (``expunge_all``): the objects it held may carry what was undone, and are to be read again.

    On SQLite's own driver the savepoint is two statements on the cursor of the session's
    connection; SQLAlchemy's ``begin_nested`` (used on any other database) and its bookkeeping
    cost more than a SCIM create's inserts. The session does not know of the savepoint: no other
    savepoint of it may begin or end inside the block."""
    if session.autoflush:
        session.flush()
    connection, driver = _connections(session)
    if driver is None:
        nested = session.begin_nested()
        try:
            yield
            nested.commit()
        except BaseException:
            _undo(nested.rollback, session)
            raise
        return
    cursor = driver.cursor()
    try:
        _savepoint_statement(cursor, f"SAVEPOINT {_SAVEPOINT}", connection)
        try:
            yield
            session.flush()
        except BaseException:

            def rollback() -> None:
                _savepoint_statement(cursor, f"ROLLBACK TO {_SAVEPOINT}", connection)
                _savepoint_statement(cursor, f"RELEASE {_SAVEPOINT}", connection)

            _undo(rollback, session)
            raise
        try:
            _savepoint_statement(cursor, f"RELEASE {_SAVEPOINT}", connection)
        except Exception as exc:
            # Still open, the savepoint would be committed with the transaction.
            raise SavepointLost("a savepoint could not be released") from exc
    finally:
        cursor.close()


def _undo(rollback: Callable[[], None], session: Session) -> None:
    try:
        rollback()
    except Exception as exc:
        raise SavepointLost("a savepoint could not be rolled back") from exc
    session.expunge_all()


def _savepoint_statement(cursor: sqlite3.Cursor, sql: str, connection: sa.Connection) -> None:
    # These statements write nothing: a read-only file is found (and its connection dropped)
    # by the block's own writes, which run on the same connection.
    try:
        cursor.execute(sql)
    except sqlite3.Error as exc:
        raise as_sqlalchemy_error(exc, connection.dialect) from exc
