"""Real processes for fault tests: a tenant and a workforce IdP that a test may SIGKILL and start
again on the same data, and a PostgreSQL server of the test's own that it may stop and start
(never the machine's shared one)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from tests.interop.conftest import LiveTenant, free_port, initialise_tenant, tenant_environment
from tests.interop.workforce_server import LiveWorkforce

CLI = [sys.executable, "-m", "expressway.cli"]


def skip_or_fail(reason: str) -> None:
    """Skip, except in CI, where a fault test that cannot run is a failure."""
    if os.environ.get("CI"):
        pytest.fail(f"CI is set, but {reason}")
    pytest.skip(reason)


class Server:
    """One ``expressway … serve`` process over a data directory that outlives it."""

    def __init__(self, command: list[str], env: dict[str, str], probe: str, logs: Path) -> None:
        self.command = command
        self.env = env
        self.probe = probe
        self.logs = logs
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def log_path(self) -> Path:
        return self.logs / f"{self.command[3]}-{self.starts}.log"

    def start(self) -> None:
        self.starts += 1
        with self.log_path.open("w") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own CLI
                self.command, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        # Generous: a loaded 2-core machine can take a while to start a Python server.
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(self.probe).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(self.log_path.read_text())
            time.sleep(0.05)

    @property
    def pid(self) -> int | None:
        """The running process's id; ``None`` once it has ended or was never started."""
        if self.process is None or self.process.poll() is not None:
            return None
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL: no shutdown, no rollback, no flush; whatever was in flight is cut."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=15)
            self.process = None

    def log(self) -> str:
        return "".join(
            (self.logs / f"{self.command[3]}-{n}.log").read_text()
            for n in range(1, self.starts + 1)
        )


class Tenant(Server):
    """``expressway tenant serve``; ``public_url`` may differ from where it listens (a proxy)."""

    def __init__(
        self,
        data_dir: Path,
        *,
        database_url: str | None = None,
        public_url: str | None = None,
        extra_env: dict[str, str] | None = None,
    ) -> None:
        self.port = free_port()
        self.own_url = f"http://127.0.0.1:{self.port}"
        self.url = public_url or self.own_url
        env = {**tenant_environment(data_dir, self.url, database_url), **(extra_env or {})}
        created = initialise_tenant(env)
        self.live = LiveTenant(self.url, created["client_id"], created["client_secret"], data_dir)
        command = [*CLI, "tenant", "serve", "--port", str(self.port), "--public-url", self.url]
        super().__init__(command, env, f"{self.own_url}/.well-known/jwks.json", data_dir)


class Workforce(Server):
    """``expressway workforce serve`` with the org ``acme`` (and any others named)."""

    def __init__(
        self, data_dir: Path, *, database_url: str | None = None, orgs: tuple[str, ...] = ("acme",)
    ) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "EXPRESSWAY_DATA_DIR": str(data_dir),
            "EXPRESSWAY_WORKFORCE_PUBLIC_URL": self.url,
        }
        env.pop("EXPRESSWAY_WORKFORCE_DATABASE_URL", None)
        if database_url is not None:
            env["EXPRESSWAY_WORKFORCE_DATABASE_URL"] = database_url
        tokens = {}
        for org in orgs:
            init = subprocess.run(  # noqa: S603 - our own CLI
                [*CLI, "workforce", "init", "--org", org, "--json"],
                env=env,
                capture_output=True,
                text=True,
                check=True,
            )
            tokens[org] = json.loads(init.stdout)["api_token"]
        self.live = LiveWorkforce(self.url, tokens, data_dir)
        command = [*CLI, "workforce", "serve", "--port", str(self.port), "--public-url", self.url]
        super().__init__(command, env, f"{self.url}/orgs/{orgs[0]}/oauth2/v1/keys", data_dir)


@contextmanager
def running(server: Server) -> Iterator[Server]:
    server.start()
    try:
        yield server
    finally:
        server.stop()


def scim_connection(tenant: Tenant, http: httpx.Client) -> tuple[str, str]:
    """An ``okta`` connection with SCIM on, and a SCIM token for it."""
    headers = {"Authorization": f"Bearer {tenant.live.token()}"}
    api = f"{tenant.url}/api/v2"
    connection = http.post(
        f"{api}/connections",
        headers=headers,
        json={
            "name": "faults-okta",
            "strategy": "okta",
            "options": {"client_id": "x", "client_secret": "y", "domain": "example.okta.com"},
        },
    )
    assert connection.status_code == 201, connection.text
    connection_id = connection.json()["id"]
    configured = http.post(f"{api}/connections/{connection_id}/scim-configuration", headers=headers)
    assert configured.status_code < 300, configured.text
    token = http.post(
        f"{api}/connections/{connection_id}/scim-configuration/tokens", headers=headers, json={}
    )
    assert token.status_code < 300, token.text
    return f"{tenant.url}/scim/v2/connections/{connection_id}", token.json()["token"]


def _postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return found[-1].parent if found else None


class PrivatePostgres:
    """A PostgreSQL cluster of the test's own (``initdb`` in a temporary directory, a free
    port on loopback, trust authentication), which a test may stop and start under load."""

    def __init__(self) -> None:
        bin_dir = _postgres_bin()
        if bin_dir is None:
            skip_or_fail("no PostgreSQL server binaries under /usr/lib/postgresql/*/bin")
        assert bin_dir is not None
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="expressway-faults-pg-"))
        self.data = self.root / "data"
        self.port = free_port()
        # PostgreSQL refuses to run as root: as root, the cluster belongs to ``postgres``.
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            if shutil.which("runuser") is None:
                skip_or_fail("running as root without runuser to start PostgreSQL as postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "--no-sync")

    def _run(self, program: str, *args: str) -> None:
        command = [*self.as_user, str(self.bin / program), *args]
        done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        if done.returncode != 0:
            raise RuntimeError(f"{program} failed: {done.stdout}{done.stderr}")

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
            " -c max_connections=200"
        )
        log = str(self.root / "postgres.log")
        self._run("pg_ctl", "-D", str(self.data), "-l", log, "-o", options, "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "-w", "stop")

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        admin = sa.create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return self.url(name)

    def log(self) -> str:
        path = self.root / "postgres.log"
        return path.read_text() if path.exists() else ""

    def remove(self) -> None:
        with contextlib.suppress(RuntimeError):  # already stopped
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    server = PrivatePostgres()
    try:
        server.start()
        yield server
    finally:
        server.remove()
