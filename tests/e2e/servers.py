"""Servers of their own for end-to-end tests: a tenant that a test may break tenant-wide (or stop
and start again), and the sample app, each a real process on a free port talking HTTP."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.interop.conftest import (
    LiveTenant,
    free_port,
    initialise_tenant,
    tenant_environment,
)

CLI = [sys.executable, "-m", "expressway.cli"]


def _wait_until_up(server: subprocess.Popen[bytes], probe: str, log_path: Path) -> None:
    # Generous: a loaded 2-core machine can take a while to start a Python server.
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(probe).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(log_path.read_text())
        time.sleep(0.1)


class TenantProcess:
    """``expressway tenant serve`` over one data directory, which outlives the process: a test
    can stop the tenant in the middle of a flow and start it again on the same port."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = tenant_environment(data_dir, self.url)
        self.data_dir = data_dir
        created = initialise_tenant(self.env)
        self.live = LiveTenant(self.url, created["client_id"], created["client_secret"], data_dir)
        self._server: subprocess.Popen[bytes] | None = None
        self._starts = 0

    def start(self) -> None:
        self._starts += 1
        log_path = self.data_dir / f"server-{self._starts}.log"
        with log_path.open("w") as log:
            self._server = subprocess.Popen(  # noqa: S603 - our own CLI
                [*CLI, "tenant", "serve", "--port", str(self.port), "--public-url", self.url],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        _wait_until_up(self._server, f"{self.url}/.well-known/jwks.json", log_path)

    def stop(self) -> None:
        if self._server is not None:
            self._server.terminate()
            self._server.wait(timeout=10)
            self._server = None


@contextmanager
def own_tenant(data_dir: Path) -> Iterator[TenantProcess]:
    tenant = TenantProcess(data_dir)
    tenant.start()
    try:
        yield tenant
    finally:
        tenant.stop()


@contextmanager
def sample_app(
    data_dir: Path, tenant_url: str, client_id: str, client_secret: str, port: int | None = None
) -> Iterator[str]:
    """``expressway sample-app serve`` as a process of its own; yields its URL once it answers."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "EXPRESSWAY_DATA_DIR": str(data_dir),
        "EXPRESSWAY_TENANT_PUBLIC_URL": tenant_url,
        "EXPRESSWAY_SAMPLE_APP_CLIENT_ID": client_id,
        "EXPRESSWAY_SAMPLE_APP_CLIENT_SECRET": client_secret,
    }
    log_path = data_dir / "sample-app.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(  # noqa: S603 - our own CLI
            [*CLI, "sample-app", "serve", "--port", str(port), "--public-url", url],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_until_up(server, f"{url}/", log_path)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)
