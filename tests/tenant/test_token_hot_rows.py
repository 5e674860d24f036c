"""The token endpoint's cache of read-mostly rows (:mod:`expressway.tenant.authn.hot_rows`):
a change made through this process is seen by the very next request; one made by another
replica, within the cache's time to live."""

from __future__ import annotations

import time
from typing import Any

import pytest
import sqlalchemy as sa

from expressway import jose
from expressway.oauth.client_auth import JWT_BEARER_ASSERTION
from expressway.tenant.authn import hot_rows
from expressway.tenant.rows import (
    ClientCredentialRow,
    ClientGrantRow,
    ClientRow,
)
from tests.conftest import BACKENDS, Tenant
from tests.tenant.machines import API, Machine, exchange_concurrently

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)


def _as_another_replica(tenant: Tenant, statement: sa.Executable) -> None:
    """A write this process's sessions never see, as another replica's would be."""
    with tenant.runtime.engine.begin() as connection:
        connection.execute(statement)


def _held_clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The cache's clock, which moves only when a test moves it (``clock[0] += …``)."""
    clock = [1000.0]
    monkeypatch.setattr(hot_rows, "monotonic", lambda: clock[0])
    return clock


def _deactivate_key_as_another_replica(tenant: Tenant, machine: Machine) -> None:
    _as_another_replica(
        tenant,
        sa.update(ClientCredentialRow)
        .where(ClientCredentialRow.id == machine.credential_id)
        .values(active_position=None),
    )


def _assert_refused_for_its_key(machine: Machine) -> None:
    refused = machine.exchange()
    assert refused.status_code == 401
    assert refused.json()["error_cause"] == "public_key_missing"


def test_a_deactivated_key_is_refused_by_the_next_request(tenant: Tenant) -> None:
    machine = Machine(tenant)
    assert machine.exchange().status_code == 200  # the client and its key are now cached
    with tenant.runtime.sessions() as session:
        credential = session.get(ClientCredentialRow, machine.credential_id)
        assert credential is not None
        credential.active_position = None
        session.commit()
    _assert_refused_for_its_key(machine)


def test_a_client_grant_deleted_in_bulk_is_refused_by_the_next_request(tenant: Tenant) -> None:
    """``session.execute(delete(…))`` bypasses the unit of work; it is watched too."""
    machine = Machine(tenant)
    assert machine.exchange().status_code == 200
    with tenant.runtime.sessions() as session:
        session.execute(
            sa.delete(ClientGrantRow).where(ClientGrantRow.client_id == machine.client_id)
        )
        session.commit()
    refused = machine.exchange()
    assert refused.status_code == 403
    assert refused.json()["error"] == "unauthorized_client"


def test_a_deleted_client_is_refused_through_the_management_api_at_once(tenant: Tenant) -> None:
    machine = Machine(tenant)
    assert machine.exchange().status_code == 200
    assert tenant.api().delete(f"/clients/{machine.client_id}").status_code == 204
    assert machine.exchange().status_code == 401


def test_a_rolled_back_change_leaves_the_cache_in_use(tenant: Tenant) -> None:
    machine = Machine(tenant)
    assert machine.exchange().status_code == 200
    before = hot_rows._generation.value
    with tenant.runtime.sessions() as session:
        session.execute(
            sa.delete(ClientGrantRow).where(ClientGrantRow.client_id == machine.client_id)
        )
        session.rollback()
    assert hot_rows._generation.value == before
    assert machine.exchange().status_code == 200


def test_another_replicas_revocation_is_honoured_within_the_time_to_live(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = _held_clock(monkeypatch)
    machine = Machine(tenant)
    assert machine.exchange().status_code == 200
    _deactivate_key_as_another_replica(tenant, machine)
    # Within the window this replica still trusts what it read: the documented staleness.
    clock[0] += hot_rows.TTL_SECONDS - 0.1
    assert machine.exchange().status_code == 200
    clock[0] += 0.2
    _assert_refused_for_its_key(machine)


def test_a_replayed_assertion_is_refused_although_the_client_is_cached(tenant: Tenant) -> None:
    """The jti is never cached: the database refuses the second use."""
    machine = Machine(tenant)
    assert machine.exchange().status_code == 200
    now = tenant.runtime.clock.timestamp()
    claims = {"iss": machine.client_id, "sub": machine.client_id, "aud": "http://localhost:8401/",
              "exp": now + 120, "jti": "used-once"}  # fmt: skip
    form = {
        "grant_type": "client_credentials",
        "audience": API,
        "client_assertion_type": JWT_BEARER_ASSERTION,
        "client_assertion": jose.sign_jwt(claims, machine.key),
    }
    assert tenant.http.post("/oauth/token", data=form).status_code == 200
    replay = tenant.http.post("/oauth/token", data=form)
    assert replay.status_code == 401
    assert "jti" in replay.json()["error_description"]


def _count_reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The clients read from the database for the cache, in order, from now on."""
    reads: list[str] = []
    load = hot_rows._load_client

    def counted(session: Any, client_id: str) -> Any:
        reads.append(client_id)
        return load(session, client_id)

    monkeypatch.setattr(hot_rows, "_load_client", counted)
    return reads


def _wait_for_reads(tenant: Tenant, reads: list[str], count: int) -> None:
    """Wait until ``count`` reads have been made and none is under way (a read in the
    background runs on the test client's event loop)."""
    cache = hot_rows.for_sessions(tenant.runtime.sessions)
    deadline = time.monotonic() + 10
    while len(reads) < count or cache.reads:
        assert time.monotonic() < deadline, "the read in the background never happened"
        time.sleep(0.01)
    assert len(reads) == count


def _read_once(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[float], Machine, list[str]]:
    """A machine client read into the cache by one exchange, the cache's clock held and its
    reads counted from before that one."""
    clock = _held_clock(monkeypatch)
    machine = Machine(tenant)
    reads = _count_reads(monkeypatch)
    assert machine.exchange().status_code == 200
    assert reads == [machine.client_id]
    return clock, machine, reads


def test_requests_that_find_the_client_missing_read_it_once(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    machine = Machine(tenant)
    reads = _count_reads(monkeypatch)
    answers = exchange_concurrently(tenant, [machine.form(machine.assertion()) for _ in range(12)])
    assert [answer.status_code for answer in answers] == [200] * 12
    assert reads == [machine.client_id]


def test_an_entry_in_use_is_read_again_before_it_expires(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock, machine, reads = _read_once(tenant, monkeypatch)
    _deactivate_key_as_another_replica(tenant, machine)
    # Not due yet: the entry is used as it is.
    clock[0] += hot_rows.REFRESH_AFTER_SECONDS - 0.1
    assert machine.exchange().status_code == 200
    assert len(reads) == 1
    # Due: this request still uses it, and has it read again behind it.
    clock[0] += 0.2
    assert machine.exchange().status_code == 200
    _wait_for_reads(tenant, reads, 2)
    # The change is seen before the first entry would have expired, and without another read.
    _assert_refused_for_its_key(machine)
    assert len(reads) == 2


def test_a_client_in_steady_use_is_never_read_on_a_request(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past its expiry, the entry read again ahead of time is in use: no request waits for a
    read."""
    clock = _held_clock(monkeypatch)
    machine = Machine(tenant)
    reads = _count_reads(monkeypatch)
    for done in range(1, 4):
        assert machine.exchange().status_code == 200
        clock[0] += hot_rows.REFRESH_AFTER_SECONDS + 0.1
        assert machine.exchange().status_code == 200
        _wait_for_reads(tenant, reads, done + 1)
        clock[0] += hot_rows.TTL_SECONDS - hot_rows.REFRESH_AFTER_SECONDS
        # Past the expiry of the entry read at the start of the round; that read again is new.
        cache = hot_rows.for_sessions(tenant.runtime.sessions)
        assert cache.cached_client(machine.client_id) is not None
    assert len(reads) == 4


def test_a_read_ahead_of_time_that_fails_is_logged_and_tried_again_by_the_next_request(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    clock = _held_clock(monkeypatch)
    machine = Machine(tenant)
    assert machine.exchange().status_code == 200
    load = hot_rows._load_client
    reads: list[str] = []

    def failing_once(session: Any, client_id: str) -> Any:
        reads.append(client_id)
        if len(reads) == 1:
            raise sa.exc.OperationalError("SELECT", {}, Exception("database is locked"))
        return load(session, client_id)

    monkeypatch.setattr(hot_rows, "_load_client", failing_once)
    clock[0] += hot_rows.REFRESH_AFTER_SECONDS + 0.1
    assert machine.exchange().status_code == 200
    _wait_for_reads(tenant, reads, 1)
    assert any(
        "could not read client" in record.getMessage() and machine.client_id in record.getMessage()
        for record in caplog.records
    )
    # The entry stays in use, and the next request has it read again.
    assert machine.exchange().status_code == 200
    _wait_for_reads(tenant, reads, 2)
    clock[0] += hot_rows.TTL_SECONDS - hot_rows.REFRESH_AFTER_SECONDS
    assert hot_rows.for_sessions(tenant.runtime.sessions).cached_client(machine.client_id)


def test_a_client_deleted_by_another_replica_is_refused_once_read_ahead_of_time(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock, machine, reads = _read_once(tenant, monkeypatch)
    _as_another_replica(
        tenant, sa.delete(ClientRow).where(ClientRow.client_id == machine.client_id)
    )
    clock[0] += hot_rows.REFRESH_AFTER_SECONDS + 0.1
    assert machine.exchange().status_code == 200  # what was read, within its time to live
    _wait_for_reads(tenant, reads, 2)
    # Before the entry would have expired, the client is known to be gone.
    assert hot_rows.for_sessions(tenant.runtime.sessions).cached_client(machine.client_id) is None
    refused = machine.exchange()
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"
