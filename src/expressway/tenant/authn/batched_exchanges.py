"""``client_credentials`` with ``private_key_jwt``, its writes committed with other requests'.

A machine-to-machine token is the token endpoint's most frequent request, and the cheapest to
serve: it reads a client, its keys, an API and a client grant, all of which :mod:`hot_rows`
keeps in memory, and writes two rows, the assertion's ``jti`` (which refuses a replay, on every
replica) and the log event. Given a transaction of its own, each request would wait its turn for
the database's write lock (SQLite has one per file) and pay for a commit.

So when everything it reads is cached, the request is checked on the event loop, and its two rows
join those of the requests around it in one transaction
(:class:`~expressway.storage.group_commit.GroupCommit`). That transaction also reads the
throttling counters of every request in it, so a throttled client is still refused before any
token is handed out, and records each ``jti`` with ``ON CONFLICT DO NOTHING``, so a replay
(against a record from any replica, or another request of the same batch) is found without
failing the batch. The token is answered only once the transaction has committed. On SQLite the
batch's statements run on the driver's own cursor (:mod:`expressway.storage.sqlite_driver`),
where SQLAlchemy's execution would have cost more than the statements themselves, and on the
event loop itself when the write lock is free (in a thread, which waits for it, when it is
not); on PostgreSQL, through a session in a thread.

What the cache lacks (a client not read yet, or an entry past its time to live) is read first,
in the thread pool, by a read that never waits for the write lock, once for all the requests that
lack it at the same time; an entry in use is read again in the background before it expires.
This path only ever answers success: any refusal (which must be counted and logged as always),
a throttled client or a replayed ``jti`` hands the request to the token endpoint's ordinary path
(:func:`expressway.tenant.authn.endpoints._token`), which decides it in a transaction of its
own as it would have anyway. Nothing of this path stands when it hands over: its token was never
sent, and it wrote nothing for the request.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any, NamedTuple, Protocol

import sqlalchemy as sa
from joserfc.jwk import RSAKey
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from expressway.oauth.assertions import (
    check_client_assertion,
    read_client_assertion,
    unverified_client_id,
)
from expressway.oauth.client_auth import read_client_credentials
from expressway.oauth.errors import OAuthError
from expressway.storage import counters
from expressway.storage.engine import WriteLockTaken
from expressway.storage.group_commit import GroupCommit
from expressway.storage.sqlite_driver import (
    KeptConnection,
    SqliteStatement,
    on_sqlite_driver,
    sqlite_transaction,
)
from expressway.tenant import logs
from expressway.tenant.authn import hot_rows
from expressway.tenant.authn.client_authentication import (
    SWEEP_ASSERTIONS,
    assertion_audiences,
    assertion_records,
    remember_assertion_statement,
    remember_assertions,
    sweep_assertions_now,
)
from expressway.tenant.authn.grants import client_credentials
from expressway.tenant.authn.grants.common import RequestOrigin, exchange_event
from expressway.tenant.authn.tokens import sign_access_token
from expressway.tenant.rows import AttemptCounterRow
from expressway.tenant.runtime import TenantRuntime
from expressway.tenant.services import throttling

logger = logging.getLogger("expressway.tenant")


class _Exchange(NamedTuple):
    """What one exchange writes (the assertion's record and the log event) and who asked; and the
    access token to sign, with the key, once they are written."""

    client_id: str
    ip: str | None
    jti: str
    expires_at: int
    event: dict[str, Any]
    claims: dict[str, Any]
    key: RSAKey


async def try_exchange(
    runtime: TenantRuntime,
    origin: RequestOrigin,
    authorization: str | None,
    params: Mapping[str, str],
) -> dict[str, Any] | None:
    """The token response, once committed; None when the ordinary path must decide."""
    if params.get("grant_type") != client_credentials.GRANT_TYPE:
        return None
    try:
        presented = read_client_credentials(authorization, params)
    except OAuthError:
        return None
    if presented.method != "private_key_jwt" or not presented.assertion:
        return None
    try:
        # Read once: its sub names the client, then its signature is checked.
        assertion = read_client_assertion(presented.assertion)
    except OAuthError:
        return None
    client_id = presented.client_id or unverified_client_id(assertion)
    if not client_id:
        return None
    cache = hot_rows.for_sessions(runtime.sessions)
    cached = cache.cached_client(client_id)
    audience = params.get("audience")
    if cached is None or (audience and cache.cached_api_grant(client_id, audience) is None):
        # Not cached yet, or no longer: read it in the thread pool (a read, which never waits
        # for the write lock) rather than hand the request to the ordinary path, which would
        # take the lock; once for all the requests that need it now. Shielded: a request that
        # goes away leaves the read to the others.
        cached = await asyncio.shield(_reading(runtime, cache, client_id, audience, again=False))
        if cached is None:
            return None
    elif cache.due(client_id, audience):
        # Read again in the background, ahead of its expiry, while requests go on using it.
        _reading(runtime, cache, client_id, audience, again=True)
    try:
        verified = check_client_assertion(
            assertion,
            client_id=client_id,
            public_keys=cached.active_public_keys(runtime.clock.now()),
            audiences=assertion_audiences(runtime),
            now=runtime.clock.timestamp(),
        )
        # A None from the cache is a miss here, not "no such API": the ordinary path reads it.
        exchange = client_credentials.check(
            runtime,
            cached.row,
            params,
            lambda audience: cache.cached_api_grant(client_id, audience),
        )
    except OAuthError:
        return None
    event = exchange_event(
        runtime,
        type=client_credentials.SUCCESS_LOG,
        description=client_credentials.DESCRIPTION,
        client_id=client_id,
        client_name=cached.row.name,
        origin=origin,
        details=exchange.details,
    )
    token = await _writes(runtime).submit(
        _Exchange(
            client_id,
            origin.ip,
            verified.jti,
            verified.expires_at,
            event,
            exchange.claims,
            runtime.signing_keys.current(),
        )
    )
    return exchange.body(token) if token is not None else None


def _reading(
    runtime: TenantRuntime,
    cache: hot_rows.HotRows,
    client_id: str,
    audience: str | None,
    *,
    again: bool,
) -> asyncio.Task[hot_rows.CachedClient | None]:
    """The read of the client, and of its grant for ``audience``, in the thread pool: the one
    under way if there is one, else a new one (which reads them ``again`` even if cached)."""
    loop = asyncio.get_running_loop()
    key = (client_id, audience)
    task = cache.reads.get(key)
    if task is not None and task.get_loop() is loop:
        return task
    task = loop.create_task(
        run_in_threadpool(_read_through, runtime, cache, client_id, audience, again)
    )
    cache.reads[key] = task
    task.add_done_callback(partial(_read_done, cache.reads, key, again))
    return task


def _read_done(
    reads: dict[tuple[str, str | None], asyncio.Task[hot_rows.CachedClient | None]],
    key: tuple[str, str | None],
    background: bool,
    task: asyncio.Task[hot_rows.CachedClient | None],
) -> None:
    if reads.get(key) is task:
        del reads[key]
    if task.cancelled():
        return
    failure = task.exception()
    if failure is not None and background:
        # No request waits for it to answer the fault (those waiting for a read that is not
        # ahead of time do, with the 503 of a database fault); the entry stays in use until it
        # expires, and the next request tries again.
        logger.warning(
            "could not read client %s again for the token endpoint's cache: %s",
            key[0],
            failure,
            exc_info=failure,
        )


def _read_through(
    runtime: TenantRuntime,
    cache: hot_rows.HotRows,
    client_id: str,
    audience: str | None,
    again: bool,
) -> hot_rows.CachedClient | None:
    """The client, with its API grant for ``audience`` put in the cache too."""
    with runtime.read_only_sessions() as reading:
        cached = cache.client(reading, client_id, again=again)
        if cached is not None and audience:
            cache.api_grant(reading, client_id, audience, again=again)
    return cached


def _writes(runtime: TenantRuntime) -> GroupCommit[_Exchange, str | None]:
    if runtime.exchange_writes is None:
        apply_now = None
        if on_sqlite_driver(runtime.engine):
            # On SQLite a batch is first tried on the event loop, on a connection of its own,
            # if the write lock is free; else (another request of this process or another
            # process is writing) in a thread, where it waits for the lock.
            kept = runtime.exchange_connection = KeptConnection(runtime.engine)
            apply_now = partial(_write_now, runtime, kept)
        runtime.exchange_writes = GroupCommit(
            lambda batch: _write(runtime, batch), apply_now=apply_now
        )
    writes: GroupCommit[_Exchange, str | None] = runtime.exchange_writes
    return writes


def release(runtime: TenantRuntime) -> None:
    """Give back the connection the batches on the event loop keep (the application is
    stopping); a batch after this checks one out again."""
    if runtime.exchange_connection is not None:
        runtime.exchange_connection.close()


def _write(runtime: TenantRuntime, batch: Sequence[_Exchange]) -> list[str | None]:
    """Write a batch in one transaction; for each exchange, its signed token, or None when it
    may not be sent (the ordinary path decides it)."""
    issued: set[int]
    if on_sqlite_driver(runtime.engine):
        with sqlite_transaction(runtime.engine) as cursor:
            issued = _record(runtime, batch, _SqliteWrites(runtime, cursor))
    else:
        with runtime.sessions() as session:
            issued = _record(runtime, batch, _SessionWrites(runtime, session))
            session.commit()
    return _signed(batch, issued)


def _write_now(
    runtime: TenantRuntime, kept: KeptConnection, batch: Sequence[_Exchange]
) -> list[str | None] | None:
    """:func:`_write` on SQLite without waiting for the write lock; None when it is taken."""
    try:
        with kept.transaction() as cursor:
            issued = _record(runtime, batch, _SqliteWrites(runtime, cursor))
    except WriteLockTaken:
        return None
    return _signed(batch, issued)


def _signed(batch: Sequence[_Exchange], issued: set[int]) -> list[str | None]:
    """The access token of each exchange issued (signed once its rows are committed), None for
    the others."""
    return [
        sign_access_token(exchange.claims, exchange.key) if index in issued else None
        for index, exchange in enumerate(batch)
    ]


class _Writes(Protocol):
    """What a batch reads and writes, in its transaction."""

    def counters(self, keys: Iterable[tuple[str, str]]) -> Mapping[tuple[str, str], float]: ...

    def remember(self, assertions: Sequence[tuple[str, str, int]]) -> set[tuple[str, str]]: ...

    def log(self, events: list[dict[str, Any]]) -> None: ...


def _record(runtime: TenantRuntime, batch: Sequence[_Exchange], writes: _Writes) -> set[int]:
    """The indexes of the exchanges whose token may be sent, their rows written by ``writes``:
    the client is not throttled, and the ``jti`` is new (the first of the batch's with it)."""
    blocks = throttling.client_blocks(
        writes.counters,
        throttling.Limits.of(runtime.settings),
        runtime.clock.now(),
        [(exchange.client_id, exchange.ip) for exchange in batch],
    )
    # The first of a batch's exchanges with one jti may be new; the others are replays.
    first: dict[tuple[str, str], int] = {}
    for index, (exchange, block) in enumerate(zip(batch, blocks, strict=True)):
        if block is None:
            first.setdefault((exchange.client_id, exchange.jti), index)
    new = writes.remember(
        [(batch[i].client_id, batch[i].jti, batch[i].expires_at) for i in first.values()]
    )
    issued = {index for key, index in first.items() if key in new}
    if issued:
        writes.log([batch[i].event for i in sorted(issued)])
    return issued


class _SessionWrites:
    def __init__(self, runtime: TenantRuntime, session: Session) -> None:
        self.runtime = runtime
        self.session = session

    def counters(self, keys: Iterable[tuple[str, str]]) -> Mapping[tuple[str, str], float]:
        return throttling.session_counters(self.session)(keys)

    def remember(self, assertions: Sequence[tuple[str, str, int]]) -> set[tuple[str, str]]:
        return remember_assertions(self.runtime, self.session, assertions)

    def log(self, events: list[dict[str, Any]]) -> None:
        self.session.execute(logs.INSERT_EVENTS, events)


class _SqliteWrites:
    """The same rows, on SQLite's own cursor (:mod:`expressway.storage.sqlite_driver`): a batch
    of one took 769-910 µs through a session, and 342-432 µs so (the signature left out)."""

    def __init__(self, runtime: TenantRuntime, cursor: sqlite3.Cursor) -> None:
        self.statements = _sqlite_statements(runtime.engine.dialect)
        self.cursor = cursor
        self.now: datetime = runtime.clock.now()

    def counters(self, keys: Iterable[tuple[str, str]]) -> Mapping[tuple[str, str], float]:
        # One lookup by primary key each: on SQLite's cursor, cheaper than building a statement
        # for the batch's number of keys.
        read = self.statements.counter
        found: dict[tuple[str, str], float] = {}
        for scope, key in dict.fromkeys(keys):
            row = read.execute(self.cursor, {"scope": scope, "key": key}).fetchone()
            if row is not None:
                found[scope, key] = row[0]
        return found

    def remember(self, assertions: Sequence[tuple[str, str, int]]) -> set[tuple[str, str]]:
        if sweep_assertions_now(len(assertions)):
            self.statements.sweep.execute(self.cursor, {"now": self.now})
        insert = self.statements.remember
        # One insert each, whose count of rows changed says whether it was new: RETURNING, read
        # back as a row, took 8-12 µs a record, this 6.
        return {
            (record["client_id"], record["jti"])
            for record in assertion_records(assertions)
            if insert.execute(self.cursor, record).rowcount == 1
        }

    def log(self, events: list[dict[str, Any]]) -> None:
        self.statements.log.execute_many(self.cursor, events)


@dataclass(frozen=True)
class _SqliteStatements:
    counter: SqliteStatement
    remember: SqliteStatement
    sweep: SqliteStatement
    log: SqliteStatement


@functools.cache
def _sqlite_statements(dialect: Dialect) -> _SqliteStatements:
    return _SqliteStatements(
        counter=SqliteStatement(_counter_of_one(), dialect),
        remember=SqliteStatement(remember_assertion_statement("sqlite"), dialect),
        sweep=SqliteStatement(SWEEP_ASSERTIONS, dialect),
        log=SqliteStatement(logs.INSERT_EVENTS, dialect),
    )


def _counter_of_one() -> Any:
    return counters.clears_at_of_one(sa.inspect(AttemptCounterRow).local_table)
