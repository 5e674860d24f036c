"""``deploy/Procfile`` as the deployment guide runs it: the release step (``tenant init``,
``workforce init``) against new PostgreSQL databases, then ``honcho start -c
tenant=2,workforce=2``. Each of the four replicas answers ``/healthz`` on the port honcho gave
it, and a SIGTERM to honcho stops them all."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.databases import postgres_database, require_postgres
from tests.scaleout.conftest import environment, run_json

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
PROCFILE = ROOT / "deploy" / "Procfile"
HONCHO = Path(sys.executable).with_name("honcho")


def free_base_port() -> int:
    """A base port ``p`` with ``p``, ``p + 1``, ``p + 100`` and ``p + 101`` all free."""
    for _ in range(50):
        # Below Linux's ephemeral range (32768-60999): a replica's outbound connections (to
        # PostgreSQL) take local ports from it, and one took workforce.1's port before it bound.
        base = 20000 + secrets.randbelow(12_600)
        ports = (base, base + 1, base + 100, base + 101)
        try:
            for port in ports:
                with socket.socket() as sock:
                    sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        return base
    raise RuntimeError("no free ports")


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


@pytest.mark.skipif(not HONCHO.exists(), reason="honcho is not installed in this environment")
def test_the_procfile_runs_two_replicas_of_each_service(tmp_path: Path) -> None:
    require_postgres()
    with postgres_database() as tenant_db, postgres_database() as workforce_db:
        env = environment(
            tmp_path,
            secret_key=secrets.token_urlsafe(32),
            tenant_database_url=tenant_db,
            workforce_database_url=workforce_db,
            tenant_public_url="https://login.expressway.test",
            workforce_public_url="https://idp.expressway.test",
        )
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        run_json(["tenant", "init"], env)
        run_json(["workforce", "init", "--org", "acme"], env)
        base = free_base_port()
        urls = [
            f"http://127.0.0.1:{port}/healthz" for port in (base, base + 1, base + 100, base + 101)
        ]
        log_path = tmp_path / "honcho.log"
        with log_path.open("wb") as log:
            honcho = subprocess.Popen(  # noqa: S603 - honcho on our own Procfile
                [
                    str(HONCHO),
                    "start",
                    "-f",
                    str(PROCFILE),
                    "-d",
                    str(tmp_path),
                    "-e",
                    os.devnull,
                    "-c",
                    "tenant=2,workforce=2",
                    "-p",
                    str(base),
                ],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            deadline = time.monotonic() + 120
            while not all(answers(url) for url in urls):
                assert honcho.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.2)
            for url in urls:
                assert httpx.get(url).json() == {"status": "ok", "database": "ok"}
        finally:
            honcho.send_signal(signal.SIGTERM)
            honcho.wait(timeout=30)
        assert not any(answers(url) for url in urls)
        output = log_path.read_text()
        for name in ("tenant.1", "tenant.2", "workforce.1", "workforce.2"):
            assert name in output
