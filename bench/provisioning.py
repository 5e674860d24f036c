"""Users provisioned per second end to end: the workforce IdP's provisioning engine pushing
assigned people to the tenant's SCIM server, both real servers, on SQLite or on PostgreSQL.

The scene is the demo's, repaired by ``doctor --fix``, with Express Configure SSO and SCIM done.
``--users`` people (no password: ``PROVISIONED``, as directory-imported people are) are assigned
to the app instance while *To App* is off; then *Create Users* is switched on, which queues one
push per person, and the clock runs until the last job is ``COMPLETED``. Each push is Okta's
pair of calls: ``GET /Users?filter=userName eq "…"`` then ``POST /Users``.

``--database postgresql`` puts both systems on databases made for the run on the PostgreSQL
server of ``EXPRESSWAY_BENCH_POSTGRES_URL`` (dropped afterwards), and ``--workforce-replicas N``
serves N workforce processes on the workforce's database, each with its provisioning worker and
its lanes, which claim the jobs between them (``SKIP LOCKED``); their CPU is added up. Several
replicas need PostgreSQL: on SQLite one process serves.

    .venv/bin/python bench/provisioning.py [--users 500]
    .venv/bin/python bench/provisioning.py --database postgresql --workforce-replicas 2
"""

from __future__ import annotations

import argparse
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from _harness import (
    CLI,
    Meter,
    Server,
    database_environment,
    expressway_environment,
    free_port,
    rss_mb,
    serve,
    system_databases,
    write_json,
)
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


def _more_workforce_replicas(
    stack: ExitStack,
    story: demo_story.Story,
    data_dir: Path,
    databases: dict[str, str],
    count: int,
) -> list[Server]:
    """``count`` more ``workforce serve`` processes on the workforce's database, as replicas
    behind a load balancer are: the same settings, ports of their own."""
    env = expressway_environment(
        data_dir,
        tenant=story.tenant_url,
        workforce=story.workforce_url,
        sample_app=story.sample_app_url,
    ) | database_environment(databases)
    replicas = []
    for index in range(count):
        port = free_port()
        replicas.append(
            stack.enter_context(
                serve(
                    [*CLI, "workforce", "serve", "--port", str(port)],
                    env,
                    f"http://localhost:{port}",
                    f"/orgs/{demo_story.ORG_NAME}/.well-known/openid-configuration",
                    data_dir / f"workforce-{index + 2}.log",
                )
            )
        )
    return replicas


def run(
    users: int,
    data_dir: Path,
    timeout: float = 1800,
    database: str = "sqlite",
    workforce_replicas: int = 1,
) -> dict[str, Any]:
    with ExitStack() as stack:
        databases = system_databases(stack, database)
        return _run(stack, users, data_dir, timeout, databases, workforce_replicas)


def _run(
    stack: ExitStack,
    users: int,
    data_dir: Path,
    timeout: float,
    databases: dict[str, str],
    workforce_replicas: int,
) -> dict[str, Any]:
    story, tenant, workforce = stack.enter_context(scene(data_dir, databases=databases))
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
    workforces = [
        workforce,
        *_more_workforce_replicas(stack, story, data_dir, databases, workforce_replicas - 1),
    ]
    tenant_meter = Meter(tenant.pid).start()
    workforce_meters = [Meter(replica.pid).start() for replica in workforces]
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
    for meter in workforce_meters:
        meter.stop()
    workforce_cpu = sum(meter.cpu_seconds for meter in workforce_meters)
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
        "database": "postgresql" if databases else "sqlite",
        "workforce_replicas": len(workforces),
        "workforce_cpu_ms_per_user_by_replica": [
            round(meter.cpu_seconds * 1000 / max(pushed, 1), 2) for meter in workforce_meters
        ],
        "jobs": len(jobs),
        "failed": len(failed),
        "seconds": round(elapsed, 2),
        "users_per_second": round(pushed / elapsed, 1),
        "tenant_cpu_ms_per_user": round(tenant_meter.cpu_seconds * 1000 / max(pushed, 1), 2),
        "workforce_cpu_ms_per_user": round(workforce_cpu * 1000 / max(pushed, 1), 2),
        "organization_members": members.get("total") if isinstance(members, dict) else None,
        "rss_mb": {
            "tenant": round(rss_mb(tenant.pid), 1),
            "workforce": [round(rss_mb(replica.pid), 1) for replica in workforces],
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=500)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument(
        "--workforce-replicas",
        type=int,
        default=1,
        help="workforce processes on the workforce's database, each with its worker",
    )
    parser.add_argument("--json", type=Path, default=Path("bench/results/provisioning.json"))
    arguments = parser.parse_args()
    if arguments.workforce_replicas > 1 and arguments.database != "postgresql":
        parser.error("--workforce-replicas: several replicas share a PostgreSQL database")
    with tempfile.TemporaryDirectory(prefix="provisioning-bench-") as scratch:
        result = run(
            arguments.users,
            Path(scratch),
            database=arguments.database,
            workforce_replicas=arguments.workforce_replicas,
        )
    print(
        f"{'database':>10} {'replicas':>8} {'users':>6} {'seconds':>8} {'users/s':>8} "
        f"{'tenant CPU ms/user':>19} {'workforce CPU ms/user':>22} {'failed':>6}"
    )
    print(
        f"{result['database']:>10} {result['workforce_replicas']:>8} "
        f"{result['users']:>6} {result['seconds']:>8} {result['users_per_second']:>8} "
        f"{result['tenant_cpu_ms_per_user']:>19} {result['workforce_cpu_ms_per_user']:>22} "
        f"{result['failed']:>6}"
    )
    write_json(arguments.json, "provisioning", result)


if __name__ == "__main__":
    main()
