"""SCIM provisioning between real servers (issue: "SCIM provisioning both ways"): after Express
Configure SSO and SCIM, *To App* on, the workforce keeps the vendor's organization in step with
its directory: 200 assigned people and two pushed groups appear, a change, a deactivation and a
reactivation follow, and a tenant that stops in the middle of a burst loses nothing.

The tenant is this module's own, since one test stops and starts it."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.servers import own_tenant
from tests.e2e.story import Story, prepare_tenant, prepare_workforce, tenant_api, workforce_api
from tests.interop.workforce_server import LiveWorkforce

PEOPLE = 200
PASSWORD = "Correct-Horse-42"


class Provisioned:
    """The scene after Express Configure SSO and SCIM and *To App* on."""

    def __init__(self, story: Story, http: httpx.Client, live_workforce: LiveWorkforce) -> None:
        self.story = story
        self.http = http
        self.workforce = workforce_api(live_workforce, http)
        self.domain = story.organization["metadata"]["domains"]
        links = story.api("GET", f"/organizations/{story.organization['id']}/enabled_connections")
        [okta] = [link for link in links if link["connection"]["strategy"] == "okta"]
        connection_id = okta["connection_id"]
        # The tenant's own view of its SCIM data, through a token the vendor mints for itself.
        token = story.api("POST", f"/connections/{connection_id}/scim-configuration/tokens", {})[
            "token"
        ]
        self.scim_base = f"{story.tenant.url}/scim/v2/connections/{connection_id}"
        self.scim_headers = {"Authorization": f"Bearer {token}"}

    def jobs(self) -> list[dict[str, Any]]:
        jobs: list[dict[str, Any]] = []
        after = ""
        while True:
            page = self.workforce(
                "GET", f"/apps/{self.story.app_id}/provisioning/jobs?limit=200{after}"
            )
            jobs += page
            if len(page) < 200:
                return jobs
            after = f"&after={page[-1]['id']}"

    def settle(self, timeout: float = 180) -> list[dict[str, Any]]:
        """Wait until no job is queued or running; answers every job."""
        deadline = time.monotonic() + timeout
        while True:
            jobs = self.jobs()
            if all(job["state"] in ("COMPLETED", "FAILED") for job in jobs):
                return jobs
            assert time.monotonic() < deadline, [j for j in jobs if j["state"] != "COMPLETED"][:3]
            time.sleep(0.25)

    def scim(self, path: str) -> dict[str, Any]:
        response = self.http.get(f"{self.scim_base}{path}", headers=self.scim_headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def scim_user(self, user_name: str) -> dict[str, Any]:
        found = self.scim(f'/Users?filter=userName eq "{user_name}"')
        assert found["totalResults"] == 1, found
        user: dict[str, Any] = found["Resources"][0]
        return user

    def scim_users(self) -> list[dict[str, Any]]:
        users: list[dict[str, Any]] = []
        index = 1
        while True:
            page = self.scim(f"/Users?startIndex={index}&count=100")
            users += page.get("Resources", [])
            index += page["itemsPerPage"]
            if not page.get("Resources") or index > page["totalResults"]:
                return users


def _wait_for(check: Callable[[], bool], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "the change never arrived"
        time.sleep(0.25)


@pytest.fixture(scope="module")
def scene(
    tmp_path_factory: pytest.TempPathFactory, live_workforce: LiveWorkforce
) -> Iterator[Provisioned]:
    with (
        own_tenant(tmp_path_factory.mktemp("provisioning-tenant")) as tenant,
        httpx.Client(timeout=30) as http,
    ):
        vendor = prepare_tenant(tenant.live, live_workforce, http, broken=False)
        app_id, _ = prepare_workforce(live_workforce, http, vendor)
        story = Story(tenant, live_workforce, vendor, app_id, tenant_api(tenant.live, http))
        assert story.click("sso").status_code == 200
        assert story.click("scim").status_code == 200
        yield Provisioned(story, http, live_workforce)


def test_two_hundred_people_and_two_groups_arrive_and_every_change_follows(
    scene: Provisioned,
) -> None:
    """Assign 200 people through two groups, push both groups, switch To App on: all 200 are
    users of the organization with their groups; then a profile change, a deactivation and a
    reactivation each arrive."""
    wf = scene.workforce
    suffix = secrets.token_hex(3)
    groups = [
        wf("POST", "/groups", {"profile": {"name": f"{name} {suffix}"}})
        for name in ("Engineering", "Sales")
    ]
    people = []
    for index in range(PEOPLE):
        email = f"person{index}-{suffix}@{scene.domain}"
        person = wf(
            "POST",
            "/users?activate=true",
            {
                "profile": {
                    "login": email,
                    "email": email,
                    "firstName": f"Person{index}",
                    "lastName": "Original",
                },
                "credentials": {"password": {"value": PASSWORD}},
            },
        )
        wf("PUT", f"/groups/{groups[index % 2]['id']}/users/{person['id']}")
        people.append(person)
    app_id = scene.story.app_id
    for group in groups:
        wf("PUT", f"/apps/{app_id}/groups/{group['id']}", {})
        wf(
            "POST",
            f"/apps/{app_id}/group-push/mappings",
            {"sourceGroupId": group["id"], "status": "ACTIVE"},
        )
    enabled = {"status": "ENABLED"}
    wf(
        "PUT",
        f"/apps/{app_id}/features/USER_PROVISIONING",
        {
            "create": {"lifecycleCreate": enabled},
            "update": {"profile": enabled, "lifecycleDeactivate": enabled},
        },
    )
    jobs = scene.settle()
    assert [job for job in jobs if job["state"] == "FAILED"] == []

    users = {user["userName"].lower(): user for user in scene.scim_users()}
    for person in people:
        assert person["profile"]["login"].lower() in users
    members = scene.story.api(
        "GET", f"/organizations/{scene.story.organization['id']}/members?per_page=100&page=0"
    )
    assert len(members) == 100, "the organization pages its members"
    for group, expected in zip(groups, (people[0::2], people[1::2]), strict=True):
        pushed = scene.scim(f'/Groups?filter=displayName eq "{group["profile"]["name"]}"')
        assert pushed["totalResults"] == 1
        member_ids = {m["value"] for m in pushed["Resources"][0].get("members", [])}
        expected_ids = {users[p["profile"]["login"].lower()]["id"] for p in expected}
        assert member_ids == expected_ids

    changed, deactivated, reactivated = people[0], people[1], people[2]
    wf(
        "POST",
        f"/users/{changed['id']}",
        {"profile": {"lastName": "Changed"}},
    )
    wf("POST", f"/users/{deactivated['id']}/lifecycle/deactivate")
    wf("POST", f"/users/{reactivated['id']}/lifecycle/suspend")
    wf("POST", f"/users/{reactivated['id']}/lifecycle/unsuspend")
    scene.settle()
    login = changed["profile"]["login"]
    _wait_for(lambda: scene.scim_user(login)["name"]["familyName"] == "Changed")
    assert scene.scim_user(deactivated["profile"]["login"])["active"] is False
    assert scene.scim_user(reactivated["profile"]["login"])["active"] is True


def test_a_tenant_that_stops_in_the_middle_of_a_burst_loses_no_change(
    scene: Provisioned,
) -> None:
    """Fifty people join while the tenant goes down and comes back: every one arrives, once
    (one SCIM user per userName), and no job is left failed."""
    wf = scene.workforce
    suffix = secrets.token_hex(3)
    app_id = scene.story.app_id
    logins = []
    for index in range(50):
        email = f"burst{index}-{suffix}@{scene.domain}"
        person = wf(
            "POST",
            "/users?activate=true",
            {
                "profile": {
                    "login": email,
                    "email": email,
                    "firstName": f"Burst{index}",
                    "lastName": "Person",
                },
                "credentials": {"password": {"value": PASSWORD}},
            },
        )
        wf("POST", f"/apps/{app_id}/users", {"id": person["id"], "scope": "USER"})
        logins.append(email)
        if index == 10:
            scene.story.tenant.stop()
    time.sleep(1)
    scene.story.tenant.start()
    jobs = scene.settle(timeout=300)
    assert [job for job in jobs if job["state"] == "FAILED"] == []
    retried = [job for job in jobs if job["attempts"] > 1]
    assert retried, "some jobs met the tenant down and were retried"
    for login in logins:
        assert scene.scim_user(login)["active"] is True
