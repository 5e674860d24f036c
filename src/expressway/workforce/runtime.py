"""The workforce IdP's process-wide objects, built once by ``workforce.app.create_app``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from expressway.clock import Clock, SystemClock
from expressway.config import Settings
from expressway.sealing import Sealer
from expressway.storage.engine import make_engine, make_session_factory
from expressway.workforce.express_configure.tenant_client import default_http_client
from expressway.workforce.signing import OrgSigningKeys


@dataclass
class WorkforceRuntime:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    read_only_sessions: sessionmaker[Session]
    signing_keys: OrgSigningKeys
    key_sealer: Sealer
    secret_sealer: Sealer
    clock: Clock = field(default_factory=SystemClock)
    #: Makes the HTTP client the Express Configure client talks to tenants with; tests give
    #: one over ``httpx.MockTransport`` or ``httpx.ASGITransport``.
    tenant_http: Callable[[], httpx.Client] = default_http_client

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock | None = None) -> WorkforceRuntime:
        engine = make_engine(settings.resolved_workforce_database_url())
        key_sealer = settings.sealer("workforce-signing-keys")
        sessions = make_session_factory(engine)
        read_only_sessions = make_session_factory(engine, read_only=True)
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            read_only_sessions=read_only_sessions,
            signing_keys=OrgSigningKeys(read_only_sessions, key_sealer),
            key_sealer=key_sealer,
            secret_sealer=settings.sealer("workforce-secrets"),
            clock=clock or SystemClock(),
        )

    @property
    def base_url(self) -> str:
        """The workforce IdP's public URL, without a trailing slash."""
        return self.settings.workforce_public_url.rstrip("/")

    def org_url(self, org_name: str) -> str:
        """An org's URL: its OIDC issuer, and the base of its admin API (``…/api/v1``)."""
        return f"{self.base_url}/orgs/{org_name}"
