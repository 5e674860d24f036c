"""``/v2/logout`` (Auth0) and ``/oidc/logout`` (OpenID Connect RP-Initiated Logout 1.0)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from expressway import jose
from expressway.tenant.rows import LoginSessionRow
from expressway.tenant.services.login_sessions import COOKIE_NAME
from tests.conftest import BACKENDS, Tenant
from tests.tenant.token_flows import (
    SIGNED_OUT,
    App,
    log_types,
    make_app,
    make_user,
    refresh,
    sign_in,
    start_session,
)

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)


def _signed_in_browser(tenant: Tenant) -> tuple[App, str, dict[str, str]]:
    """(app, session id, the token response of a login through that session); the test client
    carries the session cookie."""
    api = tenant.api()
    app = make_app(api)
    user_id = make_user(api)
    session_id, secret = start_session(tenant, user_id)
    tenant.http.cookies.set(COOKIE_NAME, secret)
    return app, session_id, sign_in(tenant, app, user_id, session_id=session_id)


def _revoked(tenant: Tenant, session_id: str) -> bool:
    with tenant.runtime.sessions() as session:
        row = session.scalars(select(LoginSessionRow).where(LoginSessionRow.id == session_id)).one()
    return row.revoked_at is not None


def _cleared(set_cookie: str) -> bool:
    return set_cookie.startswith(f"{COOKIE_NAME}=") and "Max-Age=0" in set_cookie


def test_auth0_logout_ends_the_session_and_returns_to_an_allowed_url(tenant: Tenant) -> None:
    """Auth0 /v2/logout: returnTo must be one of the client's allowed_logout_urls."""
    app, session_id, body = _signed_in_browser(tenant)
    response = tenant.http.get(
        "/v2/logout",
        params={"client_id": app.client_id, "returnTo": SIGNED_OUT},
        follow_redirects=False,
    )
    assert response.status_code == 302
    assert response.headers["location"] == SIGNED_OUT
    assert _cleared(response.headers["set-cookie"])
    assert _revoked(tenant, session_id)
    assert refresh(tenant, app, body["refresh_token"]).json()["error"] == "invalid_grant"
    assert log_types(tenant)[-2] == "slo"


def test_auth0_logout_with_a_return_to_not_allowed_is_an_error_page_and_ends_nothing(
    tenant: Tenant,
) -> None:
    """No open redirect: the page names the URL and where to allow it."""
    app, session_id, _ = _signed_in_browser(tenant)
    response = tenant.http.get(
        "/v2/logout",
        params={"client_id": app.client_id, "returnTo": "https://evil.example/"},
        follow_redirects=False,
    )
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert "https://evil.example/" in response.text
    assert "Allowed Logout URLs" in response.text
    assert "set-cookie" not in response.headers
    assert not _revoked(tenant, session_id)
    assert log_types(tenant)[-1] == "flo"


def test_auth0_logout_with_return_to_but_no_client_id_is_refused(tenant: Tenant) -> None:
    response = tenant.http.get("/v2/logout", params={"returnTo": SIGNED_OUT})
    assert response.status_code == 400
    assert "client_id" in response.text


def test_auth0_logout_without_return_to_goes_to_the_first_allowed_url(tenant: Tenant) -> None:
    """Auth0: with client_id and no returnTo, the first Allowed Logout URL."""
    app, _, _ = _signed_in_browser(tenant)
    response = tenant.http.get(
        "/v2/logout", params={"client_id": app.client_id}, follow_redirects=False
    )
    assert response.headers["location"] == SIGNED_OUT


def test_auth0_logout_without_anything_shows_the_signed_out_page(tenant: Tenant) -> None:
    _, session_id, _ = _signed_in_browser(tenant)
    response = tenant.http.get("/v2/logout")
    assert response.status_code == 200
    assert "signed out" in response.text
    assert _revoked(tenant, session_id)


def test_oidc_logout_with_an_id_token_hint_redirects_with_the_state(tenant: Tenant) -> None:
    """RP-Initiated Logout 1.0 §2-§3: the hint names the client; state comes back."""
    _, session_id, body = _signed_in_browser(tenant)
    response = tenant.http.get(
        "/oidc/logout",
        params={
            "id_token_hint": body["id_token"],
            "post_logout_redirect_uri": SIGNED_OUT,
            "state": "bye now",
        },
        follow_redirects=False,
    )
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert location._replace(query="").geturl() == SIGNED_OUT
    assert parse_qs(location.query) == {"state": ["bye now"]}
    assert _cleared(response.headers["set-cookie"])
    assert _revoked(tenant, session_id)


def test_oidc_logout_by_post_with_a_client_id(tenant: Tenant) -> None:
    """RP-Initiated Logout 1.0 §2: GET and POST are both supported."""
    app, session_id, _ = _signed_in_browser(tenant)
    response = tenant.http.post(
        "/oidc/logout",
        data={"client_id": app.client_id, "post_logout_redirect_uri": SIGNED_OUT},
        follow_redirects=False,
    )
    assert response.status_code == 302
    assert _revoked(tenant, session_id)


def test_oidc_logout_with_a_redirect_not_registered_is_refused(tenant: Tenant) -> None:
    """§3: post_logout_redirect_uri must match a registered one exactly."""
    _, session_id, body = _signed_in_browser(tenant)
    response = tenant.http.get(
        "/oidc/logout",
        params={
            "id_token_hint": body["id_token"],
            "post_logout_redirect_uri": SIGNED_OUT + "/extra",
        },
    )
    assert response.status_code == 400
    assert not _revoked(tenant, session_id)


def test_oidc_logout_with_a_redirect_and_no_client_is_refused(tenant: Tenant) -> None:
    response = tenant.http.get("/oidc/logout", params={"post_logout_redirect_uri": SIGNED_OUT})
    assert response.status_code == 400
    assert "id_token_hint" in response.text


def test_oidc_logout_with_a_forged_hint_is_refused(tenant: Tenant) -> None:
    forged = jose.sign_jwt(
        {"iss": "http://localhost:8401/", "aud": "x", "sub": "auth0|x", "exp": 1},
        jose.generate_signing_key("stranger"),
    )
    response = tenant.http.get("/oidc/logout", params={"id_token_hint": forged})
    assert response.status_code == 400
    assert "id_token_hint" in response.text


def test_oidc_logout_with_a_client_id_other_than_the_hints_is_refused(tenant: Tenant) -> None:
    _, _, body = _signed_in_browser(tenant)
    other = make_app(tenant.api(), name="Other")
    response = tenant.http.get(
        "/oidc/logout",
        params={"id_token_hint": body["id_token"], "client_id": other.client_id},
    )
    assert response.status_code == 400


def test_a_repeated_or_overlong_parameter_is_refused_not_crashed_on(tenant: Tenant) -> None:
    repeated = tenant.http.get("/oidc/logout?state=a&state=b")
    assert repeated.status_code == 400
    overlong = tenant.http.get("/v2/logout", params={"returnTo": "https://a.example/" + "x" * 3000})
    assert overlong.status_code == 400
