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

:class:`KeptConnection` is for a writer that must not wait, because it runs on the event loop:
it checks one connection out of the pool at its first transaction and keeps it (so it does not
wait for the pool after that), and its transactions begin only if the write lock is free
(:class:`~expressway.storage.engine.WriteLockTaken` otherwise, at once, for the caller to do
the write where waiting is harmless: a thread).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql.compiler import SQLCompiler

from expressway.storage.engine import begin_immediate_now, is_read_only_error


def on_sqlite_driver(engine: Engine) -> bool:
    """Whether ``engine`` is on SQLite through Python's own ``sqlite3`` module, which this module
    drives."""
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
            (name, compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect))
            for name in compiled.positiontup
        ]

    def parameters(self, values: Mapping[str, Any]) -> tuple[Any, ...]:
        """The driver's parameters for ``values`` (each by its bind name), processed."""
        return tuple(
            process(values[name]) if process is not None else values[name]
            for name, process in self._parameters
        )

    def execute(self, cursor: sqlite3.Cursor, values: Mapping[str, Any]) -> sqlite3.Cursor:
        return cursor.execute(self.sql, self.parameters(values))

    def execute_many(self, cursor: sqlite3.Cursor, rows: Sequence[Mapping[str, Any]]) -> None:
        cursor.executemany(self.sql, [self.parameters(values) for values in rows])


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
            wrapped = sa_exc.DBAPIError.instance(
                None,
                None,
                exc,
                sqlite3.Error,
                connection_invalidated=invalidated,
                dialect=engine.dialect,
            )
            raise cast(BaseException, wrapped) from exc
        finally:
            cursor.close()
    finally:
        if invalidated:
            pooled.invalidate()
