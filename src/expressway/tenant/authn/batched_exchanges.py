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
failing the batch. The token is answered only once the transaction has committed.

What the cache lacks (a client not read yet, or an entry past its time to live) is read first,
in the thread pool, by a read that never waits for the write lock. This path only ever answers
success: any refusal (which must be counted and logged as always), a throttled client or a
replayed ``jti`` hands the request to the token endpoint's ordinary path
(:func:`expressway.tenant.authn.endpoints._token`), which decides it in a transaction of its own
as it would have anyway. Nothing of this path stands when it hands over: its token was never
sent, and it wrote nothing for the request.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from joserfc.jwk import RSAKey
from starlette.concurrency import run_in_threadpool

from expressway.oauth.assertions import check_client_assertion, unverified_client_id
from expressway.oauth.client_auth import read_client_credentials
from expressway.oauth.errors import OAuthError
from expressway.storage.group_commit import GroupCommit
from expressway.tenant import logs
from expressway.tenant.authn import hot_rows
from expressway.tenant.authn.client_authentication import (
    assertion_audiences,
    remember_assertions,
)
from expressway.tenant.authn.grants import client_credentials
from expressway.tenant.authn.grants.common import RequestOrigin, exchange_event
from expressway.tenant.authn.tokens import sign_access_token
from expressway.tenant.runtime import TenantRuntime
from expressway.tenant.services import throttling


@dataclass(frozen=True)
class _Exchange:
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
    client_id = presented.client_id or unverified_client_id(presented.assertion)
    if not client_id:
        return None
    cache = hot_rows.for_sessions(runtime.sessions)
    cached = cache.cached_client(client_id)
    audience = params.get("audience")
    if cached is None or (audience and cache.cached_api_grant(client_id, audience) is None):
        # Not cached yet, or no longer: read it in the thread pool (a read, which never waits
        # for the write lock) rather than hand the request to the ordinary path, which would
        # take the lock. When an entry expires, every request in flight for the client is here.
        cached = await run_in_threadpool(_read_through, runtime, client_id, audience)
        if cached is None:
            return None
    try:
        verified = check_client_assertion(
            presented.assertion,
            client_id=client_id,
            public_jwks=cached.active_public_keys(runtime.clock.now()),
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


def _read_through(
    runtime: TenantRuntime, client_id: str, audience: str | None
) -> hot_rows.CachedClient | None:
    """The client, with its API grant for ``audience`` put in the cache too."""
    cache = hot_rows.for_sessions(runtime.sessions)
    with runtime.read_only_sessions() as reading:
        cached = cache.client(reading, client_id)
        if cached is not None and audience:
            cache.api_grant(reading, client_id, audience)
    return cached


def _writes(runtime: TenantRuntime) -> GroupCommit[_Exchange, str | None]:
    if runtime.exchange_writes is None:
        runtime.exchange_writes = GroupCommit(lambda batch: _write(runtime, batch))
    writes: GroupCommit[_Exchange, str | None] = runtime.exchange_writes
    return writes


def _write(runtime: TenantRuntime, batch: Sequence[_Exchange]) -> list[str | None]:
    """Write a batch in one transaction; for each exchange, its signed token, or None when it
    may not be sent (the ordinary path decides it)."""
    now = runtime.clock.now()
    with runtime.sessions() as session:
        blocks = throttling.client_blocks(
            session,
            throttling.Limits.of(runtime.settings),
            now,
            [(exchange.client_id, exchange.ip) for exchange in batch],
        )
        # The first of a batch's exchanges with one jti may be new; the others are replays.
        first: dict[tuple[str, str], int] = {}
        for index, (exchange, block) in enumerate(zip(batch, blocks, strict=True)):
            if block is None:
                first.setdefault((exchange.client_id, exchange.jti), index)
        new = remember_assertions(
            runtime,
            session,
            [(batch[i].client_id, batch[i].jti, batch[i].expires_at) for i in first.values()],
        )
        issued = {index for key, index in first.items() if key in new}
        if issued:
            session.execute(logs.INSERT_EVENTS, [batch[i].event for i in sorted(issued)])
        session.commit()
    return [
        sign_access_token(exchange.claims, exchange.key) if index in issued else None
        for index, exchange in enumerate(batch)
    ]
