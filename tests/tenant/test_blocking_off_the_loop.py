"""The token, revocation and logout endpoints wait for the database off the event loop.

A request that waits for SQLite's write lock on the event loop stalls every other request, and
with them the commit of the lock's holder when that holder is a handler whose session commits as
its dependency exits (the Management API, SCIM): both then wait out the busy timeout. The soak
(``bench/soak.py``) found it as 503s and 60-second stalls under mixed load.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.conftest import Tenant


@contextmanager
def write_lock_held(tenant: Tenant) -> Iterator[None]:
    """Another connection holds the database's write lock until the block ends."""
    path = Path(sa.engine.make_url(tenant.runtime.settings.tenant_database_url).database or "")
    holder = sqlite3.connect(path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def in_thread(call: Callable[[], httpx.Response]) -> tuple[threading.Thread, list[httpx.Response]]:
    answers: list[httpx.Response] = []
    thread = threading.Thread(target=lambda: answers.append(call()), daemon=True)
    thread.start()
    return thread, answers


@pytest.mark.parametrize(
    ("method", "path", "form"),
    [
        ("POST", "/oauth/token", "client_credentials"),
        ("POST", "/oauth/revoke", "revoke"),
        ("GET", "/v2/logout", None),
    ],
)
def test_a_request_waiting_for_the_write_lock_does_not_stall_the_others(
    tenant: Tenant, method: str, path: str, form: str | None
) -> None:
    data = {
        "client_id": tenant.admin_client_id,
        "client_secret": tenant.admin_client_secret,
    }
    if form == "client_credentials":
        data |= {
            "grant_type": "client_credentials",
            "audience": tenant.runtime.settings.management_audience,
        }
    elif form == "revoke":
        data["token"] = "not-a-refresh-token"
    with write_lock_held(tenant):
        waiting, answered = in_thread(
            lambda: tenant.http.request(method, path, data=data if form else None)
        )
        time.sleep(0.5)  # the request is now waiting for the lock
        was_waiting = waiting.is_alive()
        started = time.monotonic()
        other, discovery = in_thread(lambda: tenant.http.get("/.well-known/openid-configuration"))
        other.join(timeout=5)
        stalled = other.is_alive()
        elapsed = time.monotonic() - started
    # Both finish once the lock is released, whatever happened: then the checks.
    other.join(timeout=30)
    waiting.join(timeout=30)
    assert was_waiting, "the request did not wait for the write lock"
    assert not stalled, "another request stalled behind the one waiting for the lock"
    assert elapsed < 3
    assert discovery[0].status_code == 200
    assert answered, "the waiting request never finished"
    assert answered[0].status_code < 500, answered[0].text
