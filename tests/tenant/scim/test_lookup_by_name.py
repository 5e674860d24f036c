"""A lookup by name (``userName eq "…"``, ``displayName eq "…"``) reads the one row holding the
name's comparison form (:meth:`ScimKind.search_by_name`) instead of compiling the filter: its
answers are those of the compiled filter, whatever the case, the paging and the attributes."""

from __future__ import annotations

from typing import Any

import pytest

from expressway.scim import filters
from expressway.tenant.services.scim_resources import ScimKind
from tests.conftest import BACKENDS, Tenant
from tests.tenant.scim.helpers import GROUP_SCHEMA, okta_user, scim_connection

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)

QUERIES = [
    {"filter": 'userName eq "ADA@example.com"'},
    {"filter": 'USERNAME EQ "ada@EXAMPLE.com"', "attributes": "userName,groups"},
    {"filter": 'userName eq "Ωmega@example.com"', "excludedAttributes": "groups"},
    {"filter": 'userName eq "nobody@example.com"'},
    {"filter": 'userName eq "ada@example.com"', "startIndex": "2"},
    {"filter": 'userName eq "ada@example.com"', "count": "0"},
]


def test_a_lookup_by_name_answers_as_the_compiled_filter(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    scim = scim_connection(tenant)
    for name in ("ada@example.com", "ωmega@example.com", "bob@example.com"):
        assert scim.http.post("/Users", json=okta_user(name)).status_code == 201
    group = {"schemas": [GROUP_SCHEMA], "displayName": "Engineers"}
    made = scim.http.post("/Groups", json=group).json()
    ada = scim.http.get("/Users", params={"filter": 'userName eq "ada@example.com"'}).json()
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [
            {"op": "add", "path": "members", "value": [{"value": ada["Resources"][0]["id"]}]}
        ],
    }
    assert scim.http.patch(f"/Groups/{made['id']}", json=patch).status_code == 200
    queries: list[tuple[str, dict[str, str]]] = [("/Users", query) for query in QUERIES]
    queries.append(("/Groups", {"filter": 'displayName eq "ENGINEERS"'}))

    def answers() -> list[Any]:
        return [scim.http.get(path, params=query).json() for path, query in queries]

    by_name: list[str] = []
    real = ScimKind.search_by_name

    def counted(kind: Any, session: Any, connection_id: str, name: str, page: Any) -> Any:
        by_name.append(name)
        return real(kind, session, connection_id, name, page)

    monkeypatch.setattr(ScimKind, "search_by_name", counted)
    shortcut = answers()
    assert len(by_name) == len(queries), "every lookup by name takes the shortcut"
    monkeypatch.setattr(filters, "name_equality", lambda _text, _attribute: None)
    compiled = answers()

    assert shortcut == compiled
    totals = [answer["totalResults"] for answer in shortcut]
    assert totals == [1, 1, 1, 0, 1, 1, 1]
    assert [len(answer["Resources"]) for answer in shortcut] == [1, 1, 1, 0, 0, 0, 1]
    assert shortcut[0]["Resources"][0]["groups"][0]["display"] == "Engineers"
    assert shortcut[2]["Resources"][0]["userName"] == "ωmega@example.com"
