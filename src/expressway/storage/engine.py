"""Engines and sessions."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapper, Session, sessionmaker

from expressway import json_text
from expressway.storage import checkpoints

if TYPE_CHECKING:
    from sqlalchemy.orm.session import _EntityBindKey

_O = TypeVar("_O")

#: Execution option marking a connection whose transactions only read.
READ_ONLY_OPTION = "expressway_read_only"
#: Execution option: on SQLite, a write transaction begins only if the write lock is free, and
#: :class:`WriteLockTaken` comes out at once when it is not (a session of such a connection is
#: for the event loop, which must not wait; the caller does the work again where it may).
NO_WAIT_OPTION = "expressway_no_wait"


class WriteLockTaken(Exception):
    """Another connection holds SQLite's write lock: the transaction did not begin."""


#: Seconds to wait for PostgreSQL to accept a connection, and for the pool to lend one. A server
#: that is down should fail a request in seconds (a 503 the client can retry), not hang it for
#: the TCP timeout or the pool's default 30 seconds.
POSTGRES_CONNECT_TIMEOUT = 3
POOL_TIMEOUT = 5

#: SQLite's result code for a write to a file it could only open read-only.
_SQLITE_READONLY = 8


#: How long a SQLite connection waits for another's write lock before "database is locked".
SQLITE_BUSY_TIMEOUT_SECONDS = 30


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite files get WAL, foreign keys and a busy timeout. JSON columns
    are written compact (:mod:`expressway.json_text`)."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_SECONDS},
            json_serializer=json_text.compact_text,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA synchronous=NORMAL")
            # A savepoint keeps the pages its statements change in a journal of its own, a
            # temporary file once past 64 KiB (a SCIM create touches about 15 pages): in memory,
            # the five statements of a create in a batch's savepoint took SQLite 83 µs instead
            # of 149 (their 66 µs in a transaction of their own).
            cursor.execute("PRAGMA temp_store=MEMORY")
            # Checkpoints are taken in the background (:mod:`.checkpoints`); a commit takes one
            # itself only past this backstop.
            cursor.execute(f"PRAGMA wal_autocheckpoint = {checkpoints.BACKSTOP_PAGES}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: sa.Connection) -> None:
            options = conn.get_execution_options()
            if options.get(NO_WAIT_OPTION) and not options.get(READ_ONLY_OPTION):
                _on_driver_cursor(conn, begin_immediate_now)
                return
            # A reader never upgrades, so it needs no lock: WAL lets it run beside a writer.
            # IMMEDIATE takes the write lock at BEGIN, waiting up to the busy timeout. With a plain
            # (deferred) BEGIN, a transaction that reads and then writes fails at once with
            # "database is locked" when another connection committed in between, since SQLite
            # cannot upgrade a stale read snapshot; waiting at BEGIN never fails that way.
            begin = "BEGIN" if options.get(READ_ONLY_OPTION) else "BEGIN IMMEDIATE"
            _on_driver_cursor(conn, lambda cursor: cursor.execute(begin))

        event.listen(engine, "handle_error", _reopen_after_read_only)
        return engine
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "postgresql":
        connect_args["connect_timeout"] = POSTGRES_CONNECT_TIMEOUT
    return sa.create_engine(
        url,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=20,
        pool_timeout=POOL_TIMEOUT,
        connect_args=connect_args,
        json_serializer=json_text.compact_text,
    )


def _on_driver_cursor(conn: sa.Connection, run: Callable[[sqlite3.Cursor], object]) -> None:
    """``run`` on a cursor of ``conn``'s own ``sqlite3`` connection, a driver error raised as
    SQLAlchemy raises a statement's.

    A transaction's ``BEGIN`` is one statement with no parameters and no result: through
    ``exec_driver_sql`` it took SQLAlchemy a whole execution context (a session that runs one
    statement took 8-10% more instructions, counted by callgrind), where the driver's cursor
    does it in a few microseconds. The error is wrapped as the execution would have wrapped it
    (:func:`as_sqlalchemy_error`); a file that could only be opened read-only invalidates the
    connection, as :func:`_reopen_after_read_only` does for a statement's error.
    """
    driver = conn.connection.driver_connection
    if not isinstance(driver, sqlite3.Connection):
        raise TypeError("a SQLite engine's connections must be sqlite3's")
    cursor = driver.cursor()
    try:
        run(cursor)
    except sqlite3.Error as exc:
        if is_read_only_error(exc):
            conn.invalidate(exc)
        raise as_sqlalchemy_error(exc, conn.dialect) from exc
    finally:
        cursor.close()


def as_sqlalchemy_error(error: sqlite3.Error, dialect: sa.engine.Dialect) -> BaseException:
    """The driver's ``error`` as SQLAlchemy raises it (``IntegrityError``, ``OperationalError``,
    …), so callers catch and read it as they would any statement's
    (:func:`expressway.storage.faults.database_fault`)."""
    wrapped = sa.exc.DBAPIError.instance(
        None,
        None,
        error,
        sqlite3.Error,
        connection_invalidated=is_read_only_error(error),
        dialect=dialect,
    )
    return cast(BaseException, wrapped)


def _reopen_after_read_only(context: sa.engine.ExceptionContext) -> None:
    """A SQLite file that could not be opened for writing stays read-only for the life of the
    connection: dropping the pool's connections lets the next ones open it for writing once the
    file is writable again, without a restart."""
    if is_read_only_error(context.original_exception):
        context.is_disconnect = True


def is_read_only_error(error: BaseException) -> bool:
    """Whether SQLite refused a write because it could only open the file read-only."""
    code = getattr(error, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF == _SQLITE_READONLY


def upsert_insert(session: Session, table: Any) -> Any:
    """An ``INSERT`` into ``table`` (a table or mapped class) that can take ``ON CONFLICT``
    (``on_conflict_do_nothing``, ``on_conflict_do_update``), for ``session``'s database."""
    return dialect_upsert_insert(session.get_bind().dialect.name, table)


def dialect_upsert_insert(dialect: str, table: Any) -> Any:
    """:func:`upsert_insert` for the database named ``dialect`` (``sqlite``, ``postgresql``)."""
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise NotImplementedError(f"ON CONFLICT is not supported on {dialect}")


def begin_immediate_now(cursor: sqlite3.Cursor) -> None:
    """``BEGIN IMMEDIATE`` without waiting for another connection's write lock
    (:class:`WriteLockTaken` if one holds it); the statements after it wait as any would (holding
    the lock, they have nothing to wait for in WAL mode)."""
    cursor.execute("PRAGMA busy_timeout = 0")
    try:
        cursor.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY:
            raise WriteLockTaken from exc
        raise
    finally:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_SECONDS * 1000}")


class HoldingSession(Session):
    """A session that keeps every row it loaded until it closes.

    SQLAlchemy's identity map holds rows weakly: a row read once, then dropped by the code that
    read it, is gone from the map, and the next ``get`` of the same key in the same transaction
    reads it again. A request's work is spread over small functions that each look up the row
    they need (the organization of a login, the admin of each event the workforce's callback
    records), so the same primary key was read up to three times in a transaction: 82
    statements in the tenant and 35 in the workforce IdP for one Express Configure run (78 and 30
    with these sessions and the changes that came with them).

    Holding the rows for the session's life is what the SQLAlchemy documentation suggests for
    this ("Session Referencing Behavior"); a session here lives for one request or one job, so
    what it holds is what that unit of work read, freed when it closes.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.held: list[object] = []

    def close(self) -> None:
        self.held.clear()
        super().close()

    def get(self, entity: _EntityBindKey[_O], ident: Any, **options: Any) -> _O | None:
        """``Session.get``, with the row that is not in the identity map read by a statement
        built once per mapped class.

        SQLAlchemy's own ``get`` builds its ``SELECT`` anew each time it reads the database (a
        copy of the mapper's statement, its criteria annotated, its cache key computed over):
        for a row of three columns read by its key, 587 thousand instructions against 419
        thousand with the statement built once (callgrind, 1,000 reads). An Express Configure
        run reads 32 rows so at the tenant and 19 at the workforce IdP; with single-column keys
        alone read this way, their interpreters ran 6% fewer instructions a run
        (``bench/flow_instructions.py``, docs/performance.md §3).

        A key is a string or an integer, or a tuple of them for a composite primary key; any
        other case (options, a key given as a dict, a held row that a rollback expired) is
        SQLAlchemy's, and a row already held is answered from the identity map as SQLAlchemy's
        ``get`` answers it.
        """
        key = ident if type(ident) is tuple else (ident,)
        if options or not isinstance(entity, type) or any(type(v) not in (str, int) for v in key):
            return super().get(entity, ident, **options)
        by_key = _by_primary_key(cast(type, entity), len(key))
        if by_key is None:
            return super().get(entity, ident)
        held: _O | None = self.identity_map.get((entity, key, None))
        if held is not None:
            state = sa.inspect(held)
            if state.expired or state.expired_attributes:
                return super().get(entity, ident)
            return held
        values = dict(zip(_KEY_PARAMETERS, key, strict=False))
        row: _O | None = self.execute(by_key, values).scalars().one_or_none()
        return row


#: The bound parameters of :func:`_by_primary_key`'s statements, one a key column.
_KEY_PARAMETERS = tuple(f"expressway_key_{n}" for n in range(8))


@cache
def _by_primary_key(entity: type, columns: int) -> sa.Select[Any] | None:
    """``SELECT`` of ``entity`` by its primary key of ``columns`` columns, for a class mapped
    whose identity is its own (no inheritance); None for any other, or a key of another
    length."""
    mapper: Mapper[Any] | None = sa.inspect(entity, raiseerr=False)
    if (
        not isinstance(mapper, Mapper)
        or len(mapper.primary_key) != columns
        or columns > len(_KEY_PARAMETERS)
        or mapper.inherits is not None
        or mapper.polymorphic_on is not None
    ):
        return None
    return sa.select(entity).where(
        *(
            column == sa.bindparam(name)
            for column, name in zip(mapper.primary_key, _KEY_PARAMETERS, strict=False)
        )
    )


@event.listens_for(HoldingSession, "loaded_as_persistent")
def _hold_loaded(session: Session, instance: object) -> None:
    # Registered on the class, so it costs one list append a loaded row.
    session.held.append(instance)  # type: ignore[attr-defined]


def make_session_factory(
    engine: Engine, *, read_only: bool = False, no_wait: bool = False
) -> sessionmaker[Session]:
    """Sessions on ``engine``; ``read_only`` ones never take SQLite's write lock, and
    ``no_wait`` ones take it only if it is free (:data:`NO_WAIT_OPTION`).

    Use read-only sessions for lookups that may run while the same thread holds a read-write
    session (loading signing keys during a token request): on SQLite a second read-write
    transaction would wait for the first one's lock, which the same thread holds.
    """
    options = {READ_ONLY_OPTION: read_only, NO_WAIT_OPTION: no_wait}
    bind = engine.execution_options(**options) if read_only or no_wait else engine
    return sessionmaker(bind=bind, class_=HoldingSession, expire_on_commit=False, autoflush=True)


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: committed when the block ends normally, rolled back when it raises."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
