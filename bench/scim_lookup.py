"""``userName eq`` lookups over HTTP against a running tenant, at 1,000 and 100,000 users in one
connection: the cost of the lookup Okta makes before every provisioning (existence check).

The users are seeded in bulk straight into the tenant's database (not over HTTP), then a real
``expressway tenant serve`` answers ``GET /scim/v2/connections/{id}/Users?filter=userName eq "…"``
with the connection's bearer token. Prints a table and writes JSON (``--json``).

    .venv/bin/python bench/scim_lookup.py [--sizes 1000 100000] [--requests 500]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from expressway.scim.resources import user_name_key
from expressway.storage.engine import make_engine
from expressway.tenant.rows import ScimUserRow, UserRow

CLI = [sys.executable, "-m", "expressway.cli"]
CHUNK = 5_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def running_tenant(data_dir: Path) -> Iterator[tuple[str, dict[str, str]]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "EXPRESSWAY_DATA_DIR": str(data_dir), "EXPRESSWAY_TENANT_PUBLIC_URL": url}
    env.pop("EXPRESSWAY_TENANT_DATABASE_URL", None)
    init = subprocess.run(  # noqa: S603 - our own CLI
        [*CLI, "tenant", "init", "--json"], env=env, capture_output=True, text=True, check=True
    )
    admin: dict[str, str] = json.loads(init.stdout)
    log = (data_dir / "server.log").open("w")
    server = subprocess.Popen(  # noqa: S603 - our own CLI
        [*CLI, "tenant", "serve", "--port", str(port), "--public-url", url],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/.well-known/jwks.json").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((data_dir / "server.log").read_text())
            time.sleep(0.1)
        yield url, admin
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def scim_connection(url: str, admin: dict[str, str]) -> tuple[str, str, str]:
    """A connection with SCIM on, made through the Management API: its id, name and a token."""
    token = httpx.post(
        f"{url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": admin["client_id"],
            "client_secret": admin["client_secret"],
            "audience": f"{url}/api/v2/",
        },
    ).json()["access_token"]
    with httpx.Client(
        base_url=f"{url}/api/v2", headers={"Authorization": f"Bearer {token}"}
    ) as api:
        connection = api.post(
            "/connections",
            json={
                "name": "bench-okta",
                "strategy": "okta",
                "options": {"domain": "bench.okta.example", "client_id": "c", "client_secret": "s"},
            },
        ).json()
        api.post(f"/connections/{connection['id']}/scim-configuration").raise_for_status()
        minted = api.post(f"/connections/{connection['id']}/scim-configuration/tokens", json={})
        minted.raise_for_status()
    return connection["id"], connection["name"], minted.json()["token"]


def user_name(index: int) -> str:
    return f"Employee.{index:06d}@Bench.Example"


def seed(
    database_url: str, connection_id: str, connection_name: str, count: int, start: int = 0
) -> float:
    """The SCIM users ``start`` to ``count - 1`` inserted in bulk; answers the seconds it took."""
    engine = make_engine(database_url)
    started = time.perf_counter()
    now = datetime.now(UTC)
    with engine.begin() as db:
        for chunk in range(start, count, CHUNK):
            users: list[dict[str, Any]] = []
            scim_users: list[dict[str, Any]] = []
            for index in range(chunk, min(chunk + CHUNK, count)):
                name = user_name(index)
                external_id = f"00u{index:010d}"
                user_id = f"okta|{connection_name}|{external_id}"
                users.append(
                    {
                        "user_id": user_id,
                        "connection": connection_name,
                        "provider": "okta",
                        "email": name.lower(),
                        "email_key": name.lower(),
                        "email_verified": False,
                        "name": f"Employee {index}",
                        "blocked": False,
                        "app_metadata": {},
                        "user_metadata": {},
                        "logins_count": 0,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                scim_users.append(
                    {
                        "id": uuid.uuid4().hex,
                        "connection_id": connection_id,
                        "user_id": user_id,
                        "user_name": name,
                        "user_name_key": user_name_key(name),
                        "external_id": external_id,
                        "active": True,
                        "resource": {
                            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                            "userName": name,
                            "externalId": external_id,
                            "name": {"givenName": "Employee", "familyName": str(index)},
                            "emails": [{"value": name.lower(), "type": "work", "primary": True}],
                            "active": True,
                        },
                        "created_at": now,
                        "updated_at": now,
                        "version": 1,
                    }
                )
            db.execute(sa.insert(UserRow), users)
            db.execute(sa.insert(ScimUserRow), scim_users)
    engine.dispose()
    return time.perf_counter() - started


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def measure(url: str, connection_id: str, token: str, size: int, requests: int) -> dict[str, Any]:
    rng = random.Random(size)  # noqa: S311 - which users are looked up, not a secret
    base = f"{url}/scim/v2/connections/{connection_id}"
    timings: list[float] = []
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as http:
        for warmup in range(20):
            http.get("/Users", params={"filter": f'userName eq "{user_name(warmup)}"'})
        for _ in range(requests):
            # Okta sends the userName as its user has it: another case than stored.
            wanted = user_name(rng.randrange(size)).upper()
            started = time.perf_counter()
            answer = http.get("/Users", params={"filter": f'userName eq "{wanted}"'})
            timings.append((time.perf_counter() - started) * 1000)
            if answer.status_code != 200 or answer.json()["totalResults"] != 1:
                raise RuntimeError(f"lookup of {wanted} failed: {answer.text}")
    return {
        "users": size,
        "requests": requests,
        "p50_ms": round(statistics.median(timings), 2),
        "p95_ms": round(percentile(timings, 0.95), 2),
        "p99_ms": round(percentile(timings, 0.99), 2),
        "mean_ms": round(statistics.fmean(timings), 2),
    }


def run(size: int, requests: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="scim-bench-") as scratch:
        data_dir = Path(scratch)
        with running_tenant(data_dir) as (url, admin):
            connection_id, connection_name, token = scim_connection(url, admin)
            database = next(data_dir.rglob("tenant*.db"))
            seconds = seed(f"sqlite:///{database}", connection_id, connection_name, size)
            result = measure(url, connection_id, token, size, requests)
            result["seed_seconds"] = round(seconds, 1)
            result["database"] = "sqlite"
            return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--json", type=Path, default=Path("bench/scim_lookup.json"))
    arguments = parser.parse_args()
    results = [run(size, arguments.requests) for size in arguments.sizes]
    print(f"{'users':>8} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'seed s':>7}")
    for r in results:
        print(
            f"{r['users']:>8} {r['requests']:>8} {r['p50_ms']:>8} {r['p95_ms']:>8}"
            f" {r['p99_ms']:>8} {r['seed_seconds']:>7}"
        )
    if len(results) >= 2:
        ratio = results[-1]["p50_ms"] / results[0]["p50_ms"]
        print(f"p50 ratio {results[-1]['users']} / {results[0]['users']} users: {ratio:.2f}")
    arguments.json.write_text(
        json.dumps({"benchmark": "scim_lookup", "results": results}, indent=2)
    )
    print(f"written to {arguments.json}")


if __name__ == "__main__":
    main()
