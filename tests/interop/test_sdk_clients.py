"""The official Auth0 SDK manages clients, their credentials and client grants on a running
tenant."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from auth0.management import Auth0
from auth0.management.errors import BadRequestError, NotFoundError
from auth0.management.types import (
    ClientAuthenticationMethod,
    ClientAuthenticationMethodPrivateKeyJwt,
    CredentialId,
    ExpressConfiguration,
    LinkedClientConfiguration,
    ResourceServerScope,
)
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.interop.conftest import LiveTenant


def _public_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def test_the_sdk_creates_the_oin_client_and_activates_its_uploaded_key(sdk: Auth0) -> None:
    """SPEC §2.1: the server's OIN defaults, then a public key uploaded and activated."""
    oin = sdk.clients.create(name="Okta OIN (SDK)", app_type="express_configuration")
    assert oin.client_id is not None
    assert oin.callbacks == ["http://localhost:8402/admin/app/generic/oauth20redirect"]
    assert oin.grant_types == ["authorization_code", "client_credentials"]
    assert oin.organization_usage == "require"
    assert oin.organization_require_behavior == "pre_login_prompt"
    assert oin.jwt_configuration is not None
    assert oin.jwt_configuration.alg == "RS256"
    assert oin.client_secret is None
    assert oin.token_endpoint_auth_method is None
    assert oin.client_authentication_methods is not None
    assert oin.client_authentication_methods.private_key_jwt is not None
    assert oin.client_authentication_methods.private_key_jwt.credentials == []

    expires = datetime.now(UTC) + timedelta(days=90)
    credential = sdk.clients.credentials.create(
        oin.client_id,
        credential_type="public_key",
        name="OIN wizard key",
        pem=_public_pem(),
        alg="RS256",
        expires_at=expires,
    )
    assert credential.id is not None
    assert credential.id.startswith("cred_")
    assert credential.kid
    assert credential.expires_at is not None
    assert abs((credential.expires_at - expires).total_seconds()) < 1

    sdk.clients.update(
        oin.client_id,
        client_authentication_methods=ClientAuthenticationMethod(
            private_key_jwt=ClientAuthenticationMethodPrivateKeyJwt(
                credentials=[CredentialId(id=credential.id)]
            )
        ),
    )
    methods = sdk.clients.get(oin.client_id).client_authentication_methods
    assert methods is not None
    assert methods.private_key_jwt is not None
    assert [c.id for c in methods.private_key_jwt.credentials] == [credential.id]
    assert [c.id for c in sdk.clients.credentials.list(oin.client_id)] == [credential.id]

    later = expires + timedelta(days=30)
    updated = sdk.clients.credentials.update(oin.client_id, credential.id, expires_at=later)
    assert updated.expires_at is not None
    assert abs((updated.expires_at - later).total_seconds()) < 1
    assert sdk.clients.credentials.get(oin.client_id, credential.id).name == "OIN wizard key"

    with pytest.raises(BadRequestError):
        sdk.clients.credentials.create(
            oin.client_id, credential_type="public_key", pem="not a key", alg="RS256"
        )
    sdk.clients.credentials.delete(oin.client_id, credential.id)
    emptied = sdk.clients.get(oin.client_id).client_authentication_methods
    assert emptied is not None
    assert emptied.private_key_jwt is not None
    assert emptied.private_key_jwt.credentials == []


def test_the_sdk_creates_a_saas_app_with_express_configuration_and_home_realm_discovery(
    live_tenant: LiveTenant, sdk: Auth0
) -> None:
    """home_realm_discovery is Expressway's extension: sent as an extra body property."""
    oin = sdk.clients.create(name="Okta OIN (SaaS)", app_type="express_configuration")
    mobile = sdk.clients.create(name="Acme Mobile", app_type="native")
    connection_profile = sdk.connection_profiles.create(name="SDK clients connection profile")
    attribute_profile = sdk.user_attribute_profiles.create(
        name="SDK clients attribute profile",
        user_id={"oidc_mapping": "sub", "scim_mapping": "externalId"},
        user_attributes={
            "email": {
                "description": "Work e-mail",
                "label": "Email",
                "profile_required": True,
                "auth0_mapping": "email",
            }
        },
    )
    assert oin.client_id is not None
    assert mobile.client_id is not None
    assert connection_profile.id is not None
    assert attribute_profile.id is not None

    app = sdk.clients.create(
        name="Acme Analytics (SDK)",
        app_type="regular_web",
        callbacks=["https://analytics.example/callback"],
        initiate_login_uri="https://analytics.example/login",
        organization_usage="allow",
        express_configuration=ExpressConfiguration(
            initiate_login_uri_template="https://analytics.example/login?org={organization_name}",
            user_attribute_profile_id=attribute_profile.id,
            connection_profile_id=connection_profile.id,
            enable_client=True,
            enable_organization=True,
            linked_clients=[LinkedClientConfiguration(client_id=mobile.client_id)],
            okta_oin_client_id=oin.client_id,
            admin_login_domain="analytics.example",
        ),
        request_options={"additional_body_parameters": {"home_realm_discovery": True}},
    )
    assert app.client_id is not None
    assert app.client_secret
    fetched = sdk.clients.get(app.client_id)
    assert fetched.client_secret is None
    config = fetched.express_configuration
    assert config is not None
    assert config.okta_oin_client_id == oin.client_id
    assert config.linked_clients == [LinkedClientConfiguration(client_id=mobile.client_id)]
    assert config.oin_submission_id is None
    raw = httpx.get(
        f"{live_tenant.url}/api/v2/clients/{app.client_id}",
        headers={"Authorization": f"Bearer {live_tenant.token()}"},
    ).json()
    assert raw["home_realm_discovery"] is True

    with pytest.raises(BadRequestError):
        sdk.clients.update(
            app.client_id,
            express_configuration=ExpressConfiguration(
                initiate_login_uri_template="https://analytics.example/{tenant_name}",
                user_attribute_profile_id=attribute_profile.id,
                connection_profile_id=connection_profile.id,
                enable_client=True,
                enable_organization=True,
                okta_oin_client_id=oin.client_id,
                admin_login_domain="analytics.example",
            ),
        )
    listed = {c.client_id for c in sdk.clients.list(app_type="regular_web")}
    assert app.client_id in listed
    assert oin.client_id not in listed


def test_the_sdk_grants_a_client_an_api_rotates_its_secret_and_deletes_it(
    live_tenant: LiveTenant, sdk: Auth0
) -> None:
    sdk.resource_servers.create(
        identifier="https://invoices.example/api",
        name="Invoices",
        scopes=[
            ResourceServerScope(value="read:invoices", description="Read invoices"),
            ResourceServerScope(value="send:invoices", description="Send invoices"),
        ],
    )
    machine = sdk.clients.create(name="Invoice robot", app_type="non_interactive")
    assert machine.client_id is not None
    assert machine.client_secret

    grant = sdk.client_grants.create(
        client_id=machine.client_id,
        audience="https://invoices.example/api",
        scope=["read:invoices"],
    )
    assert grant.id is not None
    listed = list(sdk.client_grants.list(client_id=machine.client_id))
    assert [g.id for g in listed] == [grant.id]
    updated = sdk.client_grants.update(grant.id, scope=["read:invoices", "send:invoices"])
    assert updated.scope == ["read:invoices", "send:invoices"]

    def token(secret: str) -> httpx.Response:
        return httpx.post(
            f"{live_tenant.url}/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": machine.client_id,
                "client_secret": secret,
                "audience": "https://invoices.example/api",
            },
        )

    assert token(machine.client_secret).status_code == 200
    rotated = sdk.clients.rotate_secret(machine.client_id)
    assert rotated.client_secret
    assert rotated.client_secret != machine.client_secret
    assert token(machine.client_secret).status_code == 401
    assert token(rotated.client_secret).json()["scope"] == "read:invoices send:invoices"

    sdk.client_grants.delete(grant.id)
    assert grant.id not in {g.id for g in sdk.client_grants.list()}
    sdk.clients.delete(machine.client_id)
    with pytest.raises(NotFoundError):
        sdk.clients.get(machine.client_id)
