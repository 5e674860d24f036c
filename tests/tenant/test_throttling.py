"""Brute-force protection: blocks per account and address (``limit_wc``), throttling per address
(``limit_mu``), the same at the token endpoint, the ``/api/v2/user-blocks`` endpoints, and
counters shared by every replica on one database."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from expressway.clock import FrozenClock
from expressway.storage import counters
from expressway.tenant.app import create_app
from expressway.tenant.rows import AttemptCounterRow, LogEventRow
from expressway.tenant.runtime import TenantRuntime
from expressway.tenant.services import throttling
from tests.conftest import BACKENDS, Tenant, auth0_error
from tests.tenant.browser import (
    DATABASE,
    PASSWORD,
    TENANT_ORIGIN,
    Browser,
    make_client,
    make_user,
    management,
    new_browser,
    signed_in,
)

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)

EMAIL = "ada@example.com"
WRONG = "Wrong-Horse-1"
BLOCKED_MESSAGE = "Your account is blocked on this network"
THROTTLED_MESSAGE = "Too many failed sign-in attempts came from your network"


def _freeze(tenant: Tenant) -> FrozenClock:
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    tenant.runtime.clock = clock
    return clock


def _events(tenant: Tenant, type: str) -> list[LogEventRow]:
    with tenant.runtime.sessions() as session:
        return list(
            session.scalars(
                select(LogEventRow).where(LogEventRow.type == type).order_by(LogEventRow.log_id)
            )
        )


def _password_page(browser: Browser, client_id: str, email: str = EMAIL) -> httpx.Response:
    page = browser.authorize(client_id)
    page = browser.submit(page, "/u/login/identifier", email=email)
    assert page.request.url.path == "/u/login/password", page.text
    return page


def _attempt(browser: Browser, client_id: str, password: str, email: str = EMAIL) -> httpx.Response:
    page = _password_page(browser, client_id, email)
    return browser.submit(page, "/u/login/password", email=email, password=password)


def _fail(browser: Browser, client_id: str, times: int, email: str = EMAIL) -> httpx.Response:
    """``times`` wrong passwords on one password page; answers the last."""
    page = _password_page(browser, client_id, email)
    answer = page
    for _ in range(times):
        answer = browser.submit(page, "/u/login/password", email=email, password=WRONG)
    return answer


def test_the_tenth_wrong_password_blocks_the_account_from_that_address(tenant: Tenant) -> None:
    """Auth0 brute-force protection: 10 failures per account and IP block that IP for that
    account, with a `limit_wc` event and a page that says what to do."""
    client_id = make_client(tenant)
    make_user(tenant, EMAIL)
    browser = new_browser(tenant)
    ninth = _fail(browser, client_id, 9)
    assert ninth.status_code == 400
    assert "Wrong e-mail or password." in ninth.text
    tenth = _fail(browser, client_id, 1)
    assert tenth.status_code == 429
    assert BLOCKED_MESSAGE in tenth.text
    assert "ask your administrator to unblock" in tenth.text
    assert int(tenth.headers["Retry-After"]) > 0
    [blocked] = _events(tenant, "limit_wc")
    assert (blocked.user_name, blocked.connection) == (EMAIL, DATABASE)
    assert blocked.details["ip"] == "testclient"


def test_a_blocked_account_is_refused_even_with_the_right_password(tenant: Tenant) -> None:
    """A block is checked before the password, so it tells a guesser nothing."""
    client_id = make_client(tenant)
    make_user(tenant, EMAIL)
    browser = new_browser(tenant)
    _fail(browser, client_id, 10)
    answer = _attempt(browser, client_id, PASSWORD)
    assert answer.status_code == 429
    assert BLOCKED_MESSAGE in answer.text
    assert len(_events(tenant, "limit_wc")) == 2
    assert _events(tenant, "s") == []


def test_the_block_holds_only_for_the_address_the_failures_came_from(tenant: Tenant) -> None:
    """Blocking per account *and* IP: the owner elsewhere still signs in."""
    client_id = make_client(tenant)
    make_user(tenant, EMAIL)
    _fail(new_browser(tenant, "198.51.100.7"), client_id, 10)
    assert signed_in(_attempt(new_browser(tenant, "203.0.113.20"), client_id, PASSWORD))


def test_a_successful_sign_in_forgets_the_accounts_failures(tenant: Tenant) -> None:
    """The per-account count starts again after a success from that address."""
    client_id = make_client(tenant)
    make_user(tenant, EMAIL)
    browser = new_browser(tenant)
    _fail(browser, client_id, 9)
    assert signed_in(_attempt(browser, client_id, PASSWORD))
    assert _fail(new_browser(tenant), client_id, 9).status_code == 400


def test_unknown_accounts_are_counted_like_real_ones(tenant: Tenant) -> None:
    """The block does not reveal which e-mails have accounts."""
    client_id = make_client(tenant)
    tenth = _fail(new_browser(tenant), client_id, 10, email="nobody@example.com")
    assert tenth.status_code == 429
    assert BLOCKED_MESSAGE in tenth.text


def test_an_admin_finds_and_lifts_a_block_by_user_id(tenant: Tenant) -> None:
    """GET/DELETE /api/v2/user-blocks/{id} in Auth0's shape."""
    client_id = make_client(tenant)
    user_id = make_user(tenant, EMAIL)
    api = management(tenant)
    assert api.get(f"/user-blocks/{user_id}").json() == {"blocked_for": []}
    _fail(new_browser(tenant, "198.51.100.7"), client_id, 10)
    assert api.get(f"/user-blocks/{user_id}").json() == {
        "blocked_for": [{"identifier": EMAIL, "ip": "198.51.100.7", "connection": DATABASE}]
    }
    lifted = api.delete(f"/user-blocks/{user_id}")
    assert lifted.status_code == 204
    assert api.get(f"/user-blocks/{user_id}").json() == {"blocked_for": []}
    assert signed_in(_attempt(new_browser(tenant, "198.51.100.7"), client_id, PASSWORD))


def test_an_admin_finds_and_lifts_blocks_by_identifier(tenant: Tenant) -> None:
    """GET/DELETE /api/v2/user-blocks?identifier= match the e-mail whatever its case."""
    client_id = make_client(tenant)
    make_user(tenant, EMAIL)
    api = management(tenant)
    _fail(new_browser(tenant, "198.51.100.7"), client_id, 10)
    _fail(new_browser(tenant, "198.51.100.8"), client_id, 10)
    found = api.get("/user-blocks", params={"identifier": "ADA@example.com"}).json()
    assert sorted(block["ip"] for block in found["blocked_for"]) == [
        "198.51.100.7",
        "198.51.100.8",
    ]
    assert api.delete("/user-blocks", params={"identifier": EMAIL}).status_code == 204
    assert api.get("/user-blocks", params={"identifier": EMAIL}).json() == {"blocked_for": []}
    [unblock] = [e for e in _events(tenant, "sapi") if "Unblock" in (e.description or "")]
    assert unblock.details["identifier"] == EMAIL


def test_user_blocks_need_the_users_scopes(tenant: Tenant) -> None:
    """read:users to look, update:users to lift, as in Auth0; an unknown user is a 404."""
    user_id = make_user(tenant, EMAIL)
    reader = tenant.api("read:users")
    assert reader.get(f"/user-blocks/{user_id}").status_code == 200
    refused = reader.delete(f"/user-blocks/{user_id}")
    assert refused.status_code == 403
    assert auth0_error(refused)["errorCode"] == "insufficient_scope"
    missing = reader.get("/user-blocks/auth0|nobody")
    assert missing.status_code == 404
    assert auth0_error(missing)["errorCode"] == "inexistent_user"
    assert reader.get("/user-blocks").status_code == 400


def test_a_new_password_lifts_the_block(tenant: Tenant) -> None:
    """Auth0: a password change unblocks the account."""
    client_id = make_client(tenant)
    user_id = make_user(tenant, EMAIL)
    _fail(new_browser(tenant), client_id, 10)
    changed = management(tenant).patch(f"/users/{user_id}", json={"password": "New-Horse-42"})
    assert changed.status_code == 200, changed.text
    assert signed_in(_attempt(new_browser(tenant), client_id, "New-Horse-42"))


def test_failures_across_accounts_throttle_the_address_with_limit_mu(tenant: Tenant) -> None:
    """Auth0 Suspicious IP throttling: many failures from one IP, whatever the account, get a
    429 with Retry-After and a `limit_mu` event; other addresses are not affected."""
    _freeze(tenant)
    tenant.runtime.settings.tenant_ip_throttle_attempts = 4
    client_id = make_client(tenant)
    make_user(tenant, EMAIL)
    browser = new_browser(tenant, "192.0.2.50")
    for index in range(3):
        wrong = _fail(browser, client_id, 1, email=f"user{index}@example.com")
        assert wrong.status_code == 400
    fourth = _fail(browser, client_id, 1, email="user3@example.com")
    assert fourth.status_code == 429
    assert THROTTLED_MESSAGE in fourth.text
    # 4 attempts a day: one drains every 6 hours.
    assert fourth.headers["Retry-After"] == str(6 * 3600)
    assert "Try again in 6 hours" in fourth.text
    refused = _attempt(browser, client_id, PASSWORD)
    assert refused.status_code == 429
    events = _events(tenant, "limit_mu")
    assert sorted(e.user_name or "" for e in events) == [EMAIL, "user3@example.com"]
    assert {e.details["ip"] for e in events} == {"192.0.2.50"}
    assert signed_in(_attempt(new_browser(tenant, "192.0.2.51"), client_id, PASSWORD))


def test_a_throttled_address_gets_one_attempt_back_per_interval(tenant: Tenant) -> None:
    """The limit drains evenly: window/attempts after the block, one more try is allowed."""
    clock = _freeze(tenant)
    tenant.runtime.settings.tenant_ip_throttle_attempts = 3
    tenant.runtime.settings.tenant_ip_throttle_window_seconds = 300
    client_id = make_client(tenant)
    make_user(tenant, EMAIL)
    browser = new_browser(tenant)
    assert _fail(browser, client_id, 3, email="x@example.com").status_code == 429
    clock.advance(99)
    assert _attempt(browser, client_id, PASSWORD).status_code == 429
    clock.advance(1)
    assert signed_in(_attempt(browser, client_id, PASSWORD))


def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(tenant: Tenant) -> None:
    """The client address is the connection's, unless a configured trusted proxy says whom it
    forwards for."""
    client_id = make_client(tenant)
    make_user(tenant, EMAIL)
    untrusted = new_browser(tenant, "10.1.2.3")
    untrusted.http.headers["X-Forwarded-For"] = "203.0.113.9"
    _fail(untrusted, client_id, 1)
    tenant.runtime.settings.trusted_proxies = ["10.0.0.0/8"]
    proxied = new_browser(tenant, "10.1.2.3")
    proxied.http.headers["X-Forwarded-For"] = "198.51.100.1, 203.0.113.9"
    _fail(proxied, client_id, 1)
    with tenant.runtime.sessions() as session:
        addresses = set(
            session.scalars(
                select(AttemptCounterRow.ip).where(
                    AttemptCounterRow.scope == throttling.LOGIN_ACCOUNT
                )
            )
        )
    assert addresses == {"10.1.2.3", "203.0.113.9"}


# --- The token endpoint ---


def _machine_client(tenant: Tenant) -> tuple[str, str]:
    created = management(tenant).post(
        "/clients", json={"name": "Worker", "app_type": "non_interactive"}
    )
    assert created.status_code == 201, created.text
    body = created.json()
    return body["client_id"], body["client_secret"]


def _token(http: TestClient, client_id: str, secret: str) -> httpx.Response:
    return http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            "audience": "http://localhost:8401/api/v2/",
        },
    )


def test_ten_wrong_secrets_refuse_the_client_from_that_address_with_a_429(tenant: Tenant) -> None:
    """RFC 6585 §4: 429 with Retry-After; RFC 6749 §5.2-shaped body (Auth0's
    too_many_attempts); the right secret is refused untried, and a `limit_wc` event says why."""
    clock = _freeze(tenant)
    client_id, secret = _machine_client(tenant)
    management(tenant).post(
        "/client-grants",
        json={"client_id": client_id, "audience": "http://localhost:8401/api/v2/", "scope": []},
    ).raise_for_status()
    for _ in range(10):
        assert _token(tenant.http, client_id, "wrong").status_code == 401
    refused = _token(tenant.http, client_id, secret)
    assert refused.status_code == 429
    assert refused.json()["error"] == "too_many_attempts"
    assert "error_description" in refused.json()
    assert refused.headers["Retry-After"] == "90"
    assert refused.headers["Cache-Control"] == "no-store"
    events = _events(tenant, "limit_wc")
    assert [e.client_id for e in events] == [client_id, client_id]
    assert {e.details["retry_after"] for e in events} == {90}
    clock.advance(90)
    assert _token(tenant.http, client_id, secret).status_code == 200


def test_failures_across_clients_throttle_the_address_at_the_token_endpoint(
    tenant: Tenant,
) -> None:
    """Per-IP throttling of client authentication, whatever client_id is claimed."""
    tenant.runtime.settings.tenant_client_ip_throttle_attempts = 5
    client_id, secret = _machine_client(tenant)
    for index in range(5):
        assert _token(tenant.http, f"made-up-{index}", "guess").status_code == 401
    refused = _token(tenant.http, client_id, secret)
    assert refused.status_code == 429
    assert refused.json()["error"] == "too_many_attempts"
    assert [e.details["scope"] for e in _events(tenant, "limit_mu")] == [
        throttling.CLIENT_IP,
        throttling.CLIENT_IP,
    ]


# --- Replicas ---


def test_two_tenant_instances_on_one_database_share_the_counters(tenant: Tenant) -> None:
    """Failures counted by one replica block the client on the other (SPEC §7: stateless
    processes on one database)."""
    client_id, secret = _machine_client(tenant)
    other_runtime = TenantRuntime.from_settings(tenant.runtime.settings)
    try:
        with TestClient(create_app(other_runtime), base_url=TENANT_ORIGIN) as other:
            for http in (tenant.http, other) * 5:
                assert _token(http, client_id, "wrong").status_code == 401
            assert _token(other, client_id, secret).status_code == 429
            assert _token(tenant.http, client_id, secret).status_code == 429
    finally:
        other_runtime.engine.dispose()


def test_failures_counted_at_once_by_many_connections_are_all_counted(tenant: Tenant) -> None:
    """The counter moves forward in one atomic statement: concurrent failures never overwrite
    each other."""
    now = datetime.now(UTC).timestamp()
    interval = 10.0
    errors: list[BaseException] = []

    def fail_once() -> None:
        try:
            with tenant.runtime.sessions() as session:
                counters.count_failure(
                    session,
                    AttemptCounterRow,
                    scope="test",
                    key="race",
                    interval=interval,
                    now=now,
                )
                session.commit()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=fail_once) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with tenant.runtime.sessions() as session:
        clears_at = counters.clears_at(session, AttemptCounterRow, "test", "race")
    assert clears_at == pytest.approx(now + 12 * interval)
