"""Group Push (Okta's group-push mappings): POST /Groups or adopt by displayName, members by
their SCIM ids through PATCH (RFC 7644 §3.5.2), and imports read page by page (§3.4.2.4)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import BACKENDS
from tests.workforce.conftest import new_group, new_user, okta_error
from tests.workforce.provisioning.conftest import GROUP_SCHEMA, USER_SCHEMA, Provisioned

pytestmark = pytest.mark.parametrize("workforce_database", BACKENDS, indirect=True)


def _member_of_assigned_group(p: Provisioned) -> tuple[dict[str, Any], dict[str, Any]]:
    p.switches()
    group = new_group(p.api, "Engineering")
    user = new_user(p.api, "ada@example.com")
    assert p.api.put(f"/groups/{group['id']}/users/{user['id']}").status_code == 204
    assert p.api.put(f"/apps/{p.app_id}/groups/{group['id']}").status_code == 200
    return group, user


def test_a_pushed_group_is_created_with_its_provisioned_members(provisioned: Provisioned) -> None:
    """A new ACTIVE mapping: GET by displayName, POST /Groups, then PATCH add members."""
    group, _user = _member_of_assigned_group(provisioned)
    provisioned.run()
    created = provisioned.api.post(
        f"/apps/{provisioned.app_id}/group-push/mappings", json={"sourceGroupId": group["id"]}
    )
    assert created.status_code == 200, created.text
    mapping = created.json()
    assert mapping["status"] == "ACTIVE"
    assert mapping["targetGroupId"] is None
    provisioned.run()
    fake = provisioned.fake
    [(scim_user, _)] = [(k, v) for k, v in fake.users.items()]
    [(scim_group, pushed)] = list(fake.groups.items())
    assert pushed["displayName"] == "Engineering"
    assert pushed["members"] == [{"value": scim_user, "display": "Ada Lovelace"}]
    post = next(
        s for s in fake.requests if (s.method, s.path.endswith("/Groups")) == ("POST", True)
    )
    assert post.body["schemas"] == [GROUP_SCHEMA]
    mapping = provisioned.api.get(
        f"/apps/{provisioned.app_id}/group-push/mappings/{mapping['id']}"
    ).json()
    assert mapping["targetGroupId"] == scim_group
    assert mapping["lastPush"] is not None


def test_membership_changes_and_renames_follow_the_pushed_group(provisioned: Provisioned) -> None:
    """Member add and remove by PATCH (members[value eq "…"]); a rename PATCHes displayName; a
    member not yet in the app waits for their own push."""
    group, _ = _member_of_assigned_group(provisioned)
    provisioned.api.post(
        f"/apps/{provisioned.app_id}/group-push/mappings", json={"sourceGroupId": group["id"]}
    )
    provisioned.run()
    [scim_group] = provisioned.fake.groups
    grace = new_user(provisioned.api, "grace@example.com", firstName="Grace", lastName="Hopper")
    assert provisioned.api.put(f"/groups/{group['id']}/users/{grace['id']}").status_code == 204
    provisioned.run()
    members = provisioned.fake.groups[scim_group]["members"]
    assert [m["display"] for m in members] == ["Ada Lovelace", "Grace Hopper"]
    grace_scim = members[1]["value"]

    assert provisioned.api.delete(f"/groups/{group['id']}/users/{grace['id']}").status_code == 204
    provisioned.run()
    remove = [s for s in provisioned.fake.requests if s.method == "PATCH" and "/Groups/" in s.path]
    assert remove[-1].body["Operations"] == [
        {"op": "remove", "path": f'members[value eq "{grace_scim}"]'}
    ]
    assert [m["display"] for m in provisioned.fake.groups[scim_group]["members"]] == [
        "Ada Lovelace"
    ]
    renamed = provisioned.api.put(f"/groups/{group['id']}", json={"profile": {"name": "Platform"}})
    assert renamed.status_code == 200
    provisioned.run()
    assert provisioned.fake.groups[scim_group]["displayName"] == "Platform"


def test_an_existing_group_of_the_same_name_is_adopted(provisioned: Provisioned) -> None:
    """Okta links to the app's group of the same displayName rather than making a second."""
    provisioned.fake.groups["g-old"] = {
        "schemas": [GROUP_SCHEMA],
        "id": "g-old",
        "displayName": "Engineering",
        "members": [],
    }
    group, _ = _member_of_assigned_group(provisioned)
    provisioned.api.post(
        f"/apps/{provisioned.app_id}/group-push/mappings", json={"sourceGroupId": group["id"]}
    )
    provisioned.run()
    assert list(provisioned.fake.groups) == ["g-old"]
    assert len(provisioned.fake.groups["g-old"]["members"]) == 1


def test_a_mapping_is_deleted_only_when_inactive_and_may_delete_the_apps_group(
    provisioned: Provisioned,
) -> None:
    """Okta refuses to delete an ACTIVE mapping; deleteTargetGroup=true DELETEs the group."""
    group, _ = _member_of_assigned_group(provisioned)
    mapping = provisioned.api.post(
        f"/apps/{provisioned.app_id}/group-push/mappings", json={"sourceGroupId": group["id"]}
    ).json()
    provisioned.run()
    url = f"/apps/{provisioned.app_id}/group-push/mappings/{mapping['id']}"
    okta_error(provisioned.api.delete(url), "E0000001")
    assert provisioned.api.patch(url, json={"status": "INACTIVE"}).json()["status"] == "INACTIVE"
    assert provisioned.api.delete(url, params={"deleteTargetGroup": "true"}).status_code == 204
    provisioned.run()
    assert provisioned.fake.groups == {}
    assert provisioned.fake.calls()[-1][0] == "DELETE"
    assert provisioned.api.get(url).status_code == 404
    duplicate = provisioned.api.post(
        f"/apps/{provisioned.app_id}/group-push/mappings", json={"sourceGroupId": "00gnope"}
    )
    okta_error(duplicate, "E0000001")


def test_an_import_reads_every_page_and_matches_org_users(provisioned: Provisioned) -> None:
    """startIndex/count paging; matched by externalId, else by userName, else unmatched."""
    ada = new_user(provisioned.api, "ada@example.com")
    grace = new_user(provisioned.api, "grace@example.com")
    for index in range(1, 206):
        provisioned.fake.users[f"u{index}"] = {
            "schemas": [USER_SCHEMA],
            "id": f"u{index}",
            "userName": f"someone{index}@example.com",
            "active": True,
        }
    provisioned.fake.users["u1"]["externalId"] = ada["id"]
    provisioned.fake.users["u2"]["userName"] = "GRACE@example.com"
    started = provisioned.api.post(f"/apps/{provisioned.app_id}/imports")
    assert started.status_code == 202, started.text
    assert started.json()["status"] == "QUEUED"
    provisioned.run()
    pages = [s.query for s in provisioned.fake.requests]
    assert pages == [
        {"startIndex": "1", "count": "100"},
        {"startIndex": "101", "count": "100"},
        {"startIndex": "201", "count": "100"},
    ]
    result = provisioned.api.get(
        f"/apps/{provisioned.app_id}/imports/{started.json()['id']}"
    ).json()
    assert (result["status"], result["total"], result["matched"], result["unmatched"]) == (
        "COMPLETED",
        205,
        2,
        203,
    )
    users = provisioned.api.get(
        f"/apps/{provisioned.app_id}/imports/{result['id']}/users", params={"limit": 3}
    ).json()
    assert [(u["id"], u["match"], u["userId"]) for u in users] == [
        ("u1", "EXTERNAL_ID", ada["id"]),
        ("u2", "USER_NAME", grace["id"]),
        ("u3", "NONE", None),
    ]
    assert len(provisioned.api.get(f"/apps/{provisioned.app_id}/imports").json()) == 1
