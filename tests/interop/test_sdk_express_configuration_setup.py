"""The whole Express Configuration setup of SPEC §2.1, built with the official Auth0 SDK.

This is what a SaaS vendor's developer does against Auth0 before the OIN can express-configure
their app; every call here goes over HTTP to a real tenant server.
"""

from __future__ import annotations

import httpx
from auth0.management import Auth0
from auth0.management.types import (
    ExpressConfiguration,
    LinkedClientConfiguration,
    PermissionRequestPayload,
    ResourceServerScope,
)
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.interop.conftest import LiveTenant

EC_API = "urn:auth0:express-configure"


def _public_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def test_a_vendor_builds_every_express_configuration_prerequisite_with_the_sdk(
    live_tenant: LiveTenant, sdk: Auth0
) -> None:
    """API with both permissions, role, admin, organization, OIN client with key, SaaS app."""
    # The Express Configuration API and its two permissions.
    sdk.resource_servers.create(
        identifier=EC_API,
        name="Express Configuration",
        scopes=[
            ResourceServerScope(value="express_configure:sso", description="Configure SSO"),
            ResourceServerScope(value="express_configure:scim", description="Configure SCIM"),
        ],
    )

    # A role that holds both.
    role = sdk.roles.create(name="Express Configuration Admin", description="OIN admins")
    assert role.id is not None
    sdk.roles.permissions.add(
        role.id,
        permissions=[
            PermissionRequestPayload(resource_server_identifier=EC_API, permission_name=name)
            for name in ("express_configure:sso", "express_configure:scim")
        ],
    )
    granted = {p.permission_name for p in sdk.roles.permissions.list(role.id)}
    assert granted == {"express_configure:sso", "express_configure:scim"}

    # The customer's admin user.
    admin = sdk.users.create(
        connection="Username-Password-Authentication",
        email="it-admin@acme.example",
        password="Correct-Horse-42",
        name="Acme IT Admin",
    )
    assert admin.user_id is not None
    assert admin.user_id.startswith("auth0|")

    # The organization, with its domains, the admin as a member holding the role there.
    org = sdk.organizations.create(
        name="acme", display_name="Acme Corp", metadata={"domains": "acme.example,acme.test"}
    )
    assert org.id is not None
    assert org.id.startswith("org_")
    sdk.organizations.members.create(org.id, members=[admin.user_id])
    sdk.organizations.members.roles.assign(org.id, admin.user_id, roles=[role.id])
    member_roles = [r.id for r in sdk.organizations.members.roles.list(org.id, admin.user_id)]
    assert member_roles == [role.id]
    database = next(
        c for c in sdk.connections.list() if c.name == "Username-Password-Authentication"
    )
    assert database.id is not None
    sdk.organizations.enabled_connections.add(
        org.id, connection_id=database.id, assign_membership_on_login=False
    )

    # The profiles Express Configuration applies to the connections it makes.
    connection_profile = sdk.connection_profiles.create(
        name="Okta Express Configuration",
        organization={"show_as_button": "optional", "assign_membership_on_login": "required"},
        connection_name_prefix_template="con-{org_id}-",
        enabled_features=["scim", "universal_logout"],
    )
    attribute_profile = sdk.user_attribute_profiles.create(
        name="Okta workforce users",
        user_id={"oidc_mapping": "sub", "scim_mapping": "externalId"},
        user_attributes={
            "email": {
                "description": "Work e-mail",
                "label": "Email",
                "profile_required": True,
                "auth0_mapping": "email",
                "oidc_mapping": {"mapping": "${context.tokenset.email}"},
                "scim_mapping": "emails[primary eq true].value",
            }
        },
    )
    assert connection_profile.id is not None
    assert connection_profile.id.startswith("cop_")
    assert attribute_profile.id is not None
    assert attribute_profile.id.startswith("uap_")

    # The OIN client: the server fills in Express Configuration's defaults.
    oin = sdk.clients.create(name="Okta OIN", app_type="express_configuration")
    assert oin.client_id is not None
    assert oin.organization_usage == "require"
    assert oin.organization_require_behavior == "pre_login_prompt"
    assert oin.callbacks == ["http://localhost:8402/admin/app/generic/oauth20redirect"]
    assert set(oin.grant_types or []) == {"authorization_code", "client_credentials"}
    assert oin.client_secret is None

    # Its public key from the OIN wizard, uploaded and activated for private_key_jwt.
    credential = sdk.clients.credentials.create(
        oin.client_id, credential_type="public_key", pem=_public_pem(), alg="RS256"
    )
    assert credential.id is not None
    assert credential.id.startswith("cred_")
    sdk.clients.update(
        oin.client_id,
        client_authentication_methods={"private_key_jwt": {"credentials": [{"id": credential.id}]}},
    )
    activated = sdk.clients.get(oin.client_id)
    assert activated.client_authentication_methods is not None
    private_key_jwt = activated.client_authentication_methods.private_key_jwt
    assert private_key_jwt is not None
    assert [c.id for c in private_key_jwt.credentials] == [credential.id]

    # The SaaS app, with Home Realm Discovery and its Express Configuration.
    app = sdk.clients.create(
        name="Acme Analytics",
        app_type="regular_web",
        callbacks=["http://localhost:8400/callback"],
        organization_usage="allow",
        request_options={"additional_body_parameters": {"home_realm_discovery": True}},
        express_configuration=ExpressConfiguration(
            initiate_login_uri_template=(
                "http://localhost:8400/login?organization={organization_id}"
                "&connection={connection_name}"
            ),
            user_attribute_profile_id=attribute_profile.id,
            connection_profile_id=connection_profile.id,
            enable_client=True,
            enable_organization=True,
            linked_clients=[],
            okta_oin_client_id=oin.client_id,
            admin_login_domain="localhost:8401",
        ),
    )
    assert app.client_id is not None
    fetched = sdk.clients.get(app.client_id)
    assert fetched.express_configuration is not None
    assert fetched.express_configuration.okta_oin_client_id == oin.client_id
    assert fetched.express_configuration.connection_profile_id == connection_profile.id
    with httpx.Client() as http:
        raw = http.get(
            f"{live_tenant.url}/api/v2/clients/{app.client_id}",
            headers={"Authorization": f"Bearer {live_tenant.token()}"},
        ).json()
    assert raw["home_realm_discovery"] is True

    # A linked client must exist, and the reference is kept.
    sdk.clients.update(
        app.client_id,
        express_configuration=ExpressConfiguration(
            initiate_login_uri_template="http://localhost:8400/login?organization={organization_name}",
            user_attribute_profile_id=attribute_profile.id,
            connection_profile_id=connection_profile.id,
            enable_client=True,
            enable_organization=True,
            linked_clients=[LinkedClientConfiguration(client_id=oin.client_id)],
            okta_oin_client_id=oin.client_id,
            admin_login_domain="localhost:8401",
        ),
    )
    relinked = sdk.clients.get(app.client_id).express_configuration
    assert relinked is not None
    assert relinked.linked_clients is not None
    assert [c.client_id for c in relinked.linked_clients] == [oin.client_id]

    # "Enable Application Connections" must be off for Express Configuration.
    settings = sdk.tenants.settings.get()
    assert settings.flags is not None
    assert settings.flags.enable_client_connections is False

    # Every write above is in the tenant's log.
    descriptions = {event.description for event in sdk.logs.list(search="type:sapi")}
    assert len(descriptions) >= 5
