"""SIGKILL in the middle of a SCIM burst (issue 10, Faults): the workforce's durable
provisioning jobs carry every assignment and profile change to the tenant's SCIM server while
the tenant is killed with SIGKILL three times (once left down while the workforce is killed and
restarted too). Afterwards every change has arrived exactly once: one SCIM user per userName,
each with the attributes of its last change, the pushed group with exactly its members, and no
job FAILED.

Both servers are this module's own, since both are killed."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.story import (
    Person,
    express_configure,
    prepare_tenant,
    prepare_workforce,
    tenant_api,
    workforce_api,
)
from tests.faults.processes import Tenant, Workforce, running

pytestmark = pytest.mark.faults

PEOPLE = 20
PASSWORD = "Correct-Horse-42"
ENABLED = {"status": "ENABLED"}


@dataclass
class Scene:
    tenant: Tenant
    workforce: Workforce
    http: httpx.Client
    vendor: dict[str, Any]
    app_id: str
    scim_base: str
    scim_headers: dict[str, str]

    def wf(self, method: str, path: str, body: object = None) -> Any:
        return workforce_api(self.workforce.live, self.http)(method, path, body)

    def scim(self, path: str) -> dict[str, Any]:
        response = self.http.get(f"{self.scim_base}{path}", headers=self.scim_headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def jobs(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        after = ""
        while True:
            page = self.wf("GET", f"/apps/{self.app_id}/provisioning/jobs?limit=200{after}")
            found += page
            if len(page) < 200:
                return found
            after = f"&after={page[-1]['id']}"

    def settle(self, timeout: float) -> list[dict[str, Any]]:
        """Wait until no job is queued or in progress; answer every job."""
        deadline = time.monotonic() + timeout
        while True:
            jobs = self.jobs()
            if all(job["state"] in ("COMPLETED", "FAILED") for job in jobs):
                return jobs
            pending = [j for j in jobs if j["state"] not in ("COMPLETED", "FAILED")]
            assert time.monotonic() < deadline, pending[:3]
            time.sleep(0.5)


def _click(workforce: Workforce, app_id: str, vendor: dict[str, Any], action: str) -> None:
    with httpx.Client(timeout=30, follow_redirects=False) as browser:
        admin = Person(browser, vendor["email"], vendor["organization"]["name"])
        outcome = express_configure(workforce.live, app_id, admin, action)
    assert outcome.status_code == 200, outcome.text


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Scene]:
    tenant = Tenant(tmp_path_factory.mktemp("sigkill-scim-tenant"))
    workforce = Workforce(tmp_path_factory.mktemp("sigkill-scim-workforce"))
    with running(tenant), running(workforce), httpx.Client(timeout=30) as http:
        vendor = prepare_tenant(tenant.live, workforce.live, http, broken=False)
        app_id, _ = prepare_workforce(workforce.live, http, vendor)
        _click(workforce, app_id, vendor, "sso")
        _click(workforce, app_id, vendor, "scim")
        api = tenant_api(tenant.live, http)
        organization = vendor["organization"]["id"]
        [okta] = [
            link
            for link in api("GET", f"/organizations/{organization}/enabled_connections")
            if link["connection"]["strategy"] == "okta"
        ]
        connection_id = okta["connection_id"]
        token = api("POST", f"/connections/{connection_id}/scim-configuration/tokens", {})["token"]
        yield Scene(
            tenant,
            workforce,
            http,
            vendor,
            app_id,
            f"{tenant.url}/scim/v2/connections/{connection_id}",
            {"Authorization": f"Bearer {token}"},
        )


def _log_tail(path: Path) -> str:
    return path.read_text()[-3000:] if path.exists() else ""


def test_every_change_arrives_exactly_once_through_sigkills_of_the_tenant_and_the_workforce(
    scene: Scene,
) -> None:
    """20 people assigned (half through a pushed group) and each renamed twice, while the tenant
    is SIGKILLed three times and the workforce once: one SCIM user per person with the last
    name of the last change, the group's members exact, every job COMPLETED."""
    suffix = secrets.token_hex(3)
    domain = scene.vendor["organization"]["metadata"]["domains"]
    app = f"/apps/{scene.app_id}"
    group = scene.wf("POST", "/groups", {"profile": {"name": f"Engineering {suffix}"}})
    scene.wf("PUT", f"{app}/groups/{group['id']}", {})
    scene.wf(
        "POST", f"{app}/group-push/mappings", {"sourceGroupId": group["id"], "status": "ACTIVE"}
    )
    scene.wf(
        "PUT",
        f"{app}/features/USER_PROVISIONING",
        {
            "create": {"lifecycleCreate": ENABLED},
            "update": {"profile": ENABLED, "lifecycleDeactivate": ENABLED},
        },
    )

    started = time.monotonic()
    people = []
    for index in range(PEOPLE):
        email = f"burst{index}-{suffix}@{domain}"
        person = scene.wf(
            "POST",
            "/users?activate=true",
            {
                "profile": {
                    "login": email,
                    "email": email,
                    "firstName": f"Burst{index}",
                    "lastName": "Original",
                },
                "credentials": {"password": {"value": PASSWORD}},
            },
        )
        if index % 2 == 0:
            scene.wf("PUT", f"/groups/{group['id']}/users/{person['id']}")
        else:
            scene.wf("POST", f"{app}/users", {"id": person["id"], "scope": "USER"})
        people.append(person)
        if index == 5:
            # Killed with deliveries under way, and back at once.
            scene.tenant.kill()
            scene.tenant.start()
        if index == 12:
            # The tenant dies and stays down; the workforce dies too, whatever its worker is
            # doing (a job it held runs again when its lease, jobs.LEASE, runs out), and comes
            # back; then the tenant comes back.
            scene.tenant.kill()
            scene.workforce.kill()
            scene.workforce.start()
            scene.tenant.start()

    for round_name in ("First", "Final"):
        for index, person in enumerate(people):
            scene.wf(
                "POST", f"/users/{person['id']}", {"profile": {"lastName": f"{round_name}{index}"}}
            )
            if round_name == "First" and index == PEOPLE // 2:
                scene.tenant.kill()
                scene.tenant.start()

    sent = time.monotonic()
    jobs = scene.settle(timeout=300)
    print(
        f"{len(jobs)} jobs: changes sent in {sent - started:.1f} s (three tenant restarts, one"
        f" workforce restart), all settled {time.monotonic() - sent:.1f} s later"
    )
    failed = [job for job in jobs if job["state"] == "FAILED"]
    assert failed == [], (failed[:3], _log_tail(scene.workforce.log_path))
    assert any(job["attempts"] > 1 for job in jobs), "some jobs met the tenant down and retried"

    scim_ids = {}
    for index, person in enumerate(people):
        login = person["profile"]["login"]
        found = scene.scim(f'/Users?filter=userName eq "{login}"')
        assert found["totalResults"] == 1, (login, found)
        user = found["Resources"][0]
        assert user["name"]["familyName"] == f"Final{index}", user
        assert user["active"] is True
        scim_ids[login] = user["id"]
    everyone = scene.scim("/Users?count=200")
    assert everyone["totalResults"] == PEOPLE, "no one twice, no one else"

    pushed = scene.scim(f'/Groups?filter=displayName eq "{group["profile"]["name"]}"')
    assert pushed["totalResults"] == 1
    members = {member["value"] for member in pushed["Resources"][0].get("members", [])}
    assert members == {scim_ids[p["profile"]["login"]] for p in people[0::2]}
