"""Resident memory of each Expressway service, idle: the tenant, the workforce IdP and the sample
app, each started as ``expressway … serve`` on SQLite in a fresh data directory and sent a few
requests first (so that what a first request loads is counted). The tenant's RSS under the
token load is measured by ``token_endpoint.py``.

    .venv/bin/python bench/memory.py
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from _harness import (
    CLI,
    Management,
    expressway_environment,
    free_port,
    initialise_tenant,
    rss_mb,
    serve,
    write_json,
)

TARGET_MB = 150
ORG = "bench"


def settle(pid: int, seconds: float) -> float:
    """The RSS once the process has been left alone for ``seconds``."""
    time.sleep(seconds)
    return rss_mb(pid)


def measure(data_dir: Path, settle_seconds: float) -> list[dict[str, Any]]:
    ports = {name: free_port() for name in ("tenant", "workforce", "sample_app")}
    urls = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
    env = expressway_environment(data_dir, **urls)
    admin = initialise_tenant(env)
    services: list[dict[str, Any]] = []
    with serve(
        [*CLI, "tenant", "serve", "--port", str(ports["tenant"]), "--public-url", urls["tenant"]],
        env,
        urls["tenant"],
        "/.well-known/jwks.json",
        data_dir / "tenant.log",
    ) as tenant:
        started = rss_mb(tenant.pid)
        api = Management(tenant.url, admin)
        try:
            api("GET", "/clients")
            client = api(
                "POST",
                "/clients",
                {
                    "name": "Sample App",
                    "app_type": "regular_web",
                    "callbacks": [f"{urls['sample_app']}/callback"],
                },
            )
            secret = api("POST", f"/clients/{client['client_id']}/rotate-secret")["client_secret"]
        finally:
            api.close()
        httpx.get(f"{tenant.url}/.well-known/openid-configuration")
        services.append(
            {"service": "tenant", "rss_started_mb": started, "pid": tenant.pid, "server": tenant}
        )
        sample_env = {
            **env,
            "EXPRESSWAY_SAMPLE_APP_CLIENT_ID": client["client_id"],
            "EXPRESSWAY_SAMPLE_APP_CLIENT_SECRET": secret,
        }
        with (
            serve(
                [*CLI, "workforce", "serve", "--port", str(ports["workforce"])],
                env,
                urls["workforce"],
                f"/orgs/{ORG}/.well-known/openid-configuration",
                data_dir / "workforce.log",
            ) as workforce,
            serve(
                [*CLI, "sample-app", "serve", "--port", str(ports["sample_app"])],
                sample_env,
                urls["sample_app"],
                "/",
                data_dir / "sample-app.log",
            ) as sample_app,
        ):
            services.append(
                {
                    "service": "workforce",
                    "rss_started_mb": rss_mb(workforce.pid),
                    "pid": workforce.pid,
                }
            )
            services.append(
                {
                    "service": "sample app",
                    "rss_started_mb": rss_mb(sample_app.pid),
                    "pid": sample_app.pid,
                }
            )
            httpx.get(f"{sample_app.url}/")
            httpx.get(f"{sample_app.url}/login", follow_redirects=False)
            time.sleep(settle_seconds)
            for service in services:
                service.pop("server", None)
                pid = service.pop("pid")
                service["rss_idle_mb"] = round(rss_mb(pid), 1)
                service["rss_started_mb"] = round(service["rss_started_mb"], 1)
                service["target_mb"] = TARGET_MB
    return services


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--settle", type=float, default=3.0, help="seconds left idle")
    parser.add_argument("--quick", action="store_true", help="settle for half a second")
    parser.add_argument("--json", type=Path, default=Path("bench/results/memory.json"))
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="memory-bench-") as scratch:
        services = measure(Path(scratch), 0.5 if arguments.quick else arguments.settle)
    print(f"{'service':<12} {'RSS started':>11} {'RSS idle':>9} {'target':>7}")
    for s in services:
        verdict = "" if s["rss_idle_mb"] < TARGET_MB else "  MISSED"
        print(
            f"{s['service']:<12} {s['rss_started_mb']:>8} MB {s['rss_idle_mb']:>6} MB"
            f" {TARGET_MB:>4} MB{verdict}"
        )
    write_json(arguments.json, "memory", {"services": services})
    print(f"written to {arguments.json}")


if __name__ == "__main__":
    main()
