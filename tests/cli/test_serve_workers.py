"""``expressway tenant serve --workers 2``: two processes on one database, each answering, and a
change made through one seen by the other within the token endpoint's cache window."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from expressway.tenant.authn import hot_rows
from tests.interop.conftest import (
    client_credentials,
    free_port,
    initialise_tenant,
    tenant_environment,
)

CLI = [sys.executable, "-m", "expressway.cli"]
API = "https://workers.example/api"


def _children(pid: int) -> list[str]:
    """The command lines of ``pid``'s child processes."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            if parent == pid:
                found.append((stat.parent / "cmdline").read_text().replace("\0", " "))
        except (OSError, IndexError, ValueError):
            continue
    return found


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[tuple[str, dict[str, str], subprocess.Popen[bytes]]]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = tenant_environment(tmp_path, url)
    admin = initialise_tenant(env)
    log_path = tmp_path / "serve.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(  # noqa: S603 - our own CLI
            [*CLI, "tenant", "serve", "--port", str(port), "--public-url", url, "--workers", "2"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        # Generous: two processes importing everything on a loaded 2-core machine.
        deadline = time.monotonic() + 150
        while len([c for c in _children(server.pid) if "spawn_main" in c]) < 2 or not _up(url):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(log_path.read_text())
            time.sleep(0.2)
        yield url, admin, server
    finally:
        server.terminate()
        server.wait(timeout=20)


def _up(url: str) -> bool:
    try:
        return httpx.get(f"{url}/.well-known/jwks.json", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _token(url: str, admin: dict[str, str], audience: str) -> httpx.Response:
    # A new connection each time, so that both workers' accept loops get requests.
    return client_credentials(f"{url}/oauth/token", admin, audience)


def test_two_workers_serve_and_a_removed_grant_is_refused_within_the_window(
    two_workers: tuple[str, dict[str, str], subprocess.Popen[bytes]],
) -> None:
    url, admin, server = two_workers
    workers = [c for c in _children(server.pid) if "spawn_main" in c]
    assert len(workers) == 2

    management = httpx.Client(
        base_url=f"{url}/api/v2",
        headers={
            "Authorization": f"Bearer {_token(url, admin, f'{url}/api/v2/').json()['access_token']}"
        },
        timeout=30,
    )
    with management:
        created = management.post(
            "/resource-servers",
            json={"identifier": API, "name": "Workers API", "scopes": [{"value": "read:x"}]},
        )
        assert created.status_code == 201, created.text
        grant = management.post(
            "/client-grants",
            json={"client_id": admin["client_id"], "audience": API, "scope": ["read:x"]},
        )
        assert grant.status_code == 201, grant.text
        # Every request succeeds, whichever worker takes it.
        assert all(_token(url, admin, API).status_code == 200 for _ in range(8))

        assert management.delete(f"/client-grants/{grant.json()['id']}").status_code == 204
    # The worker that made the change saw it at once; the other within the window.
    time.sleep(hot_rows.TTL_SECONDS + 0.2)
    refused = [_token(url, admin, API) for _ in range(8)]
    assert {answer.status_code for answer in refused} == {403}
    assert {answer.json()["error"] for answer in refused} == {"unauthorized_client"}
