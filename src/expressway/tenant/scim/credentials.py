"""What a SCIM bearer token opens (the token, the connection's SCIM configuration and the
connection), kept in process memory for a moment.

Reading them is a joined query on every SCIM request, about a fifth of a lookup's CPU time, for
rows an administrator changes a few times a year (a token is minted, rotated or revoked).

How stale an entry can be, as for the token endpoint's hot rows
(:mod:`expressway.tenant.authn.hot_rows`), within the same bound:

- A change made through this process (Management API, dashboard, Express Configuration API,
  CLI in this process) is seen by the next request: a commit that wrote the ``scim_tokens``,
  ``scim_configurations`` or ``connections`` table moves a generation counter, and an entry of an
  older generation is never used. An entry read while such a commit was under way is not kept
  (it is stored only if the generation did not move while it was read). A revoked or rotated
  token, a deleted SCIM configuration or connection, a changed mapping: refused or applied at
  once.
- A change made by another replica (another ``--workers`` process, another machine, a CLI
  command) is seen within :data:`TTL_SECONDS`: a token revoked there can still be honoured by
  this replica for that long, never longer.

What is never cached: a token that opens nothing (a new token works at once everywhere, and a
wrong one costs its query as before), and whether a token has expired (its ``valid_until`` is
checked against the clock on every request). Entries are keyed by the token's SHA-256 digest and
the connection, never by the token itself.

The rows handed out are detached, shared by concurrent requests, and read-only: nothing a
request does to them reaches the database or the cache (the token's use is recorded with an
``UPDATE`` of its own, :func:`connections.mark_scim_token_used`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from time import monotonic

from sqlalchemy.orm import Session

from expressway import hashing
from expressway.storage.table_writes import TableWrites
from expressway.tenant.rows import ConnectionRow, ScimConfigurationRow, ScimTokenRow
from expressway.tenant.services import connections
from expressway.tenant.services.connections import ScimCredentials

#: Seconds an entry is used before it is read again: how late a change made by another replica
#: is seen here (the token endpoint's bound, ``hot_rows.TTL_SECONDS``).
TTL_SECONDS = 2.0
#: Entries kept per SCIM server at most; past it, the cache starts over (entries are only made
#: for tokens that exist, so this bounds memory, not correctness).
MAX_ENTRIES = 4096

#: Moves on every commit of this process that wrote one of the tables read here.
_generation = TableWrites(
    row.__tablename__ for row in (ScimTokenRow, ScimConfigurationRow, ConnectionRow)
)


@dataclass(frozen=True)
class _Entry:
    credentials: ScimCredentials
    generation: int
    expires: float


def _is_expired(token: ScimTokenRow, now: datetime) -> bool:
    return token.valid_until is not None and token.valid_until <= now


class CredentialsCache:
    """One SCIM server's cache (the application keeps it in ``app.state``); ``clock`` gives
    the seconds the time to live is counted in."""

    def __init__(self, clock: Callable[[], float] = monotonic) -> None:
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._clock = clock

    def credentials(
        self, session: Session, now: datetime, connection_id: str, token: str
    ) -> ScimCredentials | None:
        """What ``token`` opens on ``connection_id`` at ``now``, as
        :func:`connections.scim_credentials` answers, read from the database only when this
        cache holds no current entry; ``None`` when the token opens nothing."""
        key = (connection_id, hashing.hash_token(token))
        entry = self._entries.get(key)
        if (
            entry is not None
            and entry.generation == _generation.value
            and entry.expires > self._clock()
        ):
            return None if _is_expired(entry.credentials.token, now) else entry.credentials
        generation = _generation.value
        read_at = self._clock()
        found = connections.scim_credentials(session, now, connection_id, token)
        if found is None:
            return None
        # Out of the request's session, so that its commit does not expire what is kept here.
        for row in (found.token, found.config, found.connection):
            session.expunge(row)
        if generation == _generation.value:
            if len(self._entries) >= MAX_ENTRIES:
                self._entries.clear()
            self._entries[key] = _Entry(found, generation, read_at + TTL_SECONDS)
        return found
