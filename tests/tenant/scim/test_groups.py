"""``/scim/v2/connections/{id}/Groups``: members are users of the same connection; Okta's and
Entra's group pushes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import BACKENDS, Tenant
from tests.tenant.scim.helpers import (
    GROUP_SCHEMA,
    ScimConnection,
    okta_user,
    patch_body,
    scim_connection,
    scim_error,
)

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)


def make_users(scim: ScimConnection, *names: str) -> list[str]:
    return [
        scim.http.post("/Users", json=okta_user(f"{n}@example.com", f"00u{n}")).json()["id"]
        for n in names
    ]


def make_group(scim: ScimConnection, name: str, members: list[str]) -> dict[str, Any]:
    created = scim.http.post(
        "/Groups",
        json={
            "schemas": [GROUP_SCHEMA],
            "displayName": name,
            "members": [{"value": m, "display": f"member {m}"} for m in members],
        },
    )
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


def member_ids(scim: ScimConnection, group_id: str) -> list[str]:
    return sorted(
        m["value"] for m in scim.http.get(f"/Groups/{group_id}").json().get("members", [])
    )


def test_oktas_group_push_adds_and_removes_members(tenant: Tenant) -> None:
    """Okta pushes a group, renames it with a path-less replace, adds members, removes one with
    ``members[value eq "…"]`` and empties it with an empty replace."""
    scim = scim_connection(tenant)
    a, b, c = make_users(scim, "a", "b", "c")
    group = make_group(scim, "Engineering", [a])
    assert group["members"] == [
        {"value": a, "$ref": f"{scim.base_url}/Users/{a}", "type": "User", "display": f"member {a}"}
    ]
    gid = group["id"]
    renamed = scim.http.patch(
        f"/Groups/{gid}",
        json=patch_body({"op": "replace", "value": {"id": gid, "displayName": "R&D"}}),
    )
    assert renamed.json()["displayName"] == "R&D"
    scim.http.patch(
        f"/Groups/{gid}",
        json=patch_body({"op": "add", "path": "members", "value": [{"value": b}, {"value": c}]}),
    )
    assert member_ids(scim, gid) == sorted([a, b, c])
    scim.http.patch(
        f"/Groups/{gid}", json=patch_body({"op": "remove", "path": f'members[value eq "{b}"]'})
    )
    assert member_ids(scim, gid) == sorted([a, c])
    assert scim.http.get(f"/Users/{a}").json()["groups"][0]["value"] == gid
    emptied = scim.http.patch(
        f"/Groups/{gid}", json=patch_body({"op": "replace", "path": "members", "value": []})
    )
    assert emptied.status_code == 200
    assert member_ids(scim, gid) == []


def test_entras_group_shapes_are_understood(tenant: Tenant) -> None:
    """Entra: ``Remove`` naming members in ``value``, ``excludedAttributes=members`` lookups by
    ``displayName``."""
    scim = scim_connection(tenant)
    a, b = make_users(scim, "ea", "eb")
    gid = make_group(scim, "Sales", [a, b])["id"]
    removed = scim.http.patch(
        f"/Groups/{gid}",
        json=patch_body({"op": "Remove", "path": "members", "value": [{"value": a}]}),
    )
    assert removed.status_code == 200, removed.text
    assert member_ids(scim, gid) == [b]
    found = scim.http.get(
        "/Groups", params={"filter": 'displayName eq "sales"', "excludedAttributes": "members"}
    ).json()
    assert found["totalResults"] == 1
    assert "members" not in found["Resources"][0]
    by_member = scim.http.get("/Groups", params={"filter": f'members[value eq "{b}"]'}).json()
    assert [g["id"] for g in by_member["Resources"]] == [gid]


def test_a_member_of_another_connection_is_refused(tenant: Tenant) -> None:
    """Members are users of the group's connection; anything else is ``invalidValue``."""
    mine = scim_connection(tenant, "acme-okta")
    other = scim_connection(tenant, "globex-okta")
    (stranger,) = make_users(other, "stranger")
    refused = mine.http.post(
        "/Groups",
        json={"schemas": [GROUP_SCHEMA], "displayName": "X", "members": [{"value": stranger}]},
    )
    scim_error(refused, 400, "invalidValue")
    gid = make_group(mine, "Y", [])["id"]
    scim_error(
        mine.http.patch(
            f"/Groups/{gid}",
            json=patch_body({"op": "add", "path": "members", "value": [{"value": "nobody"}]}),
        ),
        400,
        "invalidValue",
    )
    scim_error(other.http.get(f"/Groups/{gid}"), 404)


def test_display_names_are_unique_in_a_connection(tenant: Tenant) -> None:
    scim = scim_connection(tenant)
    make_group(scim, "Ops", [])
    duplicate = scim.http.post("/Groups", json={"schemas": [GROUP_SCHEMA], "displayName": "OPS"})
    scim_error(duplicate, 409, "uniqueness")


def test_deleting_a_user_takes_them_out_of_their_groups(tenant: Tenant) -> None:
    scim = scim_connection(tenant)
    a, b = make_users(scim, "da", "db")
    gid = make_group(scim, "Both", [a, b])["id"]
    assert scim.http.delete(f"/Users/{a}").status_code == 204
    assert member_ids(scim, gid) == [b]
    assert scim.http.delete(f"/Groups/{gid}").status_code == 204
    scim_error(scim.http.get(f"/Groups/{gid}"), 404)


def test_put_replaces_the_members(tenant: Tenant) -> None:
    scim = scim_connection(tenant)
    a, b = make_users(scim, "pa", "pb")
    gid = make_group(scim, "Put", [a])["id"]
    replaced = scim.http.put(
        f"/Groups/{gid}",
        json={"schemas": [GROUP_SCHEMA], "displayName": "Put", "members": [{"value": b}]},
    )
    assert replaced.status_code == 200, replaced.text
    assert member_ids(scim, gid) == [b]
