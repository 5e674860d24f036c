"""``/api/v1/groups``: groups and their members."""

from __future__ import annotations

import pytest

from tests.conftest import BACKENDS
from tests.workforce.conftest import Workforce, causes, new_group, new_user, okta_error

pytestmark = pytest.mark.parametrize("workforce_database", BACKENDS, indirect=True)


def test_a_group_is_created_in_okta_shape_and_read_back(workforce: Workforce) -> None:
    """An OKTA_GROUP with Okta's properties, the same when read back."""
    api = workforce.api()
    created = api.post(
        "/groups", json={"profile": {"name": "Engineering", "description": "Builders"}}
    )
    assert created.status_code == 200, created.text
    group = created.json()
    assert group["id"].startswith("00g")
    assert group["type"] == "OKTA_GROUP"
    assert group["objectClass"] == ["okta:user_group"]
    assert group["profile"] == {"name": "Engineering", "description": "Builders"}
    assert {"created", "lastUpdated", "lastMembershipUpdated", "_links"} <= set(group)
    assert api.get(f"/groups/{group['id']}").json() == group


def test_a_group_name_is_required_and_unique_whatever_its_case(workforce: Workforce) -> None:
    """Group names are unique in an org whatever their case, and required."""
    api = workforce.api()
    new_group(api, "Engineering")
    again = api.post("/groups", json={"profile": {"name": "ENGINEERING"}})
    assert again.status_code == 400
    assert causes(again) == [
        "name: An object with this field already exists in the current organization"
    ]
    nameless = api.post("/groups", json={"profile": {"description": "no name"}})
    assert causes(nameless) == ["name: The field cannot be left blank"]
    long = api.post("/groups", json={"profile": {"name": "x" * 256}})
    assert long.status_code == 400
    assert "profile.name" in causes(long)[0]


def test_replacing_a_group_replaces_its_whole_profile(workforce: Workforce) -> None:
    """PUT of a fetched group: a description left out is removed."""
    api = workforce.api()
    group = api.post("/groups", json={"profile": {"name": "Eng", "description": "d"}}).json()
    group["profile"] = {"name": "Engineering"}
    replaced = api.put(f"/groups/{group['id']}", json=group)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["profile"] == {"name": "Engineering", "description": None}


def test_members_are_added_listed_and_removed_idempotently(workforce: Workforce) -> None:
    """Adding a member twice or removing them twice is harmless and logged once."""
    api = workforce.api()
    group = new_group(api)
    ada = new_user(api, "ada@example.com")
    alan = new_user(api, "alan@example.com")
    for user in (ada, alan, ada):
        assert api.put(f"/groups/{group['id']}/users/{user['id']}").status_code == 204
    members = api.get(f"/groups/{group['id']}/users").json()
    assert [m["profile"]["login"] for m in members] == ["ada@example.com", "alan@example.com"]
    assert [g["profile"]["name"] for g in api.get(f"/users/{ada['id']}/groups").json()] == [
        "Engineering"
    ]
    assert api.delete(f"/groups/{group['id']}/users/{ada['id']}").status_code == 204
    assert api.delete(f"/groups/{group['id']}/users/{ada['id']}").status_code == 204
    assert [m["id"] for m in api.get(f"/groups/{group['id']}/users").json()] == [alan["id"]]
    adds = api.get("/logs", params={"filter": 'eventType eq "group.user_membership.add"'})
    assert len(adds.json()) == 2


def test_a_member_must_be_a_user_of_the_org(workforce: Workforce) -> None:
    """An unknown user id is E0000007, not a dangling membership."""
    api = workforce.api()
    group = new_group(api)
    response = api.put(f"/groups/{group['id']}/users/00unosuchuser")
    assert response.status_code == 404
    okta_error(response, "E0000007")


def test_groups_are_searched_by_name_prefix_filter_and_search(workforce: Workforce) -> None:
    """``q`` on the name, ``search`` on the profile, ``filter`` on the type."""
    api = workforce.api()
    for name in ("Engineering", "Engagement", "Sales"):
        new_group(api, name)

    def names(**params: str) -> list[str]:
        response = api.get("/groups", params=params)
        assert response.status_code == 200, response.text
        return sorted(g["profile"]["name"] for g in response.json())

    assert names(q="eng") == ["Engagement", "Engineering"]
    assert names(search='profile.name eq "sales"') == ["Sales"]
    assert names(filter='type eq "OKTA_GROUP"') == ["Engagement", "Engineering", "Sales"]
    bad = api.get("/groups", params={"filter": "profile.name eq"})
    assert bad.status_code == 400
    okta_error(bad, "E0000031")


def test_a_deleted_group_is_gone_and_its_members_stay(workforce: Workforce) -> None:
    """Deleting a group ends memberships, not users."""
    api = workforce.api()
    group = new_group(api)
    user = new_user(api)
    api.put(f"/groups/{group['id']}/users/{user['id']}")
    assert api.delete(f"/groups/{group['id']}").status_code == 204
    assert api.get(f"/groups/{group['id']}").status_code == 404
    assert api.get(f"/users/{user['id']}/groups").json() == []
