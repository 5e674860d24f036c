"""Every answer that carries a resource is the resource the models render from its rows: the
server renders stored payloads without validating them again, and must not answer otherwise."""

from __future__ import annotations

import json
from typing import Any

import pytest
from httpx import Response
from scim2_models import Context

from expressway.scim.resources import render
from expressway.storage.engine import unit_of_work
from expressway.tenant.rows import ScimUserRow
from expressway.tenant.scim import endpoints
from expressway.tenant.services.scim_groups import GROUPS
from expressway.tenant.services.scim_resources import ScimKind
from expressway.tenant.services.scim_users import USERS, NewScimUser
from tests.conftest import Tenant
from tests.tenant.scim.helpers import (
    ENTERPRISE_SCHEMA,
    GROUP_SCHEMA,
    PATCH_SCHEMA,
    USER_SCHEMA,
    ScimConnection,
    okta_user,
    scim_connection,
)


def validated(
    tenant: Tenant, scim: ScimConnection, kind: ScimKind[Any, Any], scim_id: str, context: Context
) -> str:
    """The resource as the models render it from its row, validated again."""
    with unit_of_work(tenant.runtime.read_only_sessions) as session:
        row = kind.find(session, scim.id, scim_id)
        related = kind.load_related(session, [scim_id])[scim_id]
        return json.dumps(render(kind.to_resource(row, scim.base_url, related), context))


def same(response: Response, expected: str) -> None:
    assert response.status_code in (200, 201), response.text
    assert json.dumps(response.json()) == expected


def test_every_answer_is_the_validated_rendering(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Creates, reads, lists, searches, replaces and patches of users and groups, with the
    enterprise extension, groups and members, answer key for key as the models render."""
    scim = scim_connection(tenant)
    validations: list[Any] = []
    monkeypatch.setattr(
        endpoints, "render", lambda *args: validations.append(args) or render(*args)
    )
    ada = scim.http.post(
        "/Users",
        json={
            **okta_user("ada@example.com", "00u1", title="Engineer", nickName="ada"),
            "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
            "phoneNumbers": [{"value": "+1 555 0100", "type": "work"}],
            "addresses": [{"streetAddress": "1 Main St", "locality": "Paris", "country": "FR"}],
            "roles": [{"value": "admin"}],
            "favouriteColour": "green",
            ENTERPRISE_SCHEMA: {"employeeNumber": "7", "department": "R&D", "manager": "00u9"},
        },
    )
    ada_id = ada.json()["id"]
    same(ada, validated(tenant, scim, USERS, ada_id, Context.RESOURCE_CREATION_RESPONSE))
    bob = scim.http.post("/Users", json=okta_user("bob@example.com", "00u2"))
    bob_id = bob.json()["id"]
    same(bob, validated(tenant, scim, USERS, bob_id, Context.RESOURCE_CREATION_RESPONSE))

    group = scim.http.post(
        "/Groups",
        json={
            "schemas": [GROUP_SCHEMA],
            "displayName": "Engineering",
            "externalId": "00g1",
            "members": [{"value": ada_id, "display": "Ada"}, {"value": bob_id}],
        },
    )
    group_id = group.json()["id"]
    same(group, validated(tenant, scim, GROUPS, group_id, Context.RESOURCE_CREATION_RESPONSE))

    replaced = scim.http.put(
        f"/Users/{bob_id}", json=okta_user("bob@example.com", "00u2", displayName="Bob")
    )
    same(replaced, validated(tenant, scim, USERS, bob_id, Context.RESOURCE_REPLACEMENT_RESPONSE))
    patched = scim.http.patch(
        f"/Users/{ada_id}",
        json={
            "schemas": [PATCH_SCHEMA],
            "Operations": [{"op": "replace", "value": {"displayName": "Ada L."}}],
        },
    )
    same(patched, validated(tenant, scim, USERS, ada_id, Context.RESOURCE_PATCH_RESPONSE))
    renamed = scim.http.patch(
        f"/Groups/{group_id}",
        json={
            "schemas": [PATCH_SCHEMA],
            "Operations": [{"op": "replace", "path": "displayName", "value": "R&D"}],
        },
    )
    same(renamed, validated(tenant, scim, GROUPS, group_id, Context.RESOURCE_PATCH_RESPONSE))

    for kind, plural, scim_id in (
        (USERS, "Users", ada_id),
        (USERS, "Users", bob_id),
        (GROUPS, "Groups", group_id),
    ):
        expected = validated(tenant, scim, kind, scim_id, Context.RESOURCE_QUERY_RESPONSE)
        same(scim.http.get(f"/{plural}/{scim_id}"), expected)
        listed = scim.http.get(f"/{plural}", params={"filter": f'id eq "{scim_id}"'})
        assert listed.status_code == 200, listed.text
        searched = scim.http.post(f"/{plural}/.search", json={"filter": f'id eq "{scim_id}"'})
        assert searched.status_code == 200, searched.text
        in_list = validated(tenant, scim, kind, scim_id, Context.SEARCH_RESPONSE)
        assert [json.dumps(r) for r in listed.json()["Resources"]] == [in_list]
        assert [json.dumps(r) for r in searched.json()["Resources"]] == [in_list]
    # Not one of those answers went through the models: each was rendered from its row.
    assert validations == []


def test_what_a_create_wrote_has_every_column_of_the_scim_users_row() -> None:
    """A create inserts, and answers from, its :class:`NewScimUser`'s values: a column the row
    gains must be one of them, or the insert would leave it out."""
    columns = [column.key for column in ScimUserRow.__mapper__.column_attrs]
    assert sorted(NewScimUser._fields) == sorted(columns)
