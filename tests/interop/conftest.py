"""A real tenant server for interop tests: ``expressway tenant init`` then ``tenant serve`` as a
subprocess on a free port with a fresh SQLite database, driven by the official Auth0 SDK."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from auth0.management import Auth0

pytestmark = pytest.mark.interop


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class LiveTenant:
    url: str
    client_id: str
    client_secret: str
    data_dir: Path

    @property
    def management_audience(self) -> str:
        return f"{self.url}/api/v2/"

    def token(self) -> str:
        response = httpx.post(
            f"{self.url}/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": self.client_id,
                "client_secret": self.client_secret,
                "audience": self.management_audience,
            },
        )
        response.raise_for_status()
        token: str = response.json()["access_token"]
        return token

    def sdk(self, http: httpx.Client) -> Auth0:
        """The official Auth0 Management SDK, pointed at this tenant."""
        return Auth0(
            base_url=f"{self.url}/api/v2", token=self.token(), max_retries=0, httpx_client=http
        )


CLI = [sys.executable, "-m", "expressway.cli"]


def tenant_environment(
    data_dir: Path, public_url: str, database_url: str | None = None
) -> dict[str, str]:
    env = {
        **os.environ,
        "EXPRESSWAY_DATA_DIR": str(data_dir),
        "EXPRESSWAY_TENANT_PUBLIC_URL": public_url,
    }
    env.pop("EXPRESSWAY_TENANT_DATABASE_URL", None)
    if database_url is not None:
        env["EXPRESSWAY_TENANT_DATABASE_URL"] = database_url
    return env


def initialise_tenant(env: dict[str, str]) -> dict[str, str]:
    """``expressway tenant init --json``: the admin client's id and secret."""
    init = subprocess.run(  # noqa: S603 - our own CLI
        [*CLI, "tenant", "init", "--json"], env=env, capture_output=True, text=True, check=True
    )
    created: dict[str, str] = json.loads(init.stdout)
    return created


def client_credentials(token_url: str, admin: dict[str, str], audience: str) -> httpx.Response:
    """The token endpoint's answer to the admin client that :func:`initialise_tenant` made,
    asking for ``audience``; each call on a new connection."""
    return httpx.post(
        token_url,
        data={
            "grant_type": "client_credentials",
            "client_id": admin["client_id"],
            "client_secret": admin["client_secret"],
            "audience": audience,
        },
        timeout=30,
    )


def management_token(token_url: str, admin: dict[str, str], audience: str) -> str:
    """An access token for the Management API (``audience``) from the admin client that
    :func:`initialise_tenant` made, asked of the token endpoint at ``token_url``."""
    answer = client_credentials(token_url, admin, audience)
    assert answer.status_code == 200, answer.text
    token: str = answer.json()["access_token"]
    return token


@contextmanager
def tenant_server(
    env: dict[str, str], port: int, public_url: str, log_path: Path, workers: int = 1
) -> Iterator[str]:
    """``expressway tenant serve`` (with ``--workers`` processes) as a process of its own;
    yields its own URL once it answers."""
    own_url = f"http://127.0.0.1:{port}"
    command = [*CLI, "tenant", "serve", "--port", str(port), "--public-url", public_url]
    with log_path.open("w") as log:
        server = subprocess.Popen(  # noqa: S603 - our own CLI
            [*command, "--workers", str(workers)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            # Generous for several processes importing everything on a loaded machine.
            deadline = time.monotonic() + 90 * workers
            while True:
                try:
                    if httpx.get(f"{own_url}/.well-known/jwks.json").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(log_path.read_text())
                time.sleep(0.1)
            yield own_url
        finally:
            server.terminate()
            server.wait(timeout=10)


@pytest.fixture(scope="session")
def live_tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveTenant]:
    data_dir = tmp_path_factory.mktemp("live-tenant")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = tenant_environment(data_dir, url)
    created = initialise_tenant(env)
    with tenant_server(env, port, url, data_dir / "server.log"):
        yield LiveTenant(url, created["client_id"], created["client_secret"], data_dir)


@pytest.fixture
def sdk(live_tenant: LiveTenant) -> Iterator[Auth0]:
    """The official Auth0 Management SDK with an admin token for the live tenant."""
    with httpx.Client(timeout=30) as http:
        yield live_tenant.sdk(http)
