"""A provisioned user joins every organization its connection is enabled on, and only those;
an adopted user keeps the memberships they had."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from expressway.storage.engine import unit_of_work
from expressway.tenant.rows import OrganizationMemberRow
from tests.conftest import BACKENDS, Tenant
from tests.tenant.scim.helpers import okta_user, scim_connection, signed_in_user

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)


def _organization(tenant: Tenant, name: str, connection_id: str | None) -> str:
    api = tenant.api()
    organization = api.post("/organizations", json={"name": name})
    assert organization.status_code == 201, organization.text
    organization_id: str = organization.json()["id"]
    if connection_id is not None:
        enabled = api.post(
            f"/organizations/{organization_id}/enabled_connections",
            json={"connection_id": connection_id},
        )
        assert enabled.status_code in (200, 201), enabled.text
    return organization_id


def _memberships(tenant: Tenant, user_id: str) -> dict[str, object]:
    with unit_of_work(tenant.runtime.sessions) as session:
        rows = session.scalars(
            select(OrganizationMemberRow).where(OrganizationMemberRow.user_id == user_id)
        )
        return {row.organization_id: row.created_at for row in rows}


def test_a_new_user_joins_the_connections_organizations_only(tenant: Tenant) -> None:
    scim = scim_connection(tenant)
    acme = _organization(tenant, "acme", scim.id)
    globex = _organization(tenant, "globex", scim.id)
    _organization(tenant, "initech", None)
    created = scim.http.post("/Users", json=okta_user("new@example.com", "00unew"))
    assert created.status_code == 201, created.text
    assert set(_memberships(tenant, "okta|acme-okta|00unew")) == {acme, globex}


def test_an_adopted_member_keeps_their_membership_and_joins_the_others(tenant: Tenant) -> None:
    scim = scim_connection(tenant)
    acme = _organization(tenant, "acme", scim.id)
    globex = _organization(tenant, "globex", scim.id)
    user_id = "okta|acme-okta|00ujit"
    joined = tenant.runtime.clock.now() - timedelta(days=3)
    signed_in_user(tenant, user_id, joined, logins_count=1)
    with unit_of_work(tenant.runtime.sessions) as session:
        session.add(OrganizationMemberRow(organization_id=acme, user_id=user_id, created_at=joined))
    created = scim.http.post("/Users", json=okta_user("jit@example.com", "00ujit"))
    assert created.status_code == 201, created.text
    memberships = _memberships(tenant, user_id)
    assert set(memberships) == {acme, globex}
    assert memberships[acme] == joined
