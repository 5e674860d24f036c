"""``/api/v2/organizations``: organizations, members, member roles and enabled connections."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from expressway.tenant.rows import (
    ConnectionRow,
    LogEventRow,
    OrganizationConnectionRow,
    OrganizationMemberRoleRow,
    OrganizationMemberRow,
    OrganizationRow,
    RoleRow,
    UserRow,
)
from expressway.tenant.services.organizations import organization_domains
from tests.conftest import BACKENDS, Tenant, auth0_error

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)

NOW = datetime(2025, 1, 1, tzinfo=UTC)


def make_user(tenant: Tenant, user_id: str, email: str, name: str | None = None) -> str:
    with tenant.runtime.sessions.begin() as session:
        session.add(
            UserRow(
                user_id=user_id,
                connection="Username-Password-Authentication",
                provider=user_id.split("|", 1)[0],
                email=email,
                email_key=email.lower(),
                name=name,
                picture=f"https://pictures.example/{email}.png",
                app_metadata={},
                user_metadata={},
                created_at=NOW,
                updated_at=NOW,
            )
        )
    return user_id


def make_role(tenant: Tenant, role_id: str, name: str) -> str:
    with tenant.runtime.sessions.begin() as session:
        session.add(RoleRow(id=role_id, name=name, description=f"The {name}", created_at=NOW))
    return role_id


def make_connection(tenant: Tenant, connection_id: str, name: str, strategy: str = "okta") -> str:
    with tenant.runtime.sessions.begin() as session:
        session.add(
            ConnectionRow(
                id=connection_id,
                name=name,
                strategy=strategy,
                options={},
                realms=[name],
                connection_metadata={},
                created_at=NOW,
            )
        )
    return connection_id


def make_organization(api: TestClient, name: str = "acme", **fields: Any) -> dict[str, Any]:
    response = api.post("/organizations", json={"name": name, **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def delete_with_body(api: TestClient, path: str, body: dict[str, Any]) -> Any:
    return api.request("DELETE", path, json=body)


def count(tenant: Tenant, row: type[Any], **where: str) -> int:
    with tenant.runtime.sessions() as session:
        statement = select(func.count()).select_from(row)
        for column, value in where.items():
            statement = statement.where(getattr(row, column) == value)
        return session.scalar(statement) or 0


# Organizations


def test_an_organization_is_created_and_read_back_by_id_and_by_name(tenant: Tenant) -> None:
    """An organization gets an ``org_`` id and reads back the same by id and by name."""
    api = tenant.api()
    created = make_organization(
        api,
        display_name="Acme Corporation",
        metadata={"tier": "gold"},
        branding={
            "logo_url": "https://acme.example/logo.png",
            "colors": {"primary": "#0059d6", "page_background": "#000000"},
        },
    )
    assert created["id"].startswith("org_")
    assert len(created["id"]) == len("org_") + 16
    assert created["name"] == "acme"
    assert created["display_name"] == "Acme Corporation"
    assert created["metadata"] == {"tier": "gold"}
    assert created["branding"]["colors"]["primary"] == "#0059d6"
    assert created["enabled_connections"] == []
    by_id = api.get(f"/organizations/{created['id']}").json()
    by_name = api.get("/organizations/name/acme").json()
    assert by_id == by_name
    assert by_id == {k: v for k, v in created.items() if k != "enabled_connections"}


def test_a_taken_name_is_refused_with_409_on_create_and_on_rename(tenant: Tenant) -> None:
    """Organization names are unique in the tenant."""
    api = tenant.api()
    make_organization(api, "acme")
    other = make_organization(api, "globex")
    again = api.post("/organizations", json={"name": "acme"})
    assert again.status_code == 409
    assert "acme" in auth0_error(again)["message"]
    renamed = api.patch(f"/organizations/{other['id']}", json={"name": "acme"})
    assert renamed.status_code == 409
    assert api.get(f"/organizations/{other['id']}").json()["name"] == "globex"


@pytest.mark.parametrize("name", ["Acme", "acme corp", "acme.com", "", "a" * 51])
def test_a_name_outside_auth0s_rules_is_refused_naming_the_field(tenant: Tenant, name: str) -> None:
    """Names are 1 to 50 lowercase letters, digits, ``-`` and ``_``."""
    response = tenant.api().post("/organizations", json={"name": name})
    assert response.status_code == 400
    assert "name" in auth0_error(response)["message"]
    assert tenant.api().get("/organizations").json() == []


def test_a_name_may_hold_digits_dashes_and_underscores(tenant: Tenant) -> None:
    assert make_organization(tenant.api(), "acme-2_eu")["name"] == "acme-2_eu"


def test_metadata_domains_are_normalised_to_lower_case(tenant: Tenant) -> None:
    """``metadata.domains`` is stored as lower-case, comma-separated domain names."""
    created = make_organization(
        tenant.api(), metadata={"domains": " Acme.COM, eu.acme.com,acme.com, xn--bcher-kva.de,"}
    )
    assert created["metadata"]["domains"] == "acme.com,eu.acme.com,xn--bcher-kva.de"
    with tenant.runtime.sessions() as session:
        row = session.get(OrganizationRow, created["id"])
        assert row is not None
        assert organization_domains(row) == ["acme.com", "eu.acme.com", "xn--bcher-kva.de"]


def test_domains_are_parsed_forgivingly_from_rows_written_elsewhere(tenant: Tenant) -> None:
    """A row written without the API still yields clean domains; no domains means none."""
    row = OrganizationRow(
        id="org_x", name="x", org_metadata={"domains": "Acme.com , ,acme.com"}, created_at=NOW
    )
    assert organization_domains(row) == ["acme.com"]
    row.org_metadata = {}
    assert organization_domains(row) == []


@pytest.mark.parametrize(
    "domains", ["acme", "acme..com", "-acme.com", "acme.com/login", "jane@acme.com", "acme.123"]
)
def test_a_domain_that_is_not_a_domain_name_is_refused_naming_it(
    tenant: Tenant, domains: str
) -> None:
    """Each entry of ``metadata.domains`` must be a plausible e-mail domain."""
    api = tenant.api()
    organization = make_organization(api, metadata={"domains": "acme.com"})
    response = api.patch(
        f"/organizations/{organization['id']}", json={"metadata": {"domains": f"ok.com,{domains}"}}
    )
    assert response.status_code == 400
    message = auth0_error(response)["message"]
    assert "metadata.domains" in message
    assert domains in message
    assert api.get(f"/organizations/{organization['id']}").json()["metadata"] == {
        "domains": "acme.com"
    }


def test_an_update_merges_metadata_and_a_null_value_removes_a_property(tenant: Tenant) -> None:
    """PATCH changes only the metadata properties it names; ``null`` removes one."""
    api = tenant.api()
    organization = make_organization(api, metadata={"tier": "gold", "region": "eu"})
    updated = api.patch(
        f"/organizations/{organization['id']}",
        json={"metadata": {"region": None, "domains": "ACME.com"}, "display_name": "Acme"},
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["metadata"] == {"tier": "gold", "domains": "acme.com"}
    assert updated.json()["display_name"] == "Acme"
    assert updated.json()["name"] == "acme"


def test_more_than_25_metadata_properties_are_refused_even_across_updates(
    tenant: Tenant,
) -> None:
    api = tenant.api()
    too_many = api.post(
        "/organizations", json={"name": "acme", "metadata": {f"k{n}": "v" for n in range(26)}}
    )
    assert too_many.status_code == 400
    assert "metadata" in auth0_error(too_many)["message"]
    organization = make_organization(api, metadata={f"k{n}": "v" for n in range(25)})
    one_more = api.patch(f"/organizations/{organization['id']}", json={"metadata": {"k25": "v"}})
    assert one_more.status_code == 400
    assert "25" in auth0_error(one_more)["message"]


@pytest.mark.parametrize(
    ("metadata", "named"),
    [
        ({"tier": "x" * 256}, "metadata.tier"),
        ({"k" * 256: "v"}, "metadata"),
        ({"tier": 3}, "metadata.tier"),
        ({"tier": {"nested": "no"}}, "metadata.tier"),
    ],
)
def test_metadata_values_must_be_short_strings(
    tenant: Tenant, metadata: dict[str, Any], named: str
) -> None:
    """Metadata values are strings of at most 255 characters, keys too."""
    response = tenant.api().post("/organizations", json={"name": "acme", "metadata": metadata})
    assert response.status_code == 400
    assert named in auth0_error(response)["message"]


@pytest.mark.parametrize(
    ("branding", "named"),
    [
        ({"colors": {"primary": "blue", "page_background": "#000"}}, "branding.colors.primary"),
        ({"colors": {"primary": "#000000"}}, "page_background"),
        ({"logo_url": "javascript:alert(1)"}, "branding.logo_url"),
        ({"logo": "https://acme.example/logo.png"}, "logo"),
    ],
)
def test_bad_branding_is_refused_naming_the_field(
    tenant: Tenant, branding: dict[str, Any], named: str
) -> None:
    response = tenant.api().post("/organizations", json={"name": "acme", "branding": branding})
    assert response.status_code == 400
    assert named in auth0_error(response)["message"]


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"name": "acme", "colour": "blue"}, "colour"),
        ({"name": 7}, "name"),
        ({"display_name": "Acme"}, "name"),
        ({"name": "acme", "display_name": "x" * 256}, "display_name"),
        (
            {"name": "acme", "enabled_connections": [{"assign_membership_on_login": True}]},
            "connection_id",
        ),
    ],
)
def test_a_bad_create_body_is_refused_naming_the_field(
    tenant: Tenant, body: dict[str, Any], named: str
) -> None:
    response = tenant.api().post("/organizations", json=body)
    assert response.status_code == 400
    assert named in auth0_error(response)["message"]


def test_malformed_json_is_a_400_not_a_500(tenant: Tenant) -> None:
    response = tenant.api().post(
        "/organizations", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert auth0_error(response)["errorCode"] == "invalid_body"


def test_an_unknown_organization_is_404_everywhere(tenant: Tenant) -> None:
    api = tenant.api()
    for response in (
        api.get("/organizations/org_missing"),
        api.get("/organizations/name/missing"),
        api.patch("/organizations/org_missing", json={"display_name": "x"}),
        api.delete("/organizations/org_missing"),
        api.get("/organizations/org_missing/members"),
        api.post("/organizations/org_missing/members", json={"members": ["auth0|1"]}),
        api.get("/organizations/org_missing/enabled_connections"),
    ):
        assert response.status_code == 404
        assert auth0_error(response)["errorCode"] == "inexistent_organization"


def test_listing_pages_by_offset_with_totals(tenant: Tenant) -> None:
    api = tenant.api()
    for name in ("a", "b", "c"):
        make_organization(api, name)
    body = api.get(
        "/organizations", params={"page": 1, "per_page": 2, "include_totals": "true"}
    ).json()
    assert body["total"] == 3
    assert body["start"] == 2
    assert body["limit"] == 2
    assert [o["name"] for o in body["organizations"]] == ["c"]
    assert [o["name"] for o in api.get("/organizations").json()] == ["a", "b", "c"]


def test_listing_pages_by_checkpoint_until_next_is_absent(tenant: Tenant) -> None:
    """With ``take`` (and then ``from``) each page carries ``next`` until the last one."""
    api = tenant.api()
    made = {make_organization(api, name)["id"] for name in ("a", "b", "c")}
    first = api.get("/organizations", params={"take": 2, "include_totals": "true"}).json()
    assert len(first["organizations"]) == 2
    assert first["next"]
    second = api.get("/organizations", params={"take": 2, "from": first["next"]}).json()
    assert len(second["organizations"]) == 1
    assert "next" not in second
    assert {o["id"] for o in first["organizations"] + second["organizations"]} == made


def test_offset_paging_past_1000_records_is_refused(tenant: Tenant) -> None:
    """Auth0 serves only the first 1000 records by offset; checkpoints reach the rest."""
    response = tenant.api().get("/organizations", params={"page": 10, "per_page": 100})
    assert response.status_code == 400
    assert auth0_error(response)["errorCode"] == "invalid_paging"


def test_a_wrongly_typed_query_parameter_is_refused_naming_it(tenant: Tenant) -> None:
    response = tenant.api().get("/organizations", params={"take": "many"})
    assert response.status_code == 400
    assert "take" in auth0_error(response)["message"]


# Members


def test_members_are_added_idempotently_listed_in_auth0s_shape_and_removed(
    tenant: Tenant,
) -> None:
    """Adding a member twice changes nothing; members carry user_id, email, picture, name."""
    api = tenant.api()
    organization = make_organization(api)
    jane = make_user(tenant, "auth0|jane", "jane@acme.com", name="Jane Doe")
    john = make_user(tenant, "okta|con-acme|00u1", "john@acme.com")
    path = f"/organizations/{organization['id']}/members"
    assert api.post(path, json={"members": [jane, john]}).status_code == 204
    assert api.post(path, json={"members": [jane]}).status_code == 204
    members = api.get(path).json()
    assert members == [
        {
            "user_id": jane,
            "email": "jane@acme.com",
            "name": "Jane Doe",
            "picture": "https://pictures.example/jane@acme.com.png",
        },
        {
            "user_id": john,
            "email": "john@acme.com",
            "picture": "https://pictures.example/john@acme.com.png",
        },
    ]
    assert delete_with_body(api, path, {"members": [jane, "auth0|nobody"]}).status_code == 204
    assert [m["user_id"] for m in api.get(path).json()] == [john]


def test_adding_an_unknown_user_names_it_and_adds_nobody(tenant: Tenant) -> None:
    """A failed add changes nothing, even for the users that do exist."""
    api = tenant.api()
    organization = make_organization(api)
    jane = make_user(tenant, "auth0|jane", "jane@acme.com")
    path = f"/organizations/{organization['id']}/members"
    response = api.post(path, json={"members": [jane, "auth0|ghost"]})
    assert response.status_code == 400
    assert "auth0|ghost" in auth0_error(response)["message"]
    assert api.get(path).json() == []


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({}, "members"),
        ({"members": []}, "members"),
        ({"members": "auth0|jane"}, "members"),
        ({"members": ["x" * 256]}, "members[0]"),
        ({"members": ["auth0|jane"], "roles": []}, "roles"),
    ],
)
def test_a_bad_members_body_is_refused_naming_the_field(
    tenant: Tenant, body: dict[str, Any], named: str
) -> None:
    api = tenant.api()
    organization = make_organization(api)
    response = api.post(f"/organizations/{organization['id']}/members", json=body)
    assert response.status_code == 400
    assert named in auth0_error(response)["message"]


def test_members_page_by_checkpoint_and_by_offset_with_totals(tenant: Tenant) -> None:
    api = tenant.api()
    organization = make_organization(api)
    users = [make_user(tenant, f"auth0|u{n}", f"u{n}@acme.com") for n in range(3)]
    path = f"/organizations/{organization['id']}/members"
    api.post(path, json={"members": users})
    first = api.get(path, params={"take": 2}).json()
    second = api.get(path, params={"take": 2, "from": first["next"]}).json()
    assert "next" not in second
    assert [m["user_id"] for m in first["members"] + second["members"]] == users
    totals = api.get(path, params={"per_page": 1, "include_totals": "true"}).json()
    assert totals["total"] == 3
    assert len(totals["members"]) == 1


def test_member_roles_are_listed_with_members_when_fields_asks_for_them(tenant: Tenant) -> None:
    """``fields=user_id,roles`` returns just those properties, roles as ``{id, name}``."""
    api = tenant.api()
    organization = make_organization(api)
    jane = make_user(tenant, "auth0|jane", "jane@acme.com")
    admin = make_role(tenant, "rol_admin", "Admin")
    api.post(f"/organizations/{organization['id']}/members", json={"members": [jane]})
    api.post(
        f"/organizations/{organization['id']}/members/{quote(jane, safe='')}/roles",
        json={"roles": [admin]},
    )
    members = api.get(
        f"/organizations/{organization['id']}/members", params={"fields": "user_id,roles"}
    ).json()
    assert members == [{"user_id": jane, "roles": [{"id": admin, "name": "Admin"}]}]
    without_email = api.get(
        f"/organizations/{organization['id']}/members",
        params={"fields": "email", "include_fields": "false"},
    ).json()
    assert "email" not in without_email[0]
    assert without_email[0]["user_id"] == jane


# Member roles


def test_member_roles_are_assigned_listed_and_removed(tenant: Tenant) -> None:
    """A ``|`` in the user id works URL-encoded, as the SDK sends it; assigning is idempotent."""
    api = tenant.api()
    organization = make_organization(api)
    jane = make_user(tenant, "okta|con-acme|00u1", "jane@acme.com")
    admin = make_role(tenant, "rol_admin", "Admin")
    viewer = make_role(tenant, "rol_viewer", "Viewer")
    api.post(f"/organizations/{organization['id']}/members", json={"members": [jane]})
    path = f"/organizations/{organization['id']}/members/{quote(jane, safe='')}/roles"
    assert api.post(path, json={"roles": [admin, viewer]}).status_code == 204
    assert api.post(path, json={"roles": [admin]}).status_code == 204
    listed = api.get(path, params={"include_totals": "true"}).json()
    assert listed["total"] == 2
    assert listed["roles"] == [
        {"id": admin, "name": "Admin", "description": "The Admin"},
        {"id": viewer, "name": "Viewer", "description": "The Viewer"},
    ]
    assert delete_with_body(api, path, {"roles": [admin]}).status_code == 204
    assert [r["id"] for r in api.get(path).json()] == [viewer]


def test_a_member_role_for_a_user_outside_the_organization_is_refused(tenant: Tenant) -> None:
    """Roles are held within an organization only by its members."""
    api = tenant.api()
    organization = make_organization(api)
    outsider = make_user(tenant, "auth0|out", "out@globex.com")
    admin = make_role(tenant, "rol_admin", "Admin")
    path = f"/organizations/{organization['id']}/members/{quote(outsider, safe='')}/roles"
    for response in (api.post(path, json={"roles": [admin]}), api.get(path)):
        assert response.status_code == 400
        message = auth0_error(response)["message"]
        assert outsider in message
        assert "not a member" in message
    assert count(tenant, OrganizationMemberRoleRow) == 0


def test_an_unknown_role_is_refused_naming_it(tenant: Tenant) -> None:
    api = tenant.api()
    organization = make_organization(api)
    jane = make_user(tenant, "auth0|jane", "jane@acme.com")
    admin = make_role(tenant, "rol_admin", "Admin")
    api.post(f"/organizations/{organization['id']}/members", json={"members": [jane]})
    path = f"/organizations/{organization['id']}/members/{quote(jane, safe='')}/roles"
    response = api.post(path, json={"roles": [admin, "rol_ghost"]})
    assert response.status_code == 400
    assert "rol_ghost" in auth0_error(response)["message"]
    assert api.get(path).json() == []


def test_removing_a_member_removes_the_roles_they_held_in_the_organization(
    tenant: Tenant,
) -> None:
    """Re-adding a former member does not bring their old roles back."""
    api = tenant.api()
    organization = make_organization(api)
    jane = make_user(tenant, "auth0|jane", "jane@acme.com")
    admin = make_role(tenant, "rol_admin", "Admin")
    members = f"/organizations/{organization['id']}/members"
    api.post(members, json={"members": [jane]})
    api.post(f"{members}/{quote(jane, safe='')}/roles", json={"roles": [admin]})
    delete_with_body(api, members, {"members": [jane]})
    api.post(members, json={"members": [jane]})
    assert api.get(f"{members}/{quote(jane, safe='')}/roles").json() == []


# Enabled connections


def test_a_connection_is_enabled_read_updated_listed_and_disabled(tenant: Tenant) -> None:
    """Enabled connections carry Auth0's defaults and the nested ``connection``."""
    api = tenant.api()
    organization = make_organization(api)
    okta = make_connection(tenant, "con_okta", "con-acme-okta")
    path = f"/organizations/{organization['id']}/enabled_connections"
    added = api.post(path, json={"connection_id": okta})
    assert added.status_code == 201, added.text
    assert added.json() == {
        "connection_id": okta,
        "assign_membership_on_login": False,
        "show_as_button": True,
        "is_signup_enabled": False,
        "connection": {"name": "con-acme-okta", "strategy": "okta"},
    }
    updated = api.patch(f"{path}/{okta}", json={"assign_membership_on_login": True})
    assert updated.status_code == 200
    assert updated.json()["assign_membership_on_login"] is True
    assert updated.json()["show_as_button"] is True
    assert api.get(f"{path}/{okta}").json() == updated.json()
    listed = api.get(path, params={"include_totals": "true"}).json()
    assert listed["total"] == 1
    assert listed["enabled_connections"] == [updated.json()]
    assert api.delete(f"{path}/{okta}").status_code == 204
    assert api.get(f"{path}/{okta}").status_code == 404
    assert api.get(path).json() == []


def test_enabling_an_unknown_connection_is_404_and_a_duplicate_409(tenant: Tenant) -> None:
    api = tenant.api()
    organization = make_organization(api)
    okta = make_connection(tenant, "con_okta", "con-acme-okta")
    path = f"/organizations/{organization['id']}/enabled_connections"
    unknown = api.post(path, json={"connection_id": "con_ghost"})
    assert unknown.status_code == 404
    assert "con_ghost" in auth0_error(unknown)["message"]
    api.post(path, json={"connection_id": okta})
    duplicate = api.post(path, json={"connection_id": okta, "show_as_button": False})
    assert duplicate.status_code == 409
    assert "con-acme-okta" in auth0_error(duplicate)["message"]
    assert api.get(f"{path}/{okta}").json()["show_as_button"] is True


def test_a_connection_not_enabled_for_the_organization_is_404(tenant: Tenant) -> None:
    api = tenant.api()
    organization = make_organization(api)
    okta = make_connection(tenant, "con_okta", "con-acme-okta")
    path = f"/organizations/{organization['id']}/enabled_connections/{okta}"
    assert api.get(path).status_code == 404
    assert api.patch(path, json={"show_as_button": False}).status_code == 404
    assert api.delete(path).status_code == 404


def test_a_bad_enabled_connection_body_is_refused_naming_the_field(tenant: Tenant) -> None:
    api = tenant.api()
    organization = make_organization(api)
    okta = make_connection(tenant, "con_okta", "con-acme-okta")
    path = f"/organizations/{organization['id']}/enabled_connections"
    wrong_type = api.post(path, json={"connection_id": okta, "show_as_button": "yes"})
    assert wrong_type.status_code == 400
    assert "show_as_button" in auth0_error(wrong_type)["message"]
    api.post(path, json={"connection_id": okta})
    no_id_in_patch = api.patch(f"{path}/{okta}", json={"connection_id": okta})
    assert no_id_in_patch.status_code == 400
    assert "connection_id" in auth0_error(no_id_in_patch)["message"]


def test_connections_can_be_enabled_when_the_organization_is_created(tenant: Tenant) -> None:
    """Auth0 accepts ``enabled_connections`` on create; an unknown one creates nothing."""
    api = tenant.api()
    okta = make_connection(tenant, "con_okta", "con-acme-okta")
    created = make_organization(
        api, enabled_connections=[{"connection_id": okta, "assign_membership_on_login": True}]
    )
    assert created["enabled_connections"][0]["connection"]["name"] == "con-acme-okta"
    assert created["enabled_connections"][0]["assign_membership_on_login"] is True
    refused = api.post(
        "/organizations", json={"name": "globex", "enabled_connections": [{"connection_id": "x"}]}
    )
    assert refused.status_code == 404
    assert api.get("/organizations/name/globex").status_code == 404


# Deletion, logging, scopes


def test_deleting_an_organization_removes_its_memberships_roles_and_connections(
    tenant: Tenant,
) -> None:
    """The users, roles and connections themselves stay."""
    api = tenant.api()
    organization = make_organization(api)
    jane = make_user(tenant, "auth0|jane", "jane@acme.com")
    admin = make_role(tenant, "rol_admin", "Admin")
    okta = make_connection(tenant, "con_okta", "con-acme-okta")
    org_path = f"/organizations/{organization['id']}"
    api.post(f"{org_path}/members", json={"members": [jane]})
    api.post(f"{org_path}/members/{quote(jane, safe='')}/roles", json={"roles": [admin]})
    api.post(f"{org_path}/enabled_connections", json={"connection_id": okta})
    assert api.delete(org_path).status_code == 204
    assert api.get(org_path).status_code == 404
    for row in (OrganizationMemberRow, OrganizationMemberRoleRow, OrganizationConnectionRow):
        assert count(tenant, row) == 0
    assert count(tenant, UserRow, user_id=jane) == 1
    assert count(tenant, RoleRow, id=admin) == 1
    assert count(tenant, ConnectionRow, id=okta) == 1
    make_organization(api)  # the name is free again


def test_every_write_is_logged_with_the_organization(tenant: Tenant) -> None:
    api = tenant.api()
    organization = make_organization(api)
    jane = make_user(tenant, "auth0|jane", "jane@acme.com")
    api.post(f"/organizations/{organization['id']}/members", json={"members": [jane]})
    api.patch(f"/organizations/{organization['id']}", json={"display_name": "Acme"})
    api.post(f"/organizations/{organization['id']}/members", json={"members": ["auth0|ghost"]})
    with tenant.runtime.sessions() as session:
        events = session.scalars(
            select(LogEventRow)
            .where(LogEventRow.organization_id == organization["id"])
            .order_by(LogEventRow.log_id)
        ).all()
    assert [(e.type, e.description) for e in events] == [
        ("sapi", "Create an organization"),
        ("sapi", "Add members to an organization"),
        ("sapi", "Update an organization"),
    ]


@pytest.mark.parametrize(
    ("method", "path", "scope"),
    [
        ("GET", "/organizations", "read:organizations"),
        ("POST", "/organizations", "create:organizations"),
        ("DELETE", "/organizations/org_x", "delete:organizations"),
        ("GET", "/organizations/org_x/members", "read:organization_members"),
        ("POST", "/organizations/org_x/members", "create:organization_members"),
        ("GET", "/organizations/org_x/members/auth0%7Cx/roles", "read:organization_member_roles"),
        (
            "DELETE",
            "/organizations/org_x/members/auth0%7Cx/roles",
            "delete:organization_member_roles",
        ),
        ("PATCH", "/organizations/org_x/enabled_connections/c", "update:organization_connections"),
    ],
)
def test_a_call_without_a_token_is_401_and_without_the_scope_403(
    tenant: Tenant, method: str, path: str, scope: str
) -> None:
    anonymous = tenant.http.request(method, f"/api/v2{path}", json={})
    assert anonymous.status_code == 401
    narrow = tenant.api(scope="read:roles").request(method, path, json={})
    assert narrow.status_code == 403
    assert scope in auth0_error(narrow)["message"]
