"""The sample app's back-channel logout receiver (OpenID Connect Back-Channel Logout 1.0): a
Logout Token from the tenant ends the sessions it names, and anything short of a valid, fresh,
never-seen token is refused with a 400 and ends nothing."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from expressway import jose
from expressway.oauth.backchannel_logout import EVENT, MAX_TOKEN_AGE
from expressway.sample_app.oidc import SESSION_COOKIE
from expressway.sample_app.sessions import SessionStore
from tests.sample_app.fake_tenant import (
    CLIENT_ID,
    ISSUER,
    OTHER_KEY,
    SIGNING_KEY,
    USER,
    FakeTenant,
    sample_app,
    sign_in,
)

PATH = "/backchannel-logout"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def tenant() -> FakeTenant:
    return FakeTenant()


@pytest.fixture
def app(tenant: FakeTenant, tmp_path: Path) -> TestClient:
    return sample_app(tenant, tmp_path)


def browser_signed_in(tenant: FakeTenant, app: TestClient, sid: str | None) -> TestClient:
    """Another browser on the same app, signed in through the tenant session ``sid``."""
    browser = TestClient(app.app, base_url=str(app.base_url))
    tenant.id_token_overrides = {"sid": sid} if sid else {}
    assert sign_in(tenant, browser).status_code == 303
    assert is_signed_in(browser)
    return browser


def is_signed_in(browser: TestClient) -> bool:
    return USER in browser.get("/").text


def logout_token(
    tenant: FakeTenant,
    *,
    key: Any = SIGNING_KEY,
    typ: str = "logout+jwt",
    drop: tuple[str, ...] = (),
    **changes: Any,
) -> str:
    now = tenant.clock.timestamp()
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": CLIENT_ID,
        "iat": now,
        "exp": now + 120,
        "jti": secrets.token_urlsafe(16),
        "sub": USER,
        "sid": "ses_one",
        "events": {EVENT: {}},
        **changes,
    }
    for name in drop:
        claims.pop(name)
    return jose.sign_jwt(claims, key, typ=typ)


def post(app: TestClient, token: str) -> Response:
    return app.post(PATH, data={"logout_token": token})


def assert_refused(response: Response) -> None:
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_request"
    assert response.headers["cache-control"] == "no-store"


def test_a_logout_token_naming_a_sid_ends_the_sessions_of_that_tenant_session_only(
    tenant: FakeTenant, app: TestClient
) -> None:
    """§2.7: the sid names the tenant's login session; other sessions of the user stay."""
    one = browser_signed_in(tenant, app, "ses_one")
    other = browser_signed_in(tenant, app, "ses_other")
    response = post(app, logout_token(tenant, sid="ses_one"))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert not is_signed_in(one)
    assert "Continue" in one.get("/").text, "the page asks to sign in again"
    assert is_signed_in(other)


def test_a_logout_token_with_only_a_sub_ends_every_session_of_that_user(
    tenant: FakeTenant, app: TestClient
) -> None:
    """§2.4: sub without sid means all of the user's sessions at this application."""
    one = browser_signed_in(tenant, app, "ses_one")
    other = browser_signed_in(tenant, app, None)
    assert post(app, logout_token(tenant, drop=("sid",))).status_code == 200
    assert not is_signed_in(one)
    assert not is_signed_in(other)


def test_a_sid_of_another_user_ends_nothing(tenant: FakeTenant, app: TestClient) -> None:
    """With both sub and sid, a session must match both."""
    one = browser_signed_in(tenant, app, "ses_one")
    assert post(app, logout_token(tenant, sub="auth0|someone-else")).status_code == 200
    assert is_signed_in(one)


def test_a_replayed_logout_token_is_refused(tenant: FakeTenant, app: TestClient) -> None:
    """§2.6 step 8: a jti already acted on is refused."""
    token = logout_token(tenant)
    assert post(app, token).status_code == 200
    replay = post(app, token)
    assert_refused(replay)
    assert "jti" in replay.json()["error_description"]


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"typ": "JWT"}, "typ"),
        ({"key": OTHER_KEY}, "signature"),
        ({"iss": "https://evil.example/"}, "iss"),
        ({"aud": "another-client"}, "aud"),
        ({"iat_offset": -(MAX_TOKEN_AGE + 1)}, "iat"),
        ({"iat_offset": 600}, "future"),
        ({"exp_offset": -61}, "expired"),
        ({"drop": ("exp",)}, "exp"),
        ({"drop": ("iat",)}, "iat"),
        ({"drop": ("jti",)}, "jti"),
        ({"drop": ("events",)}, "events"),
        ({"events": {"http://schemas.openid.net/event/other": {}}}, "events"),
        ({"events": {EVENT: "yes"}}, "events"),
        ({"nonce": "n-0S6_WzA2Mj"}, "nonce"),
        ({"drop": ("sub", "sid")}, "neither sub nor sid"),
        ({"sid": ""}, "sid"),
    ],
)
def test_a_logout_token_failing_a_check_is_refused_and_ends_nothing(
    tenant: FakeTenant, app: TestClient, changes: dict[str, Any], reason: str
) -> None:
    """§2.6 steps 3-7: signature by the tenant's keys, typ, iss, aud, iat recent, exp, jti,
    the back-channel logout event, no nonce, sub or sid."""
    one = browser_signed_in(tenant, app, "ses_one")
    now = tenant.clock.timestamp()
    arguments = dict(changes)
    if "iat_offset" in arguments:
        arguments["iat"] = now + arguments.pop("iat_offset")
    if "exp_offset" in arguments:
        arguments["exp"] = now + arguments.pop("exp_offset")
    response = post(app, logout_token(tenant, **arguments))
    assert_refused(response)
    assert reason in response.json()["error_description"]
    assert is_signed_in(one)


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"logout_token=a.b.c", "application/json"),
        (b"", FORM),
        (b"state=x", FORM),
        (b"logout_token=a.b.c&logout_token=d.e.f", FORM),
        (b"logout_token=" + b"a" * 20_000, FORM),
        (b"logout_token=not-a-jwt", FORM),
        (b"\xff\xfe", FORM),
    ],
)
def test_a_request_that_is_not_one_form_encoded_logout_token_is_refused(
    app: TestClient, content: bytes, content_type: str
) -> None:
    """§2.5: the token arrives as the single logout_token field of a form POST."""
    assert_refused(app.post(PATH, content=content, headers={"Content-Type": content_type}))


def test_the_refresh_token_is_kept_on_the_server_only(tenant: FakeTenant, app: TestClient) -> None:
    """The tenant's refresh token stays in the server-side session with the ID token's sid,
    and goes with it."""
    browser = browser_signed_in(tenant, app, "ses_one")
    store: SessionStore = app.app.state.sessions  # type: ignore[attr-defined]
    cookie = browser.cookies[SESSION_COOKIE]
    local = store.find(cookie, tenant.clock.timestamp())
    assert local is not None
    assert local.sid == "ses_one"
    assert local.refresh_token is not None
    assert local.refresh_token.startswith("refresh-")
    assert local.refresh_token not in browser.get("/").text
    assert local.refresh_token not in cookie
    assert post(app, logout_token(tenant)).status_code == 200
    assert store.find(cookie, tenant.clock.timestamp()) is None


def test_signing_out_ends_the_server_side_session(tenant: FakeTenant, app: TestClient) -> None:
    """/logout removes the session itself, not only the browser's cookie."""
    browser = browser_signed_in(tenant, app, "ses_one")
    cookie = browser.cookies[SESSION_COOKIE]
    browser.post("/logout", follow_redirects=False)
    browser.cookies.set(SESSION_COOKIE, cookie)
    assert not is_signed_in(browser)
