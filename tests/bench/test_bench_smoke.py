"""The benchmarks still run: ``bench/run --quick`` runs each one in a tiny mode (a few requests,
about a second of load) against real servers and writes its JSON."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUN = ROOT / "bench" / "run"
NODE_MODULES = ROOT / "tests" / "interop" / "node" / "node_modules"


def run_quick(name: str, results: Path, *, dated: bool = True) -> dict[str, Any]:
    done = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, str(RUN), "--quick", "--results", str(results), name],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    document: dict[str, Any] = json.loads((results / f"{name}.json").read_text())
    assert document["benchmark"] == name
    if dated:
        assert "date" in document["machine"]
    return document


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_the_token_benchmark_runs_against_expressway_and_oidc_provider(tmp_path: Path) -> None:
    """Issue 9.1: both servers answer every pre-signed assertion with an RS256 token."""
    document = run_quick("token_endpoint", tmp_path)
    runs = {run["server"]: run for run in document["runs"]}
    expected = {"expressway", "oidc-provider"} if NODE_MODULES.exists() else {"expressway"}
    assert set(runs) == expected
    for run in runs.values():
        assert run["requests"] > 0
        assert run["non_2xx"] == 0
        assert run["token"]["alg"] == "RS256"


def test_the_express_configure_benchmark_times_successful_runs(tmp_path: Path) -> None:
    """Issue 9.3: every timed Express Configure SSO run ends in HTTP 200."""
    document = run_quick("express_configure", tmp_path)
    assert document["runs"] == 2
    assert document["p50_ms"] > 0


def test_the_password_login_benchmark_counts_logins(tmp_path: Path) -> None:
    """Issue 9.4: logins complete, and the Argon2id parameters in use are stated."""
    document = run_quick("password_logins", tmp_path)
    assert document["http"]["logins"] > 0
    assert document["argon2id"]["expressway"]["memory_cost"] > 0


def test_the_memory_benchmark_reads_each_service(tmp_path: Path) -> None:
    """Issue 9.5: the idle RSS of the tenant, the workforce IdP and the sample app."""
    document = run_quick("memory", tmp_path)
    services = {s["service"]: s for s in document["services"]}
    assert set(services) == {"tenant", "workforce", "sample app"}
    assert all(s["rss_idle_mb"] > 10 for s in services.values())


@pytest.mark.skipif(
    not (ROOT / "bench" / "scim_lookup.py").exists(), reason="no SCIM lookup benchmark"
)
def test_the_scim_lookup_benchmark_runs(tmp_path: Path) -> None:
    """Issue 9.2: ``userName eq`` lookups answer."""
    document = run_quick("scim_lookup", tmp_path, dated=False)
    assert document["results"]


def test_the_provisioning_benchmark_pushes_every_user(tmp_path: Path) -> None:
    """Issue 6: users provisioned per second end to end, every job completed."""
    document = run_quick("provisioning", tmp_path)
    assert document["users"] == 5
    assert document["failed"] == 0
    assert document["jobs"] >= 5, "one push per person assigned (the demo's own two as well)"
    assert document["users_per_second"] > 0
