"""The token endpoint's cache of read-mostly rows (:mod:`expressway.tenant.authn.hot_rows`):
a change made through this process is seen by the very next request; one made by another
replica, within the cache's time to live."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from expressway import jose
from expressway.oauth.client_auth import JWT_BEARER_ASSERTION
from expressway.tenant.authn import hot_rows
from expressway.tenant.rows import (
    ClientCredentialRow,
    ClientGrantRow,
)
from tests.conftest import BACKENDS, Tenant
from tests.tenant.machines import API, Machine

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)


def _as_another_replica(tenant: Tenant, statement: sa.Executable) -> None:
    """A write this process's sessions never see, as another replica's would be."""
    with tenant.runtime.engine.begin() as connection:
        connection.execute(statement)


def test_a_deactivated_key_is_refused_by_the_next_request(tenant: Tenant) -> None:
    machine = Machine(tenant)
    assert machine.exchange().status_code == 200  # the client and its key are now cached
    with tenant.runtime.sessions() as session:
        credential = session.get(ClientCredentialRow, machine.credential_id)
        assert credential is not None
        credential.active_position = None
        session.commit()
    refused = machine.exchange()
    assert refused.status_code == 401
    assert refused.json()["error_cause"] == "public_key_missing"


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
    clock = [1000.0]
    monkeypatch.setattr(hot_rows, "monotonic", lambda: clock[0])
    machine = Machine(tenant)
    assert machine.exchange().status_code == 200
    _as_another_replica(
        tenant,
        sa.update(ClientCredentialRow)
        .where(ClientCredentialRow.id == machine.credential_id)
        .values(active_position=None),
    )
    # Within the window this replica still trusts what it read: the documented staleness.
    clock[0] += hot_rows.TTL_SECONDS - 0.1
    assert machine.exchange().status_code == 200
    clock[0] += 0.2
    refused = machine.exchange()
    assert refused.status_code == 401
    assert refused.json()["error_cause"] == "public_key_missing"


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
