"""A real workforce IdP for interop tests: ``expressway workforce init`` for two orgs, then
``workforce serve`` as a subprocess on a free port with a fresh SQLite database."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ORGS = ("acme", "globex")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class LiveWorkforce:
    url: str
    #: Each org's super admin ``SSWS`` token, as ``workforce init --json`` printed it.
    tokens: dict[str, str]
    data_dir: Path

    def org_url(self, org: str) -> str:
        return f"{self.url}/orgs/{org}"


@pytest.fixture(scope="session")
def live_workforce(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveWorkforce]:
    data_dir = tmp_path_factory.mktemp("live-workforce")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "EXPRESSWAY_DATA_DIR": str(data_dir),
        "EXPRESSWAY_WORKFORCE_PUBLIC_URL": url,
    }
    env.pop("EXPRESSWAY_WORKFORCE_DATABASE_URL", None)
    cli = [sys.executable, "-m", "expressway.cli", "workforce"]
    tokens = {}
    for org in ORGS:
        init = subprocess.run(  # noqa: S603 - our own CLI
            [*cli, "init", "--org", org, "--json"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        tokens[org] = json.loads(init.stdout)["api_token"]
    log = (data_dir / "server.log").open("w")
    server = subprocess.Popen(  # noqa: S603 - our own CLI
        [*cli, "serve", "--port", str(port), "--public-url", url],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if httpx.get(f"{url}/orgs/acme/oauth2/v1/keys").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((data_dir / "server.log").read_text())
            time.sleep(0.1)
        yield LiveWorkforce(url, tokens, data_dir)
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()
