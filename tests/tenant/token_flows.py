"""Building blocks of the token-grant tests: an API, a user, an application, and an authorization
code minted directly (as the end of a Universal Login would), then exchanged over HTTP."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select

from expressway import hashing, jose
from expressway.tenant.rows import AuthorizationCodeRow, LogEventRow
from expressway.tenant.services.authorization_codes import issue_code
from expressway.tenant.services.login_sessions import create_session
from tests.conftest import Tenant

CALLBACK = "https://app.example/callback"
SIGNED_OUT = "https://app.example/signed-out"
API = "https://reports.example/api"
PASSWORD = "Correct-Horse-42"
DATABASE = "Username-Password-Authentication"
EVERYTHING = "openid profile email offline_access"


@dataclass(frozen=True)
class App:
    client_id: str
    client_secret: str | None

    def credentials(self) -> dict[str, str]:
        if self.client_secret is None:
            return {"client_id": self.client_id}
        return {"client_id": self.client_id, "client_secret": self.client_secret}


def make_user(api: TestClient, email: str = "jane@example.com", **fields: Any) -> str:
    body = {"connection": DATABASE, "email": email, "password": PASSWORD, "name": "Jane Doe"}
    response = api.post("/users", json={**body, **fields})
    assert response.status_code == 201, response.text
    user_id: str = response.json()["user_id"]
    return user_id


def make_app(api: TestClient, *, public: bool = False, **fields: Any) -> App:
    body: dict[str, Any] = {
        "name": "Reports SPA" if public else "Reports",
        "app_type": "spa" if public else "regular_web",
        "callbacks": [CALLBACK],
        "allowed_logout_urls": [SIGNED_OUT],
        **fields,
    }
    response = api.post("/clients", json=body)
    assert response.status_code == 201, response.text
    created = response.json()
    return App(created["client_id"], created.get("client_secret"))


def make_api(
    api: TestClient,
    *,
    identifier: str = API,
    scopes: tuple[str, ...] = ("read:reports", "write:reports"),
    **fields: Any,
) -> None:
    body = {
        "identifier": identifier,
        "name": "Reports",
        "scopes": [{"value": s, "description": s} for s in scopes],
        "allow_offline_access": True,
        **fields,
    }
    response = api.post("/resource-servers", json=body)
    assert response.status_code == 201, response.text


def make_role(api: TestClient, name: str, *permissions: str, audience: str = API) -> str:
    role_id: str = api.post("/roles", json={"name": name}).json()["id"]
    if permissions:
        body = {
            "permissions": [
                {"resource_server_identifier": audience, "permission_name": p} for p in permissions
            ]
        }
        assert api.post(f"/roles/{role_id}/permissions", json=body).status_code == 201
    return role_id


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def start_session(tenant: Tenant, user_id: str) -> tuple[str, str]:
    """A login session for the user, as Universal Login makes one: (session id, cookie value)."""
    now = tenant.runtime.clock.now()
    with tenant.runtime.sessions() as session:
        made = create_session(session, now, user_id=user_id, connection=DATABASE, auth_time=now)
        session.commit()
        return made.row.id, made.secret


def mint_code(
    tenant: Tenant,
    app: App,
    user_id: str,
    *,
    scope: str = EVERYTHING,
    audience: str | None = None,
    challenge: str | None = None,
    method: str | None = "S256",
    nonce: str | None = "n-0S6_WzA2Mj",
    organization_id: str | None = None,
    session_id: str | None = None,
    lifetime: timedelta | None = None,
) -> str:
    now = tenant.runtime.clock.now()
    with tenant.runtime.sessions() as session:
        code = issue_code(
            session,
            now,
            client_id=app.client_id,
            redirect_uri=CALLBACK,
            user_id=user_id,
            session_id=session_id,
            scope=scope.split(),
            audience=audience,
            nonce=nonce,
            code_challenge=challenge,
            code_challenge_method=method if challenge else None,
            organization_id=organization_id,
            auth_time=now - timedelta(seconds=5),
        )
        if lifetime is not None:
            row = session.get(AuthorizationCodeRow, hashing.hash_token(code))
            assert row is not None
            row.expires_at = now + lifetime
        session.commit()
    return code


def exchange(
    tenant: Tenant, app: App, code: str, verifier: str | None, **overrides: str | None
) -> Response:
    form: dict[str, str | None] = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
        "code_verifier": verifier,
        **app.credentials(),
        **overrides,
    }
    return tenant.http.post("/oauth/token", data={k: v for k, v in form.items() if v is not None})


def sign_in(tenant: Tenant, app: App, user_id: str, **code_fields: Any) -> dict[str, Any]:
    """A whole code exchange with PKCE; the token response."""
    verifier, challenge = pkce_pair()
    code = mint_code(tenant, app, user_id, challenge=challenge, **code_fields)
    response = exchange(tenant, app, code, verifier)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def refresh(tenant: Tenant, app: App, token: str, **extra: str) -> Response:
    form = {"grant_type": "refresh_token", "refresh_token": token, **app.credentials(), **extra}
    return tenant.http.post("/oauth/token", data=form)


def verified(tenant: Tenant, token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(header, claims) of a token, checked against the published JWKS."""
    keys = tenant.http.get("/.well-known/jwks.json").json()["keys"]
    return jose.verify_jwt(token, jose.key_set(keys))


def claims(tenant: Tenant, token: str) -> dict[str, Any]:
    return verified(tenant, token)[1]


def log_types(tenant: Tenant) -> list[str]:
    with tenant.runtime.sessions() as session:
        return list(session.scalars(select(LogEventRow.type).order_by(LogEventRow.log_id)))
