"""``expressway tenant serve --workers 2``: two processes on one database, each answering, a
burst of connections spread over both, a worker that dies replaced without a connection lost,
and a change made through one seen by the other within the token endpoint's cache window."""

from __future__ import annotations

import gc
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from uvicorn.config import STARTUP_FAILURE

from expressway.cli import serving
from expressway.tenant.authn import hot_rows
from tests.interop.conftest import (
    client_credentials,
    free_port,
    initialise_tenant,
    tenant_environment,
)

CLI = [sys.executable, "-m", "expressway.cli"]
API = "https://workers.example/api"


def _child_processes(pid: int) -> dict[int, str]:
    """``pid``'s child processes and their command lines."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            if parent == pid:
                found[int(stat.parent.name)] = (
                    (stat.parent / "cmdline").read_text().replace("\0", " ")
                )
        except (OSError, IndexError, ValueError):
            continue
    return found


def _workers(server: subprocess.Popen[bytes]) -> list[int]:
    return [pid for pid, line in _child_processes(server.pid).items() if "spawn_main" in line]


#: States of ``/proc/net/tcp``.
ESTABLISHED, LISTEN = "01", "0A"


def _established(pid: int, port: int) -> int:
    """How many connections to ``port`` the process ``pid`` holds open."""
    return len(_sockets(pid, port, ESTABLISHED))


def _listening(server: subprocess.Popen[bytes], port: int) -> bool:
    """Whether every worker listens on ``port`` (with a socket of its own, each must)."""
    workers = _workers(server)
    return len(workers) == 2 and all(_sockets(pid, port, LISTEN) for pid in workers)


def _sockets(pid: int, port: int, state: str) -> set[str]:
    """The sockets (inodes) of local port ``port`` in ``state`` that the process ``pid`` holds
    (from ``/proc``)."""
    inodes = set()
    try:
        descriptors = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:  # the process is gone
        return set()
    for fd in descriptors:
        try:
            target = str(fd.readlink())
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return _on_port(port, state) & inodes


def _on_port(port: int, state: str) -> set[str]:
    """The sockets (inodes) of local port ``port`` in ``state``, whoever holds them."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == state:
                found.add(fields[9])
    return found


def _open_answered(url: str, count: int, stack: ExitStack) -> None:
    """Open ``count`` connections at once, then have each answer a request, keeping them open."""
    address = urlsplit(url)
    host, port = address.hostname or "127.0.0.1", address.port or 80
    connections = [
        stack.enter_context(socket.create_connection((host, port), timeout=5)) for _ in range(count)
    ]
    request = f"GET /healthz HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
    for connection in connections:
        connection.sendall(request)
    for connection in connections:
        # Raises TimeoutError when a connection waits in a socket nobody accepts from.
        assert connection.recv(64).startswith(b"HTTP/1.1 200"), "a connection was not answered"


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
        while not _listening(server, port) or not _up(url):
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
    assert len(_workers(server)) == 2

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


def test_a_burst_of_connections_is_spread_over_both_workers(
    two_workers: tuple[str, dict[str, str], subprocess.Popen[bytes]],
) -> None:
    url, _, server = two_workers
    port = urlsplit(url).port or 80
    first, second = (_sockets(pid, port, LISTEN) for pid in _workers(server))
    # A listening socket of its own for each worker (uvicorn shares one between them all).
    assert first
    assert second
    assert not first & second
    with ExitStack() as stack:
        _open_answered(url, 32, stack)
        held = {pid: _established(pid, port) for pid in _workers(server)}
    # The kernel picks a worker's socket by a hash of the connection's addresses: 32
    # connections split about evenly (fewer than 4 on one: p < 1e-5).
    assert sum(held.values()) == 32, held
    assert min(held.values()) >= 4, held


def test_a_worker_that_dies_loses_no_new_connection_and_is_replaced(
    two_workers: tuple[str, dict[str, str], subprocess.Popen[bytes]],
) -> None:
    url, _, server = two_workers
    port = urlsplit(url).port or 80
    killed, survivor = _workers(server)
    # The supervisor keeps no copy of a worker's socket: the kernel hands connections to a
    # socket as long as any process holds it, and nobody would accept them from a dead
    # worker's.
    assert not _sockets(server.pid, port, LISTEN)
    os.kill(killed, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while _on_port(port, LISTEN) != _sockets(survivor, port, LISTEN):
        assert time.monotonic() < deadline, "the dead worker's socket is still listening"
        time.sleep(0.01)
    # Until the replacement listens, the kernel hands every new connection to the survivor.
    with ExitStack() as stack:
        _open_answered(url, 16, stack)
        assert _established(survivor, port) == 16
    deadline = time.monotonic() + 150
    while not (replacement := [pid for pid in _workers(server) if pid not in (killed, survivor)]):
        assert time.monotonic() < deadline, "the supervisor did not replace the worker"
        time.sleep(0.2)
    with ExitStack() as stack:
        while True:  # until the replacement has started listening
            _open_answered(url, 16, stack)
            if _established(replacement[0], port) > 0:
                break
            assert time.monotonic() < deadline, "the replacement never took a connection"
            time.sleep(0.5)


def test_serve_refuses_a_port_something_listens_on(tmp_path: Path) -> None:
    # With SO_REUSEPORT the workers could otherwise join another server's sockets and share
    # its connections; uvicorn fails to bind and so does serve.
    with socket.create_server(("127.0.0.1", 0), reuse_port=True) as taken:
        port = taken.getsockname()[1]
        url = f"http://127.0.0.1:{port}"
        env = tenant_environment(tmp_path, url)
        initialise_tenant(env)
        started = subprocess.run(  # noqa: S603 - our own CLI
            [*CLI, "tenant", "serve", "--port", str(port), "--public-url", url, "--workers", "2"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert started.returncode == STARTUP_FAILURE
    assert "Address already in use" in started.stderr + started.stdout


def test_a_serving_process_switches_threads_sooner_and_collects_cycles_less_often() -> None:
    """What :func:`serving.tune_interpreter` sets in every serving process (its docstring has
    the measurements): a 0.5 ms thread switch interval, and the cycle collector at 20,000."""
    before = gc.get_threshold(), sys.getswitchinterval()
    try:
        serving.tune_interpreter()
        assert sys.getswitchinterval() == pytest.approx(0.0005)
        assert gc.get_threshold() == (20_000, 20, 20)
    finally:
        gc.set_threshold(*before[0])
        sys.setswitchinterval(before[1])
