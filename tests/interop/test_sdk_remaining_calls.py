"""The SDK calls the other interop tests do not make, so that every object of the Management API
is created, read, updated and deleted through the official SDK at least once."""

from __future__ import annotations

import secrets

from auth0.management import Auth0
from auth0.management.types import PermissionRequestPayload, ResourceServerScope, ScimMappingItem


def _name(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(4)}"


def test_an_organizations_enabled_connection_is_listed_read_updated_and_removed(sdk: Auth0) -> None:
    org = sdk.organizations.create(name=_name("globex"))
    connection = sdk.connections.create(name=_name("globex-db"), strategy="auth0")
    assert org.id is not None
    assert connection.id is not None
    sdk.organizations.enabled_connections.add(org.id, connection_id=connection.id)
    listed = [c.connection_id for c in sdk.organizations.enabled_connections.list(org.id)]
    assert listed == [connection.id]
    sdk.organizations.enabled_connections.update(
        org.id, connection.id, assign_membership_on_login=True, show_as_button=False
    )
    fetched = sdk.organizations.enabled_connections.get(org.id, connection.id)
    assert fetched.assign_membership_on_login is True
    assert fetched.show_as_button is False
    sdk.organizations.enabled_connections.delete(org.id, connection.id)
    assert list(sdk.organizations.enabled_connections.list(org.id)) == []


def test_a_roles_permission_is_removed_and_users_are_assigned_to_it(sdk: Auth0) -> None:
    api = f"https://{_name('billing')}.example"
    sdk.resource_servers.create(
        identifier=api, scopes=[ResourceServerScope(value="read:invoices", description="Read")]
    )
    role = sdk.roles.create(name=_name("billing-reader"))
    assert role.id is not None
    permission = PermissionRequestPayload(
        resource_server_identifier=api, permission_name="read:invoices"
    )
    sdk.roles.permissions.add(role.id, permissions=[permission])
    sdk.roles.permissions.delete(role.id, permissions=[permission])
    assert list(sdk.roles.permissions.list(role.id)) == []
    user = sdk.users.create(
        connection="Username-Password-Authentication",
        email=f"{_name('clerk')}@globex.example",
        password="Correct-Horse-42",
    )
    assert user.user_id is not None
    sdk.roles.users.assign(role.id, users=[user.user_id])
    assert [u.user_id for u in sdk.roles.users.list(role.id)] == [user.user_id]


def test_profiles_are_read_by_id_templates_fetched_and_updated(sdk: Auth0) -> None:
    templates = list(sdk.connection_profiles.list_templates().connection_profile_templates or [])
    assert templates
    assert templates[0].id is not None
    template = sdk.connection_profiles.get_template(templates[0].id)
    assert template.id == templates[0].id
    profile = sdk.connection_profiles.create(name=_name("profile"))
    assert profile.id is not None
    assert sdk.connection_profiles.get(profile.id).name == profile.name

    attribute_templates = list(
        sdk.user_attribute_profiles.list_templates().user_attribute_profile_templates or []
    )
    assert attribute_templates
    assert attribute_templates[0].id is not None
    attribute_template = sdk.user_attribute_profiles.get_template(attribute_templates[0].id)
    assert attribute_template.template is not None
    attributes = sdk.user_attribute_profiles.create(
        name=_name("attributes"),
        user_id=attribute_template.template.user_id,
        user_attributes=attribute_template.template.user_attributes,
    )
    assert attributes.id is not None
    renamed = sdk.user_attribute_profiles.update(attributes.id, name=_name("renamed"))
    assert renamed.name != attributes.name


def test_a_scim_configuration_is_updated_and_its_tokens_listed(sdk: Auth0) -> None:
    connection = sdk.connections.create(
        name=_name("okta-acme"),
        strategy="okta",
        options={
            "domain": "acme.okta.example",
            "client_id": "upstream-client",
            "client_secret": "upstream-secret",
        },
    )
    assert connection.id is not None
    sdk.connections.scim_configuration.create(connection.id)
    updated = sdk.connections.scim_configuration.update(
        connection.id,
        user_id_attribute="externalId",
        mapping=[ScimMappingItem(auth0="email", scim="userName")],
    )
    assert updated.user_id_attribute == "externalId"
    created = sdk.connections.scim_configuration.tokens.create(connection.id)
    assert created.token
    listed = sdk.connections.scim_configuration.tokens.get(connection.id)
    assert [t.token_id for t in listed] == [created.token_id]
    assert all(getattr(t, "token", None) is None for t in listed)
