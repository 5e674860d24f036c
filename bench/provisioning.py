"""Users provisioned per second end to end: the workforce IdP's provisioning engine pushing
assigned people to the tenant's SCIM server, both real servers on SQLite.

The scene is the demo's, repaired by ``doctor --fix``, with Express Configure SSO and SCIM done.
``--users`` people (no password: ``PROVISIONED``, as directory-imported people are) are assigned
to the app instance while *To App* is off; then *Create Users* is switched on, which queues one
push per person, and the clock runs until the last job is ``COMPLETED``. Each push is Okta's
pair of calls: ``GET /Users?filter=userName eq "…"`` then ``POST /Users``.

    .venv/bin/python bench/provisioning.py [--users 500]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

from _harness import Meter, rss_mb, write_json
from express_configure import scene

from expressway.demo import story as demo_story

ENABLED = {"status": "ENABLED"}


def _jobs(story: demo_story.Story, app_id: str) -> list[dict[str, Any]]:
    jobs: list[dict[str, Any]] = []
    after = ""
    while True:
        page = story.workforce("GET", f"/apps/{app_id}/provisioning/jobs?limit=200{after}")
        jobs += page
        if len(page) < 200:
            return jobs
        after = f"&after={page[-1]['id']}"


def run(users: int, data_dir: Path, timeout: float = 1800) -> dict[str, Any]:
    with scene(data_dir) as (story, tenant, workforce):
        for action in ("sso", "scim"):
            status, body = story.express_configure(action)
            if status != 200:
                raise RuntimeError(f"Express Configure {action} failed: {status} {body}")
        app_id = story.cast.instance_id
        for index in range(users):
            email = f"bench{index}@{demo_story.DOMAIN}"
            person = story.workforce(
                "POST",
                "/users?activate=true",
                {
                    "profile": {
                        "login": email,
                        "email": email,
                        "firstName": f"Bench{index}",
                        "lastName": "Person",
                    }
                },
            )
            story.workforce("POST", f"/apps/{app_id}/users", {"id": person["id"], "scope": "USER"})
        tenant_meter, workforce_meter = Meter(tenant.pid).start(), Meter(workforce.pid).start()
        started = time.perf_counter()
        story.workforce(
            "PUT",
            f"/apps/{app_id}/features/USER_PROVISIONING",
            {"create": {"lifecycleCreate": ENABLED}, "update": {"profile": ENABLED}},
        )
        deadline = started + timeout
        # Asks only whether any job is still pending (one row at most): listing every job at
        # each poll would cost the workforce more than the jobs' own work.
        while any(
            story.workforce("GET", f"/apps/{app_id}/provisioning/jobs?state={state}&limit=1")
            for state in ("QUEUED", "IN_PROGRESS")
        ):
            if time.perf_counter() > deadline:
                raise RuntimeError("the provisioning jobs did not finish in time")
            time.sleep(0.1)
        elapsed = time.perf_counter() - started
        tenant_meter.stop()
        workforce_meter.stop()
        jobs = _jobs(story, app_id)
        if len(jobs) < users:
            raise RuntimeError(f"{len(jobs)} provisioning jobs for {users} people")
        failed = [job for job in jobs if job["state"] == "FAILED"]
        pushed = len(jobs) - len(failed)
        members = story.tenant(
            "GET",
            f"/organizations/{story.cast.organization['id']}/members?include_totals=true",
        )
        return {
            "users": users,
            "jobs": len(jobs),
            "failed": len(failed),
            "seconds": round(elapsed, 2),
            "users_per_second": round(pushed / elapsed, 1),
            "tenant_cpu_ms_per_user": round(tenant_meter.cpu_seconds * 1000 / max(pushed, 1), 2),
            "workforce_cpu_ms_per_user": round(
                workforce_meter.cpu_seconds * 1000 / max(pushed, 1), 2
            ),
            "organization_members": members.get("total") if isinstance(members, dict) else None,
            "rss_mb": {
                "tenant": round(rss_mb(tenant.pid), 1),
                "workforce": round(rss_mb(workforce.pid), 1),
            },
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--json", type=Path, default=Path("bench/results/provisioning.json"))
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="provisioning-bench-") as scratch:
        result = run(arguments.users, Path(scratch))
    print(
        f"{'users':>6} {'seconds':>8} {'users/s':>8} {'tenant CPU ms/user':>19} "
        f"{'workforce CPU ms/user':>22} {'failed':>6}"
    )
    print(
        f"{result['users']:>6} {result['seconds']:>8} {result['users_per_second']:>8} "
        f"{result['tenant_cpu_ms_per_user']:>19} {result['workforce_cpu_ms_per_user']:>22} "
        f"{result['failed']:>6}"
    )
    write_json(arguments.json, "provisioning", result)


if __name__ == "__main__":
    main()
