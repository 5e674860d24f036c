"""Each org's OpenID provider: the login page, codes with PKCE, tokens, userinfo, logout."""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from expressway import jose
from expressway.clock import FrozenClock
from expressway.workforce.rows import LogEventRow, RefreshTokenRow, UserRow, UserSessionRow
from expressway.workforce.services import sessions
from tests.conftest import BACKENDS
from tests.workforce.conftest import PUBLIC_URL, Workforce, oidc_app_body

pytestmark = pytest.mark.parametrize("workforce_database", BACKENDS, indirect=True)

PASSWORD = "Correct-Horse-42"
CALLBACK = "https://vendor.example/login/callback"
SIGNED_OUT = "https://vendor.example/signed-out"
VERIFIER = "v" * 43 + "-verifier-of-the-test"


def _challenge(verifier: str = VERIFIER) -> str:
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass(frozen=True)
class Client:
    org: str
    app_id: str
    client_id: str
    client_secret: str
    user_id: str
    login: str


def _client(
    workforce: Workforce,
    org: str = "acme",
    *,
    assign: bool = True,
    login: str = "ada@example.com",
    credentials: dict[str, Any] | None = None,
) -> Client:
    api = workforce.api(org)
    user = api.post(
        "/users?activate=true",
        json={
            "profile": {
                "login": login,
                "email": login,
                "firstName": "Ada",
                "lastName": "Lovelace",
            },
            "credentials": {"password": {"value": PASSWORD}},
        },
    )
    assert user.status_code == 200, user.text
    body = oidc_app_body(post_logout_redirect_uris=[SIGNED_OUT])
    body["credentials"]["oauthClient"].update(credentials or {})
    app = api.post("/apps", json=body)
    assert app.status_code == 200, app.text
    credentials = app.json()["credentials"]["oauthClient"]
    if assign:
        assigned = api.post(f"/apps/{app.json()['id']}/users", json={"id": user.json()["id"]})
        assert assigned.status_code == 200, assigned.text
    return Client(
        org,
        app.json()["id"],
        credentials["client_id"],
        credentials["client_secret"],
        user.json()["id"],
        login,
    )


def _browser(workforce: Workforce) -> TestClient:
    return TestClient(workforce.http.app, base_url=PUBLIC_URL, follow_redirects=False)


def _authorize(browser: TestClient, client: Client, **extra: str) -> httpx.Response:
    params = {
        "client_id": client.client_id,
        "redirect_uri": CALLBACK,
        "response_type": "code",
        "scope": "openid profile email offline_access",
        "state": "st-1",
        "nonce": "n-1",
        "code_challenge": _challenge(),
        "code_challenge_method": "S256",
        **extra,
    }
    return browser.get(f"/orgs/{client.org}/oauth2/v1/authorize", params=params)


def _hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, html
    return match.group(1)


def _sign_in(
    browser: TestClient, page: httpx.Response, org: str, login: str, password: str = PASSWORD
) -> httpx.Response:
    return browser.post(
        f"/orgs/{org}/oauth2/v1/authorize/login",
        data={
            "transaction": _hidden(page.text, "transaction"),
            "csrf_token": _hidden(page.text, "csrf_token"),
            "username": login,
            "password": password,
        },
    )


def _callback(response: httpx.Response) -> dict[str, str]:
    assert response.status_code in (302, 303), response.text
    location = response.headers["location"]
    assert location.startswith(CALLBACK), location
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def _code(workforce: Workforce, client: Client, browser: TestClient | None = None) -> str:
    browser = browser or _browser(workforce)
    page = _authorize(browser, client)
    if page.status_code == 302:
        return _callback(page)["code"]
    return _callback(_sign_in(browser, page, client.org, client.login))["code"]


def _token(workforce: Workforce, client: Client, **fields: str) -> httpx.Response:
    return workforce.http.post(
        f"/orgs/{client.org}/oauth2/v1/token",
        data={"client_id": client.client_id, "client_secret": client.client_secret, **fields},
    )


def _exchange(workforce: Workforce, client: Client, code: str) -> httpx.Response:
    return _token(
        workforce,
        client,
        grant_type="authorization_code",
        code=code,
        redirect_uri=CALLBACK,
        code_verifier=VERIFIER,
    )


def _verified_claims(workforce: Workforce, org: str, token: str) -> dict[str, Any]:
    keys = workforce.http.get(f"/orgs/{org}/oauth2/v1/keys").json()["keys"]
    _, claims = jose.verify_jwt(token, jose.key_set(keys))
    return claims


def test_an_assigned_user_signs_in_and_the_client_gets_verifiable_tokens(
    workforce: Workforce,
) -> None:
    """The login page, a code with ``iss`` and ``state``, then ID token, access token, userinfo."""
    client = _client(workforce)
    browser = _browser(workforce)
    page = _authorize(browser, client)
    assert page.status_code == 200
    assert '<label for="username">' in page.text
    assert '<label for="password">' in page.text
    assert "<script" not in page.text
    assert "http" not in page.text.split("<body>")[1]
    callback = _callback(_sign_in(browser, page, client.org, client.login))
    assert callback["state"] == "st-1"
    assert callback["iss"] == f"{PUBLIC_URL}/orgs/acme"
    response = _exchange(workforce, client, callback["code"])
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["refresh_token"]
    claims = _verified_claims(workforce, "acme", body["id_token"])
    assert claims["iss"] == f"{PUBLIC_URL}/orgs/acme"
    assert claims["sub"] == client.user_id
    assert claims["aud"] == client.client_id
    assert claims["nonce"] == "n-1"
    assert claims["email"] == client.login
    assert claims["preferred_username"] == client.login
    assert claims["given_name"] == "Ada"
    assert claims["family_name"] == "Lovelace"
    assert claims["exp"] > claims["iat"] >= claims["auth_time"]
    access = _verified_claims(workforce, "acme", body["access_token"])
    assert access["aud"] == f"{PUBLIC_URL}/orgs/acme"
    userinfo = workforce.http.get(
        "/orgs/acme/oauth2/v1/userinfo",
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert userinfo.status_code == 200
    assert userinfo.json()["sub"] == client.user_id
    assert userinfo.json()["name"] == "Ada Lovelace"
    with workforce.runtime.sessions() as session:
        events = list(session.scalars(sa.select(LogEventRow.event_type)))
        user = session.get(UserRow, client.user_id)
        assert user is not None
        assert user.last_login_at is not None
    assert "user.session.start" in events
    assert "user.authentication.sso" in events


def test_an_id_token_is_not_accepted_at_userinfo(workforce: Workforce) -> None:
    """An ID token's audience is the client, so it is no bearer token for this org's endpoints."""
    client = _client(workforce)
    body = _exchange(workforce, client, _code(workforce, client)).json()
    response = workforce.http.get(
        "/orgs/acme/oauth2/v1/userinfo", headers={"Authorization": f"Bearer {body['id_token']}"}
    )
    assert response.status_code == 401
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert workforce.http.get("/orgs/acme/oauth2/v1/userinfo").status_code == 401


def test_a_wrong_password_shows_the_page_again_and_is_logged_as_a_failure(
    workforce: Workforce,
) -> None:
    """A failed sign-in answers the login page with an error and logs ``user.session.start``."""
    client = _client(workforce)
    browser = _browser(workforce)
    page = _authorize(browser, client)
    failed = _sign_in(browser, page, "acme", client.login, "Wrong-Password-1")
    assert failed.status_code == 401
    assert "Unable to sign in" in failed.text
    unknown = _sign_in(browser, failed, "acme", "nobody@example.com")
    assert unknown.status_code == 401
    with workforce.runtime.sessions() as session:
        outcomes = list(
            session.scalars(
                sa.select(LogEventRow.outcome_result).where(
                    LogEventRow.event_type == "user.session.start"
                )
            )
        )
    assert outcomes == ["FAILURE", "FAILURE"]
    assert _callback(_sign_in(browser, unknown, "acme", client.login))["code"]


def test_an_unassigned_user_is_sent_back_with_access_denied(workforce: Workforce) -> None:
    """Okta's words: the user is not assigned to the client application."""
    client = _client(workforce, assign=False)
    browser = _browser(workforce)
    callback = _callback(_sign_in(browser, _authorize(browser, client), "acme", client.login))
    assert callback["error"] == "access_denied"
    assert callback["error_description"] == "User is not assigned to the client application."
    assert callback["state"] == "st-1"


def test_an_unregistered_redirect_uri_or_client_gets_a_page_never_a_redirect(
    workforce: Workforce,
) -> None:
    """RFC 6749 §4.1.2.1: no redirect to a URI that the client did not register."""
    client = _client(workforce)
    browser = _browser(workforce)
    wrong = _authorize(browser, client, redirect_uri=CALLBACK + "/")
    assert wrong.status_code == 400
    assert "location" not in wrong.headers
    assert "Login redirect URI" in wrong.text
    unknown = browser.get(
        "/orgs/acme/oauth2/v1/authorize",
        params={"client_id": "nope", "redirect_uri": CALLBACK, "response_type": "code"},
    )
    assert unknown.status_code == 400
    assert "location" not in unknown.headers


def test_faults_after_the_redirect_uri_is_known_go_back_to_the_client(
    workforce: Workforce,
) -> None:
    """Bad scope, response type, plain PKCE or prompt come back as RFC 6749 errors with state."""
    client = _client(workforce)
    browser = _browser(workforce)
    cases = {
        "invalid_scope": {"scope": "profile"},
        "unsupported_response_type": {"response_type": "token"},
        "invalid_request": {"code_challenge_method": "plain"},
        "login_required": {"prompt": "none"},
    }
    for error, extra in cases.items():
        callback = _callback(_authorize(browser, client, **extra))
        assert callback["error"] == error, (extra, callback)
        assert callback["state"] == "st-1"
        assert callback["iss"] == f"{PUBLIC_URL}/orgs/acme"


def test_pkce_is_required_when_the_app_says_so(workforce: Workforce) -> None:
    """An app with ``pkce_required`` refuses an authorization request without a challenge."""
    client = _client(workforce, credentials={"pkce_required": True})
    browser = _browser(workforce)
    callback = _callback(_authorize(browser, client, code_challenge="", code_challenge_method=""))
    assert callback["error"] == "invalid_request"


def test_a_wrong_code_verifier_or_redirect_uri_is_invalid_grant(workforce: Workforce) -> None:
    """The code is bound to its challenge and its redirect URI."""
    client = _client(workforce)
    browser = _browser(workforce)
    wrong_verifier = _token(
        workforce,
        client,
        grant_type="authorization_code",
        code=_code(workforce, client, browser),
        redirect_uri=CALLBACK,
        code_verifier="w" * 43,
    )
    assert wrong_verifier.status_code == 400
    assert wrong_verifier.json()["error"] == "invalid_grant"
    wrong_uri = _token(
        workforce,
        client,
        grant_type="authorization_code",
        code=_code(workforce, client, browser),
        redirect_uri="https://vendor.example/other",
        code_verifier=VERIFIER,
    )
    assert wrong_uri.json()["error"] == "invalid_grant"


def test_a_code_works_once_and_its_reuse_revokes_what_it_issued(workforce: Workforce) -> None:
    """RFC 6749 §4.1.2: a second redemption fails and revokes the first one's refresh token."""
    client = _client(workforce)
    code = _code(workforce, client)
    first = _exchange(workforce, client, code).json()
    second = _exchange(workforce, client, code)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    refreshed = _token(
        workforce, client, grant_type="refresh_token", refresh_token=first["refresh_token"]
    )
    assert refreshed.json()["error"] == "invalid_grant"


def test_a_code_expires_after_a_minute(workforce: Workforce) -> None:
    """Codes live 60 seconds."""
    clock = FrozenClock(workforce.runtime.clock.now())
    workforce.runtime.clock = clock
    client = _client(workforce)
    code = _code(workforce, client)
    clock.advance(61)
    assert _exchange(workforce, client, code).json()["error"] == "invalid_grant"


def test_refresh_rotates_and_a_rotated_token_revokes_the_grant(workforce: Workforce) -> None:
    """RFC 9700 §4.14.2: the successor works once; replaying the old one revokes both."""
    client = _client(workforce)
    first = _exchange(workforce, client, _code(workforce, client)).json()
    rotated = _token(
        workforce, client, grant_type="refresh_token", refresh_token=first["refresh_token"]
    )
    assert rotated.status_code == 200, rotated.text
    body = rotated.json()
    assert body["refresh_token"] != first["refresh_token"]
    claims = _verified_claims(workforce, "acme", body["id_token"])
    assert claims["sub"] == client.user_id
    assert "nonce" not in claims
    narrowed = _token(
        workforce,
        client,
        grant_type="refresh_token",
        refresh_token=first["refresh_token"],
        scope="openid",
    )
    assert narrowed.json()["error"] == "invalid_grant"
    again = _token(
        workforce, client, grant_type="refresh_token", refresh_token=body["refresh_token"]
    )
    assert again.json()["error"] == "invalid_grant"


def test_the_token_endpoint_answers_rfc_6749_errors(workforce: Workforce) -> None:
    """Wrong secret or method → 401 invalid_client; unknown grant type → 400."""
    client = _client(workforce)
    wrong = workforce.http.post(
        "/orgs/acme/oauth2/v1/token",
        data={
            "client_id": client.client_id,
            "client_secret": "nope",
            "grant_type": "authorization_code",
        },
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    basic = workforce.http.post(
        "/orgs/acme/oauth2/v1/token",
        data={"grant_type": "authorization_code", "code": "x", "redirect_uri": CALLBACK},
        auth=(client.client_id, client.client_secret),
    )
    assert basic.status_code == 401, "the app registered client_secret_post"
    grant = _token(workforce, client, grant_type="password")
    assert grant.status_code == 400
    assert grant.json()["error"] == "unsupported_grant_type"
    missing = _token(workforce, client, grant_type="authorization_code")
    assert missing.json() == {
        "error": "invalid_request",
        "error_description": "The 'code' parameter is required.",
    }


def test_a_client_secret_basic_app_authenticates_with_the_header(workforce: Workforce) -> None:
    """``client_secret_basic`` works with the Authorization header."""
    client = _client(workforce)
    api = workforce.api()
    app = api.get(f"/apps/{client.app_id}").json()
    app["credentials"]["oauthClient"]["token_endpoint_auth_method"] = "client_secret_basic"
    assert api.put(f"/apps/{client.app_id}", json=app).status_code == 200
    response = workforce.http.post(
        "/orgs/acme/oauth2/v1/token",
        data={
            "grant_type": "authorization_code",
            "code": _code(workforce, client),
            "redirect_uri": CALLBACK,
            "code_verifier": VERIFIER,
        },
        auth=(client.client_id, client.client_secret),
    )
    assert response.status_code == 200, response.text


def test_a_session_signs_in_again_silently_unless_login_is_asked(workforce: Workforce) -> None:
    """``prompt=none`` uses the session; ``prompt=login`` and ``max_age=0`` show the page."""
    client = _client(workforce)
    browser = _browser(workforce)
    _code(workforce, client, browser)
    assert _callback(_authorize(browser, client, prompt="none"))["code"]
    assert _callback(_authorize(browser, client))["code"]
    assert _authorize(browser, client, prompt="login").status_code == 200
    assert _authorize(browser, client, max_age="0").status_code == 200


def test_the_login_form_is_bound_to_its_browser_and_its_csrf_token(workforce: Workforce) -> None:
    """Another browser, or a forged token, gets an expired-form page and no session."""
    client = _client(workforce)
    page = _authorize(_browser(workforce), client)
    elsewhere = _sign_in(_browser(workforce), page, "acme", client.login)
    assert elsewhere.status_code == 400
    assert "set-cookie" not in elsewhere.headers
    browser = _browser(workforce)
    page = _authorize(browser, client)
    forged = browser.post(
        "/orgs/acme/oauth2/v1/authorize/login",
        data={
            "transaction": _hidden(page.text, "transaction"),
            "csrf_token": "forged",
            "username": client.login,
            "password": PASSWORD,
        },
    )
    assert forged.status_code == 400


def test_the_login_hint_is_shown_escaped(workforce: Workforce) -> None:
    """``login_hint`` prefills the username, as text."""
    client = _client(workforce)
    page = _authorize(_browser(workforce), client, login_hint='"><script>x</script>')
    assert "<script>x" not in page.text
    assert "&#34;&gt;&lt;script&gt;" in page.text


def test_two_orgs_share_neither_sessions_nor_clients(workforce: Workforce) -> None:
    """A session or a client of acme is unknown at globex, and its tokens are refused there."""
    acme = _client(workforce)
    browser = _browser(workforce)
    body = _exchange(workforce, acme, _code(workforce, acme, browser)).json()
    globex = _client(workforce, "globex", login="grace@example.com")
    assert _callback(_authorize(browser, globex, prompt="none"))["error"] == "login_required"
    stranger = browser.get(
        "/orgs/globex/oauth2/v1/authorize",
        params={"client_id": acme.client_id, "redirect_uri": CALLBACK, "response_type": "code"},
    )
    assert stranger.status_code == 400
    userinfo = workforce.http.get(
        "/orgs/globex/oauth2/v1/userinfo",
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert userinfo.status_code == 401
    crossed = workforce.http.post(
        "/orgs/globex/oauth2/v1/token",
        data={
            "client_id": acme.client_id,
            "client_secret": acme.client_secret,
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
        },
    )
    assert crossed.json()["error"] == "invalid_client"


def test_logout_ends_the_session_and_follows_only_a_registered_uri(workforce: Workforce) -> None:
    """RP-initiated logout: ``id_token_hint`` required, redirect only to a sign-out URI."""
    client = _client(workforce)
    browser = _browser(workforce)
    body = _exchange(workforce, client, _code(workforce, client, browser)).json()
    refused = browser.get(
        "/orgs/acme/oauth2/v1/logout",
        params={"id_token_hint": body["id_token"], "post_logout_redirect_uri": CALLBACK},
    )
    assert refused.status_code == 400
    assert "location" not in refused.headers
    assert browser.get("/orgs/acme/oauth2/v1/logout").status_code == 400
    response = browser.get(
        "/orgs/acme/oauth2/v1/logout",
        params={
            "id_token_hint": body["id_token"],
            "post_logout_redirect_uri": SIGNED_OUT,
            "state": "bye",
        },
    )
    assert response.status_code == 302
    assert response.headers["location"] == f"{SIGNED_OUT}?state=bye"
    assert _callback(_authorize(browser, client, prompt="none"))["error"] == "login_required"


def test_ending_a_users_sessions_signs_them_out_and_revokes_refresh_tokens(
    workforce: Workforce,
) -> None:
    """``end_user_sessions``, which Universal Logout uses, ends sessions and refresh tokens."""
    client = _client(workforce)
    browser = _browser(workforce)
    body = _exchange(workforce, client, _code(workforce, client, browser)).json()
    with workforce.runtime.sessions() as session:
        ended = sessions.end_user_sessions(
            session, workforce.runtime.clock.now(), workforce.org_id(), client.user_id
        )
        session.commit()
        assert session.scalars(sa.select(RefreshTokenRow.revoked_at)).all() != [None]
        assert session.scalars(sa.select(UserSessionRow.ended_at)).one() is not None
    assert ended == 1
    assert _callback(_authorize(browser, client, prompt="none"))["error"] == "login_required"
    refreshed = _token(
        workforce, client, grant_type="refresh_token", refresh_token=body["refresh_token"]
    )
    assert refreshed.json()["error"] == "invalid_grant"


def test_discovery_publishes_every_endpoint_and_the_iss_parameter(workforce: Workforce) -> None:
    """OIDC Discovery 1.0: the endpoints under the issuer, S256, and RFC 9207 ``iss``."""
    metadata = workforce.http.get("/orgs/globex/.well-known/openid-configuration").json()
    issuer = f"{PUBLIC_URL}/orgs/globex"
    assert metadata["authorization_endpoint"] == f"{issuer}/oauth2/v1/authorize"
    assert metadata["token_endpoint"] == f"{issuer}/oauth2/v1/token"
    assert metadata["userinfo_endpoint"] == f"{issuer}/oauth2/v1/userinfo"
    assert metadata["end_session_endpoint"] == f"{issuer}/oauth2/v1/logout"
    assert metadata["code_challenge_methods_supported"] == ["S256"]
    assert metadata["authorization_response_iss_parameter_supported"] is True


def test_a_session_expires(workforce: Workforce) -> None:
    """Sessions last two hours."""
    clock = FrozenClock(workforce.runtime.clock.now())
    workforce.runtime.clock = clock
    client = _client(workforce)
    browser = _browser(workforce)
    _code(workforce, client, browser)
    clock.advance(sessions.SESSION_LIFETIME.total_seconds() + 1)
    assert _callback(_authorize(browser, client, prompt="none"))["error"] == "login_required"
    assert timedelta(hours=2) == sessions.SESSION_LIFETIME


def test_nul_characters_and_unknown_orgs_are_refused_without_a_server_error(
    workforce: Workforce,
) -> None:
    """A NUL in the token form is invalid_request; in the login form it signs no one in."""
    client = _client(workforce)
    token = _token(workforce, client, grant_type="authorization_code", code="a\x00b")
    assert token.status_code == 400
    assert token.json()["error"] == "invalid_request"
    browser = _browser(workforce)
    page = _authorize(browser, client)
    failed = _sign_in(browser, page, "acme", client.login + "\x00")
    assert failed.status_code == 401
    assert browser.get("/orgs/initech/oauth2/v1/authorize").status_code == 404


def test_a_deactivated_user_can_no_longer_refresh(workforce: Workforce) -> None:
    """Tokens are only issued to users who are still active."""
    client = _client(workforce)
    first = _exchange(workforce, client, _code(workforce, client)).json()
    deactivated = workforce.api().post(f"/users/{client.user_id}/lifecycle/deactivate")
    assert deactivated.status_code == 200
    refreshed = _token(
        workforce, client, grant_type="refresh_token", refresh_token=first["refresh_token"]
    )
    assert refreshed.json()["error"] == "invalid_grant"
