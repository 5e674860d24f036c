"""The tenant's process-wide objects, built once by :func:`expressway.tenant.app.create_app`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from expressway.clock import Clock, SystemClock
from expressway.config import Settings
from expressway.sealing import Sealer
from expressway.storage.engine import make_engine, make_session_factory
from expressway.storage.group_commit import GroupCommit
from expressway.storage.sqlite_driver import KeptConnection
from expressway.tenant.authn.upstream import UpstreamClient
from expressway.tenant.signing import SigningKeys
from expressway.web.outbound import http_client

#: Seconds a back-channel logout receiver has to answer before the attempt counts as failed.
BACKCHANNEL_TIMEOUT = 5.0


def backchannel_http_client() -> httpx.Client:
    # No redirects: a Logout Token goes to the registered URL only, never where it points.
    return http_client(timeout=BACKCHANNEL_TIMEOUT)


@dataclass
class TenantRuntime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    read_only_sessions: sessionmaker[Session]
    #: Sessions whose write transaction begins only if SQLite's write lock is free (for work on
    #: the event loop, which must not wait for it); on PostgreSQL, ordinary sessions.
    no_wait_sessions: sessionmaker[Session]
    signing_keys: SigningKeys
    key_sealer: Sealer
    secret_sealer: Sealer
    clock: Clock = field(default_factory=SystemClock)
    #: The client of upstream IdPs (``okta``/``oidc`` connections), with its discovery and key
    #: caches; tests replace it with one whose HTTP client serves a fake upstream.
    upstream: UpstreamClient = field(default_factory=UpstreamClient)
    #: The HTTP client that delivers Logout Tokens; tests replace it with one whose transport
    #: plays the applications' back-channel logout receivers.
    backchannel_http: Callable[[], httpx.Client] = backchannel_http_client
    #: The writes of concurrent ``client_credentials`` exchanges, committed together (see
    #: :mod:`expressway.tenant.authn.batched_exchanges`); made on first use.
    exchange_writes: GroupCommit[Any, Any] | None = field(default=None, repr=False)
    #: On SQLite, the connection those writes keep for their batches on the event loop; given
    #: back when the application stops.
    exchange_connection: KeptConnection | None = field(default=None, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock | None = None) -> TenantRuntime:
        engine = make_engine(settings.resolved_tenant_database_url())
        key_sealer = settings.sealer("tenant-signing-keys")
        sessions = make_session_factory(engine)
        read_only_sessions = make_session_factory(engine, read_only=True)
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            read_only_sessions=read_only_sessions,
            no_wait_sessions=make_session_factory(engine, no_wait=True),
            signing_keys=SigningKeys(read_only_sessions, key_sealer),
            key_sealer=key_sealer,
            secret_sealer=settings.sealer("tenant-secrets"),
            clock=clock or SystemClock(),
        )
