"""Token throughput with one and with two tenant processes on one PostgreSQL database:
``client_credentials`` with ``private_key_jwt`` and RS256 access tokens, as in
``token_endpoint.py``, but every ``jti``, throttle counter and token row in PostgreSQL, which is
how replicas share what they have seen.

The two processes are two ``expressway tenant serve`` on ports of their own with the same public
URL (as behind a load balancer). ``wrk`` cannot spread one run over two addresses, so the
two-process run is one ``wrk`` per process, started together, each with half the connections and
its own pre-signed assertions; their requests are summed, and their latencies reported per
process (the summary's percentiles are the worse of the two). No proxy stands in between: on two
cores a Python proxy would be the bottleneck, and it would measure itself.

    .venv/bin/python bench/scaleout_tokens.py [--seconds 10] [--connections 16]

The database is made for the run on the PostgreSQL server of ``EXPRESSWAY_BENCH_POSTGRES_URL``
(default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``) and dropped afterwards.
"""

from __future__ import annotations

import argparse
import math
import os
import secrets
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _harness import (
    CLI,
    Meter,
    Server,
    WrkResult,
    expressway_environment,
    free_port,
    fresh_database,
    initialise_tenant,
    rss_mb,
    run_wrk,
    serve,
    write_json,
)
from token_endpoint import FORM, Signer, prepare, rs256_ceiling, sign_bodies

WARMUP_ASSERTIONS = 1000


@dataclass
class Replica:
    name: str
    server: Server

    @property
    def token_endpoint(self) -> str:
        return f"{self.server.url}/oauth/token"


def sign_for(
    replicas: list[Replica], signer: Signer, scratch: Path, label: str, count: int
) -> list[Path]:
    """``count`` fresh assertions for each replica, signed before any load starts."""
    return [
        sign_bodies(signer, count, scratch / f"{label}-{replica.name}.txt") for replica in replicas
    ]


def load(
    replicas: list[Replica], bodies: list[Path], label: str, *, connections: int, seconds: float
) -> list[WrkResult]:
    """One ``wrk`` per replica, all at once, with ``connections`` shared out, each sending its
    own ``bodies``."""
    share = max(1, connections // len(replicas))
    results: list[WrkResult | None] = [None] * len(replicas)

    def drive(index: int) -> None:
        results[index] = run_wrk(
            replicas[index].token_endpoint,
            bodies[index],
            connections=share,
            seconds=seconds,
            headers=FORM,
            status=200,
        )

    threads = [threading.Thread(target=drive, args=(i,)) for i in range(len(replicas))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    finished = [result for result in results if result is not None]
    if len(finished) != len(replicas):
        raise RuntimeError(f"a wrk run of {label} failed")
    return finished


def measure(
    replicas: list[Replica],
    signer: Signer,
    scratch: Path,
    *,
    connections: int,
    seconds: float,
    warmup: int,
    most_per_second: float,
) -> dict[str, Any]:
    """``most_per_second``: the most tokens a second the machine can sign (the RS256 ceiling on
    every core), which bounds the assertions a run can need."""
    label = f"{len(replicas)}p"
    warm_bodies = sign_for(
        replicas, signer, scratch, f"{label}-warm", max(1, warmup // len(replicas))
    )
    warm = load(replicas, warm_bodies, f"{label}-warm", connections=connections, seconds=seconds)
    if any(r.non_2xx or r.socket_errors or r.failed_checks for r in warm):
        raise RuntimeError(f"errors during the warm-up of {label}: {warm}")
    pace = sum(r.per_second for r in warm)
    # Enough assertions for twice the warm-up's pace over the whole run, shared out. A warm-up
    # that used up its assertions says nothing of the pace (wrk reports the whole duration however
    # early its threads stopped): the run then gets as many as the machine could sign.
    if not all(r.bodies_left for r in warm):
        pace = most_per_second / 2
    count = math.ceil(pace * seconds * 2 / len(replicas)) + 200
    bodies = sign_for(replicas, signer, scratch, label, count)
    idle = {replica.name: rss_mb(replica.server.pid) for replica in replicas}
    # Metered from the first request to the last: the signing above is the load generator's work.
    meters = [Meter(replica.server.pid).start() for replica in replicas]
    results = load(replicas, bodies, label, connections=connections, seconds=seconds)
    for meter in meters:
        meter.stop()
    processes = [
        {
            "process": replica.name,
            "requests": result.requests,
            "requests_per_second": round(result.per_second, 1),
            "p50_ms": round(result.p50_ms, 2),
            "p95_ms": round(result.p95_ms, 2),
            "p99_ms": round(result.p99_ms, 2),
            "non_2xx": result.non_2xx + result.failed_checks,
            "socket_errors": result.socket_errors,
            "assertions_left": result.bodies_left,
            "cpu_cores_used": round(meter.cores_used, 2),
            "rss_idle_mb": round(idle[replica.name], 1),
            "rss_peak_under_load_mb": round(meter.peak_rss_mb, 1),
        }
        for replica, result, meter in zip(replicas, results, meters, strict=True)
    ]
    total = sum(r.per_second for r in results)
    cores = sum(m.cores_used for m in meters)
    return {
        "processes": len(replicas),
        "connections": connections,
        "requests": sum(r.requests for r in results),
        "requests_per_second": round(total, 1),
        "p50_ms": round(max(r.p50_ms for r in results), 2),
        "p95_ms": round(max(r.p95_ms for r in results), 2),
        "p99_ms": round(max(r.p99_ms for r in results), 2),
        "non_2xx": sum(r.non_2xx + r.failed_checks for r in results),
        "socket_errors": sum(r.socket_errors for r in results),
        "cpu_cores_used": round(cores, 2),
        "requests_per_second_per_core": round(total / cores, 1) if cores else 0.0,
        "per_process": processes,
    }


@contextmanager
def replica(
    name: str, env: Mapping[str, str], public_url: str, port: int, log: Path
) -> Iterator[Replica]:
    url = f"http://127.0.0.1:{port}"
    command = [*CLI, "tenant", "serve", "--port", str(port), "--public-url", public_url]
    with serve(command, env, url, "/.well-known/jwks.json", log) as server:
        yield Replica(name, server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10, help="length of each timed run")
    parser.add_argument("--connections", type=int, default=16, help="connections in all")
    parser.add_argument("--warmup", type=int, default=WARMUP_ASSERTIONS, help="warm-up requests")
    parser.add_argument("--json", type=Path, default=Path("bench/results/scaleout_tokens.json"))
    arguments = parser.parse_args()

    runs: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="scaleout-bench-") as directory, ExitStack() as stack:
        scratch = Path(directory)
        database = stack.enter_context(fresh_database())
        ports = [free_port(), free_port()]
        # The issuer of both processes: the address a balancer would have.
        public_url = f"http://127.0.0.1:{ports[0]}"
        env = expressway_environment(scratch, tenant=public_url)
        env["EXPRESSWAY_TENANT_DATABASE_URL"] = database
        env["EXPRESSWAY_SECRET_KEY"] = secrets.token_urlsafe(32)
        admin = initialise_tenant(env)
        first = stack.enter_context(
            replica("tenant-1", env, public_url, ports[0], scratch / "1.log")
        )
        signer = prepare(public_url, admin)
        options = {
            "connections": arguments.connections,
            "seconds": arguments.seconds,
            "warmup": arguments.warmup,
            "most_per_second": rs256_ceiling(0.5)["tokens_per_second_per_core"]
            * (os.cpu_count() or 1),
        }
        runs.append(measure([first], signer, scratch, **options))
        second = stack.enter_context(
            replica("tenant-2", env, public_url, ports[1], scratch / "2.log")
        )
        runs.append(measure([first, second], signer, scratch, **options))
    report = {
        "database": "postgresql",
        "connections": arguments.connections,
        "seconds": arguments.seconds,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "runs": runs,
        "two_over_one": round(runs[1]["requests_per_second"] / runs[0]["requests_per_second"], 2)
        if runs[0]["requests_per_second"]
        else None,
    }
    print_table(report)
    write_json(arguments.json, "scaleout_tokens", report)
    print(f"written to {arguments.json}")


def print_table(report: Mapping[str, Any]) -> None:
    print(
        f"{'processes':<10} {'req/s':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7} {'cores':>6}"
        f" {'req/s/core':>10} {'errors':>6}"
    )
    for run in report["runs"]:
        print(
            f"{run['processes']:<10} {run['requests_per_second']:>8} {run['p50_ms']:>7}"
            f" {run['p95_ms']:>7} {run['p99_ms']:>7} {run['cpu_cores_used']:>6}"
            f" {run['requests_per_second_per_core']:>10} {run['non_2xx'] + run['socket_errors']:>6}"
        )
        for process in run["per_process"]:
            print(
                f"  {process['process']:<8} {process['requests_per_second']:>8}"
                f" {process['p50_ms']:>7} {process['p95_ms']:>7} {process['p99_ms']:>7}"
                f" {process['cpu_cores_used']:>6}  RSS {process['rss_idle_mb']} MB idle,"
                f" {process['rss_peak_under_load_mb']} MB under load"
            )
    print(f"two processes / one: {report['two_over_one']}", file=sys.stdout)


if __name__ == "__main__":
    main()
