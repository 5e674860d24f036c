"""Two tenant and two workforce processes, each pair on one PostgreSQL database with one
``EXPRESSWAY_SECRET_KEY``, behind a round-robin proxy whose address is the pair's public URL
(and so the issuer), as replicas run behind a load balancer.

One cluster serves the whole folder: starting four Python servers is the slow part.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.databases import postgres_database, require_postgres
from tests.e2e.story import Person, express_configure, prepare_tenant, prepare_workforce
from tests.interop.conftest import LiveTenant, free_port
from tests.interop.workforce_server import LiveWorkforce
from tests.scaleout.processes import owner_of_port
from tests.scaleout.proxy import Hop, RoundRobinProxy, served

CLI = [sys.executable, "-m", "expressway.cli"]
TENANT_PROBE = "/.well-known/jwks.json"
WORKFORCE_PROBE = "/orgs/acme/oauth2/v1/keys"


@dataclass
class Replica:
    name: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path


@dataclass
class Cluster:
    tenant: LiveTenant
    workforce: LiveWorkforce
    tenant_proxy: RoundRobinProxy
    workforce_proxy: RoundRobinProxy
    tenant_replicas: list[Replica]
    workforce_replicas: list[Replica]
    tenant_database: str
    workforce_database: str
    #: The password of the super admin of the workforce org ``acme``.
    acme_admin_password: str
    #: name → pid of every replica, for :func:`owner_of_port`.
    pids: dict[str, int] = field(default_factory=dict)

    def caller(self, port: int, remote_port: int) -> str | None:
        return owner_of_port(port, self.pids, remote_port=remote_port)


def environment(data_dir: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXPRESSWAY_")}
    env["EXPRESSWAY_DATA_DIR"] = str(data_dir)
    for name, value in settings.items():
        env[f"EXPRESSWAY_{name.upper()}"] = value
    return env


def run_json(command: list[str], env: dict[str, str]) -> dict[str, str]:
    done = subprocess.run(  # noqa: S603 - our own CLI
        [*CLI, *command, "--json"], env=env, capture_output=True, text=True, check=True
    )
    answer: dict[str, str] = json.loads(done.stdout)
    return answer


def start(name: str, system: str, env: dict[str, str], port: int, log: Path) -> Replica:
    """``expressway {system} serve`` on ``port``; its public URL is the proxy's, from ``env``."""
    public_url = env[f"EXPRESSWAY_{system.upper()}_PUBLIC_URL"]
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our own CLI
            [*CLI, system, "serve", "--port", str(port), "--public-url", public_url],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    return Replica(name, f"http://127.0.0.1:{port}", process, log)


def wait_until_up(replica: Replica, probe: str) -> None:
    # Generous: four Python servers starting at once on a loaded 2-core machine.
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{replica.url}{probe}").status_code == 200:
                return
        except httpx.TransportError:
            pass
        if replica.process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{replica.name} did not start:\n{replica.log.read_text()}")
        time.sleep(0.1)


@contextmanager
def stopped_at_exit(replicas: list[Replica]) -> Iterator[None]:
    try:
        yield
    finally:
        for replica in replicas:
            replica.process.terminate()
        for replica in replicas:
            try:
                replica.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                replica.process.kill()
                replica.process.wait()


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    require_postgres()
    data_dir = tmp_path_factory.mktemp("scaleout")
    secret_key = secrets.token_urlsafe(32)
    tenant_ports = [free_port(), free_port()]
    workforce_ports = [free_port(), free_port()]
    with ExitStack() as stack:
        tenant_database = stack.enter_context(postgres_database())
        workforce_database = stack.enter_context(postgres_database())
        replicas: list[Replica] = []
        holder: dict[str, Cluster] = {}

        def identify(port: int, remote_port: int) -> str | None:
            return holder["cluster"].caller(port, remote_port) if "cluster" in holder else None

        tenant_proxy = RoundRobinProxy(
            [f"http://127.0.0.1:{p}" for p in tenant_ports], free_port(), identify
        )
        workforce_proxy = RoundRobinProxy(
            [f"http://127.0.0.1:{p}" for p in workforce_ports], free_port(), identify
        )
        for proxy in (tenant_proxy, workforce_proxy):
            stack.enter_context(served(proxy, proxy.port))
        tenant_env = environment(
            data_dir,
            secret_key=secret_key,
            tenant_database_url=tenant_database,
            tenant_public_url=tenant_proxy.url,
        )
        workforce_env = environment(
            data_dir,
            secret_key=secret_key,
            workforce_database_url=workforce_database,
            workforce_public_url=workforce_proxy.url,
            workforce_provisioning_poll_seconds="0.5",
        )
        # A deployment's release step: the schema and what a new tenant and org need, once.
        with ThreadPoolExecutor(2) as pool:
            tenant_init = pool.submit(run_json, ["tenant", "init"], tenant_env)
            acme_init = pool.submit(run_json, ["workforce", "init", "--org", "acme"], workforce_env)
            admin, acme = tenant_init.result(), acme_init.result()
        stack.enter_context(stopped_at_exit(replicas))
        for index, port in enumerate(tenant_ports):
            log = data_dir / f"tenant-{index}.log"
            replicas.append(start(f"tenant-{index}", "tenant", tenant_env, port, log))
        for index, port in enumerate(workforce_ports):
            log = data_dir / f"workforce-{index}.log"
            replicas.append(start(f"workforce-{index}", "workforce", workforce_env, port, log))
        for replica in replicas:
            wait_until_up(replica, TENANT_PROBE if "tenant" in replica.name else WORKFORCE_PROBE)
        built = Cluster(
            tenant=LiveTenant(
                tenant_proxy.url, admin["client_id"], admin["client_secret"], data_dir
            ),
            workforce=LiveWorkforce(workforce_proxy.url, {"acme": acme["api_token"]}, data_dir),
            tenant_proxy=tenant_proxy,
            workforce_proxy=workforce_proxy,
            tenant_replicas=replicas[:2],
            workforce_replicas=replicas[2:],
            tenant_database=tenant_database,
            workforce_database=workforce_database,
            acme_admin_password=acme["admin_password"],
            pids={replica.name: replica.process.pid for replica in replicas},
        )
        holder["cluster"] = built
        yield built


@dataclass
class Configured:
    vendor: dict[str, Any]
    app_id: str
    outcome: httpx.Response
    tenant_hops: list[Hop]
    workforce_hops: list[Hop]
    browser_cookies: httpx.Cookies


@pytest.fixture(scope="session")
def configured(cluster: Cluster) -> Configured:
    """The vendor's tenant and OIN submission prepared, then the admin clicks Express
    Configure SSO on the test instance and signs in at the tenant."""
    with httpx.Client(timeout=30) as http:
        vendor = prepare_tenant(cluster.tenant, cluster.workforce, http, broken=False)
        app_id, _ = prepare_workforce(cluster.workforce, http, vendor)
    tenant_start = len(cluster.tenant_proxy.hops)
    workforce_start = len(cluster.workforce_proxy.hops)
    with httpx.Client(timeout=30, follow_redirects=False) as browser:
        admin = Person(browser, vendor["email"], vendor["organization"]["name"])
        outcome = express_configure(cluster.workforce, app_id, admin, "sso")
        cookies = httpx.Cookies(browser.cookies)
    return Configured(
        vendor,
        app_id,
        outcome,
        cluster.tenant_proxy.hops[tenant_start:],
        cluster.workforce_proxy.hops[workforce_start:],
        cookies,
    )
