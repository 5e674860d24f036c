"""The official Auth0 SDK manages organizations, members, member roles and enabled connections."""

from __future__ import annotations

import pytest
from auth0.management import Auth0
from auth0.management.core.api_error import ApiError
from auth0.management.types import ConnectionForOrganization, OrganizationBranding

from tests.interop.conftest import LiveTenant


def test_the_sdk_creates_reads_updates_lists_and_deletes_an_organization(
    live_tenant: LiveTenant, sdk: Auth0
) -> None:
    created = sdk.organizations.create(
        name="sdk-acme",
        display_name="Acme",
        metadata={"domains": "Acme.com, acme.eu"},
        branding=OrganizationBranding(logo_url="https://acme.example/logo.png"),
    )
    assert created.id
    assert created.id.startswith("org_")
    assert created.metadata == {"domains": "acme.com,acme.eu"}
    assert sdk.organizations.get(created.id).name == "sdk-acme"
    assert sdk.organizations.get_by_name("sdk-acme").id == created.id
    updated = sdk.organizations.update(created.id, display_name="Acme Corp", metadata={"tier": "1"})
    assert updated.display_name == "Acme Corp"
    assert updated.metadata == {"domains": "acme.com,acme.eu", "tier": "1"}
    for n in range(3):
        sdk.organizations.create(name=f"sdk-paged-{n}")
    names = [o.name for o in sdk.organizations.list(take=2)]
    assert {"sdk-acme", "sdk-paged-0", "sdk-paged-1", "sdk-paged-2"} <= set(names)
    assert len(names) == len(set(names))
    sdk.organizations.delete(created.id)
    with pytest.raises(ApiError) as missing:
        sdk.organizations.get(created.id)
    assert missing.value.status_code == 404


def test_the_sdk_manages_members_and_their_roles(live_tenant: LiveTenant, sdk: Auth0) -> None:
    organization = sdk.organizations.create(name="sdk-members")
    assert organization.id
    jane = sdk.users.create(
        connection="Username-Password-Authentication",
        email="jane.sdk-members@acme.com",
        password="A long passphrase, 42!",
    )
    assert jane.user_id
    role = sdk.roles.create(name="sdk-members-admin", description="Administers Acme")
    assert role.id
    sdk.organizations.members.create(organization.id, members=[jane.user_id])
    members = list(sdk.organizations.members.list(organization.id))
    assert [(m.user_id, m.email) for m in members] == [(jane.user_id, "jane.sdk-members@acme.com")]
    sdk.organizations.members.roles.assign(organization.id, jane.user_id, roles=[role.id])
    held = list(sdk.organizations.members.roles.list(organization.id, jane.user_id))
    assert [r.name for r in held] == ["sdk-members-admin"]
    sdk.organizations.members.roles.delete(organization.id, jane.user_id, roles=[role.id])
    assert list(sdk.organizations.members.roles.list(organization.id, jane.user_id)) == []
    sdk.organizations.members.delete(organization.id, members=[jane.user_id])
    assert list(sdk.organizations.members.list(organization.id)) == []


def test_the_sdk_manages_enabled_connections(live_tenant: LiveTenant, sdk: Auth0) -> None:
    connection = sdk.connections.create(name="sdk-enabled-db", strategy="auth0")
    assert connection.id
    organization = sdk.organizations.create(
        name="sdk-connections",
        enabled_connections=[ConnectionForOrganization(connection_id=connection.id)],
    )
    assert organization.id
    assert organization.enabled_connections
    assert organization.enabled_connections[0].connection_id == connection.id
    enabled = sdk.organizations.enabled_connections
    fetched = enabled.get(organization.id, connection.id)
    assert fetched.connection
    assert fetched.connection.name == "sdk-enabled-db"
    assert fetched.show_as_button is True
    updated = enabled.update(organization.id, connection.id, assign_membership_on_login=True)
    assert updated.assign_membership_on_login is True
    listed = list(enabled.list(organization.id))
    assert [c.connection_id for c in listed] == [connection.id]
    with pytest.raises(ApiError) as duplicate:
        enabled.add(organization.id, connection_id=connection.id)
    assert duplicate.value.status_code == 409
    enabled.delete(organization.id, connection.id)
    assert list(enabled.list(organization.id)) == []
