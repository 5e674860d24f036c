"""SPEC §3 Provisioning engine: assignments, profile changes and lifecycle become SCIM calls in
Okta's order and shapes (RFC 7644 §3.3, §3.4.2, §3.5.1, §3.5.2)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from expressway.workforce.rows import ProvisioningJobRow
from tests.conftest import BACKENDS
from tests.workforce.conftest import new_group, new_user, okta_error
from tests.workforce.provisioning.conftest import (
    PATCH_SCHEMA,
    SCIM_TOKEN,
    USER_SCHEMA,
    Provisioned,
)

pytestmark = pytest.mark.parametrize("workforce_database", BACKENDS, indirect=True)


def _assign(p: Provisioned, user_id: str) -> None:
    response = p.api.post(f"/apps/{p.app_id}/users", json={"id": user_id})
    assert response.status_code == 200, response.text


def test_the_to_app_switches_are_refused_while_the_app_has_no_scim(
    provisioned: Provisioned,
) -> None:
    """USER_PROVISIONING needs Express Configure SCIM first; the refusal is Okta-shaped."""
    from tests.workforce.conftest import new_app

    other = new_app(provisioned.api, "No SCIM")
    response = provisioned.api.put(
        f"/apps/{other['id']}/features/USER_PROVISIONING",
        json={"create": {"lifecycleCreate": {"status": "ENABLED"}}},
    )
    assert response.status_code == 400
    assert (
        "Express Configure SCIM"
        in okta_error(response, "E0000001")["errorCauses"][0]["errorSummary"]
    )
    assert provisioned.api.get(f"/apps/{other['id']}/features").status_code == 400
    assert provisioned.api.get(f"/apps/{provisioned.app_id}/features/NOPE").status_code == 404


def test_the_feature_answers_in_oktas_shape_and_updates_partially(
    provisioned: Provisioned,
) -> None:
    """Okta's Application Features API: capabilities.create/update, each ENABLED or DISABLED."""
    feature = provisioned.api.get(f"/apps/{provisioned.app_id}/features/USER_PROVISIONING").json()
    assert feature["name"] == "USER_PROVISIONING"
    assert feature["capabilities"]["create"]["lifecycleCreate"] == {"status": "DISABLED"}
    provisioned.switches(create=True, profile=False, deactivate=True)
    partial = provisioned.api.put(
        f"/apps/{provisioned.app_id}/features/USER_PROVISIONING",
        json={"update": {"profile": {"status": "ENABLED"}}},
    ).json()
    capabilities = partial["capabilities"]
    assert capabilities["create"]["lifecycleCreate"]["status"] == "ENABLED"
    assert capabilities["update"]["profile"]["status"] == "ENABLED"
    assert capabilities["update"]["lifecycleDeactivate"]["status"] == "ENABLED"
    listed = provisioned.api.get(f"/apps/{provisioned.app_id}/features").json()
    assert [f["name"] for f in listed] == ["USER_PROVISIONING"]
    bad = provisioned.api.put(
        f"/apps/{provisioned.app_id}/features/USER_PROVISIONING",
        json={"create": {"lifecycleCreate": {"status": "MAYBE"}}},
    )
    assert bad.status_code == 400


def test_an_assignment_looks_the_user_up_then_posts_them_in_oktas_shape(
    provisioned: Provisioned,
) -> None:
    """Okta's order: GET /Users?filter=userName eq "…", then POST /Users when absent."""
    provisioned.switches()
    user = new_user(provisioned.api, "ada@example.com", firstName="Ada", lastName="Lovelace")
    _assign(provisioned, user["id"])
    assert provisioned.run() == 1
    fake = provisioned.fake
    assert fake.calls() == [("GET", "/Users"), ("POST", "/Users")]
    lookup, create = fake.requests
    assert lookup.query == {
        "filter": 'userName eq "ada@example.com"',
        "startIndex": "1",
        "count": "100",
    }
    assert create.headers["authorization"] == f"Bearer {SCIM_TOKEN}"
    assert create.headers["content-type"] == "application/scim+json"
    assert create.body == {
        "schemas": [USER_SCHEMA],
        "userName": "ada@example.com",
        "name": {"givenName": "Ada", "familyName": "Lovelace"},
        "emails": [{"primary": True, "value": "ada@example.com", "type": "work"}],
        "displayName": "Ada Lovelace",
        "externalId": user["id"],
        "active": True,
    }
    [job] = provisioned.jobs()
    assert job["state"] == "COMPLETED"
    assert job["kind"] == "user.push"
    assert job["result"]["operation"] == "created"


def test_a_user_the_app_already_has_is_adopted_with_a_full_put(provisioned: Provisioned) -> None:
    """An existing userName is not created twice: its resource is replaced, active."""
    provisioned.fake.users["old-1"] = {
        "schemas": [USER_SCHEMA],
        "id": "old-1",
        "userName": "ADA@example.com",
        "active": False,
    }
    provisioned.switches()
    user = new_user(provisioned.api, "ada@example.com")
    _assign(provisioned, user["id"])
    provisioned.run()
    assert provisioned.fake.calls() == [("GET", "/Users"), ("PUT", "/Users/old-1")]
    assert provisioned.fake.users["old-1"]["active"] is True
    assert provisioned.fake.users["old-1"]["externalId"] == user["id"]


def test_profile_changes_unassignment_and_reassignment_follow_oktas_shapes(
    provisioned: Provisioned,
) -> None:
    """Profile change: full PUT; unassign: PATCH active false; re-assign: PATCH active true."""
    provisioned.switches()
    user = new_user(provisioned.api, "ada@example.com")
    _assign(provisioned, user["id"])
    provisioned.run()
    [scim_id] = provisioned.fake.users
    updated = provisioned.api.post(f"/users/{user['id']}", json={"profile": {"lastName": "King"}})
    assert updated.status_code == 200
    provisioned.run()
    assert provisioned.fake.users[scim_id]["name"]["familyName"] == "King"
    assert provisioned.fake.calls()[-1] == ("PUT", f"/Users/{scim_id}")

    assert (
        provisioned.api.delete(f"/apps/{provisioned.app_id}/users/{user['id']}").status_code == 204
    )
    provisioned.run()
    patch = provisioned.fake.requests[-1]
    assert (patch.method, patch.body) == (
        "PATCH",
        {"schemas": [PATCH_SCHEMA], "Operations": [{"op": "replace", "value": {"active": False}}]},
    )
    assert provisioned.fake.users[scim_id]["active"] is False

    _assign(provisioned, user["id"])
    provisioned.run()
    assert provisioned.fake.requests[-1].body["Operations"] == [
        {"op": "replace", "value": {"active": True}}
    ]
    assert provisioned.fake.users[scim_id]["active"] is True
    assert not provisioned.fake.calls("DELETE")
    assert [(m, p) for m, p in provisioned.fake.calls() if m == "POST"] == [("POST", "/Users")]


def test_deactivation_suspension_and_their_reversal_set_active(provisioned: Provisioned) -> None:
    """Okta's lifecycle: deactivate/suspend → active false; activate/unsuspend → active true."""
    provisioned.switches()
    api = provisioned.api
    created = api.post(
        "/users",
        json={
            "profile": {
                "login": "ada@example.com",
                "email": "ada@example.com",
                "firstName": "Ada",
                "lastName": "Lovelace",
            },
            "credentials": {"password": {"value": "correct horse battery"}},
        },
    )
    assert created.status_code == 200, created.text
    user = created.json()
    _assign(provisioned, user["id"])
    provisioned.run()
    [scim_id] = provisioned.fake.users
    for action, active in (
        ("suspend", False),
        ("unsuspend", True),
        ("deactivate", False),
        ("activate", True),
    ):
        response = api.post(f"/users/{user['id']}/lifecycle/{action}")
        assert response.status_code == 200, response.text
        provisioned.run()
        assert provisioned.fake.users[scim_id]["active"] is active, action
    assert not provisioned.fake.calls("DELETE")


def test_a_group_assignment_provisions_its_members(provisioned: Provisioned) -> None:
    """Assigned through a group (Okta's scope GROUP): the same push as a direct assignment."""
    provisioned.switches()
    group = new_group(provisioned.api)
    user = new_user(provisioned.api, "ada@example.com")
    assert provisioned.api.put(f"/groups/{group['id']}/users/{user['id']}").status_code == 204
    assert (
        provisioned.api.put(f"/apps/{provisioned.app_id}/groups/{group['id']}").status_code == 200
    )
    provisioned.run()
    assert [u["userName"] for u in provisioned.fake.users.values()] == ["ada@example.com"]
    assert provisioned.api.delete(f"/groups/{group['id']}/users/{user['id']}").status_code == 204
    provisioned.run()
    assert next(iter(provisioned.fake.users.values()))["active"] is False


def test_switches_that_are_off_queue_nothing(provisioned: Provisioned) -> None:
    """With Create Users off, an assignment calls no one and leaves no job."""
    provisioned.switches(create=False, profile=False, deactivate=False)
    user = new_user(provisioned.api, "ada@example.com")
    _assign(provisioned, user["id"])
    assert provisioned.run() == 0
    assert provisioned.jobs() == []
    assert provisioned.fake.requests == []


def test_turning_create_users_on_pushes_the_users_already_assigned(
    provisioned: Provisioned,
) -> None:
    """Users assigned before the switch are created once it is turned on."""
    user = new_user(provisioned.api, "ada@example.com")
    _assign(provisioned, user["id"])
    provisioned.switches()
    provisioned.run()
    assert [u["externalId"] for u in provisioned.fake.users.values()] == [user["id"]]


def test_a_change_that_fails_leaves_no_job(provisioned: Provisioned) -> None:
    """Outbox: a rolled-back change leaves no job behind."""
    provisioned.switches()
    user = new_user(provisioned.api, "ada@example.com")
    _assign(provisioned, user["id"])
    new_user(provisioned.api, "taken@example.com")
    refused = provisioned.api.post(
        f"/users/{user['id']}", json={"profile": {"login": "taken@example.com"}}
    )
    assert refused.status_code == 400
    with provisioned.workforce.runtime.sessions() as session:
        kinds = session.scalars(sa.select(ProvisioningJobRow.kind)).all()
    assert kinds == ["user.push"]
