"""Universal Login with a password: pages, CSRF, the code, failed logins, and login sessions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from expressway import hashing
from expressway.clock import FrozenClock
from expressway.tenant.rows import AuthorizationCodeRow, LogEventRow, LoginSessionRow
from expressway.tenant.services import login_sessions
from tests.conftest import BACKENDS, Tenant
from tests.tenant.browser import (
    CALLBACK,
    DATABASE,
    PASSWORD,
    Browser,
    forms_of,
    make_client,
    make_user,
    management,
    pkce_pair,
    query_of,
)

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)

EMAIL = "ada@example.com"


def _events(tenant: Tenant, type: str) -> list[LogEventRow]:
    with tenant.runtime.sessions() as session:
        return list(
            session.scalars(
                select(LogEventRow).where(LogEventRow.type == type).order_by(LogEventRow.log_id)
            )
        )


def _code_row(tenant: Tenant, code: str) -> AuthorizationCodeRow:
    with tenant.runtime.sessions() as session:
        row = session.get(AuthorizationCodeRow, hashing.hash_token(code))
        assert row is not None
        return row


def _freeze(tenant: Tenant) -> FrozenClock:
    clock = FrozenClock(datetime.now(UTC))
    tenant.runtime.clock = clock
    return clock


def test_a_user_signs_in_with_a_password_and_the_client_gets_a_code(tenant: Tenant) -> None:
    """RFC 6749 §4.1.2: code and state at the callback; RFC 9207: iss beside them."""
    client_id = make_client(tenant)
    user_id = make_user(tenant, EMAIL)
    _, challenge = pkce_pair()
    done = Browser(tenant).sign_in(
        client_id,
        EMAIL,
        nonce="n-42",
        code_challenge=challenge,
        code_challenge_method="S256",
    )
    assert done.status_code == 303
    assert done.headers["location"].startswith(CALLBACK + "?")
    answer = query_of(done)
    assert answer["state"] == "xyz-state"
    assert answer["iss"] == "http://localhost:8401/"
    code = _code_row(tenant, answer["code"])
    assert code.client_id == client_id
    assert code.user_id == user_id
    assert code.redirect_uri == CALLBACK
    assert code.scope == ["openid", "profile", "email"]
    assert code.nonce == "n-42"
    assert code.code_challenge == challenge
    assert code.code_challenge_method == "S256"
    assert code.session_id is not None
    [success] = _events(tenant, "s")
    assert (success.client_id, success.user_id, success.connection) == (
        client_id,
        user_id,
        DATABASE,
    )


def test_the_code_is_exchanged_for_tokens_at_the_token_endpoint(tenant: Tenant) -> None:
    """End to end: the code of a login redeems at /oauth/token with the PKCE verifier."""
    created = management(tenant).post(
        "/clients", json={"name": "SPA", "app_type": "spa", "callbacks": [CALLBACK]}
    )
    client_id = created.json()["client_id"]
    make_user(tenant, EMAIL)
    verifier, challenge = pkce_pair()
    done = Browser(tenant).sign_in(
        client_id, EMAIL, code_challenge=challenge, code_challenge_method="S256"
    )
    tokens = tenant.http.post(
        "/oauth/token",
        data={
            "grant_type": "authorization_code",
            "client_id": client_id,
            "code": query_of(done)["code"],
            "redirect_uri": CALLBACK,
            "code_verifier": verifier,
        },
    )
    assert tokens.status_code == 200, tokens.text
    assert "id_token" in tokens.json()


def test_the_pages_have_labelled_inputs_and_a_csrf_field(tenant: Tenant) -> None:
    """Every visible input has a label; every form carries the transaction's token."""
    client_id = make_client(tenant)
    browser = Browser(tenant)
    identifier = browser.authorize(client_id)
    password = browser.submit(identifier, "/u/login/identifier", email=EMAIL)
    for page in (identifier, password):
        assert '<meta name="viewport"' in page.text
        for form in forms_of(page.text):
            assert form.fields["csrf_token"]
            assert form.input_ids <= form.labels
    assert 'type="password"' in password.text
    assert f'value="{EMAIL}"' in password.text


def test_a_form_without_the_transactions_csrf_token_is_refused(tenant: Tenant) -> None:
    """The synchronizer token: a POST must carry the token served with the page."""
    client_id = make_client(tenant)
    make_user(tenant, EMAIL)
    browser = Browser(tenant)
    page = browser.submit(browser.authorize(client_id), "/u/login/identifier", email=EMAIL)
    for token in ("", "forged"):
        response = browser.submit(
            page, "/u/login/password", email=EMAIL, password=PASSWORD, csrf_token=token
        )
        assert response.status_code == 403
    assert _events(tenant, "s") == []


def test_a_wrong_password_is_refused_and_logged_as_fp(tenant: Tenant) -> None:
    """Auth0's fp event: the user exists, the password is wrong."""
    client_id = make_client(tenant)
    user_id = make_user(tenant, EMAIL)
    response = Browser(tenant).sign_in(client_id, EMAIL, password="Wrong-Horse-7")
    assert response.status_code == 400
    assert "Wrong e-mail or password" in response.text
    [failed] = _events(tenant, "fp")
    assert (failed.user_id, failed.client_id, failed.connection) == (user_id, client_id, DATABASE)


def test_an_unknown_email_costs_a_password_check_and_is_logged_as_fu(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Timing tells no one which e-mails have accounts: an unknown one burns an Argon2 check."""
    burned: list[str] = []
    monkeypatch.setattr(hashing, "burn_password_check", burned.append)
    client_id = make_client(tenant)
    response = Browser(tenant).sign_in(client_id, "nobody@example.com")
    assert response.status_code == 400
    assert "Wrong e-mail or password" in response.text
    assert burned == [PASSWORD]
    [failed] = _events(tenant, "fu")
    assert failed.user_name == "nobody@example.com"


def test_a_blocked_user_is_refused_even_with_the_right_password(tenant: Tenant) -> None:
    """Blocked users cannot sign in; the block is told only after the right password."""
    client_id = make_client(tenant)
    user_id = make_user(tenant, EMAIL, blocked=True)
    response = Browser(tenant).sign_in(client_id, EMAIL)
    assert response.status_code == 400
    assert "blocked" in response.text
    assert _events(tenant, "s") == []
    assert [e.user_id for e in _events(tenant, "f")] == [user_id]


def test_login_hint_prefills_the_email(tenant: Tenant) -> None:
    """OpenID Connect Core §3.1.2.1: login_hint."""
    client_id = make_client(tenant)
    page = Browser(tenant).authorize(client_id, login_hint="grace@example.com")
    assert Browser(tenant).form(page, "/u/login/identifier").fields["email"] == (
        "grace@example.com"
    )


def test_the_database_connection_parameter_goes_straight_to_the_password_page(
    tenant: Tenant,
) -> None:
    """Auth0's connection parameter skips the identifier page."""
    client_id = make_client(tenant)
    page = Browser(tenant).authorize(client_id, connection=DATABASE, login_hint=EMAIL)
    assert page.request.url.path == "/u/login/password"
    assert f'value="{EMAIL}"' in page.text


def test_an_expired_transaction_opens_no_page(tenant: Tenant) -> None:
    """A transaction lives one hour."""
    clock = _freeze(tenant)
    client_id = make_client(tenant)
    browser = Browser(tenant)
    page = browser.authorize(client_id)
    clock.advance(3601)
    response = browser.submit(page, "/u/login/identifier", email=EMAIL)
    assert response.status_code == 400
    assert "expired" in response.text


def test_a_login_page_opened_in_another_browser_is_refused(tenant: Tenant) -> None:
    """Login CSRF: a login is bound to the browser that started it at /authorize."""
    client_id = make_client(tenant)
    make_user(tenant, EMAIL)
    page = Browser(tenant).authorize(client_id)
    tenant.http.cookies.clear()  # the same page, now in a browser without that login's cookie
    response = Browser(tenant).submit(page, "/u/login/identifier", email=EMAIL)
    assert response.status_code == 400
    assert "expired" in response.text


def test_a_finished_transaction_cannot_be_replayed(tenant: Tenant) -> None:
    """Once the code is sent, the transaction's pages are closed."""
    client_id = make_client(tenant)
    make_user(tenant, EMAIL)
    browser = Browser(tenant)
    password_page = browser.submit(browser.authorize(client_id), "/u/login/identifier", email=EMAIL)
    assert browser.submit(password_page, "/u/login/password", password=PASSWORD).status_code == 303
    again = browser.submit(password_page, "/u/login/password", password=PASSWORD)
    assert again.status_code == 400
    assert len(_events(tenant, "s")) == 1


def test_the_session_cookie_is_http_only_and_lax_and_only_its_hash_is_stored(
    tenant: Tenant,
) -> None:
    """The cookie opens the session; a copy of the database does not."""
    client_id = make_client(tenant)
    make_user(tenant, EMAIL)
    done = Browser(tenant).sign_in(client_id, EMAIL)
    cookie = done.headers["set-cookie"]
    assert cookie.startswith(f"{login_sessions.COOKIE_NAME}=")
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
    assert "Path=/" in cookie
    secret = tenant.http.cookies[login_sessions.COOKIE_NAME]
    with tenant.runtime.sessions() as session:
        [row] = session.scalars(select(LoginSessionRow))
        assert row.secret_hash == hashing.hash_token(secret)
        assert secret not in repr(row.__dict__)


def test_a_second_authorize_with_a_live_session_skips_the_login_pages(tenant: Tenant) -> None:
    """Single sign-on: the session stands for a new sign-in."""
    client_id = make_client(tenant)
    make_user(tenant, EMAIL)
    browser = Browser(tenant)
    first = query_of(browser.sign_in(client_id, EMAIL))
    again = browser.authorize(client_id)
    assert again.status_code == 303
    second = query_of(again)
    assert second["code"] != first["code"]
    assert _code_row(tenant, second["code"]).session_id == (
        _code_row(tenant, first["code"]).session_id
    )


def test_prompt_login_asks_for_the_password_again_and_replaces_the_session(
    tenant: Tenant,
) -> None:
    """OpenID Connect Core §3.1.2.1: prompt=login forces re-authentication."""
    client_id = make_client(tenant)
    make_user(tenant, EMAIL)
    browser = Browser(tenant)
    first = query_of(browser.sign_in(client_id, EMAIL))
    again = browser.sign_in(client_id, EMAIL, prompt="login")
    second = query_of(again)
    old = _code_row(tenant, first["code"]).session_id
    assert _code_row(tenant, second["code"]).session_id != old
    with tenant.runtime.sessions() as session:
        previous = session.get(LoginSessionRow, old)
        assert previous is not None
        assert previous.revoked_at is not None


def test_prompt_none_without_a_session_answers_login_required(tenant: Tenant) -> None:
    """OpenID Connect Core §3.1.2.6: no page is shown."""
    client_id = make_client(tenant)
    response = Browser(tenant).authorize(client_id, prompt="none")
    assert response.status_code == 303
    answer = query_of(response)
    assert answer["error"] == "login_required"
    assert answer["state"] == "xyz-state"


def test_prompt_none_with_a_session_answers_a_code(tenant: Tenant) -> None:
    """Silent authentication."""
    client_id = make_client(tenant)
    make_user(tenant, EMAIL)
    browser = Browser(tenant)
    browser.sign_in(client_id, EMAIL)
    assert "code" in query_of(browser.authorize(client_id, prompt="none"))


def test_max_age_older_than_the_sign_in_forces_reauthentication(tenant: Tenant) -> None:
    """OpenID Connect Core §3.1.2.1: max_age bounds the age of auth_time."""
    clock = _freeze(tenant)
    client_id = make_client(tenant)
    make_user(tenant, EMAIL)
    browser = Browser(tenant)
    browser.sign_in(client_id, EMAIL)
    clock.advance(120)
    assert "code" in query_of(browser.authorize(client_id, max_age="300"))
    page = browser.authorize(client_id, max_age="60")
    assert page.request.url.path == "/u/login/identifier"
    assert query_of(browser.authorize(client_id, max_age="60", prompt="none"))["error"] == (
        "login_required"
    )


def test_an_idle_session_ends_after_the_idle_lifetime(tenant: Tenant) -> None:
    """Tenant setting idle_session_lifetime, in hours; each use restarts it."""
    clock = _freeze(tenant)
    management(tenant).patch(
        "/tenants/settings", json={"idle_session_lifetime": 1, "session_lifetime": 3}
    ).raise_for_status()
    client_id = make_client(tenant)
    make_user(tenant, EMAIL)
    browser = Browser(tenant)
    browser.sign_in(client_id, EMAIL)
    clock.advance(50 * 60)
    assert "code" in query_of(browser.authorize(client_id, prompt="none"))
    clock.advance(50 * 60)
    assert "code" in query_of(browser.authorize(client_id, prompt="none"))
    clock.advance(61 * 60)
    assert query_of(browser.authorize(client_id, prompt="none"))["error"] == "login_required"


def test_a_session_ends_at_its_absolute_lifetime_however_active(tenant: Tenant) -> None:
    """Tenant setting session_lifetime, in hours."""
    clock = _freeze(tenant)
    management(tenant).patch(
        "/tenants/settings", json={"idle_session_lifetime": 1, "session_lifetime": 2}
    ).raise_for_status()
    client_id = make_client(tenant)
    make_user(tenant, EMAIL)
    browser = Browser(tenant)
    browser.sign_in(client_id, EMAIL)
    for _ in range(3):
        clock.advance(40 * 60)
        answer = query_of(browser.authorize(client_id, prompt="none"))
    assert answer["error"] == "login_required"


def test_revoked_sessions_and_sessions_of_blocked_users_do_not_count(tenant: Tenant) -> None:
    """revoke_user_sessions ends them all; blocking a user ends their sessions' use."""
    client_id = make_client(tenant)
    user_id = make_user(tenant, EMAIL)
    browser = Browser(tenant)
    browser.sign_in(client_id, EMAIL)
    with tenant.runtime.sessions() as session:
        assert (
            login_sessions.revoke_user_sessions(session, tenant.runtime.clock.now(), user_id) == 1
        )
        session.commit()
    assert query_of(browser.authorize(client_id, prompt="none"))["error"] == "login_required"
    browser.sign_in(client_id, EMAIL)
    management(tenant).patch(f"/users/{user_id}", json={"blocked": True}).raise_for_status()
    assert query_of(browser.authorize(client_id, prompt="none"))["error"] == "login_required"
