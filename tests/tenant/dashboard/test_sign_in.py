"""Dashboard accounts and sessions: sign-in, sign-out, expiry, CSRF."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from sqlalchemy import select
from typer.testing import CliRunner

from expressway import hashing
from expressway.cli.main import app as cli
from expressway.clock import FrozenClock
from expressway.tenant.dashboard import accounts
from expressway.tenant.dashboard.signin import LOGIN_COOKIE, safe_next
from expressway.tenant.rows import DashboardAdminRow, DashboardSessionRow, RoleRow
from tests.conftest import BACKENDS, Tenant
from tests.databases import write_lock_at_password_checks
from tests.tenant.dashboard.conftest import ORIGIN, Console, new_admin, read_page

on_both_engines = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)

PASSWORD = "a-long-enough-password"


def _sign_in(http: TestClient, email: str, password: str) -> httpx.Response:
    page = http.get("/dashboard/login")
    token = read_page(page.text).csrf_tokens[0]
    return http.post(
        "/dashboard/login",
        data={
            "csrf_token": token,
            "email": email,
            "password": password,
            "next": "/dashboard/roles",
        },
        follow_redirects=False,
    )


@on_both_engines
def test_an_admin_signs_in_and_gets_an_httponly_lax_cookie_stored_only_as_a_digest(
    tenant: Tenant,
) -> None:
    """Dashboard sessions: HttpOnly, SameSite=Lax cookie; the secret at rest is its SHA-256."""
    email = new_admin(tenant, PASSWORD)
    http = TestClient(tenant.http.app, base_url=ORIGIN)
    answer = _sign_in(http, email.upper(), PASSWORD)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard/roles"
    cookie = next(
        header
        for header in answer.headers.get_list("set-cookie")
        if header.startswith(f"{accounts.COOKIE_NAME}=")
    )
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()
    assert "secure" not in cookie.lower()  # plain http on localhost
    secret = cookie.split(";", 1)[0].split("=", 1)[1]
    with tenant.runtime.sessions() as session:
        stored = list(session.scalars(select(DashboardSessionRow.secret_hash)))
    assert hashing.hash_token(secret) in stored
    assert secret not in stored
    assert http.get("/dashboard/roles").status_code == 200


@on_both_engines
def test_a_hash_made_with_other_parameters_is_renewed_at_sign_in(tenant: Tenant) -> None:
    """An admin's password hashed with older Argon2id parameters still signs in, and is hashed
    again with those in use (OWASP's by default)."""
    email = new_admin(tenant, PASSWORD)
    old = PasswordHasher(memory_cost=65_536, time_cost=3, parallelism=4).hash(PASSWORD)

    def stored() -> str:
        with tenant.runtime.sessions() as session:
            admin = session.scalars(
                select(DashboardAdminRow).where(DashboardAdminRow.email == email)
            ).one()
            return admin.password_hash

    with tenant.runtime.sessions() as session:
        session.scalars(
            select(DashboardAdminRow).where(DashboardAdminRow.email == email)
        ).one().password_hash = old
        session.commit()
    http = TestClient(tenant.http.app, base_url=ORIGIN)
    assert _sign_in(http, email, "not-the-password").status_code == 401
    assert stored() == old
    assert _sign_in(http, email, PASSWORD).status_code == 303
    renewed = stored()
    assert renewed.split("$")[3] == "m=7168,t=5,p=1"
    assert hashing.verify_password(renewed, PASSWORD)


def test_the_password_is_checked_while_the_write_lock_is_free(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite a write transaction holds the database's one write lock. The hash, tens of
    milliseconds, is computed before the sign-in's transaction begins, so that the writes of
    token requests and SCIM clients never wait for it."""
    email = new_admin(tenant, PASSWORD)
    lock_was_free = write_lock_at_password_checks(
        monkeypatch, str(tenant.runtime.engine.url.database)
    )
    for who, password, status in (
        (email, PASSWORD, 303),
        (email, "not-the-password-at-all", 401),
        ("nobody@example.com", PASSWORD, 401),
    ):
        http = TestClient(tenant.http.app, base_url=ORIGIN)
        assert _sign_in(http, who, password).status_code == status
    assert lock_was_free == [True, True, True]


@on_both_engines
def test_a_wrong_password_and_an_unknown_address_get_the_same_refusal(tenant: Tenant) -> None:
    """Sign-in failures do not tell which accounts exist."""
    email = new_admin(tenant, PASSWORD)
    http = TestClient(tenant.http.app, base_url=ORIGIN)
    wrong = _sign_in(http, email, "not-the-password-at-all")
    unknown = _sign_in(http, "nobody@example.com", PASSWORD)
    for answer in (wrong, unknown):
        assert answer.status_code == 401
        assert "Wrong e-mail or password." in answer.text
        assert accounts.COOKIE_NAME not in http.cookies


@on_both_engines
def test_a_sign_in_post_without_its_login_token_is_refused(tenant: Tenant) -> None:
    """Login CSRF: the form's token must match the cookie only our page could have set."""
    email = new_admin(tenant, PASSWORD)
    http = TestClient(tenant.http.app, base_url=ORIGIN)
    http.get("/dashboard/login")
    assert LOGIN_COOKIE in http.cookies
    answer = http.post(
        "/dashboard/login",
        data={"csrf_token": "forged", "email": email, "password": PASSWORD},
        follow_redirects=False,
    )
    assert answer.status_code == 403
    assert accounts.COOKIE_NAME not in http.cookies


@on_both_engines
def test_pages_without_a_session_send_the_browser_to_sign_in(tenant: Tenant) -> None:
    """Every dashboard page needs a session; the sign-in page brings the admin back."""
    http = TestClient(tenant.http.app, base_url=ORIGIN)
    answer = http.get("/dashboard/organizations", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard/login?next=/dashboard/organizations"
    posted = http.post("/dashboard/roles", data={"name": "x"}, follow_redirects=False)
    assert posted.status_code == 303
    assert posted.headers["location"].startswith("/dashboard/login")


@pytest.mark.parametrize(
    "target",
    ["//evil.example/x", "https://evil.example/", "/dashboard//evil.example", "/elsewhere"],
)
def test_after_sign_in_the_browser_goes_only_to_a_dashboard_page(target: str) -> None:
    """Open redirect: ``next`` names a dashboard path or is ignored."""
    assert safe_next(target) == "/dashboard/applications"
    assert safe_next("/dashboard/roles/rol_1") == "/dashboard/roles/rol_1"


@on_both_engines
def test_signing_out_ends_the_session_on_the_server(tenant: Tenant, console: Console) -> None:
    """Sign-out revokes the session row: a copy of the cookie no longer opens the dashboard."""
    cookie = console.http.cookies[accounts.COOKIE_NAME]
    answer = console.post("/logout")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard/login?notice=signed-out"
    replay = TestClient(tenant.http.app, base_url=ORIGIN)
    replay.cookies.set(accounts.COOKIE_NAME, cookie)
    assert replay.get("/dashboard/applications", follow_redirects=False).status_code == 303


@on_both_engines
def test_a_session_ends_after_its_idle_time_and_after_its_absolute_lifetime(
    tenant: Tenant, console: Console
) -> None:
    """Idle expiry (30 minutes without a request) and absolute expiry (12 hours)."""
    clock = FrozenClock(tenant.runtime.clock.now())
    tenant.runtime.clock = clock
    with tenant.runtime.sessions() as session:
        for row in session.scalars(select(DashboardSessionRow)):
            row.last_active_at = clock.now()
            row.expires_at = clock.now() + accounts.ABSOLUTE_LIFETIME
        session.commit()
    # Activity keeps the session alive up to its absolute end...
    for _ in range(24):  # 24 times 29 minutes: 11.6 hours
        clock.advance((accounts.IDLE_LIFETIME - timedelta(minutes=1)).total_seconds())
        assert console.get("/applications", follow_redirects=False).status_code == 200
    clock.advance(timedelta(hours=1).total_seconds())
    ended = console.get("/applications", follow_redirects=False)
    assert ended.status_code == 303
    assert "notice=expired" in ended.headers["location"]

    secret, _, _ = _fresh_session(tenant)
    idle = TestClient(tenant.http.app, base_url=ORIGIN)
    idle.cookies.set(accounts.COOKIE_NAME, secret)
    assert idle.get("/dashboard/applications", follow_redirects=False).status_code == 200
    clock.advance(accounts.IDLE_LIFETIME.total_seconds())
    assert idle.get("/dashboard/applications", follow_redirects=False).status_code == 303


def _fresh_session(tenant: Tenant) -> tuple[str, str, str]:
    from tests.tenant.dashboard.conftest import sign_in_directly

    return sign_in_directly(tenant)


@on_both_engines
def test_a_post_without_the_session_csrf_token_is_refused_and_changes_nothing(
    tenant: Tenant, console: Console
) -> None:
    """CSRF: every POST carries the session's synchronizer token."""
    for token in (None, "forged-token"):
        data = {"name": "Sneaky"} if token is None else {"name": "Sneaky", "csrf_token": token}
        answer = console.http.post("/dashboard/roles", data=data, follow_redirects=False)
        assert answer.status_code == 403
        assert "CSRF" in answer.text
    with tenant.runtime.sessions() as session:
        assert session.scalars(select(RoleRow)).first() is None


@on_both_engines
def test_changing_the_password_ends_the_other_sessions(tenant: Tenant) -> None:
    """A new password (at least 12 characters) ends every other session of the admin."""
    email = new_admin(tenant, PASSWORD)
    first = TestClient(tenant.http.app, base_url=ORIGIN)
    second = TestClient(tenant.http.app, base_url=ORIGIN)
    _sign_in(first, email, PASSWORD)
    _sign_in(second, email, PASSWORD)
    page = first.get("/dashboard/settings")
    token = read_page(page.text).csrf_tokens[0]
    short = first.post(
        "/dashboard/settings/password",
        data={
            "csrf_token": token,
            "current_password": PASSWORD,
            "new_password": "short",
            "confirm_password": "short",
        },
    )
    assert short.status_code == 400
    assert re.search(r'id="new_password"[^>]*aria-invalid="true"', short.text)
    changed = first.post(
        "/dashboard/settings/password",
        data={
            "csrf_token": token,
            "current_password": PASSWORD,
            "new_password": "another-long-password",
            "confirm_password": "another-long-password",
        },
        follow_redirects=False,
    )
    assert changed.status_code == 303
    assert first.get("/dashboard/settings", follow_redirects=False).status_code == 200
    assert second.get("/dashboard/settings", follow_redirects=False).status_code == 303


def test_tenant_init_prints_the_dashboard_admin_once_and_keeps_only_a_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``tenant init`` makes one admin when none exists; its password is shown once."""
    monkeypatch.setenv("EXPRESSWAY_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("EXPRESSWAY_TENANT_DATABASE_URL", raising=False)
    monkeypatch.delenv("EXPRESSWAY_SECRET_KEY", raising=False)
    first = json.loads(CliRunner().invoke(cli, ["tenant", "init", "--json"]).output)
    assert first["dashboard_admin_email"] == accounts.DEFAULT_ADMIN_EMAIL
    password = first["dashboard_admin_password"]
    assert len(password) >= accounts.MIN_PASSWORD_LENGTH
    again = json.loads(CliRunner().invoke(cli, ["tenant", "init", "--json"]).output)
    assert again["dashboard_admin_password"] is None
    database = b"".join(path.read_bytes() for path in tmp_path.glob("tenant.db*"))
    assert password.encode() not in database
    assert b"$argon2id$" in database
    human = CliRunner().invoke(cli, ["tenant", "init"])
    assert password not in human.output


@on_both_engines
def test_repeated_wrong_passwords_block_the_sign_in_untried(tenant: Tenant) -> None:
    """Brute-force protection: after the limit, a 429 with Retry-After (RFC 6585 §4), and even
    the right password is not tried."""
    tenant.runtime.settings.tenant_brute_force_attempts = 2
    email = new_admin(tenant, PASSWORD)
    http = TestClient(tenant.http.app, base_url=ORIGIN)
    assert _sign_in(http, email, "wrong-password-one").status_code == 401
    blocked = _sign_in(http, email, "wrong-password-two")
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0
    right = _sign_in(http, email, PASSWORD)
    assert right.status_code == 429
    assert "Too many failed sign-ins" in right.text
    assert accounts.COOKIE_NAME not in http.cookies
