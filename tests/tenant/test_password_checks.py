"""The password step's Argon2 check: made outside the write transaction, so that sign-ins run in
parallel on SQLite; decided in the transaction, so that throttling stays exact; and older hashes
moved to the parameters in use at the next successful sign-in."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from expressway import hashing
from expressway.clock import FrozenClock
from expressway.storage import counters
from expressway.tenant.rows import AttemptCounterRow, UserRow
from expressway.tenant.services import throttling
from tests.conftest import BACKENDS, Tenant
from tests.databases import sqlite_write_lock_is_free
from tests.tenant.browser import (
    DATABASE,
    PASSWORD,
    Browser,
    make_client,
    make_user,
    new_browser,
    signed_in,
)

EMAIL = "ada@example.com"
WRONG = "Wrong-Horse-1"
#: RFC 9106's second recommended option, argon2-cffi's default: what hashes were made with before.
OLD_PARAMETERS = {"memory_cost": 65_536, "time_cost": 3, "parallelism": 4}


def _stored_hash(tenant: Tenant) -> str:
    with tenant.runtime.sessions() as session:
        user = session.scalars(select(UserRow).where(UserRow.email_key == EMAIL)).one()
        assert user.password_hash is not None
        return user.password_hash


def _store_hash(tenant: Tenant, stored_hash: str) -> None:
    with tenant.runtime.sessions() as session:
        user = session.scalars(select(UserRow).where(UserRow.email_key == EMAIL)).one()
        user.password_hash = stored_hash
        session.commit()


def _watch_checks(monkeypatch: pytest.MonkeyPatch, during: Callable[[str], None]) -> list[str]:
    """Call ``during(password)`` inside every Argon2 check; answers the passwords checked."""
    checked: list[str] = []
    verify = hashing.verify_password

    def watched(stored_hash: str, password: str) -> bool:
        checked.append(password)
        during(password)
        return verify(stored_hash, password)

    monkeypatch.setattr(hashing, "verify_password", watched)
    return checked


@pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)
def test_a_hash_made_with_older_parameters_is_replaced_at_the_next_sign_in(
    tenant: Tenant,
) -> None:
    """argon2 encodes its parameters in the hash: the old hash still verifies, and the
    successful sign-in (not a failed one) stores a hash with the parameters in use."""
    client_id = make_client(tenant)
    make_user(tenant, EMAIL)
    old = PasswordHasher(**OLD_PARAMETERS).hash(PASSWORD)
    _store_hash(tenant, old)

    assert not signed_in(new_browser(tenant).sign_in(client_id, EMAIL, WRONG))
    assert _stored_hash(tenant) == old

    assert signed_in(new_browser(tenant).sign_in(client_id, EMAIL))
    renewed = _stored_hash(tenant)
    assert renewed.startswith("$argon2id$v=19$m=7168,t=5,p=1$")
    assert hashing.verify_password(renewed, PASSWORD)

    # A current hash is left as it is.
    assert signed_in(new_browser(tenant).sign_in(client_id, EMAIL))
    assert _stored_hash(tenant) == renewed


@pytest.mark.parametrize("tenant_database", ["sqlite"], indirect=True)
def test_the_password_is_checked_while_no_one_holds_the_write_lock(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite a check inside the step's transaction (BEGIN IMMEDIATE) would make every other
    sign-in wait for it: during each check, another connection takes the write lock at once."""
    client_id = make_client(tenant)
    make_user(tenant, EMAIL)
    database = tenant.runtime.engine.url.database
    assert database is not None
    lock_was_free: list[bool] = []

    def take_the_write_lock(_password: str) -> None:
        lock_was_free.append(sqlite_write_lock_is_free(database))

    checked = _watch_checks(monkeypatch, take_the_write_lock)
    assert not signed_in(new_browser(tenant).sign_in(client_id, EMAIL, WRONG))
    assert not signed_in(new_browser(tenant).sign_in(client_id, "nobody@example.com", WRONG))
    assert signed_in(new_browser(tenant).sign_in(client_id, EMAIL))
    assert checked == [WRONG, WRONG, PASSWORD]
    assert lock_was_free == [True, True, True]


@pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)
def test_failures_counted_during_the_check_block_the_sign_in_that_waited(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sign-ins in parallel: while the right password is being checked, other attempts reach
    the account's limit. The sign-in decides in its own transaction, after them, so it is
    refused as if it came last: the block is exact, not one guess late."""
    client_id = make_client(tenant)
    make_user(tenant, EMAIL)
    limits = throttling.Limits.of(tenant.runtime.settings)

    def others_fail(password: str) -> None:
        if password != PASSWORD:
            return
        with tenant.runtime.sessions() as session:
            for _ in range(tenant.runtime.settings.tenant_brute_force_attempts):
                throttling.count_login_failure(
                    session,
                    limits,
                    tenant.runtime.clock.now(),
                    connection=DATABASE,
                    identifier=EMAIL,
                    ip="testclient",
                )
            session.commit()

    checked = _watch_checks(monkeypatch, others_fail)
    refused = new_browser(tenant).sign_in(client_id, EMAIL)
    assert checked == [PASSWORD]
    assert refused.status_code == 429
    assert "Your account is blocked on this network" in refused.text


@pytest.mark.parametrize("tenant_database", ["sqlite"], indirect=True)
def test_wrong_passwords_sent_at_once_are_each_counted(tenant: Tenant) -> None:
    """On SQLite the checks overlap now (on PostgreSQL they always did); every failure still
    moves the account's counter by one interval."""
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    tenant.runtime.clock = clock
    client_id = make_client(tenant)
    make_user(tenant, EMAIL)
    browsers = []
    for _ in range(4):
        browser = new_browser(tenant)
        page = browser.authorize(client_id)
        browsers.append((browser, browser.submit(page, "/u/login/identifier", email=EMAIL)))
    answers: list[int] = []

    def attempt(browser: Browser, page: httpx.Response) -> None:
        answer = browser.submit(page, "/u/login/password", email=EMAIL, password=WRONG)
        answers.append(answer.status_code)

    threads = [threading.Thread(target=attempt, args=pair) for pair in browsers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [400] * 4
    limits = throttling.Limits.of(tenant.runtime.settings)
    key = counters.counter_key(DATABASE, EMAIL, "testclient")
    with tenant.runtime.sessions() as session:
        clears_at = counters.clears_at(session, AttemptCounterRow, throttling.LOGIN_ACCOUNT, key)
    interval = limits.account.interval
    assert clears_at == pytest.approx(clock.now().timestamp() + 4 * interval)
