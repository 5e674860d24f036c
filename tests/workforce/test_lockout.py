"""The org login page's defences, as Okta's: a user is ``LOCKED_OUT`` after 10 failed sign-ins
(``user.account.lock``) until an admin unlocks them, and an address with too many failures
across users gets a 429."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from expressway.clock import FrozenClock
from expressway.workforce.app import create_app
from expressway.workforce.rows import LogEventRow
from expressway.workforce.runtime import WorkforceRuntime
from tests.conftest import BACKENDS
from tests.workforce.conftest import PUBLIC_URL, Workforce, oidc_app_body, okta_error

pytestmark = pytest.mark.parametrize("workforce_database", BACKENDS, indirect=True)

PASSWORD = "Correct-Horse-42"
WRONG = "Wrong-Horse-42"
LOGIN = "ada@example.com"
CALLBACK = "https://vendor.example/login/callback"
LOCKED_MESSAGE = "Your account is locked after too many failed sign-in attempts"


@dataclass(frozen=True)
class Setup:
    client_id: str
    user_id: str


def _setup(workforce: Workforce, *logins: str) -> Setup:
    """An OIDC app with users (the first one's id answered), each with the password."""
    api = workforce.api()
    app = api.post("/apps", json=oidc_app_body())
    assert app.status_code == 200, app.text
    user_ids = []
    for login in logins or (LOGIN,):
        user = api.post(
            "/users?activate=true",
            json={
                "profile": {"login": login, "email": login, "firstName": "A", "lastName": "L"},
                "credentials": {"password": {"value": PASSWORD}},
            },
        )
        assert user.status_code == 200, user.text
        assigned = api.post(f"/apps/{app.json()['id']}/users", json={"id": user.json()["id"]})
        assert assigned.status_code == 200, assigned.text
        user_ids.append(user.json()["id"])
    return Setup(app.json()["credentials"]["oauthClient"]["client_id"], user_ids[0])


def _browser(workforce: Workforce, address: str = "testclient") -> TestClient:
    return TestClient(
        workforce.http.app, base_url=PUBLIC_URL, follow_redirects=False, client=(address, 50000)
    )


def _hidden(html: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', html)
    assert match, html
    return match.group(1)


def _login_page(browser: TestClient, setup: Setup) -> httpx.Response:
    page = browser.get(
        "/orgs/acme/oauth2/v1/authorize",
        params={
            "client_id": setup.client_id,
            "redirect_uri": CALLBACK,
            "response_type": "code",
            "scope": "openid",
            "state": "st-1",
        },
    )
    assert page.status_code == 200, page.text
    return page


def _post(
    browser: TestClient, page: httpx.Response, password: str, login: str = LOGIN
) -> httpx.Response:
    return browser.post(
        "/orgs/acme/oauth2/v1/authorize/login",
        data={
            "transaction": _hidden(page.text, "transaction"),
            "csrf_token": _hidden(page.text, "csrf_token"),
            "username": login,
            "password": password,
        },
    )


def _fail(browser: TestClient, setup: Setup, times: int, login: str = LOGIN) -> httpx.Response:
    """``times`` wrong passwords in a row on one login page; answers the last."""
    page = _login_page(browser, setup)
    for _ in range(times):
        page = _post(browser, page, WRONG, login)
    return page


def _signs_in(browser: TestClient, setup: Setup, login: str = LOGIN) -> bool:
    answer = _post(browser, _login_page(browser, setup), PASSWORD, login)
    return answer.status_code == 303 and answer.headers["location"].startswith(CALLBACK)


def _events(workforce: Workforce, event_type: str) -> list[LogEventRow]:
    with workforce.runtime.sessions() as session:
        return list(
            session.scalars(
                sa.select(LogEventRow)
                .where(LogEventRow.event_type == event_type)
                .order_by(LogEventRow.sort_key)
            )
        )


def _status(workforce: Workforce, user_id: str) -> str:
    status: str = workforce.api().get(f"/users/{user_id}").json()["status"]
    return status


def test_the_tenth_failed_sign_in_locks_the_user_out(workforce: Workforce) -> None:
    """Okta's default password policy: 10 failures lock the user (LOCKED_OUT,
    user.account.lock), and the page says so and what to do."""
    setup = _setup(workforce)
    browser = _browser(workforce)
    ninth = _fail(browser, setup, 9)
    assert ninth.status_code == 401
    assert "Unable to sign in" in ninth.text
    assert _status(workforce, setup.user_id) == "ACTIVE"
    tenth = _post(browser, ninth, WRONG)
    assert tenth.status_code == 403
    assert LOCKED_MESSAGE in tenth.text
    assert "Contact your administrator" in tenth.text
    user = workforce.api().get(f"/users/{setup.user_id}").json()
    assert user["status"] == "LOCKED_OUT"
    assert user["_links"]["unlock"]["href"].endswith(f"/users/{setup.user_id}/lifecycle/unlock")
    [lock] = _events(workforce, "user.account.lock")
    assert lock.actor_id == setup.user_id
    assert lock.display_message == "Max sign in attempts exceeded"
    assert lock.client_ip == "testclient"


def test_a_locked_out_user_is_refused_with_the_right_password(workforce: Workforce) -> None:
    """A lockout holds whatever password is given."""
    setup = _setup(workforce)
    browser = _browser(workforce)
    locked = _fail(browser, setup, 10)
    refused = _post(browser, locked, PASSWORD)
    assert refused.status_code == 403
    assert LOCKED_MESSAGE in refused.text
    assert _events(workforce, "user.authentication.sso") == []


def test_failures_from_every_address_count_toward_the_lockout(workforce: Workforce) -> None:
    """Okta counts a user's failures wherever they come from."""
    setup = _setup(workforce)
    _fail(_browser(workforce, "198.51.100.1"), setup, 5)
    _fail(_browser(workforce, "198.51.100.2"), setup, 5)
    assert _status(workforce, setup.user_id) == "LOCKED_OUT"


def test_an_admin_unlocks_the_user_who_then_signs_in(workforce: Workforce) -> None:
    """POST /api/v1/users/{id}/lifecycle/unlock: ACTIVE again, failures forgotten,
    user.account.unlock logged."""
    setup = _setup(workforce)
    _fail(_browser(workforce), setup, 10)
    unlocked = workforce.api().post(f"/users/{setup.user_id}/lifecycle/unlock")
    assert unlocked.status_code == 200, unlocked.text
    assert unlocked.json() == {}
    assert _status(workforce, setup.user_id) == "ACTIVE"
    [unlock] = _events(workforce, "user.account.unlock")
    assert unlock.targets[0]["id"] == setup.user_id
    # The count starts again from nothing: nine more failures do not lock.
    _fail(_browser(workforce), setup, 9)
    assert _status(workforce, setup.user_id) == "ACTIVE"
    assert _signs_in(_browser(workforce), setup)


def test_only_a_locked_out_user_can_be_unlocked(workforce: Workforce) -> None:
    """Okta's E0000032 for an unlock of a user in another status."""
    setup = _setup(workforce)
    refused = workforce.api().post(f"/users/{setup.user_id}/lifecycle/unlock")
    assert refused.status_code == 403
    okta_error(refused, "E0000032")
    assert _status(workforce, setup.user_id) == "ACTIVE"


def test_a_successful_sign_in_forgets_the_failures(workforce: Workforce) -> None:
    """Okta resets the count of failed sign-ins at a success."""
    setup = _setup(workforce)
    _fail(_browser(workforce), setup, 9)
    assert _signs_in(_browser(workforce), setup)
    _fail(_browser(workforce), setup, 9)
    assert _status(workforce, setup.user_id) == "ACTIVE"


def test_the_org_may_unlock_users_automatically_after_a_while(workforce: Workforce) -> None:
    """Okta's 'Account will automatically unlock after N minutes', when set."""
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    workforce.runtime.clock = clock
    workforce.runtime.settings.workforce_lockout_auto_unlock_minutes = 30
    setup = _setup(workforce)
    _fail(_browser(workforce), setup, 10)
    clock.advance(29 * 60)
    assert not _signs_in(_browser(workforce), setup)
    clock.advance(60)
    assert _signs_in(_browser(workforce), setup)
    [unlock] = _events(workforce, "user.account.unlock")
    assert unlock.actor["type"] == "SystemPrincipal"


def test_a_locked_out_admins_api_token_keeps_working(workforce: Workforce) -> None:
    """Failed sign-ins by anyone must not cut off an admin's API token."""
    admin = workforce.admins["acme"]
    setup = _setup(workforce)
    _fail(_browser(workforce), setup, 10, login=admin.login)
    me = workforce.api().get("/users/me")
    assert me.status_code == 200
    assert me.json()["status"] == "LOCKED_OUT"


def test_failures_from_one_address_across_users_get_a_429(workforce: Workforce) -> None:
    """Many failed sign-ins from one IP, whatever the user, are throttled with Retry-After
    (RFC 6585 §4) and logged; other addresses sign in as before."""
    workforce.runtime.clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    workforce.runtime.settings.workforce_ip_throttle_attempts = 4
    setup = _setup(workforce, LOGIN, "bob@example.com")
    browser = _browser(workforce, "192.0.2.10")
    page = _login_page(browser, setup)
    for login in ("x@example.com", "y@example.com", "z@example.com", "w@example.com"):
        page = _post(browser, page, WRONG, login)
        assert page.status_code == 401
    throttled = _post(browser, page, PASSWORD)
    assert throttled.status_code == 429
    assert "Too many failed sign-in attempts came from your network" in throttled.text
    assert throttled.headers["Retry-After"] == str(6 * 3600)
    assert "Try again in 6 hours" in throttled.text
    [event] = _events(workforce, "security.threat.detected")
    assert (event.client_ip, event.outcome_result) == ("192.0.2.10", "DENY")
    assert _status(workforce, setup.user_id) == "ACTIVE"
    assert _signs_in(_browser(workforce, "192.0.2.11"), setup)


def test_two_workforce_instances_on_one_database_share_the_count(workforce: Workforce) -> None:
    """Failures seen by one replica and by another add up to one lockout."""
    setup = _setup(workforce)
    other_runtime = WorkforceRuntime.from_settings(workforce.runtime.settings)
    try:
        with TestClient(create_app(other_runtime), base_url=PUBLIC_URL) as other:
            _fail(_browser(workforce), setup, 5)
            page = other.get(
                "/orgs/acme/oauth2/v1/authorize",
                params={
                    "client_id": setup.client_id,
                    "redirect_uri": CALLBACK,
                    "response_type": "code",
                    "scope": "openid",
                },
            )
            for _ in range(5):
                page = _post(other, page, WRONG)
            assert page.status_code == 403
    finally:
        other_runtime.engine.dispose()
    assert _status(workforce, setup.user_id) == "LOCKED_OUT"
