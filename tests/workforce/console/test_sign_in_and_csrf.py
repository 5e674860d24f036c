"""Signing in to the console, its session cookie, anti-CSRF tokens, and one org's console kept
from another's admins."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from expressway import hashing
from expressway.workforce.rows import ExpressConfigureFlowRow, LogEventRow, UserRow
from tests.conftest import BACKENDS
from tests.workforce.conftest import PUBLIC_URL, Workforce, new_user, okta_error
from tests.workforce.console.conftest import Console, open_console, page_token, sign_in
from tests.workforce.oin_helpers import finished_submission

pytestmark = pytest.mark.parametrize("workforce_database", BACKENDS, indirect=True)

SESSION_COOKIE = "expressway_workforce_session"


def _events(workforce: Workforce, event_type: str, org: str = "acme") -> list[LogEventRow]:
    with workforce.runtime.sessions() as session:
        return list(
            session.scalars(
                sa.select(LogEventRow)
                .where(
                    LogEventRow.org_id == workforce.org_id(org),
                    LogEventRow.event_type == event_type,
                )
                .order_by(LogEventRow.sort_key)
            )
        )


def _browser(workforce: Workforce) -> TestClient:
    return TestClient(workforce.http.app, base_url=PUBLIC_URL)


def test_a_browser_without_a_session_is_sent_to_the_sign_in_page(workforce: Workforce) -> None:
    """Every console page needs a signed-in admin; without one, the sign-in page."""
    response = _browser(workforce).get("/orgs/acme/admin/people", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/orgs/acme/admin/login"


def test_an_admin_signs_in_with_the_org_password_and_gets_a_per_org_http_only_lax_cookie(
    workforce: Workforce,
) -> None:
    """The console's session is the org's: HttpOnly, SameSite=Lax, path /orgs/{org}/, logged."""
    browser = _browser(workforce)
    admin = workforce.admins["acme"]

    response = sign_in(browser, "acme", admin.login, admin.password)

    assert response.status_code == 303
    assert response.headers["location"] == "/orgs/acme/admin"
    cookie = next(
        c for c in response.headers.get_list("set-cookie") if c.startswith(f"{SESSION_COOKIE}=")
    )
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert "httponly" in attributes
    assert "samesite=lax" in attributes
    assert "path=/orgs/acme/" in attributes
    assert "Dashboard" in browser.get("/orgs/acme/admin").text
    [access] = _events(workforce, "user.session.access_admin_app")
    assert access.actor["alternateId"] == admin.login
    assert access.outcome_result == "SUCCESS"


def test_an_admins_hash_made_with_other_parameters_is_renewed_at_sign_in(
    workforce: Workforce,
) -> None:
    """As the org's login page does: a password hashed with older Argon2id parameters signs in
    and is hashed again with those in use."""
    admin = workforce.admins["acme"]
    old = PasswordHasher(memory_cost=65_536, time_cost=3, parallelism=4).hash(admin.password)

    def admin_row(session: sa.orm.Session) -> UserRow:
        return session.scalars(
            sa.select(UserRow).where(
                UserRow.org_id == workforce.org_id("acme"),
                UserRow.login_key == admin.login.lower(),
            )
        ).one()

    with workforce.runtime.sessions() as session:
        admin_row(session).password_hash = old
        session.commit()
    response = sign_in(_browser(workforce), "acme", admin.login, admin.password)
    assert response.status_code == 303
    with workforce.runtime.sessions() as session:
        renewed = admin_row(session).password_hash
    assert renewed is not None
    assert renewed.split("$")[3] == "m=7168,t=5,p=1"
    assert hashing.verify_password(renewed, admin.password)


def test_a_wrong_password_is_refused_with_one_message_and_logged(workforce: Workforce) -> None:
    """A failed sign-in says nothing about which part was wrong, and is in the System Log."""
    browser = _browser(workforce)

    wrong = sign_in(browser, "acme", workforce.admins["acme"].login, "not-the-password")
    unknown = sign_in(browser, "acme", "nobody@example.com", "not-the-password")

    for response in (wrong, unknown):
        assert response.status_code == 401
        assert "Check your username and password" in response.text
        assert SESSION_COOKIE not in response.headers.get("set-cookie", "")
    failures = _events(workforce, "user.session.start")
    assert [e.outcome_result for e in failures] == ["FAILURE", "FAILURE"]


def test_a_person_without_an_admin_role_cannot_use_the_console(workforce: Workforce) -> None:
    """Only super admins get past the sign-in page; the refusal is logged."""
    api = workforce.api()
    created = api.post(
        "/users?activate=true",
        json={
            "profile": {
                "login": "grace@example.com",
                "email": "grace@example.com",
                "firstName": "Grace",
                "lastName": "Hopper",
            },
            "credentials": {"password": {"value": "Str0ng-pass!"}},
        },
    )
    assert created.json()["status"] == "ACTIVE"
    browser = _browser(workforce)

    response = sign_in(browser, "acme", "grace@example.com", "Str0ng-pass!")

    assert response.status_code == 401
    assert "no administrator role" in response.text
    assert browser.get("/orgs/acme/admin", follow_redirects=False).status_code == 303
    [denied] = _events(workforce, "user.session.access_admin_app")
    assert denied.outcome_result == "FAILURE"


def test_a_sign_in_form_posted_without_its_cookie_is_refused(workforce: Workforce) -> None:
    """Login CSRF: the form must echo the cookie its page set, which another site cannot."""
    admin = workforce.admins["acme"]
    response = _browser(workforce).post(
        "/orgs/acme/admin/login",
        data={"login_token": "forged", "username": admin.login, "password": admin.password},
        follow_redirects=False,
    )

    assert response.status_code == 401
    assert "expired" in response.text
    assert SESSION_COOKIE not in response.headers.get("set-cookie", "")


def test_a_form_without_the_session_csrf_token_changes_nothing(
    workforce: Workforce, console: Console
) -> None:
    """Every state change needs the session's anti-CSRF token, compared in constant time."""
    person = {"firstName": "Eve", "lastName": "Forger", "login": "eve@example.com"}

    missing = console.browser.post(console.path("/people"), data=person, follow_redirects=False)
    wrong = console.browser.post(
        console.path("/people"), data={**person, "csrf_token": "x" * 43}, follow_redirects=False
    )

    for response in (missing, wrong):
        assert response.status_code == 403
        assert "expired" in response.text
    with workforce.runtime.sessions() as session:
        assert (
            session.scalars(sa.select(UserRow).where(UserRow.login == "eve@example.com")).all()
            == []
        )


def test_the_express_configure_endpoint_needs_the_csrf_header(
    workforce: Workforce, console: Console
) -> None:
    """The script's POST carries X-CSRF-Token; without it (or with another) no flow starts."""
    api = workforce.api()
    submission = finished_submission(api)
    app = api.post(f"/oin/submissions/{submission['id']}/test-instance").json()
    url = console.path(f"/api/apps/{app['id']}/express-configure/sso")

    missing = console.browser.post(url)
    wrong = console.browser.post(url, headers={"X-CSRF-Token": "not-the-token"})

    for response in (missing, wrong):
        okta_error(response, "E0000006")
        assert response.status_code == 403
    with workforce.runtime.sessions() as session:
        assert session.scalars(sa.select(ExpressConfigureFlowRow)).all() == []


def test_the_json_endpoints_answer_401_in_okta_shape_without_a_session(
    workforce: Workforce,
) -> None:
    """The console's scripts get Okta's error shape, never a redirect to an HTML page."""
    response = _browser(workforce).get("/orgs/acme/admin/api/apps/0oa1/express-configure/flows/x")

    assert response.status_code == 401
    okta_error(response, "E0000005")


def test_one_orgs_console_session_opens_no_other_orgs_console(workforce: Workforce) -> None:
    """The cookie is scoped to its org's path, and a session of one org is none in another."""
    console = open_console(workforce, "acme")
    cookie = console.browser.cookies.get(SESSION_COOKIE)
    assert cookie

    not_sent = console.browser.get("/orgs/globex/admin", follow_redirects=False)
    forced = _browser(workforce).get(
        "/orgs/globex/admin",
        headers={"Cookie": f"{SESSION_COOKIE}={cookie}"},
        follow_redirects=False,
    )

    for response in (not_sent, forced):
        assert response.status_code == 303
        assert response.headers["location"] == "/orgs/globex/admin/login"


def test_an_admin_cannot_reach_another_orgs_objects_through_their_own_console(
    workforce: Workforce, console: Console
) -> None:
    """Objects are looked up in the console's org only: another org's person is not found."""
    stranger = new_user(workforce.api("globex"), "someone@globex.example")

    response = console.browser.get(console.path(f"/people/{stranger['id']}"))

    assert response.status_code == 404
    assert "someone@globex.example" not in response.text


def test_signing_out_ends_the_session(workforce: Workforce, console: Console) -> None:
    """Sign out ends the org session server side, so the old cookie opens nothing."""
    cookie = console.browser.cookies.get(SESSION_COOKIE)

    response = console.post("/logout")

    assert response.status_code == 303
    assert response.headers["location"] == "/orgs/acme/admin/login?notice=signed-out"
    replayed = _browser(workforce).get(
        "/orgs/acme/admin", headers={"Cookie": f"{SESSION_COOKIE}={cookie}"}, follow_redirects=False
    )
    assert replayed.status_code == 303
    assert _events(workforce, "user.session.end")


def test_the_page_token_is_bound_to_the_session(workforce: Workforce) -> None:
    """Two sessions of the same admin carry different tokens; one's token is refused in the
    other."""
    first = open_console(workforce)
    second = open_console(workforce)
    first_token = first.token

    assert first_token != second.token
    response = second.browser.post(
        second.path("/groups"),
        data={"csrf_token": first_token, "name": "Leaked"},
        follow_redirects=False,
    )
    assert response.status_code == 403
    assert page_token(first.get()) == first_token
