"""A stand-in for the tenant, served through ``httpx.MockTransport``: discovery, JWKS, and a
token endpoint that checks ``client_secret_basic`` and PKCE before it signs the tokens, whose
claims a test may override to see each one refused."""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from fastapi.testclient import TestClient
from pydantic import SecretStr

from expressway import jose
from expressway.clock import FrozenClock
from expressway.config import Settings
from expressway.oauth.pkce import s256_challenge
from expressway.oauth.relying_party import access_token_hash
from expressway.sample_app.app import create_app

ISSUER = "http://localhost:8401/"
CLIENT_ID = "sample-client"
CLIENT_SECRET = "sample-secret-with/odd:chars"
PUBLIC_URL = "http://localhost:8400"
USER = "auth0|user-1"

#: One key for every test: making RSA keys is the slow part.
SIGNING_KEY = jose.generate_signing_key("tenant-key-1")
OTHER_KEY = jose.generate_signing_key("tenant-key-1")
ROTATED_KEY = jose.generate_signing_key("tenant-key-2")


def query(location: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


@dataclass
class FakeTenant:
    clock: FrozenClock = field(
        default_factory=lambda: FrozenClock(datetime(2026, 1, 1, tzinfo=UTC))
    )
    #: Claims that replace the ID token's own, and a key to sign it with instead of ours.
    id_token_overrides: dict[str, Any] = field(default_factory=dict)
    access_token_overrides: dict[str, Any] = field(default_factory=dict)
    id_token_key: Any = None
    signing_key: Any = field(default_factory=lambda: SIGNING_KEY)
    published_keys: list[Any] = field(default_factory=lambda: [SIGNING_KEY])
    #: The authorization requests seen, by code issued for them.
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    token_requests: list[httpx.Request] = field(default_factory=list)
    discovery: dict[str, Any] = field(default_factory=dict)

    def http(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handle))

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path == "/.well-known/openid-configuration":
            return httpx.Response(200, json={**self.metadata(), **self.discovery})
        if path == "/.well-known/jwks.json":
            return httpx.Response(
                200, json={"keys": [jose.public_jwk(k) for k in self.published_keys]}
            )
        if path == "/oauth/token" and request.method == "POST":
            self.token_requests.append(request)
            return self.token(request)
        return httpx.Response(404, json={"error": "not_found"})

    def metadata(self) -> dict[str, Any]:
        return {
            "issuer": ISSUER,
            "authorization_endpoint": f"{ISSUER}authorize",
            "token_endpoint": f"{ISSUER}oauth/token",
            "jwks_uri": f"{ISSUER}.well-known/jwks.json",
            "end_session_endpoint": f"{ISSUER}oidc/logout",
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
            "code_challenge_methods_supported": ["S256"],
        }

    def authorize(self, location: str) -> str:
        """What the tenant's login pages would do: remember the request, answer a code."""
        params = query(location)
        code = f"code-{len(self.codes) + 1}"
        self.codes[code] = params
        return code

    def token(self, request: httpx.Request) -> httpx.Response:
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        expected = base64.b64encode(
            f"{CLIENT_ID}:{CLIENT_SECRET.replace('/', '%2F').replace(':', '%3A')}".encode()
        ).decode()
        if request.headers.get("Authorization") != f"Basic {expected}":
            return httpx.Response(401, json={"error": "invalid_client"})
        asked = self.codes.pop(form.get("code", ""), None)
        if (
            asked is None
            or s256_challenge(form.get("code_verifier", "")) != asked["code_challenge"]
        ):
            return httpx.Response(
                400,
                json={"error": "invalid_grant", "error_description": "code or verifier is wrong"},
            )
        now = self.clock.timestamp()
        access_claims = {
            "iss": ISSUER,
            "sub": USER,
            "aud": f"{ISSUER}userinfo",
            "iat": now,
            "exp": now + 3600,
            "scope": "openid profile email",
            "org_id": "org_acme",
            "org_name": "acme",
            "permissions": [],
            **self.access_token_overrides,
        }
        access_token = jose.sign_jwt(access_claims, self.signing_key, typ="at+jwt")
        id_claims = {
            "iss": ISSUER,
            "sub": USER,
            "aud": CLIENT_ID,
            "azp": CLIENT_ID,
            "iat": now,
            "exp": now + 36000,
            "nonce": asked["nonce"],
            "name": "Ada <Lovelace>",
            "email": "ada@acme.example",
            "org_id": "org_acme",
            "org_name": "acme",
            "at_hash": access_token_hash(access_token),
            **self.id_token_overrides,
        }
        id_token = jose.sign_jwt(id_claims, self.id_token_key or self.signing_key)
        body = {
            "access_token": access_token,
            "id_token": id_token,
            "token_type": "Bearer",
            "expires_in": 3600,
            "scope": "openid profile email",
        }
        if "offline_access" in asked.get("scope", "").split():
            body["refresh_token"] = f"refresh-{form['code']}"
        return httpx.Response(200, json=body)


def settings(tmp_path: Any, **overrides: Any) -> Settings:
    return Settings(
        data_dir=tmp_path,
        secret_key=SecretStr("sample-app-test-key"),
        tenant_public_url=ISSUER.rstrip("/"),
        sample_app_public_url=PUBLIC_URL,
        sample_app_client_id=CLIENT_ID,
        sample_app_client_secret=SecretStr(CLIENT_SECRET),
        **overrides,
    )


def sample_app(
    tenant: FakeTenant, tmp_path: Any, http: Callable[[], httpx.Client] | None = None
) -> TestClient:
    app = create_app(settings(tmp_path), http=http or tenant.http, clock=tenant.clock)
    return TestClient(app, base_url=PUBLIC_URL)


def start(app: TestClient, **params: str) -> httpx.Response:
    response = app.get("/login", params=params, follow_redirects=False)
    assert response.status_code == 302, response.text
    return response


def sign_in(tenant: FakeTenant, app: TestClient, **params: str) -> httpx.Response:
    """Start a login, let the fake tenant answer it, and call back; answers the callback's
    response."""
    location = start(app, **params).headers["location"]
    code = tenant.authorize(location)
    state = query(location)["state"]
    return app.get(
        "/callback", params={"code": code, "state": state, "iss": ISSUER}, follow_redirects=False
    )
