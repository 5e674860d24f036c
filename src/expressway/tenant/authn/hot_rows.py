"""What the token endpoint reads on every request and an administrator changes rarely, kept in
process memory for a moment: a client, its active public keys, an API and a client grant.

Each of these is a query and its ORM work on every ``client_credentials`` request, together about
a third of a token's CPU time, for rows that change a few times a day.

How stale an entry can be:

- A change made through this process (Management API, dashboard, Express Configuration API)
  is seen by the next request: a commit that wrote the ``clients``,
  ``client_credentials``, ``client_grants`` or ``resource_servers`` table moves a generation
  counter, and an entry of an older generation is never used. An entry read while such a
  commit was under way is not kept either (it is stored only if the generation did not move
  while it was read).
- A change made by another replica (another ``--workers`` process, another machine, a CLI
  command) is seen within :data:`TTL_SECONDS`. A deleted client, a revoked or deactivated
  credential, a removed client grant or API can thus still be honoured by the other replicas
  for that long, never longer.

An entry in use is read again before it expires: past :data:`REFRESH_AFTER_SECONDS`,
:meth:`HotRows.due` tells the token endpoint to have it read in the background while requests go
on using it (:mod:`batched_exchanges`), so a client in steady use never finds its entry gone, and
the requests in flight when it would have expired do not all read it at once. A read in the
background that finds the row gone drops the entry at once; one that fails is logged, and the
entry stays in use until it expires while the next request tries again.

What is never cached: the ``jti`` of an assertion (replays are refused by the database, across
replicas), the throttling counters, and whether a credential has expired (checked against the
clock on every request).
"""

from __future__ import annotations

import asyncio
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from time import monotonic
from typing import Any, TypeVar

from joserfc.jwk import RSAKey
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session, make_transient_to_detached, sessionmaker

from expressway import jose
from expressway.storage.table_writes import TableWrites
from expressway.tenant.rows import (
    ClientCredentialRow,
    ClientGrantRow,
    ClientRow,
    ResourceServerRow,
)

#: Seconds an entry is used before it is read again: how late a change made by another replica
#: is seen here.
TTL_SECONDS = 2.0
#: Seconds after which an entry still in use is due to be read again, ahead of its expiry.
REFRESH_AFTER_SECONDS = 1.5
#: Entries kept per tenant at most; past it, the cache starts over (entries are only made for
#: rows that exist, so this bounds memory, not correctness).
MAX_ENTRIES = 4096

#: Moves on every commit of this process that wrote one of the tables read here.
_generation = TableWrites(
    row.__tablename__ for row in (ClientRow, ClientCredentialRow, ClientGrantRow, ResourceServerRow)
)

T = TypeVar("T")


@dataclass(frozen=True)
class _Entry:
    value: Any
    generation: int
    expires: float
    refresh_at: float


@dataclass(frozen=True)
class PublicKey:
    """A credential activated for ``private_key_jwt``: the key imported from its JWK (with its
    ``kid`` and ``alg``; None if it could not be), and when it expires, checked on each use."""

    key: RSAKey | None
    expires_at: datetime | None

    @classmethod
    def of(cls, jwk: dict[str, object], expires_at: datetime | None) -> PublicKey:
        try:
            return cls(jose.public_key(jwk), expires_at)
        except jose.JoseFailure:
            # Keys are checked when they are uploaded; one that no longer imports verifies
            # nothing, and the assertion's refusal says no key matched.
            return cls(None, expires_at)


@dataclass(frozen=True)
class CachedClient:
    """A client as read at one moment: a detached copy of its row and its active keys."""

    row: ClientRow
    keys: tuple[PublicKey, ...]

    def attach(self, session: Session) -> ClientRow:
        """The client as a row of ``session``, without a query (a copy, so that nothing the
        request does to it reaches the cache)."""
        return session.merge(self.row, load=False)

    def active_public_keys(self, now: datetime) -> list[RSAKey | None]:
        """The keys of the credentials not expired at ``now``, imported once when the client was
        read (importing one costs more than verifying a signature with it)."""
        return [key.key for key in self.keys if key.expires_at is None or key.expires_at > now]


@dataclass(frozen=True)
class ApiGrant:
    """What a ``client_credentials`` token for an API needs: the API's token lifetime, and the
    scopes of the client's grant for it (None: the client has no grant)."""

    token_lifetime: int
    granted: tuple[str, ...] | None


class HotRows:
    """One tenant's cache; :func:`for_sessions` gives the one of a runtime."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, ...], _Entry] = {}
        #: The reads under way on the event loop, by client and audience, that the requests
        #: needing the same rows wait for instead of reading them again
        #: (:func:`~expressway.tenant.authn.batched_exchanges.try_exchange`).
        self.reads: dict[tuple[str, str | None], asyncio.Task[CachedClient | None]] = {}

    def _peek(self, key: tuple[str, ...]) -> Any:
        entry = self._entries.get(key)
        if (
            entry is not None
            and entry.generation == _generation.value
            and entry.expires > monotonic()
        ):
            return entry.value
        return None

    def _get(
        self, key: tuple[str, ...], load: Callable[[], T | None], *, again: bool = False
    ) -> T | None:
        if not again:
            cached: T | None = self._peek(key)
            if cached is not None:
                return cached
        generation = _generation.value
        read_at = monotonic()
        loaded = load()
        if loaded is None and again:
            # Gone since it was read (a client, or an API, deleted by another replica): the
            # requests from now on read it, and find it gone, rather than use what it was.
            self._entries.pop(key, None)
        elif loaded is not None and generation == _generation.value:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = _Entry(
                loaded, generation, read_at + TTL_SECONDS, read_at + REFRESH_AFTER_SECONDS
            )
        return loaded

    def due(self, client_id: str, audience: str | None) -> bool:
        """Whether the client's entry, or that of its grant for ``audience``, is old enough to be
        read again (:data:`REFRESH_AFTER_SECONDS`)."""
        now = monotonic()
        entry = self._entries.get(("client", client_id))
        if entry is not None and entry.refresh_at <= now:
            return True
        if audience:
            entry = self._entries.get(("api_grant", client_id, audience))
            return entry is not None and entry.refresh_at <= now
        return False

    def cached_client(self, client_id: str) -> CachedClient | None:
        """The client if the cache holds it now; None when it must be read (:meth:`client`)."""
        cached: CachedClient | None = self._peek(("client", client_id))
        return cached

    def cached_api_grant(self, client_id: str, audience: str) -> ApiGrant | None:
        """The API and grant if the cache holds them now; None when they must be read."""
        cached: ApiGrant | None = self._peek(("api_grant", client_id, audience))
        return cached

    def client(
        self, session: Session, client_id: str, *, again: bool = False
    ) -> CachedClient | None:
        """The client and its activated keys, or None if there is no such client; read from
        ``session`` if the cache does not hold it, or if ``again``."""
        return self._get(
            ("client", client_id), lambda: _load_client(session, client_id), again=again
        )

    def api_grant(
        self, session: Session, client_id: str, audience: str, *, again: bool = False
    ) -> ApiGrant | None:
        """The API ``audience`` and the client's grant for it, or None if there is no such API;
        read from ``session`` if the cache does not hold it, or if ``again``."""
        return self._get(
            ("api_grant", client_id, audience),
            lambda: _load_api_grant(session, client_id, audience),
            again=again,
        )


_caches: weakref.WeakKeyDictionary[sessionmaker[Session], HotRows] = weakref.WeakKeyDictionary()
_caches_lock = threading.Lock()


def for_sessions(sessions: sessionmaker[Session]) -> HotRows:
    """The cache of the tenant whose read-write sessions are ``sessions``."""
    cache = _caches.get(sessions)
    if cache is None:
        with _caches_lock:
            cache = _caches.setdefault(sessions, HotRows())
    return cache


def _detached_copy(row: ClientRow) -> ClientRow:
    mapper = inspect(ClientRow)
    copy = ClientRow(**{attr.key: getattr(row, attr.key) for attr in mapper.column_attrs})
    make_transient_to_detached(copy)
    return copy


def _load_client(session: Session, client_id: str) -> CachedClient | None:
    row = session.get(ClientRow, client_id)
    if row is None:
        return None
    credentials = session.execute(
        select(
            ClientCredentialRow.jwk,
            ClientCredentialRow.kid,
            ClientCredentialRow.alg,
            ClientCredentialRow.expires_at,
        )
        .where(
            ClientCredentialRow.client_id == client_id,
            ClientCredentialRow.active_position.is_not(None),
        )
        .order_by(ClientCredentialRow.active_position)
    )
    keys = tuple(
        PublicKey.of({**jwk, "kid": kid, "alg": alg}, expires_at)
        for jwk, kid, alg, expires_at in credentials
    )
    return CachedClient(_detached_copy(row), keys)


def _load_api_grant(session: Session, client_id: str, audience: str) -> ApiGrant | None:
    lifetime = session.scalar(
        select(ResourceServerRow.token_lifetime).where(ResourceServerRow.identifier == audience)
    )
    if lifetime is None:
        return None
    scope = session.scalar(
        select(ClientGrantRow.scope).where(
            ClientGrantRow.client_id == client_id, ClientGrantRow.audience == audience
        )
    )
    granted = None if scope is None else tuple(s for s in scope if isinstance(s, str))
    return ApiGrant(lifetime, granted)
