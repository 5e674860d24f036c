"""Provisioning jobs are worked exactly once when both workforce replicas run their workers:
each job is claimed with ``FOR UPDATE SKIP LOCKED`` and a lease, so of two workers looking at
the same due job one takes it and the other passes over it.

After Express Configure SCIM, a hundred people are assigned to the app one by one through the
round-robin proxy (each assignment's commit wakes the worker of the replica that served it, so
both work at once). Every job completes on its first attempt; the tenant receives exactly one
SCIM ``POST /Users`` per person, sent by both workforce processes between them, and holds each
person once."""

from __future__ import annotations

import secrets
import time
from typing import Any

import httpx
import pytest

from tests.e2e.story import Person, express_configure, tenant_api, workforce_api
from tests.scaleout.conftest import Cluster, Configured

pytestmark = pytest.mark.postgres

PEOPLE = 100


def all_jobs(api: Any, app_id: str) -> list[dict[str, Any]]:
    jobs: list[dict[str, Any]] = []
    after = ""
    while True:
        page = api("GET", f"/apps/{app_id}/provisioning/jobs?limit=200{after}")
        jobs += page
        if len(page) < 200:
            return jobs
        after = f"&after={page[-1]['id']}"


def settled(api: Any, app_id: str, expected: int, timeout: float = 120) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        jobs = all_jobs(api, app_id)
        if len(jobs) >= expected and all(j["state"] in ("COMPLETED", "FAILED") for j in jobs):
            return jobs
        assert time.monotonic() < deadline, [j for j in jobs if j["state"] != "COMPLETED"][:3]
        time.sleep(0.25)


def scim_users(http: httpx.Client, base: str, headers: dict[str, str]) -> list[dict[str, Any]]:
    users: list[dict[str, Any]] = []
    index = 1
    while True:
        page = http.get(f"{base}/Users?startIndex={index}&count=100", headers=headers).json()
        users += page.get("Resources", [])
        index += page["itemsPerPage"]
        if not page.get("Resources") or index > page["totalResults"]:
            return users


def test_both_workers_work_each_provisioning_job_exactly_once(
    cluster: Cluster, configured: Configured
) -> None:
    vendor, app_id = configured.vendor, configured.app_id
    with httpx.Client(timeout=30, follow_redirects=False) as browser:
        admin = Person(browser, vendor["email"], vendor["organization"]["name"])
        scim = express_configure(cluster.workforce, app_id, admin, "scim")
    assert scim.status_code == 200, scim.text
    with httpx.Client(timeout=30) as http:
        wf = workforce_api(cluster.workforce, http)
        domain = vendor["organization"]["metadata"]["domains"]
        suffix = secrets.token_hex(3)
        # No password (so no Argon2id hash each): PROVISIONED people are pushed as ACTIVE ones.
        people = [
            wf(
                "POST",
                "/users?activate=true",
                {
                    "profile": {
                        "login": f"p{index}-{suffix}@{domain}",
                        "email": f"p{index}-{suffix}@{domain}",
                        "firstName": f"Person{index}",
                        "lastName": "Scaleout",
                    },
                },
            )
            for index in range(PEOPLE)
        ]
        enabled = {"status": "ENABLED"}
        wf(
            "PUT",
            f"/apps/{app_id}/features/USER_PROVISIONING",
            {"create": {"lifecycleCreate": enabled}, "update": {"profile": enabled}},
        )
        seen = len(cluster.tenant_proxy.hops)
        for person in people:
            wf("POST", f"/apps/{app_id}/users", {"id": person["id"], "scope": "USER"})
        jobs = settled(wf, app_id, PEOPLE)

        pushes = [job for job in jobs if job["kind"] == "user.push"]
        assert len(pushes) == PEOPLE
        assert {job["subject"]["id"] for job in pushes} == {p["id"] for p in people}
        assert [job for job in jobs if job["state"] != "COMPLETED"] == []
        assert [job for job in jobs if job["attempts"] != 1] == []

        created = [
            hop
            for hop in cluster.tenant_proxy.hops[seen:]
            if hop.method == "POST" and hop.path.endswith("/Users")
        ]
        assert len(created) == PEOPLE
        assert {hop.status for hop in created} == {201}
        senders = {hop.caller for hop in created}
        assert senders == {"workforce-0", "workforce-1"}, senders

        links = tenant_api(cluster.tenant, http)(
            "GET", f"/organizations/{vendor['organization']['id']}/enabled_connections"
        )
        [okta] = [link for link in links if link["connection"]["strategy"] == "okta"]
        token = tenant_api(cluster.tenant, http)(
            "POST", f"/connections/{okta['connection_id']}/scim-configuration/tokens", {}
        )["token"]
        base = f"{cluster.tenant.url}/scim/v2/connections/{okta['connection_id']}"
        users = scim_users(http, base, {"Authorization": f"Bearer {token}"})
    names = [user["userName"].lower() for user in users if suffix in user["userName"]]
    assert sorted(names) == sorted(p["profile"]["login"].lower() for p in people)
