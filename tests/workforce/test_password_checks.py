"""The org login page's Argon2 check: made outside the write transaction, so that sign-ins run in
parallel on SQLite; decided in the transaction, so that the lockout stays exact; and older
hashes moved to the parameters in use at the next successful sign-in."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from expressway import hashing
from expressway.workforce.rows import UserRow
from expressway.workforce.services import throttling
from expressway.workforce.system_log import Client
from tests.conftest import BACKENDS
from tests.databases import sqlite_write_lock_is_free
from tests.workforce.conftest import Workforce
from tests.workforce.test_lockout import (
    LOCKED_MESSAGE,
    LOGIN,
    PASSWORD,
    WRONG,
    _browser,
    _login_page,
    _post,
    _setup,
    _signs_in,
    _status,
)

#: RFC 9106's second recommended option, argon2-cffi's default: what hashes were made with before.
OLD_PARAMETERS = {"memory_cost": 65_536, "time_cost": 3, "parallelism": 4}


def _stored_hash(workforce: Workforce, user_id: str) -> str:
    with workforce.runtime.sessions() as session:
        user = session.get(UserRow, user_id)
        assert user is not None
        assert user.password_hash is not None
        return user.password_hash


def _store_hash(workforce: Workforce, user_id: str, stored_hash: str) -> None:
    with workforce.runtime.sessions() as session:
        session.execute(
            sa.update(UserRow).where(UserRow.id == user_id).values(password_hash=stored_hash)
        )
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


@pytest.mark.parametrize("workforce_database", BACKENDS, indirect=True)
def test_a_hash_made_with_older_parameters_is_replaced_at_the_next_sign_in(
    workforce: Workforce,
) -> None:
    """argon2 encodes its parameters in the hash: the old hash still verifies, and the
    successful sign-in (not a failed one) stores a hash with the parameters in use."""
    setup = _setup(workforce)
    old = PasswordHasher(**OLD_PARAMETERS).hash(PASSWORD)
    _store_hash(workforce, setup.user_id, old)

    browser = _browser(workforce)
    assert _post(browser, _login_page(browser, setup), WRONG).status_code == 401
    assert _stored_hash(workforce, setup.user_id) == old

    assert _signs_in(_browser(workforce), setup)
    renewed = _stored_hash(workforce, setup.user_id)
    assert renewed.startswith("$argon2id$v=19$m=7168,t=5,p=1$")
    assert hashing.verify_password(renewed, PASSWORD)

    assert _signs_in(_browser(workforce), setup)
    assert _stored_hash(workforce, setup.user_id) == renewed


@pytest.mark.parametrize("workforce_database", ["sqlite"], indirect=True)
def test_the_password_is_checked_while_no_one_holds_the_write_lock(
    workforce: Workforce, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite a check inside the sign-in's transaction (BEGIN IMMEDIATE) would make every
    other sign-in wait for it: during each check, another connection takes the write lock."""
    setup = _setup(workforce)
    database = workforce.runtime.engine.url.database
    assert database is not None
    lock_was_free: list[bool] = []

    def take_the_write_lock(_password: str) -> None:
        lock_was_free.append(sqlite_write_lock_is_free(database))

    checked = _watch_checks(monkeypatch, take_the_write_lock)
    browser = _browser(workforce)
    assert _post(browser, _login_page(browser, setup), WRONG).status_code == 401
    browser = _browser(workforce)
    assert _post(browser, _login_page(browser, setup), WRONG, "nobody").status_code == 401
    assert _signs_in(_browser(workforce), setup)
    assert checked == [WRONG, WRONG, PASSWORD]
    assert lock_was_free == [True, True, True]


@pytest.mark.parametrize("workforce_database", BACKENDS, indirect=True)
def test_a_lockout_reached_during_the_check_refuses_the_sign_in_that_waited(
    workforce: Workforce, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sign-ins in parallel: while the right password is being checked, other attempts lock the
    user out. The sign-in decides in its own transaction, after them, so it is refused as if it
    came last."""
    setup = _setup(workforce)
    policy = throttling.Policy.of(workforce.runtime.settings)

    def others_fail(password: str) -> None:
        if password != PASSWORD:
            return
        with workforce.runtime.sessions() as session:
            user = session.get(UserRow, setup.user_id)
            for _ in range(workforce.runtime.settings.workforce_lockout_attempts):
                throttling.count_failure(
                    session,
                    policy,
                    workforce.runtime.clock.now(),
                    user=user,
                    ip="198.51.100.9",
                    client=Client(ip="198.51.100.9", user_agent=None, request_uri=None),
                )
            session.commit()

    checked = _watch_checks(monkeypatch, others_fail)
    browser = _browser(workforce)
    refused = _post(browser, _login_page(browser, setup), PASSWORD, LOGIN)
    assert checked == [PASSWORD]
    assert refused.status_code == 403
    assert LOCKED_MESSAGE in refused.text
    assert _status(workforce, setup.user_id) == "LOCKED_OUT"
