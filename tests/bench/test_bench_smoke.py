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


def run_quick(
    name: str, results: Path, *, dated: bool = True, timeout: float = 240
) -> dict[str, Any]:
    done = subprocess.run(  # noqa: S603 - our own script
        [sys.executable, str(RUN), "--quick", "--results", str(results), name],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
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
    expected = {"expressway", "oidc-provider"} if NODE_MODULES.exists() else {"expressway"}
    assert {run["server"] for run in document["runs"]} == expected
    for run in document["runs"]:
        assert run["requests"] > 0
        assert run["non_2xx"] == 0
        assert run["token"]["alg"] == "RS256"
        # Every connection of the load was seen held by one of the server's processes.
        assert sum(run["connections_per_process"]) == document["connections"]
        # Each run's share is of the ceiling timed around that run.
        assert run["rs256_ceiling_per_core"] > 0
        assert run["share_of_rs256_ceiling_per_core"] == pytest.approx(
            run["requests_per_second_per_core"] / run["rs256_ceiling_per_core"], abs=0.002
        )
    # Two rounds, the second in the other order, and each server's figures their medians.
    assert document["rounds"] == 2
    order = [(run["round"], run["server"]) for run in document["runs"]]
    first = [server for turn, server in order if turn == 1]
    assert [server for turn, server in order if turn == 2] == first[::-1]
    for server, figures in document["medians"].items():
        own = [run for run in document["runs"] if run["server"] == server]
        assert figures["runs"] == len(own) == 2
        shares = sorted(run["share_of_rs256_ceiling_per_core"] for run in own)
        assert figures["share_range"] == shares
        assert figures["share_of_rs256_ceiling_per_core"] == pytest.approx(
            sum(shares) / 2, abs=0.001
        )
    if "oidc-provider" in expected:
        by_round = document["expressway_over_oidc_provider_by_round"]["expressway"]
        assert len(by_round) == 2
        assert document["expressway_over_oidc_provider"]["expressway"] == pytest.approx(
            sum(by_round) / 2, abs=0.006
        )


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_the_token_instructions_are_counted_by_library(tmp_path: Path) -> None:
    """Issue 9.1, what bounds the share: every counted token issued, and its instructions split
    between the RSA sign and verify and the rest, adding up."""
    document = run_quick("token_instructions", tmp_path)
    assert document["tokens"] == 20
    libraries = document["by_library_per_token"]
    assert set(libraries) <= {"cryptography", "interpreter", "sqlite", "other"}
    # An RS256 sign alone is millions of instructions; the rest is Python's work on the request.
    assert libraries["cryptography"] > 1_000_000
    assert libraries["interpreter"] > 100_000
    assert document["beside_rsa_per_token"] == pytest.approx(
        document["instructions_per_token"] - libraries["cryptography"], abs=2
    )
    assert 0.5 < document["rsa_share_of_instructions"] < 1


@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_an_express_configure_runs_instructions_are_counted_by_server_and_library(
    tmp_path: Path,
) -> None:
    """Issue 9.3, what bounds the p50: a counted run went through, and each server's count is
    split by library, the password's hash at the tenant alone."""
    # Two servers start under callgrind, a minute each on a busy machine.
    document = run_quick("flow_instructions", tmp_path, timeout=900)
    assert document["runs"] == 1
    tenant, workforce = document["tenant"], document["workforce"]
    for server in (tenant, workforce):
        libraries = server["by_library_per_run"]
        assert set(libraries) <= {"argon2", "cryptography", "interpreter", "sqlite", "other"}
        assert server["instructions_per_run"] == pytest.approx(sum(libraries.values()), abs=5)
        # Each side signs and checks at least one RS256 JWT a run: millions of instructions.
        assert libraries["cryptography"] > 1_000_000
        assert libraries["interpreter"] > 1_000_000
    # One Argon2id verify a run (7 MiB, 5 passes: well over a hundred million instructions),
    # and only at the tenant.
    assert tenant["by_library_per_run"]["argon2"] > 50_000_000
    assert "argon2" not in workforce["by_library_per_run"]


def test_the_express_configure_benchmark_times_successful_runs(tmp_path: Path) -> None:
    """Issue 9.3: every timed Express Configure SSO run ends in HTTP 200."""
    document = run_quick("express_configure", tmp_path)
    assert document["runs"] == 2
    assert document["p50_ms"] > 0
    # The scripted browser's CPU is told apart from the servers'.
    assert document["browser_cpu_ms_per_run"] > 0
    assert document["tenant_cpu_ms_per_run"] > 0


def test_the_customers_benchmark_times_both_paths_at_each_size(tmp_path: Path) -> None:
    """Express Configure SSO and Home Realm Discovery, timed with one customer and with more
    inserted between the sizes; every run succeeded (the benchmark stops at one that did not)."""
    document = run_quick("customers", tmp_path)
    assert [size["customers"] for size in document["sizes"]] == [1, 20]
    assert document["sizes"][1]["seed_seconds"] > 0
    for size in document["sizes"]:
        assert size["express_configure_sso"]["p50_ms"] > 0
        assert size["home_realm_discovery"]["p50_ms"] > 0
    assert set(document["p50_ratio_largest_over_smallest"]) == {
        "express_configure_sso",
        "home_realm_discovery",
    }


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


def test_the_scim_comparison_runs_against_expressway_and_scim2_server(tmp_path: Path) -> None:
    """Issue 9.2: both servers take the POSTed users, grow in bulk past them, and answer every
    lookup and list page with the right counts (each answer is checked as it comes)."""
    document = run_quick("scim_compare", tmp_path)
    assert set(document["servers"]) == {"expressway", "scim2-server"}
    assert document["sizes"] == [100, 300]
    operations = [row["operation"] for row in document["rows"]]
    assert operations == [
        "lookup @ 100",
        "list, first page @ 100",
        "list, deep page @ 100",
        "lookup @ 300",
        "list, first page @ 300",
        "list, deep page @ 300",
        "create (150 POSTs)",
    ]
    sent = {"create": 150, "lookup": 5, "list,": 3}  # the QUICK arguments in bench/run
    for row in document["rows"]:
        expected = sent[row["operation"].split()[0]]
        for server in ("expressway", "scim2-server"):
            assert row[server]["requests"] == expected
            assert row[server]["p50_ms"] > 0
    for server in document["servers"].values():
        assert set(server["bulk_seconds"]) == {"300"}, "300 users is past the 150 POSTed"
    assert document["lookup_p50_ratio"]["expressway"] > 0


def test_the_soak_runs_every_kind_of_work_without_an_error(tmp_path: Path) -> None:
    """Issue 10 (soak): logins, both kinds of client_credentials, SCIM writes and Express
    Configure SSO side by side, every request answered as expected, each server read from /proc."""
    document = run_quick("soak", tmp_path)
    totals = document["totals"]
    assert set(totals) == {"login", "token_pkjwt", "token_secret", "scim", "express_configure"}
    for kind, total in totals.items():
        assert total["requests"] > 0, kind
        assert total["errors"] == 0, (kind, total["first_errors"])
    assert document["verdict"]["ok"]
    assert document["intervals"]
    for service in document["services"].values():
        assert service["rss_end_mb"] > 10
        assert service["fds_end"] > 0
    assert document["database_mb"]["end"]["tenant"] > 0


@pytest.mark.postgres
@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed")
def test_the_scaleout_benchmark_loads_one_then_two_tenant_processes(tmp_path: Path) -> None:
    """Issue 9 (scale-out): one tenant process on PostgreSQL, then two with one wrk each; every
    pre-signed assertion answered with a token, each process's CPU and RSS read."""
    from tests.databases import require_postgres

    require_postgres()
    document = run_quick("scaleout_tokens", tmp_path)
    assert [run["processes"] for run in document["runs"]] == [1, 2]
    for run in document["runs"]:
        assert len(run["per_process"]) == run["processes"]
        assert run["non_2xx"] == 0
        assert run["socket_errors"] == 0
        for process in run["per_process"]:
            assert process["requests"] > 0, "every process answered tokens"
            assert process["rss_peak_under_load_mb"] > 10
    assert document["runs"][1]["requests"] == sum(
        p["requests"] for p in document["runs"][1]["per_process"]
    )


@pytest.mark.postgres
def test_the_provisioning_benchmark_runs_two_workforce_replicas_on_postgresql(
    tmp_path: Path,
) -> None:
    """Issue 9 (scale-out): two workforce processes on one PostgreSQL database push every
    assigned person once between them; each process's CPU is read."""
    from tests.databases import require_postgres

    require_postgres()
    result = tmp_path / "provisioning.json"
    done = subprocess.run(  # noqa: S603 - our own script
        [
            sys.executable,
            str(ROOT / "bench" / "provisioning.py"),
            "--users",
            "5",
            "--database",
            "postgresql",
            "--workforce-replicas",
            "2",
            "--json",
            str(result),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    document = json.loads(result.read_text())
    assert (document["database"], document["workforce_replicas"]) == ("postgresql", 2)
    assert document["failed"] == 0
    assert document["jobs"] >= 5
    assert len(document["workforce_cpu_ms_per_user_by_replica"]) == 2
    assert len(document["rss_mb"]["workforce"]) == 2
