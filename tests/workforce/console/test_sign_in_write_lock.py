"""The console's sign-in checks the password (an Argon2id hash, tens of milliseconds) before its
transaction begins: on SQLite a write transaction holds the database's one write lock, and the
writes of token requests, SCIM pushes and provisioning jobs must not wait for a hash."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.databases import write_lock_at_password_checks
from tests.workforce.conftest import PUBLIC_URL, Workforce
from tests.workforce.console.conftest import sign_in


def test_the_password_is_checked_while_the_write_lock_is_free(
    workforce: Workforce, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert workforce.runtime.engine.dialect.name == "sqlite"
    lock_was_free = write_lock_at_password_checks(
        monkeypatch, str(workforce.runtime.engine.url.database)
    )
    admin = workforce.admins["acme"]
    for username, password, status in (
        (admin.login, admin.password, 303),
        (admin.login, "not-the-password", 401),
        ("nobody@example.com", admin.password, 401),
    ):
        browser = TestClient(workforce.http.app, base_url=PUBLIC_URL)
        assert sign_in(browser, "acme", username, password).status_code == status
    assert lock_was_free == [True, True, True]
