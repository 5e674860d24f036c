"""A SCIM create on SQLite is written on the event loop while the write lock is free, and in the
one thread that writes when it is not (:mod:`expressway.tenant.scim.fast_path`)."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
import sqlalchemy as sa

from expressway.tenant.rows import LogEventRow, ScimUserRow
from tests.conftest import Tenant
from tests.tenant.scim.helpers import fast_path_answers, okta_user, scim_connection


def test_a_create_waits_for_the_write_lock_in_the_writers_thread(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite, while another connection holds the write lock, a create is not written on the
    event loop (which must not wait): its batch's transaction is refused there at once, before
    anything is done, and the batch goes to the one thread that writes, which waits for the lock
    and answers once it is free."""
    assert tenant.runtime.engine.dialect.name == "sqlite"
    scim = scim_connection(tenant)
    assert scim.http.get("/Users").status_code == 200  # the token's first use, recorded
    answers = fast_path_answers(monkeypatch)
    holder = sqlite3.connect(
        tenant.runtime.engine.url.database or "", isolation_level=None, check_same_thread=False
    )
    holder.execute("BEGIN IMMEDIATE")
    released = threading.Timer(0.5, holder.rollback)
    started = time.monotonic()
    released.start()
    try:
        made = scim.http.post("/Users", json=okta_user("ada@example.com"))
    finally:
        released.join()
        holder.close()
    assert made.status_code == 201, made.text
    assert time.monotonic() - started >= 0.4, "the create was answered before the lock was free"
    # The loop's try found the lock taken before it began the transaction: the create was
    # answered once, by the writer.
    assert [thread for thread, _ in answers] == ["scim-writer_0"]
    with tenant.runtime.sessions() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(ScimUserRow)) == 1
        logged = sa.select(sa.func.count()).where(LogEventRow.type == "sscim")
        assert session.scalar(logged) == 1
