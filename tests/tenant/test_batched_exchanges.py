"""``client_credentials`` exchanges whose writes are committed together
(:mod:`expressway.tenant.authn.batched_exchanges`).

Concurrent requests are sent into the tenant's application on one event loop, as a server's
connections are, after a first exchange through the test client. Each test
says what a batch must never do: hand out a token for a replayed ``jti`` or to a throttled client,
or keep anything of a batch that failed.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import exc as sa_exc
from sqlalchemy.pool import QueuePool

from expressway.tenant.app import create_app
from expressway.tenant.authn import batched_exchanges, client_authentication
from expressway.tenant.rows import LogEventRow, UsedAssertionRow
from expressway.tenant.services import throttling
from tests.conftest import BACKENDS, Tenant
from tests.tenant.machines import CLIENT_IP, Machine, exchange_concurrently

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)


def _count(tenant: Tenant, *where: Any) -> int:
    with tenant.runtime.sessions() as session:
        return session.scalar(sa.select(sa.func.count()).where(*where)) or 0


def _logged(tenant: Tenant, type: str, client_id: str) -> int:
    return _count(tenant, LogEventRow.type == type, LogEventRow.client_id == client_id)


def _warm(machine: Machine) -> None:
    """One exchange, on the test client's loop: the client and its API grant are read into the
    cache, and the token is batched there."""
    assert machine.exchange().status_code == 200


def test_concurrent_exchanges_share_transactions_and_each_is_recorded(tenant: Tenant) -> None:
    machine = Machine(tenant)
    _warm(machine)
    answers = exchange_concurrently(tenant, [machine.form(machine.assertion()) for _ in range(40)])

    assert [answer.status_code for answer in answers] == [200] * 40
    tokens = {answer.json()["access_token"] for answer in answers}
    assert len(tokens) == 40
    writes = tenant.runtime.exchange_writes
    assert writes is not None
    assert writes.items == 41
    assert writes.batches < 40, "every exchange had a transaction of its own"
    # On SQLite, with the write lock free, every batch was written on the event loop.
    on_sqlite = tenant.runtime.engine.dialect.name == "sqlite"
    assert writes.batches_now == (writes.batches if on_sqlite else 0)
    # Each exchange, and the first, has its jti recorded and its success logged, once.
    assert _count(tenant, UsedAssertionRow.client_id == machine.client_id) == 41
    assert _logged(tenant, "seccft", machine.client_id) == 41
    event = _one_event(tenant, machine.client_id)
    assert event.ip == CLIENT_IP
    assert event.client_name == "Machine"
    assert event.details == {"audience": "https://cached.example/api", "scope": "read:things"}


def _one_event(tenant: Tenant, client_id: str) -> LogEventRow:
    with tenant.runtime.sessions() as session:
        event = session.scalars(
            sa.select(LogEventRow)
            .where(LogEventRow.client_id == client_id, LogEventRow.ip == CLIENT_IP)
            .limit(1)
        ).one()
        session.expunge(event)
        return event


def test_one_assertion_sent_five_times_at_once_gets_one_token(tenant: Tenant) -> None:
    """The five land in one batch: the first is new, the other four are replays, refused by
    the ordinary path as any replay is."""
    machine = Machine(tenant)
    _warm(machine)
    assertion = machine.assertion()
    answers = exchange_concurrently(tenant, [machine.form(assertion)] * 5)

    assert sorted(answer.status_code for answer in answers) == [200, 401, 401, 401, 401]
    for answer in answers:
        if answer.status_code == 401:
            assert answer.json()["error"] == "invalid_client"
            assert "jti" in answer.json()["error_description"]
    assert _count(tenant, UsedAssertionRow.client_id == machine.client_id) == 2
    assert _logged(tenant, "seccft", machine.client_id) == 2
    assert _logged(tenant, "feccft", machine.client_id) == 4


def test_an_assertion_used_before_is_refused_on_the_batched_path(tenant: Tenant) -> None:
    machine = Machine(tenant)
    _warm(machine)
    assertion = machine.assertion()
    assert exchange_concurrently(tenant, [machine.form(assertion)])[0].status_code == 200
    again = exchange_concurrently(tenant, [machine.form(assertion)])[0]
    assert again.status_code == 401
    assert _logged(tenant, "seccft", machine.client_id) == 2


def test_a_throttled_client_gets_no_token_even_with_a_valid_assertion(tenant: Tenant) -> None:
    machine = Machine(tenant)
    _warm(machine)
    limits = throttling.Limits.of(tenant.runtime.settings)
    with tenant.runtime.sessions() as session:
        for _ in range(limits.client.attempts):
            throttling.count_client_failure(
                session,
                limits,
                tenant.runtime.clock.now(),
                client_id=machine.client_id,
                ip=CLIENT_IP,
            )
        session.commit()
    answers = exchange_concurrently(tenant, [machine.form(machine.assertion()) for _ in range(3)])

    assert [answer.status_code for answer in answers] == [429] * 3
    assert all(answer.json()["error"] == "too_many_attempts" for answer in answers)
    assert _count(tenant, UsedAssertionRow.client_id == machine.client_id) == 1
    assert _logged(tenant, "seccft", machine.client_id) == 1


def test_a_batch_the_database_fails_answers_503_and_keeps_nothing(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every request of the batch gets the outage's 503; none of its jti is taken, so the same
    assertions are good once the database is back."""
    machine = Machine(tenant)
    _warm(machine)
    forms = [machine.form(machine.assertion()) for _ in range(6)]

    def outage(*args: object, **kwargs: object) -> None:
        raise sa_exc.TimeoutError("QueuePool limit of size 10 overflow 20 reached")

    with monkeypatch.context() as patched:
        patched.setattr(batched_exchanges.throttling, "client_blocks", outage)
        answers = exchange_concurrently(tenant, forms)
    assert [answer.status_code for answer in answers] == [503] * 6
    assert all(answer.json()["error"] == "temporarily_unavailable" for answer in answers)
    assert _count(tenant, UsedAssertionRow.client_id == machine.client_id) == 1
    assert _logged(tenant, "seccft", machine.client_id) == 1

    again = exchange_concurrently(tenant, forms)
    assert [answer.status_code for answer in again] == [200] * 6
    assert _logged(tenant, "seccft", machine.client_id) == 7


def test_a_client_secret_request_takes_the_ordinary_path(tenant: Tenant) -> None:
    """Only ``private_key_jwt`` exchanges are batched; the Management API client's secret
    exchange is decided in a transaction of its own."""
    assert tenant.token()
    assert tenant.runtime.exchange_writes is None or tenant.runtime.exchange_writes.items == 0


def test_a_batch_stores_its_times_as_the_ordinary_path_does_and_sweeps_expired_records(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite a batch is written on the driver's cursor: its times must read back, compare and
    sort as those SQLAlchemy writes, or the sweep and the log's order would go wrong."""
    machine = Machine(tenant)
    now = tenant.runtime.clock.now()
    with tenant.runtime.sessions() as session:
        session.add(
            UsedAssertionRow(
                client_id=machine.client_id, jti="long-expired", expires_at=now - timedelta(hours=1)
            )
        )
        session.commit()
    for module in (batched_exchanges, client_authentication):
        monkeypatch.setattr(module, "sweep_assertions_now", lambda recorded: True)
    _warm(machine)
    answers = exchange_concurrently(tenant, [machine.form(machine.assertion()) for _ in range(3)])
    assert [answer.status_code for answer in answers] == [200] * 3

    with tenant.runtime.sessions() as session:
        records = session.scalars(
            sa.select(UsedAssertionRow).where(UsedAssertionRow.client_id == machine.client_id)
        ).all()
        # Compared in SQL, against a time bound by SQLAlchemy.
        live = session.scalar(
            sa.select(sa.func.count()).where(
                UsedAssertionRow.client_id == machine.client_id,
                UsedAssertionRow.expires_at > now,
            )
        )
        dates = session.scalars(
            sa.select(LogEventRow.date)
            .where(LogEventRow.client_id == machine.client_id)
            .order_by(LogEventRow.date)
        ).all()
    assert "long-expired" not in {record.jti for record in records}
    assert len(records) == live == 4
    assert all(record.expires_at > now for record in records)
    assert len(dates) == 4
    assert all(abs((date - now).total_seconds()) < 60 for date in dates)


def test_a_fault_of_the_sqlite_file_in_a_batch_answers_503_and_keeps_nothing(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The driver's own error, raised after the batch recorded its jti, is SQLite's full disk:
    every request gets the 503 that names it, and the jti are free again."""
    if tenant.runtime.engine.dialect.name != "sqlite":
        pytest.skip("a batch on PostgreSQL is written through a session")
    machine = Machine(tenant)
    _warm(machine)
    forms = [machine.form(machine.assertion()) for _ in range(4)]

    def full(self: object, events: object) -> None:
        error = sqlite3.OperationalError("database or disk is full")
        error.sqlite_errorcode = 13  # type: ignore[attr-defined]
        raise error

    with monkeypatch.context() as patched:
        patched.setattr(batched_exchanges._SqliteWrites, "log", full)
        answers = exchange_concurrently(tenant, forms)
    assert [answer.status_code for answer in answers] == [503] * 4
    assert all("full" in answer.json()["error_description"] for answer in answers)
    assert _count(tenant, UsedAssertionRow.client_id == machine.client_id) == 1

    again = exchange_concurrently(tenant, forms)
    assert [answer.status_code for answer in again] == [200] * 4


def test_a_batch_that_finds_the_write_lock_taken_waits_for_it_in_a_thread(
    tenant: Tenant,
) -> None:
    """On SQLite the event loop never waits for the write lock: while another connection holds
    it, the batch is handed to a thread, which waits, and its requests get their tokens once the
    lock is released."""
    if tenant.runtime.engine.dialect.name != "sqlite":
        pytest.skip("only SQLite batches are tried on the event loop")
    machine = Machine(tenant)
    _warm(machine)
    writes = tenant.runtime.exchange_writes
    assert writes is not None
    before = (writes.batches, writes.batches_now)
    holder = sqlite3.connect(
        tenant.runtime.engine.url.database or "", isolation_level=None, check_same_thread=False
    )
    holder.execute("BEGIN IMMEDIATE")
    released = threading.Timer(0.5, holder.rollback)
    released.start()
    try:
        started = time.monotonic()
        answers = exchange_concurrently(
            tenant, [machine.form(machine.assertion()) for _ in range(3)]
        )
        waited = time.monotonic() - started
    finally:
        released.join()
        holder.close()
    assert [answer.status_code for answer in answers] == [200] * 3
    assert waited >= 0.4, "the batch was answered before the lock was released"
    assert writes.batches > before[0]
    assert writes.batches_now == before[1], "a batch was written on the event loop meanwhile"
    assert _count(tenant, UsedAssertionRow.client_id == machine.client_id) == 4


def test_the_connection_kept_for_the_batches_is_given_back_when_the_app_stops(
    tenant: Tenant,
) -> None:
    if tenant.runtime.engine.dialect.name != "sqlite":
        pytest.skip("only SQLite batches keep a connection of their own")
    machine = Machine(tenant)
    pool = tenant.runtime.engine.pool
    assert isinstance(pool, QueuePool)
    with TestClient(create_app(tenant.runtime), base_url="http://localhost:8401") as http:
        answer = http.post("/oauth/token", data=machine.form(machine.assertion()))
        assert answer.status_code == 200
        assert tenant.runtime.exchange_connection is not None
        held = pool.checkedout()
        assert held >= 1
    assert pool.checkedout() == held - 1
    # A batch after that checks one out again.
    _warm(machine)
    assert pool.checkedout() == held
