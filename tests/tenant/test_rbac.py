"""Permissions in user access tokens for an API that enforces RBAC (SPEC §2.2): only those the
user holds through roles, directly or as a member role in the organization logged into."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from expressway.tenant.authn.id_tokens import IdTokenContext
from expressway.tenant.authn.tokens import evaluate_access
from expressway.tenant.rows import (
    ClientRow,
    OrganizationMemberRoleRow,
    OrganizationMemberRow,
    OrganizationRow,
    ResourceServerRow,
    RolePermissionRow,
    RoleRow,
    UserRoleRow,
    UserRow,
)
from expressway.tenant.services.rbac import permissions_for
from tests.conftest import BACKENDS, Tenant
from tests.tenant.token_flows import (
    API,
    claims,
    exchange,
    make_api,
    make_app,
    make_role,
    make_user,
    mint_code,
    pkce_pair,
    sign_in,
)

SCOPES = ("read:reports", "write:reports", "delete:reports")


def _organization(api: TestClient, name: str, user_id: str, *role_ids: str) -> str:
    organization_id: str = api.post("/organizations", json={"name": name}).json()["id"]
    members = f"/organizations/{organization_id}/members"
    assert api.post(members, json={"members": [user_id]}).status_code == 204
    if role_ids:
        path = f"{members}/{user_id}/roles"
        assert api.post(path, json={"roles": list(role_ids)}).status_code == 204
    return organization_id


def _enforced_setup(tenant: Tenant) -> tuple[TestClient, str]:
    api = tenant.api()
    make_api(api, scopes=SCOPES, enforce_policies=True)
    return api, make_user(api)


@pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)
def test_a_permission_not_held_is_not_granted_however_it_is_asked_for(tenant: Tenant) -> None:
    """The token's scope and permissions are the asked scopes the user holds, no more."""
    api, user_id = _enforced_setup(tenant)
    reader = make_role(api, "Reader", "read:reports")
    assert api.post(f"/users/{user_id}/roles", json={"roles": [reader]}).status_code == 204
    body = sign_in(
        tenant,
        make_app(api),
        user_id,
        scope="openid read:reports write:reports",
        audience=API,
    )
    access = claims(tenant, body["access_token"])
    assert access["scope"] == body["scope"] == "openid read:reports"
    assert access["permissions"] == ["read:reports"]


@pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)
def test_a_held_permission_not_asked_for_is_not_granted(tenant: Tenant) -> None:
    """Roles bound what may be granted; the request still chooses within them."""
    api, user_id = _enforced_setup(tenant)
    both = make_role(api, "Editor", "read:reports", "write:reports")
    api.post(f"/users/{user_id}/roles", json={"roles": [both]})
    body = sign_in(tenant, make_app(api), user_id, scope="read:reports", audience=API)
    assert claims(tenant, body["access_token"])["permissions"] == ["read:reports"]


@pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)
def test_member_roles_count_only_in_the_organization_logged_into(tenant: Tenant) -> None:
    """A login to one organization does not carry the rights the user has at another."""
    api, user_id = _enforced_setup(tenant)
    writer = make_role(api, "Writer", "write:reports")
    deleter = make_role(api, "Deleter", "delete:reports")
    acme = _organization(api, "acme", user_id, writer)
    _organization(api, "globex", user_id, deleter)
    app = make_app(api)
    asked = "openid " + " ".join(SCOPES)
    body = sign_in(tenant, app, user_id, scope=asked, audience=API, organization_id=acme)
    access = claims(tenant, body["access_token"])
    assert access["permissions"] == ["write:reports"]
    assert access["org_id"] == acme
    assert access["org_name"] == "acme"
    id_token = claims(tenant, body["id_token"])
    assert (id_token["org_id"], id_token["org_name"]) == (acme, "acme")
    outside = sign_in(tenant, app, user_id, scope=asked, audience=API)
    assert claims(tenant, outside["access_token"])["permissions"] == []
    assert "org_id" not in claims(tenant, outside["access_token"])


@pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)
def test_a_user_removed_from_the_organization_cannot_redeem_a_code_for_it(
    tenant: Tenant,
) -> None:
    """Membership is checked when tokens are issued, not only at login."""
    api, user_id = _enforced_setup(tenant)
    acme = _organization(api, "acme", user_id)
    api.request(
        "DELETE", f"/organizations/{acme}/members", json={"members": [user_id]}
    ).raise_for_status()
    app = make_app(api)
    verifier, challenge = pkce_pair()
    code = mint_code(tenant, app, user_id, challenge=challenge, organization_id=acme)
    response = exchange(tenant, app, code, verifier)
    assert response.json()["error"] == "invalid_grant"
    assert "member" in response.json()["error_description"]


@pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)
def test_no_user_gets_management_api_scopes_by_asking(tenant: Tenant) -> None:
    """The Management API's scopes come only through roles, whatever its enforce_policies."""
    api = tenant.api()
    user_id = make_user(api)
    audience = tenant.runtime.settings.management_audience
    body = sign_in(
        tenant, make_app(api), user_id, scope="read:users delete:users", audience=audience
    )
    access = claims(tenant, body["access_token"])
    assert access["scope"] == ""
    assert access["permissions"] == []


@pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)
def test_permissions_for_unions_direct_and_member_roles_for_one_audience(tenant: Tenant) -> None:
    """services.rbac.permissions_for, the rule the tokens rely on."""
    api, user_id = _enforced_setup(tenant)
    make_api(api, identifier="https://other.example/api", scopes=("read:other",))
    direct = make_role(api, "Reader", "read:reports")
    other = make_role(api, "Other", "read:other", audience="https://other.example/api")
    member = make_role(api, "Writer", "write:reports")
    api.post(f"/users/{user_id}/roles", json={"roles": [direct, other]})
    acme = _organization(api, "acme", user_id, member)
    with tenant.runtime.sessions() as session:
        assert permissions_for(session, user_id, acme, API) == {"read:reports", "write:reports"}
        assert permissions_for(session, user_id, None, API) == {"read:reports"}
        assert permissions_for(session, user_id, None, "https://other.example/api") == {
            "read:other"
        }


# The property: for any roles, assignments and request, the token's permissions are exactly
# (the union of the permissions of the user's direct roles and of their member roles in the
# organization logged into, for this API) ∩ (the scopes asked for).

PERMISSIONS = ("p0", "p1", "p2", "p3", "p4")
ROLES = 4
OTHER_API = "https://noise.example/api"

role_permissions = st.lists(
    st.tuples(
        st.frozensets(st.sampled_from(PERMISSIONS)), st.frozensets(st.sampled_from(PERMISSIONS))
    ),
    min_size=ROLES,
    max_size=ROLES,
)
role_subset = st.frozensets(st.integers(min_value=0, max_value=ROLES - 1))


@pytest.mark.parametrize("tenant_database", ["sqlite"], indirect=True)
@settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
# The leak each rule prevents, always tried: a member role of the other organization, and a
# permission of another API.
@example(
    roles=[(frozenset({"p0"}), frozenset({"p1"})), (frozenset({"p2"}), frozenset())] * 2,
    direct=frozenset({0}),
    in_acme=frozenset(),
    in_globex=frozenset({1}),
    login="org_acme",
    asked=list(PERMISSIONS),
)
@given(
    roles=role_permissions,
    direct=role_subset,
    in_acme=role_subset,
    in_globex=role_subset,
    login=st.sampled_from([None, "org_acme", "org_globex"]),
    asked=st.lists(st.sampled_from(PERMISSIONS), unique=True),
)
def test_token_permissions_are_the_held_ones_intersected_with_the_asked_ones(
    tenant: Tenant,
    roles: list[tuple[frozenset[str], frozenset[str]]],
    direct: frozenset[int],
    in_acme: frozenset[int],
    in_globex: frozenset[int],
    login: str | None,
    asked: list[str],
) -> None:
    """Property over random role/permission assignments (each role also holds permissions of
    another API, which must never leak in)."""
    now = datetime.now(UTC)
    with tenant.runtime.sessions() as session:
        user = _bare_user(now)
        session.add(user)
        server = _bare_api(now)
        session.add(server)
        for name in ("org_acme", "org_globex"):
            session.add(OrganizationRow(id=name, name=name[4:], org_metadata={}, created_at=now))
        session.flush()
        for name in ("org_acme", "org_globex"):
            session.add(
                OrganizationMemberRow(organization_id=name, user_id=user.user_id, created_at=now)
            )
        for index, (held, noise) in enumerate(roles):
            session.add(RoleRow(id=f"rol_{index}", name=f"role {index}", created_at=now))
            session.flush()
            session.add_all(
                RolePermissionRow(
                    role_id=f"rol_{index}", resource_server_identifier=API, permission_name=p
                )
                for p in held
            )
            session.add_all(
                RolePermissionRow(
                    role_id=f"rol_{index}", resource_server_identifier=OTHER_API, permission_name=p
                )
                for p in noise
            )
        session.flush()
        session.add_all(UserRoleRow(user_id=user.user_id, role_id=f"rol_{i}") for i in direct)
        for organization_id, member_roles in (("org_acme", in_acme), ("org_globex", in_globex)):
            session.add_all(
                OrganizationMemberRoleRow(
                    organization_id=organization_id, user_id=user.user_id, role_id=f"rol_{i}"
                )
                for i in member_roles
            )
        session.flush()
        through = set(direct) | set(
            in_acme if login == "org_acme" else in_globex if login == "org_globex" else ()
        )
        expected = {p for i in through for p in roles[i][0]} & set(asked)
        organization = session.get(OrganizationRow, login) if login else None
        context = IdTokenContext(
            user=user,
            client=_bare_client(now),
            scopes=["openid", *asked],
            auth_time=now,
            session_id=None,
            organization=organization,
        )
        access = evaluate_access(tenant.runtime, session, context, server, offline=False)
        session.rollback()
    assert access.permissions is not None
    assert set(access.permissions) == expected
    assert set(access.scopes) == expected | {"openid"}


def _bare_user(now: datetime) -> UserRow:
    return UserRow(
        user_id="auth0|property",
        connection="Username-Password-Authentication",
        provider="auth0",
        app_metadata={},
        user_metadata={},
        created_at=now,
        updated_at=now,
    )


def _bare_api(now: datetime) -> ResourceServerRow:
    return ResourceServerRow(
        id="rs_property",
        identifier=API,
        name="Reports",
        scopes=[{"value": p, "description": p} for p in PERMISSIONS],
        signing_alg="RS256",
        token_lifetime=600,
        token_lifetime_for_web=600,
        token_dialect="access_token",
        enforce_policies=True,
        created_at=now,
    )


def _bare_client(now: datetime) -> ClientRow:
    return ClientRow(
        client_id="property-client",
        name="Property",
        callbacks=[],
        allowed_logout_urls=[],
        web_origins=[],
        allowed_origins=[],
        grant_types=["authorization_code"],
        token_endpoint_auth_method="client_secret_post",
        jwt_configuration={},
        client_metadata={},
        created_at=now,
        updated_at=now,
    )
