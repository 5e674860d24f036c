"""Universal Logout reaches the sample app: OpenID Connect Back-Channel Logout 1.0 between real
servers.

A running tenant (``tenant serve``, its delivery worker on), the sample app served by uvicorn on
a loopback port (the tenant must reach its ``/backchannel-logout``), and a small OpenID provider
on another port as the employees' IdP behind an ``okta`` connection. A browser signs in to the
sample app through the tenant and that IdP; the IdP then sends a Universal Logout request signed
with its key, as Okta does. The tenant ends the session, its worker posts a Logout Token to the
sample app, whose page then asks to sign in, and the refresh token the sample app holds is
refused by ``/oauth/token``.
"""

from __future__ import annotations

import queue
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import uvicorn
from fastapi import FastAPI, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import SecretStr
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from expressway import jose
from expressway.config import Settings
from expressway.sample_app.app import BACKCHANNEL_PATH, create_app
from expressway.sample_app.oidc import SESSION_COOKIE
from expressway.sample_app.sessions import SessionStore
from tests.interop.conftest import LiveTenant, free_port

IDP_KEY = jose.generate_signing_key("idp-key-1")
EMPLOYEE = "00u-backchannel-jane"
IDP_CLIENT_ID = "0oa-tenant-connection"


@dataclass
class IdentityProvider:
    """The employees' OpenID provider: signs everyone in at once as :data:`EMPLOYEE`."""

    issuer: str
    #: code → nonce of the authorization request it answers.
    codes: dict[str, str] = field(default_factory=dict)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.get("/.well-known/openid-configuration")
        def discovery() -> dict[str, Any]:
            return {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "jwks_uri": f"{self.issuer}/keys",
                "token_endpoint_auth_methods_supported": ["client_secret_post"],
                "code_challenge_methods_supported": ["S256"],
            }

        @app.get("/keys")
        def keys() -> dict[str, Any]:
            return {"keys": [jose.public_jwk(IDP_KEY)]}

        @app.get("/authorize")
        def authorize(request: Request) -> RedirectResponse:
            params = request.query_params
            code = secrets.token_urlsafe(16)
            self.codes[code] = params["nonce"]
            query = urlencode({"code": code, "state": params["state"]})
            return RedirectResponse(f"{params['redirect_uri']}?{query}", status_code=302)

        @app.post("/token")
        def token(code: str = Form(...)) -> JSONResponse:
            nonce = self.codes.pop(code, None)
            if nonce is None:
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            now = int(time.time())
            claims = {
                "iss": self.issuer,
                "sub": EMPLOYEE,
                "aud": IDP_CLIENT_ID,
                "iat": now,
                "exp": now + 300,
                "nonce": nonce,
                "email": "jane@backchannel.example",
                "name": "Jane Backchannel",
            }
            return JSONResponse(
                {
                    "access_token": secrets.token_urlsafe(16),
                    "token_type": "Bearer",
                    "expires_in": 300,
                    "id_token": jose.sign_jwt(claims, IDP_KEY),
                }
            )

        return app

    def universal_logout_token(self, audience: str) -> str:
        """Okta's Universal Logout request token (SPEC §3), signed with the IdP's key."""
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": audience,
            "iat": now,
            "exp": now + 300,
            "jti": secrets.token_urlsafe(16),
        }
        return jose.sign_jwt(claims, IDP_KEY, typ="global-token-revocation+jwt")


class BackchannelWatch:
    """Wraps the sample app and reports the status of each back-channel logout it answered, so
    the test waits for that event rather than for time to pass."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.answers: queue.Queue[int] = queue.Queue()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != BACKCHANNEL_PATH:
            await self.app(scope, receive, send)
            return
        status = 0

        async def watched(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, watched)
        self.answers.put(status)


@dataclass
class Served:
    url: str
    server: uvicorn.Server
    thread: threading.Thread


def serve(app: ASGIApp, port: int) -> Served:
    """``app`` served by uvicorn on a loopback port, in a thread; answers once it listens."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the server at {url} did not start")
        time.sleep(0.05)
    return Served(url, server, thread)


def stop(served: Served) -> None:
    served.server.should_exit = True
    served.thread.join(timeout=10)


def management(live_tenant: LiveTenant, method: str, path: str, body: Any) -> Any:
    response = httpx.request(
        method,
        f"{live_tenant.url}/api/v2{path}",
        json=body,
        headers={"Authorization": f"Bearer {live_tenant.token()}"},
        timeout=30,
    )
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


@dataclass
class World:
    idp: IdentityProvider
    sample_url: str
    sample_app: FastAPI
    watch: BackchannelWatch
    client_id: str
    client_secret: str
    connection_name: str


@pytest.fixture(scope="module")
def world(live_tenant: LiveTenant, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The IdP and the sample app as servers; the sample app's client with its back-channel
    logout URL, and an okta connection to the IdP, made through the Management API."""
    idp_port = free_port()
    idp = IdentityProvider(issuer=f"http://127.0.0.1:{idp_port}")
    idp_served = serve(idp.app(), idp_port)
    sample_port = free_port()
    sample_url = f"http://127.0.0.1:{sample_port}"
    client = management(
        live_tenant,
        "POST",
        "/clients",
        {
            "name": "Sample App",
            "app_type": "regular_web",
            "callbacks": [f"{sample_url}/callback"],
            "allowed_logout_urls": [f"{sample_url}/"],
            "grant_types": ["authorization_code", "refresh_token"],
            "oidc_logout": {"backchannel_logout_urls": [f"{sample_url}{BACKCHANNEL_PATH}"]},
        },
    )
    connection_name = f"backchannel-okta-{secrets.token_hex(4)}"
    management(
        live_tenant,
        "POST",
        "/connections",
        {
            "name": connection_name,
            "strategy": "okta",
            # An http issuer is accepted on loopback only.
            "options": {
                "issuer": idp.issuer,
                "client_id": IDP_CLIENT_ID,
                "client_secret": secrets.token_urlsafe(24),
            },
            "enabled_clients": [client["client_id"]],
        },
    )
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("backchannel-sample"),
        secret_key=SecretStr("interop-backchannel-sample"),
        tenant_public_url=live_tenant.url,
        sample_app_public_url=sample_url,
        sample_app_client_id=client["client_id"],
        sample_app_client_secret=SecretStr(client["client_secret"]),
    )
    sample_app = create_app(settings)
    watch = BackchannelWatch(sample_app)
    sample_served = serve(watch, sample_port)
    try:
        yield World(
            idp=idp,
            sample_url=sample_url,
            sample_app=sample_app,
            watch=watch,
            client_id=client["client_id"],
            client_secret=client["client_secret"],
            connection_name=connection_name,
        )
    finally:
        stop(sample_served)
        stop(idp_served)


def test_universal_logout_signs_the_employee_out_of_the_sample_app_and_kills_its_refresh_token(
    live_tenant: LiveTenant, world: World
) -> None:
    """Back-Channel Logout 1.0: the tenant's Logout Token ends the sample app's session of the
    ended tenant session (sid), and the refresh token of that session is refused after."""
    with httpx.Client(timeout=30, follow_redirects=True) as browser:
        home = browser.get(
            f"{world.sample_url}/login", params={"connection": world.connection_name}
        )
        assert home.status_code == 200, home.text
        assert str(home.url) == f"{world.sample_url}/"
        user_id = f"okta|{world.connection_name}|{EMPLOYEE}"
        assert user_id in home.text
        assert "Jane Backchannel" in home.text

        store: SessionStore = world.sample_app.state.sessions
        local = store.find(browser.cookies[SESSION_COOKIE], int(time.time()))
        assert local is not None
        assert local.sid is not None
        assert local.sid.startswith("ses_")
        assert local.refresh_token is not None, "offline_access gave the sample app a refresh token"

        endpoint = (
            f"{live_tenant.url}/oauth/global-token-revocation/connection/{world.connection_name}"
        )
        revoked = httpx.post(
            endpoint,
            headers={"Authorization": f"Bearer {world.idp.universal_logout_token(endpoint)}"},
            json={"sub_id": {"format": "iss_sub", "iss": world.idp.issuer, "sub": EMPLOYEE}},
            timeout=30,
        )
        assert revoked.status_code == 204, revoked.text

        assert world.watch.answers.get(timeout=30) == 200, "the sample app accepted the token"
        signed_out = browser.get(f"{world.sample_url}/")
        assert user_id not in signed_out.text
        assert 'action="/login"' in signed_out.text, "the page asks to sign in"

        refreshed = httpx.post(
            f"{live_tenant.url}/oauth/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": local.refresh_token,
                "client_id": world.client_id,
                "client_secret": world.client_secret,
            },
            timeout=30,
        )
        assert refreshed.status_code == 400, refreshed.text
        assert refreshed.json()["error"] == "invalid_grant"
