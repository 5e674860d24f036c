"""The official Auth0 SDK manages connections, SCIM, profiles, tenant settings and reads logs."""

from __future__ import annotations

from auth0.management import Auth0
from auth0.management.types import (
    ConnectionProfileOrganization,
    UpdateEnabledClientConnectionsRequestContentItem,
)

from tests.interop.conftest import LiveTenant

SECRET = "sdk-upstream-secret-4d1f0c"


def test_the_sdk_manages_an_okta_connection_its_clients_and_scim(
    live_tenant: LiveTenant, sdk: Auth0
) -> None:
    created = sdk.connections.create(
        name="sdk-acme-okta",
        strategy="okta",
        display_name="Acme",
        options={
            "domain": "acme.okta.example",
            "client_id": "0oa-sdk",
            "client_secret": SECRET,
            "domain_aliases": ["Acme.Example"],
        },
    )
    assert created.id is not None
    assert created.options is not None
    assert created.options["domain_aliases"] == ["acme.example"]
    assert "client_secret" not in created.options
    updated = sdk.connections.update(created.id, display_name="Acme SSO", show_as_button=True)
    assert updated.display_name == "Acme SSO"
    assert sdk.connections.get(created.id).show_as_button is True
    names = [c.name for c in sdk.connections.list(strategy="okta")]
    assert "sdk-acme-okta" in names

    sdk.connections.clients.update(
        created.id,
        request=[
            UpdateEnabledClientConnectionsRequestContentItem(
                client_id=live_tenant.client_id, status=True
            )
        ],
    )
    enabled = [c.client_id for c in sdk.connections.clients.get(created.id)]
    assert enabled == [live_tenant.client_id]

    config = sdk.connections.scim_configuration.create(created.id)
    assert config.connection_name == "sdk-acme-okta"
    assert (
        config.mapping == sdk.connections.scim_configuration.get_default_mapping(created.id).mapping
    )
    assert sdk.connections.scim_configuration.get(created.id).user_id_attribute == "externalId"
    token = sdk.connections.scim_configuration.tokens.create(
        created.id, scopes=["get:users", "post:users"], token_lifetime=86400
    )
    assert token.token is not None
    assert token.token.startswith("ewscim_")
    listed = sdk.connections.scim_configuration.tokens.get(created.id)
    assert [t.token_id for t in listed] == [token.token_id]
    assert token.token_id is not None
    sdk.connections.scim_configuration.tokens.delete(created.id, token.token_id)
    sdk.connections.scim_configuration.delete(created.id)

    sdk.connections.delete(created.id)
    assert "sdk-acme-okta" not in [c.name for c in sdk.connections.list()]


def test_the_sdk_manages_profiles_settings_and_reads_logs(sdk: Auth0) -> None:
    templates = sdk.connection_profiles.list_templates().connection_profile_templates or []
    assert any(t.display_name == "Okta Express Configuration" for t in templates)
    profile = sdk.connection_profiles.create(
        name="SDK Express",
        organization=ConnectionProfileOrganization(
            show_as_button="required", assign_membership_on_login="optional"
        ),
        enabled_features=["scim", "universal_logout"],
    )
    assert profile.id is not None
    assert profile.id.startswith("cop_")
    renamed = sdk.connection_profiles.update(profile.id, name="SDK Express 2")
    assert renamed.name == "SDK Express 2"
    assert profile.id in [p.id for p in sdk.connection_profiles.list()]
    sdk.connection_profiles.delete(profile.id)

    template = sdk.user_attribute_profiles.list_templates().user_attribute_profile_templates
    assert template
    assert template[0].template is not None
    body = template[0].template
    assert body.user_attributes is not None
    uap = sdk.user_attribute_profiles.create(
        name="SDK Workforce", user_attributes=body.user_attributes, user_id=body.user_id
    )
    assert uap.id is not None
    assert sdk.user_attribute_profiles.get(uap.id).user_attributes == body.user_attributes
    assert uap.id in [p.id for p in sdk.user_attribute_profiles.list()]
    sdk.user_attribute_profiles.delete(uap.id)

    settings = sdk.tenants.settings.update(
        friendly_name="SDK tenant",
        flags={"use_scope_descriptions_for_consent": True},
    )
    assert settings.friendly_name == "SDK tenant"
    assert settings.flags is not None
    assert settings.flags.enable_client_connections is False
    assert sdk.tenants.settings.get().friendly_name == "SDK tenant"

    events = list(sdk.logs.list(search="type:sapi", per_page=100))
    descriptions = {e.description for e in events}
    assert {"Create a connection profile", "Update tenant settings"} <= descriptions
    first = events[0]
    assert first.log_id is not None
    assert sdk.logs.get(first.log_id).description == first.description
