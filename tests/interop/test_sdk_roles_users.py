"""The official Auth0 SDK manages roles, users and their assignments on a running tenant."""

from __future__ import annotations

import contextlib

import pytest
from auth0.management import Auth0
from auth0.management.errors import BadRequestError, ConflictError, NotFoundError
from auth0.management.types import PermissionRequestPayload, ResourceServerScope

from tests.interop.conftest import LiveTenant

EC_API = "urn:auth0:express-configure"
EC_SCOPES = ("express_configure:sso", "express_configure:scim")
DATABASE = "Username-Password-Authentication"


def ensure_express_configure_api(sdk: Auth0) -> None:
    """Create the Express Configuration API; another test on this shared tenant may have."""
    with contextlib.suppress(ConflictError):
        sdk.resource_servers.create(
            identifier=EC_API,
            name="Express Configuration",
            scopes=[ResourceServerScope(value=s, description=f"Configure {s}") for s in EC_SCOPES],
        )
    api = sdk.resource_servers.get(EC_API)
    assert {scope.value for scope in api.scopes or []} >= set(EC_SCOPES)


def test_the_sdk_gives_a_database_user_a_role_with_the_express_configure_permissions(
    live_tenant: LiveTenant, sdk: Auth0
) -> None:
    """Role with both permissions, a database user holding it, reads, updates, search, delete."""
    ensure_express_configure_api(sdk)
    role = sdk.roles.create(name="Express Configure operator", description="Runs the OIN setup")
    assert role.id is not None
    assert role.id.startswith("rol_")
    sdk.roles.permissions.add(
        role.id,
        permissions=[
            PermissionRequestPayload(resource_server_identifier=EC_API, permission_name=name)
            for name in EC_SCOPES
        ],
    )
    held = list(sdk.roles.permissions.list(role.id))
    assert {p.permission_name for p in held} == set(EC_SCOPES)
    assert {p.resource_server_name for p in held} == {sdk.resource_servers.get(EC_API).name}

    user = sdk.users.create(
        connection=DATABASE,
        email="operator@vendor.example",
        password="Correct-Horse-42",
        given_name="Olive",
        user_metadata={"team": "identity"},
    )
    assert user.user_id is not None
    assert user.user_id.startswith("auth0|")
    assert user.identities is not None
    assert user.identities[0].connection == DATABASE
    with pytest.raises(ConflictError):
        sdk.users.create(
            connection=DATABASE, email="OPERATOR@vendor.example", password="X-pass-123"
        )
    with pytest.raises(BadRequestError):
        sdk.users.create(connection=DATABASE, email="weak@vendor.example", password="password")

    sdk.users.roles.assign(user.user_id, roles=[role.id])
    assert [r.id for r in sdk.users.roles.list(user.user_id)] == [role.id]
    permissions = list(sdk.users.permissions.list(user.user_id))
    assert {(p.resource_server_identifier, p.permission_name) for p in permissions} == {
        (EC_API, name) for name in EC_SCOPES
    }
    assert [u.user_id for u in sdk.roles.users.list(role.id)] == [user.user_id]
    assert list(sdk.users.organizations.list(user.user_id)) == []

    updated = sdk.users.update(
        user.user_id, blocked=True, family_name="Operator", user_metadata={"shift": "night"}
    )
    assert updated.blocked is True
    assert updated.family_name == "Operator"
    assert updated.user_metadata == {"team": "identity", "shift": "night"}
    fetched = sdk.users.get(user.user_id)
    assert fetched.blocked is True

    by_email = sdk.users.list_users_by_email(email="operator@vendor.example")
    assert [u.user_id for u in by_email] == [user.user_id]
    searched = list(sdk.users.list(q='email:"operator@vendor.example"', search_engine="v3"))
    assert [u.user_id for u in searched] == [user.user_id]
    assert user.user_id in {u.user_id for u in sdk.users.list()}

    sdk.users.roles.delete(user.user_id, roles=[role.id])
    assert list(sdk.users.roles.list(user.user_id)) == []
    sdk.users.delete(user.user_id)
    with pytest.raises(NotFoundError):
        sdk.users.get(user.user_id)
    assert list(sdk.roles.users.list(role.id)) == []

    sdk.roles.update(role.id, description="Retired")
    assert sdk.roles.get(role.id).description == "Retired"
    assert role.id in {r.id for r in sdk.roles.list(name_filter="configure operator")}
    sdk.roles.delete(role.id)
    with pytest.raises(NotFoundError):
        sdk.roles.get(role.id)
