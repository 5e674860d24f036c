"""The sample app signs users in through the tenant (stood in for by ``httpx.MockTransport``):
the code flow with PKCE, strict ID token validation, readable refusals, and logout."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from expressway import jose
from expressway.config import Settings
from expressway.sample_app.app import NotConfigured, create_app
from expressway.sample_app.oidc import LOGIN_COOKIE, SESSION_COOKIE
from tests.sample_app.fake_tenant import (
    CLIENT_ID,
    ISSUER,
    OTHER_KEY,
    PUBLIC_URL,
    ROTATED_KEY,
    SIGNING_KEY,
    USER,
    FakeTenant,
    query,
    sample_app,
    sign_in,
    start,
)


@pytest.fixture
def tenant() -> FakeTenant:
    return FakeTenant()


def test_the_signed_out_page_asks_only_for_the_work_email(
    tenant: FakeTenant, tmp_path: Path
) -> None:
    """Identifier-first: one e-mail field, sent to /login as login_hint."""
    page = sample_app(tenant, tmp_path).get("/")
    assert page.status_code == 200
    assert '<form method="get" action="/login">' in page.text
    assert 'name="login_hint" type="email"' in page.text
    assert 'type="password"' not in page.text
    assert "Content-Security-Policy" in page.headers


def test_a_full_sign_in_shows_the_user_and_the_organization(
    tenant: FakeTenant, tmp_path: Path
) -> None:
    """After the callback, / shows name, e-mail, sub and org_id/org_name from both tokens."""
    app = sample_app(tenant, tmp_path)
    callback = sign_in(tenant, app, login_hint="ada@acme.example")
    assert callback.status_code == 303, callback.text
    assert callback.headers["location"] == "/"
    page = app.get("/")
    assert "Ada &lt;Lovelace&gt;" in page.text, "claims are escaped"
    assert "ada@acme.example" in page.text
    assert USER in page.text
    assert page.text.count("org_acme") == 2, "org_id of the ID token and the access token"
    assert "openid profile email" in page.text
    assert 'action="/logout"' in page.text


def test_the_code_is_redeemed_with_client_secret_basic_and_the_pkce_verifier(
    tenant: FakeTenant, tmp_path: Path
) -> None:
    """RFC 6749 §2.3.1 and RFC 7636 §4.5: no secret or verifier in the authorization request."""
    app = sample_app(tenant, tmp_path)
    location = start(app).headers["location"]
    params = query(location)
    assert params["code_challenge_method"] == "S256"
    assert params["response_type"] == "code"
    assert params["redirect_uri"] == f"{PUBLIC_URL}/callback"
    assert params["scope"] == "openid profile email offline_access"
    assert len(params["state"]) >= 32
    assert len(params["nonce"]) >= 32
    assert "client_secret" not in location
    assert "code_verifier" not in location
    code = tenant.authorize(location)
    app.get("/callback", params={"code": code, "state": params["state"]})
    form = tenant.token_requests[-1].content.decode()
    assert "code_verifier=" in form
    assert "client_secret" not in form
    assert tenant.token_requests[-1].headers["Authorization"].startswith("Basic ")


def test_organization_connection_and_login_hint_pass_through_to_authorize(
    tenant: FakeTenant, tmp_path: Path
) -> None:
    """/login is the initiate login URI: its parameters reach /authorize unchanged."""
    response = start(
        sample_app(tenant, tmp_path),
        organization="org_acme",
        connection="con-org_acme-okta",
        login_hint="ada@acme.example",
    )
    location = response.headers["location"]
    assert location.startswith(f"{ISSUER}authorize?")
    params = query(location)
    assert params["organization"] == "org_acme"
    assert params["connection"] == "con-org_acme-okta"
    assert params["login_hint"] == "ada@acme.example"
    assert params["client_id"] == CLIENT_ID


def test_the_login_cookie_is_sealed_http_only_and_same_site_lax(
    tenant: FakeTenant, tmp_path: Path
) -> None:
    """The pending login's secrets never reach the browser in the clear."""
    response = start(sample_app(tenant, tmp_path))
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{LOGIN_COOKIE}=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert query(response.headers["location"])["state"] not in cookie


def test_an_audience_setting_asks_for_an_access_token_for_that_api(
    tenant: FakeTenant, tmp_path: Path
) -> None:
    """sample_app_audience becomes the audience parameter, and the access token must carry it."""
    app = create_app(
        Settings(
            data_dir=tmp_path,
            secret_key=SecretStr("k"),
            tenant_public_url=ISSUER,
            sample_app_client_id=CLIENT_ID,
            sample_app_client_secret=SecretStr("s"),
            sample_app_audience="https://api.acme.example",
        ),
        http=tenant.http,
        clock=tenant.clock,
    )
    location = TestClient(app).get("/login", follow_redirects=False).headers["location"]
    assert query(location)["audience"] == "https://api.acme.example"


REFUSALS: list[tuple[str, dict[str, Any], str]] = [
    ("wrong nonce", {"nonce": "not-the-one-sent"}, "nonce"),
    ("wrong iss", {"iss": "https://evil.example/"}, "iss"),
    ("wrong aud", {"aud": "another-client"}, "aud"),
    ("expired", {"exp": 1_700_000_000}, "expired"),
    ("issued in the future", {"iat": 1_900_000_000}, "future"),
    ("no sub", {"sub": None}, "sub"),
    ("swapped access token", {"at_hash": "AAAAAAAAAAAAAAAAAAAAAA"}, "at_hash"),
]


@pytest.mark.parametrize(
    ("overrides", "reason"), [(o, r) for _, o, r in REFUSALS], ids=[n for n, _, _ in REFUSALS]
)
def test_an_id_token_failing_a_check_is_refused_with_a_readable_page(
    tenant: FakeTenant, tmp_path: Path, overrides: dict[str, Any], reason: str
) -> None:
    """OpenID Connect Core §3.1.3.7: every claim check refuses the login, and no one signs in."""
    tenant.id_token_overrides = overrides
    app = sample_app(tenant, tmp_path)
    refused = sign_in(tenant, app)
    assert refused.status_code == 400
    assert "Sign-in refused" in refused.text
    assert reason in refused.text
    assert SESSION_COOKIE not in refused.headers.get("set-cookie", "")
    assert "Continue" in app.get("/").text, "still signed out"


def test_an_id_token_with_a_bad_signature_is_refused(tenant: FakeTenant, tmp_path: Path) -> None:
    """OpenID Connect Core §3.1.3.7 item 6: signed by a key the tenant does not hold."""
    tenant.id_token_key = OTHER_KEY
    refused = sign_in(tenant, sample_app(tenant, tmp_path))
    assert refused.status_code == 400
    assert "signature does not verify" in refused.text


def test_a_key_rotated_by_the_tenant_is_fetched_once_and_used(
    tenant: FakeTenant, tmp_path: Path
) -> None:
    """A kid the cached key set lacks makes one fresh JWKS fetch, so rotation needs no restart."""
    app = sample_app(tenant, tmp_path)
    assert sign_in(tenant, app).status_code == 303
    tenant.signing_key = ROTATED_KEY
    tenant.published_keys = [SIGNING_KEY, ROTATED_KEY]
    assert sign_in(tenant, app).status_code == 303
    tenant.signing_key = jose.generate_signing_key("never-published")
    refused = sign_in(tenant, app)
    assert refused.status_code == 400
    assert "a key the tenant does not publish" in refused.text


def test_an_access_token_about_another_user_is_refused(tenant: FakeTenant, tmp_path: Path) -> None:
    """The organization shown from the access token must be the signed-in user's."""
    tenant.access_token_overrides = {"sub": "auth0|someone-else"}
    refused = sign_in(tenant, sample_app(tenant, tmp_path))
    assert refused.status_code == 400
    assert "another user" in refused.text


def test_a_state_mismatch_is_refused(tenant: FakeTenant, tmp_path: Path) -> None:
    """RFC 6749 §10.12: a callback that does not answer this browser's login is not redeemed."""
    app = sample_app(tenant, tmp_path)
    code = tenant.authorize(start(app).headers["location"])
    refused = app.get("/callback", params={"code": code, "state": "forged"})
    assert refused.status_code == 400
    assert "state does not match" in refused.text
    assert tenant.token_requests == [], "the code was not redeemed"


def test_a_callback_without_a_login_in_progress_is_refused(
    tenant: FakeTenant, tmp_path: Path
) -> None:
    """A callback in a browser that started nothing (or whose cookie was tampered with)."""
    app = sample_app(tenant, tmp_path)
    app.cookies.set(LOGIN_COOKIE, "tampered")
    refused = app.get("/callback", params={"code": "c", "state": "s"})
    assert refused.status_code == 400
    assert "no sign-in in progress" in refused.text


def test_a_login_older_than_ten_minutes_is_refused(tenant: FakeTenant, tmp_path: Path) -> None:
    """The pending login expires, so an old state cannot be replayed later."""
    app = sample_app(tenant, tmp_path)
    location = start(app).headers["location"]
    code = tenant.authorize(location)
    tenant.clock.advance(601)
    refused = app.get("/callback", params={"code": code, "state": query(location)["state"]})
    assert refused.status_code == 400
    assert "no sign-in in progress" in refused.text


def test_a_callback_from_another_issuer_is_refused(tenant: FakeTenant, tmp_path: Path) -> None:
    """RFC 9207: an iss parameter naming another provider is a mix-up."""
    app = sample_app(tenant, tmp_path)
    location = start(app).headers["location"]
    refused = app.get(
        "/callback",
        params={
            "code": tenant.authorize(location),
            "state": query(location)["state"],
            "iss": "https://evil.example/",
        },
    )
    assert refused.status_code == 400
    assert "evil.example" in refused.text


def test_an_error_from_the_tenant_is_shown_with_its_description_and_causes(
    tenant: FakeTenant, tmp_path: Path
) -> None:
    """error, error_description and each error_cause code with its summary and remediation."""
    app = sample_app(tenant, tmp_path)
    state = query(start(app).headers["location"])["state"]
    page = app.get(
        "/callback",
        params={
            "error": "access_denied",
            "error_description": "the user is not a member of <acme>",
            "error_cause": "not_organization_member role_not_assigned",
            "state": state,
        },
    )
    assert page.status_code == 400
    assert "access_denied" in page.text
    assert "the user is not a member of &lt;acme&gt;" in page.text
    assert "not_organization_member" in page.text
    assert "role_not_assigned" in page.text
    assert "To fix:" in page.text


def test_an_error_from_the_token_endpoint_is_shown(tenant: FakeTenant, tmp_path: Path) -> None:
    """A code the tenant will not redeem is a readable page, not a crash."""
    app = sample_app(tenant, tmp_path)
    location = start(app).headers["location"]
    page = app.get("/callback", params={"code": "unknown", "state": query(location)["state"]})
    assert page.status_code == 400
    assert "invalid_grant" in page.text


def test_an_unreachable_tenant_is_a_readable_page(tenant: FakeTenant, tmp_path: Path) -> None:
    """No discovery document, no login: the page says the tenant cannot be reached."""

    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    app = sample_app(
        tenant, tmp_path, http=lambda: httpx.Client(transport=httpx.MockTransport(down))
    )
    page = app.get("/login")
    assert page.status_code == 502
    assert "cannot be reached" in page.text


def test_a_discovery_document_that_is_not_json_is_a_readable_page(
    tenant: FakeTenant, tmp_path: Path
) -> None:
    """RFC 8259 has no NaN: a document holding one is not JSON (json.loads took it)."""

    def not_json(request: httpx.Request) -> httpx.Response:
        document = {**tenant.metadata(), "require_request_uri_registration": float("nan")}
        return httpx.Response(200, content=json.dumps(document).encode())

    page = sample_app(
        tenant, tmp_path, http=lambda: httpx.Client(transport=httpx.MockTransport(not_json))
    ).get("/login")
    assert page.status_code == 502
    assert "did not answer JSON" in page.text


def test_a_discovery_document_of_another_issuer_is_refused(
    tenant: FakeTenant, tmp_path: Path
) -> None:
    """OpenID Connect Discovery §4.3: the issuer in the document must be the configured one."""
    tenant.discovery = {"issuer": "https://evil.example/"}
    page = sample_app(tenant, tmp_path).get("/login")
    assert page.status_code == 502
    assert "evil.example" in page.text


@pytest.mark.parametrize(
    "query_string",
    ["organization=a&organization=b", "login_hint=" + "a" * 400, "iss=https://evil.example/"],
    ids=["repeated", "too long", "another issuer"],
)
def test_a_bad_initiate_login_request_is_refused(
    tenant: FakeTenant, tmp_path: Path, query_string: str
) -> None:
    """A repeated or over-long parameter, or an iss that is not the tenant, starts nothing."""
    page = sample_app(tenant, tmp_path).get(f"/login?{query_string}", follow_redirects=False)
    assert page.status_code == 400
    assert "location" not in page.headers
    assert page.headers["set-cookie"].startswith(f'{LOGIN_COOKIE}=""'), "no login is pending"


def test_a_session_cookie_is_an_opaque_id_and_a_changed_one_signs_no_one_in(
    tenant: FakeTenant, tmp_path: Path
) -> None:
    """The cookie holds a random id of a server-side session, nothing the tokens said."""
    app = sample_app(tenant, tmp_path)
    sign_in(tenant, app)
    cookie = app.cookies[SESSION_COOKIE]
    # 32 random bytes in base64url, whatever its letters spell (a test that looked for the
    # user's name in it failed when they spelt "ada"): no room for a JWT (its dots), JSON or an
    # e-mail address.
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", cookie), cookie
    app.cookies.clear()
    app.cookies.set(SESSION_COOKIE, cookie[:-4] + "AAAA")
    assert "Continue" in app.get("/").text


def test_the_session_ends_when_the_id_token_expires(tenant: FakeTenant, tmp_path: Path) -> None:
    """A local session lasts no longer than the ID token it came from."""
    tenant.id_token_overrides = {"exp": tenant.clock.timestamp() + 120}
    app = sample_app(tenant, tmp_path)
    sign_in(tenant, app)
    assert USER in app.get("/").text
    tenant.clock.advance(121)
    assert USER not in app.get("/").text


def test_logout_clears_the_session_and_redirects_to_the_tenant_with_return_to(
    tenant: FakeTenant, tmp_path: Path
) -> None:
    """Auth0's /v2/logout with client_id and returnTo, after the local session is gone."""
    app = sample_app(tenant, tmp_path)
    sign_in(tenant, app)
    response = app.post("/logout", follow_redirects=False)
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith(f"{ISSUER}v2/logout?")
    assert query(location) == {"client_id": CLIENT_ID, "returnTo": f"{PUBLIC_URL}/"}
    assert f'{SESSION_COOKIE}=""' in response.headers["set-cookie"]
    assert USER not in app.get("/").text


def test_the_sample_app_needs_its_client_id_and_secret(tmp_path: Path) -> None:
    """Without its registration in the tenant the app refuses to start, naming the settings."""
    with pytest.raises(NotConfigured, match="EXPRESSWAY_SAMPLE_APP_CLIENT_ID"):
        create_app(Settings(data_dir=tmp_path, secret_key=SecretStr("k")))


def test_large_tokens_are_shown_cut_and_their_extra_permissions_counted(
    tenant: FakeTenant, tmp_path: Path
) -> None:
    """Long claims are cut and permissions past the cap are counted, not listed."""
    tenant.access_token_overrides = {
        "permissions": [f"read:resource-{i:04d}-" + "x" * 150 for i in range(500)],
        "aud": [f"{ISSUER}userinfo", *(f"https://api-{i}.example/" + "y" * 200 for i in range(9))],
    }
    tenant.id_token_overrides = {"name": "N" * 5000, "email": "e" * 5000, "org_name": "o" * 5000}
    app = sample_app(tenant, tmp_path)
    assert sign_in(tenant, app).status_code == 303
    page = app.get("/").text
    assert USER in page
    assert "and 470 more" in page
    assert "N" * 129 not in page


def test_a_stray_trailing_slash_is_redirected_to_the_path_alone(
    tenant: FakeTenant, tmp_path: Path
) -> None:
    """A relative reference, never the host the request's Host header names; a path that
    matches nothing either way is FastAPI's 404."""
    app = sample_app(tenant, tmp_path)
    hostile = {"Host": "evil.example"}
    answer = app.get(f"{PUBLIC_URL}/login/?login_hint=a", headers=hostile, follow_redirects=False)
    assert answer.status_code == 307
    assert answer.headers["location"] == "/login?login_hint=a"
    missing = app.get(f"{PUBLIC_URL}/nothing/", headers=hostile, follow_redirects=False)
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Not Found"}
