"""A machine client of the tenant, made straight in its database: a ``private_key_jwt`` client
with an activated key and a client grant for :data:`API`, and its token requests."""

from __future__ import annotations

import asyncio
import secrets

import httpx

from expressway import ids, jose
from expressway.oauth.client_auth import JWT_BEARER_ASSERTION
from expressway.tenant.rows import (
    ClientCredentialRow,
    ClientGrantRow,
    ClientRow,
    ResourceServerRow,
)
from tests.conftest import Tenant

API = "https://cached.example/api"
#: The address :func:`exchange_concurrently`'s requests come from.
CLIENT_IP = "203.0.113.9"


class Machine:
    """A ``private_key_jwt`` client with an activated key and a client grant for :data:`API`."""

    def __init__(self, tenant: Tenant) -> None:
        self.tenant = tenant
        self.key = jose.generate_signing_key("machine-key")
        self.client_id = ids.client_id()
        self.credential_id = ids.prefixed_id("cred")
        now = tenant.runtime.clock.now()
        with tenant.runtime.sessions() as session:
            session.add(
                ResourceServerRow(
                    id=ids.random_id(24).lower(),
                    identifier=API,
                    name="Cached API",
                    scopes=[{"value": "read:things", "description": "Read"}],
                    signing_alg="RS256",
                    token_lifetime=600,
                    token_lifetime_for_web=600,
                    token_dialect="access_token",
                    is_system=False,
                    created_at=now,
                )
            )
            session.add(
                ClientRow(
                    client_id=self.client_id,
                    name="Machine",
                    app_type="non_interactive",
                    callbacks=[],
                    allowed_logout_urls=[],
                    web_origins=[],
                    allowed_origins=[],
                    grant_types=["client_credentials"],
                    token_endpoint_auth_method="private_key_jwt",
                    jwt_configuration={"alg": "RS256"},
                    client_metadata={},
                    created_at=now,
                    updated_at=now,
                )
            )
            session.flush()
            session.add(
                ClientCredentialRow(
                    id=self.credential_id,
                    client_id=self.client_id,
                    credential_type="public_key",
                    kid="machine-key",
                    alg="RS256",
                    pem="(not needed here)",
                    jwk=jose.public_jwk(self.key),
                    thumbprint=self.key.thumbprint(),
                    active_position=0,
                    created_at=now,
                    updated_at=now,
                )
            )
            session.add(
                ClientGrantRow(
                    id=ids.prefixed_id("cgr"),
                    client_id=self.client_id,
                    audience=API,
                    scope=["read:things"],
                    created_at=now,
                )
            )
            session.commit()

    def assertion(self) -> str:
        """A client assertion for the tenant's token endpoint, with a new ``jti``."""
        now = self.tenant.runtime.clock.timestamp()
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": "http://localhost:8401/",
            "iat": now,
            "exp": now + 120,
            "jti": secrets.token_urlsafe(16),
        }
        return jose.sign_jwt(claims, self.key)

    @staticmethod
    def form(assertion: str) -> dict[str, str]:
        """A ``client_credentials`` request for :data:`API` authenticated by ``assertion``."""
        return {
            "grant_type": "client_credentials",
            "audience": API,
            "client_assertion_type": JWT_BEARER_ASSERTION,
            "client_assertion": assertion,
        }

    def exchange(self) -> httpx.Response:
        return self.tenant.http.post("/oauth/token", data=self.form(self.assertion()))


def exchange_concurrently(tenant: Tenant, forms: list[dict[str, str]]) -> list[httpx.Response]:
    """``forms`` sent to the token endpoint all at once from :data:`CLIENT_IP`, on one new event
    loop, as a server's connections are; the answers in their order."""

    async def send_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=tenant.http.app, client=(CLIENT_IP, 4711))
        async with httpx.AsyncClient(
            transport=transport, base_url="http://localhost:8401"
        ) as client:
            return list(
                await asyncio.gather(*(client.post("/oauth/token", data=form) for form in forms))
            )

    return asyncio.run(send_all())
