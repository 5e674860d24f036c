"""What a sign-in's steps hold and write: the pages that only show read in a read-only transaction,
which on SQLite takes no write lock, and a successful password sign-in deletes an attempt counter
only when the account has failures on record."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa

from expressway.storage import counters
from expressway.tenant.authn import login_pages
from expressway.tenant.rows import AttemptCounterRow, AuthorizationRequestRow
from expressway.tenant.services import throttling
from tests.conftest import BACKENDS, Tenant
from tests.tenant.browser import (
    DATABASE,
    PASSWORD,
    Browser,
    make_client,
    make_organization,
    make_user,
    new_browser,
    signed_in,
)

EMAIL = "ada@example.com"
WRONG = "Wrong-Horse-1"
#: Seconds a page may take while another connection holds the write lock; a page that waited
#: for the lock would wait for SQLite's busy timeout (30 s), or until the test lets go.
PROMPTLY = 10


@contextmanager
def _write_lock_held(database: str) -> Iterator[None]:
    """Another connection holds the SQLite file's write lock while the block runs."""
    other = sqlite3.connect(database, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        yield
        other.execute("ROLLBACK")
    finally:
        other.close()


def _get_while_locked(tenant: Tenant, browser: Browser, urls: list[str]) -> list[int]:
    """GET each of ``urls`` while another connection holds the write lock; their status codes,
    all answered before the lock was let go."""
    database = tenant.runtime.engine.url.database
    assert database is not None
    statuses: list[int] = []
    with _write_lock_held(database):
        reader = threading.Thread(
            target=lambda: statuses.extend(browser.http.get(url).status_code for url in urls)
        )
        reader.start()
        reader.join(PROMPTLY)
        answered_under_lock = not reader.is_alive()
    reader.join()
    assert answered_under_lock, "a page that only shows waited for the write lock"
    return statuses


@pytest.mark.parametrize("tenant_database", ["sqlite"], indirect=True)
def test_pages_that_only_show_are_served_while_another_connection_writes(tenant: Tenant) -> None:
    client_id = make_client(
        tenant, organization_usage="require", organization_require_behavior="pre_login_prompt"
    )
    make_organization(tenant, "acme")
    make_user(tenant, EMAIL)
    browser = new_browser(tenant)
    organization = browser.authorize(client_id)
    assert organization.request.url.path == "/u/organization"
    identifier = browser.submit(organization, "/u/organization", organization_name="acme")
    assert identifier.request.url.path == "/u/login/identifier"
    password = browser.submit(identifier, "/u/login/identifier", email=EMAIL)
    assert password.request.url.path == "/u/login/password"

    pages = [str(page.request.url) for page in (organization, identifier, password)]
    assert _get_while_locked(tenant, browser, pages) == [200, 200, 200]
    # The login goes on from the page shown under the lock.
    answer = browser.submit(password, "/u/login/password", email=EMAIL, password=PASSWORD)
    assert signed_in(answer)


@pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)
def test_a_page_that_changed_the_login_while_showing_it_is_refused_and_nothing_is_kept(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The guard of the read-only steps: a page whose showing changes a row is a bug, raised
    rather than written in a transaction that was not meant to write."""
    client_id = make_client(tenant)
    browser = new_browser(tenant)
    identifier = browser.authorize(client_id)
    state = identifier.request.url.params["state"]
    show = login_pages._password_page

    def changing(login: login_pages.Login, **kwargs: Any) -> Any:
        login.txn.connection = "changed-while-shown"
        return show(login, **kwargs)

    monkeypatch.setattr(login_pages, "_password_page", changing)
    with pytest.raises(RuntimeError, match="showing /u/login/password changed"):
        browser.http.get("/u/login/password", params={"state": state})
    with tenant.runtime.read_only_sessions() as session:
        txn = session.get(AuthorizationRequestRow, state)
        assert txn is not None
        assert txn.connection != "changed-while-shown"


@contextmanager
def _counter_deletes(tenant: Tenant) -> Iterator[list[str]]:
    """The DELETEs of attempt counters run from now on, as the list returned grows."""
    deletes: list[str] = []

    def seen(_conn: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE") and "attempt_counters" in statement:
            deletes.append(statement)

    sa.event.listen(tenant.runtime.engine, "before_cursor_execute", seen)
    try:
        yield deletes
    finally:
        sa.event.remove(tenant.runtime.engine, "before_cursor_execute", seen)


def _account_counter(tenant: Tenant) -> float | None:
    key = counters.counter_key(DATABASE, EMAIL, "testclient")
    with tenant.runtime.read_only_sessions() as session:
        return counters.clears_at(session, AttemptCounterRow, throttling.LOGIN_ACCOUNT, key)


@pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)
def test_a_sign_in_deletes_the_accounts_failures_only_when_it_has_some(tenant: Tenant) -> None:
    client_id = make_client(tenant)
    make_user(tenant, EMAIL)
    with _counter_deletes(tenant) as deletes:
        assert signed_in(new_browser(tenant).sign_in(client_id, EMAIL))
        assert deletes == []

        assert not signed_in(new_browser(tenant).sign_in(client_id, EMAIL, WRONG))
        assert _account_counter(tenant) is not None
        deletes.clear()
        assert signed_in(new_browser(tenant).sign_in(client_id, EMAIL))
        assert len(deletes) == 1
    assert _account_counter(tenant) is None
