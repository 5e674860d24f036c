"""``/api/v2/roles``: roles, their permissions and their users."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from expressway.tenant.rows import LogEventRow, UserRoleRow, UserRow
from tests.conftest import BACKENDS, Tenant, auth0_error

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)

EXPRESS_CONFIGURE = "urn:auth0:express-configure"


def make_api(api: TestClient) -> None:
    created = api.post(
        "/resource-servers",
        json={
            "identifier": EXPRESS_CONFIGURE,
            "name": "Express Configuration",
            "scopes": [
                {"value": "express_configure:sso", "description": "Configure SSO"},
                {"value": "express_configure:scim", "description": "Configure SCIM"},
            ],
        },
    )
    assert created.status_code == 201, created.text


def make_role(api: TestClient, name: str = "OIN admin") -> str:
    created = api.post("/roles", json={"name": name, "description": "Configures the OIN"})
    assert created.status_code == 200, created.text
    role_id: str = created.json()["id"]
    return role_id


def insert_users(tenant: Tenant, *user_ids: str) -> None:
    """Users written straight to the database: no Argon2 hashing, so tests stay fast."""
    now = tenant.runtime.clock.now()
    with tenant.runtime.sessions() as session:
        for user_id in user_ids:
            email = f"{user_id.split('|')[-1]}@example.com"
            session.add(
                UserRow(
                    user_id=user_id,
                    connection="Username-Password-Authentication",
                    provider="auth0",
                    email=email,
                    email_key=email,
                    name=email,
                    app_metadata={},
                    user_metadata={},
                    created_at=now,
                    updated_at=now,
                )
            )
        session.commit()


def permission(name: str) -> dict[str, str]:
    return {"resource_server_identifier": EXPRESS_CONFIGURE, "permission_name": name}


def test_a_role_is_created_read_listed_renamed_and_deleted(tenant: Tenant) -> None:
    """A role has Auth0's ``rol_`` id and shape; deleting answers 200 with ``{}`` as Auth0."""
    api = tenant.api()
    created = api.post("/roles", json={"name": "Admin", "description": "Everything"})
    assert created.status_code == 200
    body = created.json()
    assert re.fullmatch(r"rol_[A-Za-z0-9]{16}", body["id"])
    assert body == {"id": body["id"], "name": "Admin", "description": "Everything"}
    assert api.get(f"/roles/{body['id']}").json() == body
    assert api.get("/roles").json() == [body]

    renamed = api.patch(f"/roles/{body['id']}", json={"name": "Administrator"})
    assert renamed.json() == {**body, "name": "Administrator"}

    deleted = api.delete(f"/roles/{body['id']}")
    assert (deleted.status_code, deleted.json()) == (200, {})
    assert api.get(f"/roles/{body['id']}").status_code == 404


def test_a_role_name_already_taken_is_refused_with_409(tenant: Tenant) -> None:
    """Role names are unique, on creation and on rename."""
    api = tenant.api()
    make_role(api, "Admin")
    other = make_role(api, "Reader")
    again = api.post("/roles", json={"name": "Admin"})
    assert again.status_code == 409
    assert "Admin" in auth0_error(again)["message"]
    assert api.patch(f"/roles/{other}", json={"name": "Admin"}).status_code == 409
    assert api.get(f"/roles/{other}").json()["name"] == "Reader"


def test_roles_are_filtered_by_name_whatever_the_case(tenant: Tenant) -> None:
    """``name_filter`` matches part of the name, case-insensitively; ``%`` is no wildcard."""
    api = tenant.api()
    for name in ("OIN admin", "OIN reader", "Billing"):
        make_role(api, name)
    found = api.get("/roles", params={"name_filter": "oin"}).json()
    assert [role["name"] for role in found] == ["OIN admin", "OIN reader"]
    assert api.get("/roles", params={"name_filter": "%"}).json() == []
    page = api.get("/roles", params={"per_page": 2, "page": 1, "include_totals": "true"}).json()
    assert (page["total"], page["start"], page["limit"]) == (3, 2, 2)
    assert [role["name"] for role in page["roles"]] == ["OIN reader"]


def test_an_unknown_role_is_a_404_in_auth0_shape(tenant: Tenant) -> None:
    api = tenant.api()
    for response in (
        api.get("/roles/rol_doesnotexist0000"),
        api.get("/roles/rol_doesnotexist0000/permissions"),
        api.post("/roles/rol_doesnotexist0000/users", json={"users": ["auth0|x"]}),
    ):
        assert response.status_code == 404
        assert auth0_error(response)["errorCode"] == "inexistent_role"


def test_permissions_are_added_idempotently_listed_with_their_api_and_removed(
    tenant: Tenant,
) -> None:
    """Each listed permission carries its API's name and the scope's description."""
    api = tenant.api()
    make_api(api)
    role = make_role(api)
    body = {
        "permissions": [permission("express_configure:sso"), permission("express_configure:scim")]
    }
    added = api.post(f"/roles/{role}/permissions", json=body)
    assert (added.status_code, added.json()) == (201, {})
    assert api.post(f"/roles/{role}/permissions", json=body).status_code == 201

    listed = api.get(f"/roles/{role}/permissions", params={"include_totals": "true"}).json()
    assert listed["total"] == 2
    assert listed["permissions"] == [
        {
            "resource_server_identifier": EXPRESS_CONFIGURE,
            "permission_name": "express_configure:scim",
            "resource_server_name": "Express Configuration",
            "description": "Configure SCIM",
        },
        {
            "resource_server_identifier": EXPRESS_CONFIGURE,
            "permission_name": "express_configure:sso",
            "resource_server_name": "Express Configuration",
            "description": "Configure SSO",
        },
    ]

    removed = api.request(
        "DELETE",
        f"/roles/{role}/permissions",
        json={"permissions": [permission("express_configure:scim")]},
    )
    assert removed.status_code == 204
    remaining = api.get(f"/roles/{role}/permissions").json()
    assert [p["permission_name"] for p in remaining] == ["express_configure:sso"]


@pytest.mark.parametrize(
    ("refused", "named"),
    [
        (permission("express_configure:everything"), "express_configure:everything"),
        (
            {"resource_server_identifier": "https://nowhere.example", "permission_name": "x"},
            "https://nowhere.example",
        ),
    ],
)
def test_a_permission_that_is_not_a_scope_of_an_existing_api_is_refused_naming_it(
    tenant: Tenant, refused: dict[str, str], named: str
) -> None:
    """The whole request is refused: the valid permission beside it is not added either."""
    api = tenant.api()
    make_api(api)
    role = make_role(api)
    response = api.post(
        f"/roles/{role}/permissions",
        json={"permissions": [permission("express_configure:sso"), refused]},
    )
    assert response.status_code == 400
    assert named in auth0_error(response)["message"]
    assert api.get(f"/roles/{role}/permissions").json() == []


def test_a_permission_taken_off_its_api_is_taken_off_the_role(tenant: Tenant) -> None:
    api = tenant.api()
    make_api(api)
    role = make_role(api)
    api.post(
        f"/roles/{role}/permissions", json={"permissions": [permission("express_configure:sso")]}
    )
    api.patch(
        f"/resource-servers/{EXPRESS_CONFIGURE}",
        json={"scopes": [{"value": "express_configure:scim"}]},
    )
    assert api.get(f"/roles/{role}/permissions").json() == []


def test_users_of_a_role_are_listed_by_page_and_by_checkpoint(tenant: Tenant) -> None:
    """Offset paging with totals, and Auth0's ``from``/``take`` with a ``next`` checkpoint."""
    api = tenant.api()
    role = make_role(api)
    insert_users(tenant, "auth0|ccc", "auth0|aaa", "auth0|bbb", "auth0|zzz")
    assigned = api.post(
        f"/roles/{role}/users", json={"users": ["auth0|ccc", "auth0|aaa", "auth0|bbb"]}
    )
    assert (assigned.status_code, assigned.json()) == (200, {})
    assert api.post(f"/roles/{role}/users", json={"users": ["auth0|aaa"]}).status_code == 200

    page = api.get(f"/roles/{role}/users", params={"per_page": 2, "include_totals": "true"}).json()
    assert page["total"] == 3
    assert page["users"][0] == {
        "user_id": "auth0|aaa",
        "email": "aaa@example.com",
        "name": "aaa@example.com",
    }
    assert [u["user_id"] for u in page["users"]] == ["auth0|aaa", "auth0|bbb"]

    first = api.get(f"/roles/{role}/users", params={"take": 2}).json()
    assert [u["user_id"] for u in first["users"]] == ["auth0|aaa", "auth0|bbb"]
    second = api.get(f"/roles/{role}/users", params={"take": 2, "from": first["next"]}).json()
    assert [u["user_id"] for u in second["users"]] == ["auth0|ccc"]
    assert "next" not in second


def test_a_checkpoint_the_api_did_not_hand_out_is_a_400(tenant: Tenant) -> None:
    api = tenant.api()
    role = make_role(api)
    response = api.get(f"/roles/{role}/users", params={"from": "%%%"})
    assert response.status_code == 400
    assert "from" in auth0_error(response)["message"]


def test_assigning_an_unknown_user_to_a_role_is_refused_and_changes_nothing(
    tenant: Tenant,
) -> None:
    api = tenant.api()
    role = make_role(api)
    insert_users(tenant, "auth0|known")
    response = api.post(f"/roles/{role}/users", json={"users": ["auth0|known", "auth0|ghost"]})
    assert response.status_code == 400
    assert "auth0|ghost" in auth0_error(response)["message"]
    assert api.get(f"/roles/{role}/users").json() == []


def test_deleting_a_role_takes_it_off_its_users(tenant: Tenant) -> None:
    api = tenant.api()
    role = make_role(api)
    insert_users(tenant, "auth0|holder")
    api.post(f"/roles/{role}/users", json={"users": ["auth0|holder"]})
    api.delete(f"/roles/{role}")
    with tenant.runtime.sessions() as session:
        assert session.scalars(select(UserRoleRow)).all() == []


def test_a_bad_role_body_is_refused_naming_the_field(tenant: Tenant) -> None:
    api = tenant.api()
    for body, named in (
        ({"name": "Admin", "colour": "blue"}, "colour"),
        ({"name": "x" * 51}, "name"),
        ({"name": 7}, "name"),
        ({"description": "no name"}, "name"),
    ):
        response = api.post("/roles", json=body)
        assert response.status_code == 400, body
        assert named in auth0_error(response)["message"]
    assert api.get("/roles").json() == []


def test_an_empty_or_malformed_permission_list_is_refused(tenant: Tenant) -> None:
    api = tenant.api()
    role = make_role(api)
    empty = api.post(f"/roles/{role}/permissions", json={"permissions": []})
    assert empty.status_code == 400
    assert "permissions" in auth0_error(empty)["message"]
    missing = api.post(
        f"/roles/{role}/permissions",
        json={"permissions": [{"resource_server_identifier": EXPRESS_CONFIGURE}]},
    )
    assert missing.status_code == 400
    assert "permission_name" in auth0_error(missing)["message"]


def test_each_role_endpoint_needs_its_scope(tenant: Tenant) -> None:
    """Auth0's scopes: reading roles does not let a caller change them or see their users."""
    role = make_role(tenant.api())
    reader = tenant.api(scope="read:roles")
    assert reader.get(f"/roles/{role}").status_code == 200
    assert reader.post("/roles", json={"name": "Sneaky"}).status_code == 403
    assert reader.delete(f"/roles/{role}").status_code == 403
    forbidden = reader.get(f"/roles/{role}/users")
    assert forbidden.status_code == 403
    assert "read:role_members" in auth0_error(forbidden)["message"]
    members = tenant.api(scope="read:role_members")
    assert members.get(f"/roles/{role}/users").status_code == 200


def test_every_role_write_is_logged(tenant: Tenant) -> None:
    api = tenant.api()
    make_api(api)
    role = make_role(api)
    api.patch(f"/roles/{role}", json={"description": "changed"})
    api.post(
        f"/roles/{role}/permissions", json={"permissions": [permission("express_configure:sso")]}
    )
    api.delete(f"/roles/{role}")
    with tenant.runtime.sessions() as session:
        logged = session.scalars(
            select(LogEventRow.description).where(LogEventRow.type == "sapi")
        ).all()
    assert {
        "Create a role",
        "Update a role",
        "Add permissions to a role",
        "Delete a role",
    } <= set(logged)
