"""SCIM side by side with scim2-server: 10,000 users created with ``POST /Users``, then
``userName eq`` lookups and list pages at 1,000 and 100,000 users, the same requests to both.

- Expressway: ``expressway tenant serve`` on SQLite, a connection with SCIM on (made through the
  Management API) and its bearer token; past the POSTed users, the rest are inserted in bulk
  straight into the tenant's database (as ``scim_lookup.py`` does).
- scim2-server (python-scim, in-memory storage, its default): its ASGI application under uvicorn
  (the HTTP server Expressway runs on), the RFC 7643 User schema with the enterprise extension
  (Expressway's), a static bearer token. It keeps users in memory only, so to reach a size past
  the POSTed users its process is started again with every user created in-process through its
  storage, each body validated by its service as a POST's is.

``wrk`` sends the same requests to both (``bench/wrk_requests.lua``: each once, over
``--concurrency`` connections kept alive) and checks every answer; only those are timed. Each
server's CPU per request is read from ``/proc``. Both servers are up at once and take turns
(:class:`Turns`): the creates in chunks of :data:`CREATE_CHUNK`, then each set of reads.

    .venv/bin/python bench/scim_compare.py [--sizes 1000 100000] [--create 10000] [--requests 500]
"""

from __future__ import annotations

import argparse
import hmac
import json
import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from _harness import (
    Meter,
    Server,
    free_port,
    percentile,
    profiled,
    request_line,
    run_wrk,
    tenant,
    wait_until_up,
    write_json,
)
from scim_lookup import scim_connection, seed, user_name

HERE = Path(__file__).resolve()
PAGE = 100
#: How long wrk waits for one answer before counting it a socket error and stopping the run.
ANSWER_TIMEOUT_SECONDS = 60
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
#: A request: method, path (relative to the SCIM base URL), query, JSON body.
Request = tuple[str, str, dict[str, str] | None, dict[str, Any] | None]


def user_body(index: int) -> dict[str, Any]:
    """The user Okta would push: the same shape ``scim_lookup.seed`` stores."""
    name = user_name(index)
    return {
        "schemas": [USER_SCHEMA],
        "userName": name,
        "externalId": f"00u{index:010d}",
        "name": {"givenName": "Employee", "familyName": str(index)},
        "emails": [{"value": name.lower(), "type": "work", "primary": True}],
        "active": True,
    }


# --- the load -------------------------------------------------------------------------------


@dataclass
class Timed:
    """The latencies (ms) of a set of requests and the time they took together."""

    latencies: list[float] = field(default_factory=list)
    seconds: float = 0.0
    cpu_seconds: float = 0.0

    def add(self, other: Timed) -> None:
        self.latencies += other.latencies
        self.seconds += other.seconds
        self.cpu_seconds += other.cpu_seconds

    def figures(self) -> dict[str, Any]:
        count = len(self.latencies)
        return {
            "requests": count,
            "per_second": round(count / self.seconds, 1) if self.seconds else 0.0,
            "p50_ms": round(statistics.median(self.latencies), 2),
            "p95_ms": round(percentile(self.latencies, 0.95), 2),
            "p99_ms": round(percentile(self.latencies, 0.99), 2),
            "server_cpu_ms_per_request": round(self.cpu_seconds * 1000 / count, 2),
        }


@dataclass(frozen=True)
class Check:
    """What every answer must be: its status, and Lua patterns its body must hold, each the
    number of times given (checked by ``bench/wrk_requests.lua``)."""

    status: int
    patterns: tuple[tuple[int, str], ...] = ()


def send(
    subject: Subject,
    requests: list[Request],
    concurrency: int,
    check: Check,
    *,
    seconds_each: float = 0.02,
) -> Timed:
    """Send each of ``requests`` once with ``wrk``, ``concurrency`` connections kept alive, and
    check every answer; the server's CPU is read meanwhile. The run fails when the answers
    take longer than a minute and ``seconds_each`` a request."""
    base = urlsplit(subject.base)
    lines = []
    for method, path, query, body in requests:
        target = base.path + path + (f"?{urlencode(query)}" if query else "")
        lines.append(request_line(method, target, "" if body is None else json.dumps(body)))
    with tempfile.NamedTemporaryFile("w", suffix=".txt", prefix="scim-requests-") as listed:
        listed.write("\n".join(lines) + "\n")
        listed.flush()
        meter = Meter(subject.server.pid).start()
        result = run_wrk(
            subject.base,
            Path(listed.name),
            connections=concurrency,
            # Far longer than the requests take: wrk is stopped once each is answered.
            seconds=60 + len(requests) * seconds_each,
            headers={
                "Authorization": f"Bearer {subject.token}",
                "Content-Type": "application/scim+json",
            },
            status=check.status,
            checks=check.patterns,
            # scim2-server reads its whole store for a page: at 100,000 users, four connections
            # at once, its pages took 4.6 s at p50 and 9.6 s at p99 on a 2 vCPU AMD EPYC, and an
            # answer past wrk's usual 10 s stopped the run with nothing measured.
            timeout_seconds=ANSWER_TIMEOUT_SECONDS,
        )
        meter.stop()
    if result.bodies_left:
        raise RuntimeError(f"{subject.name}: not every request was answered in {result.seconds} s")
    if result.failed_checks or result.non_2xx or result.socket_errors:
        raise RuntimeError(
            f"{subject.name}: {result.failed_checks} answers failed their check, "
            f"{result.socket_errors} socket errors (an answer slower than "
            f"{ANSWER_TIMEOUT_SECONDS} s is one); first: {result.first_failure}"
        )
    return Timed(result.latencies_ms, result.seconds, meter.cpu_seconds)


def stored_users(subject: Subject) -> int:
    """How many users the server holds (``totalResults`` of an empty page)."""
    answer = httpx.get(
        f"{subject.base}/Users",
        params={"count": "0"},
        headers={"Authorization": f"Bearer {subject.token}"},
        timeout=60,
    )
    answer.raise_for_status()
    total: int = answer.json()["totalResults"]
    return total


CREATED = Check(201)
FOUND_ONE = Check(200, ((1, '"totalResults"%s*:%s*1%s*[,}]'),))


def full_page(size: int) -> Check:
    """A page of :data:`PAGE` users (fewer on a smaller list), with the list's total."""
    return Check(
        200,
        (
            (1, f'"totalResults"%s*:%s*{size}%s*[,}}]'),
            (min(PAGE, size), '"userName"%s*:'),
        ),
    )


# --- the two servers ------------------------------------------------------------------------


@dataclass
class Subject:
    """A server under test: its SCIM base URL, its bearer token, and how it grows in bulk."""

    name: str
    base: str
    token: str
    server: Server
    grow: Callable[[int, int], float]
    notes: dict[str, Any] = field(default_factory=dict)


@contextmanager
def expressway(scratch: Path) -> Iterator[Subject]:
    with tenant(scratch) as server:
        connection_id, connection_name, token = scim_connection(server.url, server.extra["admin"])
        database = f"sqlite:///{next(scratch.rglob('tenant*.db'))}"

        def grow(reached: int, size: int) -> float:
            return seed(database, connection_id, connection_name, size, start=reached)

        yield Subject(
            "expressway",
            f"{server.url}/scim/v2/connections/{connection_id}",
            token,
            server,
            grow,
            {"storage": "SQLite", "bulk": "rows inserted straight into the database"},
        )


@contextmanager
def scim2_server_process(scratch: Path, token: str, users: int) -> Iterator[Server]:
    """This script in ``--serve-scim2-server`` mode; ``users`` stored before it listens."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        str(HERE),
        "--serve-scim2-server",
        str(port),
        "--prefill",
        str(users),
    ]
    env = {**os.environ, "SCIM_COMPARE_TOKEN": token}
    log = scratch / f"scim2-server-{users}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - this script, no shell
            command, env=env, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            # Storing 100,000 users in-process takes minutes on a loaded machine.
            wait_until_up(f"{url}/v2/ServiceProviderConfig", process, log, timeout=1800)
            yield Server(url, process)
        finally:
            process.terminate()
            process.wait(timeout=30)


@contextmanager
def scim2_server(scratch: Path) -> Iterator[Subject]:
    token = secrets.token_urlsafe(32)
    with ExitStack() as stack:
        server = stack.enter_context(scim2_server_process(scratch, token, 0))
        subject = Subject(
            "scim2-server",
            f"{server.url}/v2",
            token,
            server,
            lambda reached, size: 0.0,
            {
                "storage": "in memory (InMemoryStorage, its default)",
                "bulk": "process restarted with every user created in-process through its storage",
            },
        )

        def grow(reached: int, size: int) -> float:
            started = time.perf_counter()
            stack.close()
            subject.server = stack.enter_context(scim2_server_process(scratch, token, size))
            subject.base = f"{subject.server.url}/v2"
            return time.perf_counter() - started

        subject.grow = grow
        yield subject


def serve_scim2_server(port: int, prefill: int) -> None:
    """Run scim2-server's ASGI application under uvicorn, ``prefill`` users already stored."""
    import uvicorn
    from scim2_models import ScimProvider, UnauthorizedException
    from scim2_server.applications.asgi import ASGIApplication
    from scim2_server.memory import AsyncInMemoryStorage, InMemoryStorage
    from scim2_server.requests import ScimRequest
    from scim2_server.service import ScimService
    from scim2_server.testserver.application import BEARER_TOKEN_SCHEME
    from scim2_server.utils import (
        load_default_resource_types,
        load_default_schemas,
        load_default_service_provider_config,
    )

    expected = os.environ["SCIM_COMPARE_TOKEN"].encode()

    class BearerApplication(ASGIApplication):
        def check_auth(self, request: ScimRequest) -> None:
            scheme, _, given = (request.header("Authorization") or "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), expected):
                raise UnauthorizedException

    config = load_default_service_provider_config()
    config.authentication_schemes = [*(config.authentication_schemes or []), BEARER_TOKEN_SCHEME]
    provider = ScimProvider.from_discovery(
        load_default_schemas().values(), load_default_resource_types().values(), config=config
    )
    service = ScimService(provider, secret=secrets.token_urlsafe(32))
    storage = InMemoryStorage()
    users = next(rt for rt in provider.resource_types if rt.name == "User")
    for index in range(prefill):
        body = json.dumps(user_body(index)).encode()
        storage.create(users, service.read_creation(users, body, "application/scim+json"))
    application = BearerApplication(AsyncInMemoryStorage(storage), provider, service)
    uvicorn.run(application, host="127.0.0.1", port=port, log_level="info")


# --- the run --------------------------------------------------------------------------------


def lookups(size: int, count: int) -> list[Request]:
    """``userName eq`` of random users, each in another case than stored (as Okta may send)."""
    rng = random.Random(size)  # noqa: S311 - which users are looked up, not a secret
    return [
        (
            "GET",
            "/Users",
            {"filter": f'userName eq "{user_name(rng.randrange(size)).upper()}"'},
            None,
        )
        for _ in range(count)
    ]


def pages(start_index: int, count: int) -> list[Request]:
    query = {"startIndex": str(start_index), "count": str(PAGE)}
    return [("GET", "/Users", query, None) for _ in range(count)]


#: POSTs sent to one server before the other takes its turn. The two servers' creates, and
#: then each set of reads, alternate (the order swapped every turn), so that a machine whose
#: speed drifts over a run slows both alike: the 2 vCPU machine of one round read the RS256
#: ceiling from 2,578 to 3,724 tokens a core-second over a session, and the same code's creates,
#: measured one server after the other, read 0.98x by rate in that round and 1.21x in a run of
#: the next session.
CREATE_CHUNK = 1_000


class Turns:
    """The servers in the order of the next turn: as given, then reversed, and so on."""

    def __init__(self, subjects: list[Subject]) -> None:
        self.subjects = subjects
        self.count = 0

    def next(self) -> list[Subject]:
        self.count += 1
        return self.subjects if self.count % 2 else self.subjects[::-1]


def read_sets(size: int, arguments: argparse.Namespace) -> dict[str, tuple[list[Request], Check]]:
    """Lookups, the first page and the last page."""
    deep = max(1, size - PAGE + 1)
    return {
        "lookup": (lookups(size, arguments.requests), FOUND_ONE),
        "list, first page": (pages(1, arguments.pages), full_page(size)),
        "list, deep page": (pages(deep, arguments.pages), full_page(size)),
    }


def measure(turns: Turns, size: int, arguments: argparse.Namespace) -> dict[str, dict[str, Timed]]:
    """Each set of reads, each server in turn, each after a warm-up: by server, by operation."""
    results: dict[str, dict[str, Timed]] = {subject.name: {} for subject in turns.subjects}
    for operation, (requests, check) in read_sets(size, arguments).items():
        # scim2-server answers a list page at 100,000 users in 2-4 s (it filters and sorts
        # every user in Python), which a minute and 20 ms a page did not always cover.
        each = 4.0 if operation.startswith("list") else 0.02
        for subject in turns.next():
            warm_up = requests[: min(20, len(requests))]
            send(subject, warm_up, arguments.concurrency, check, seconds_each=each)
            timed = send(subject, requests, arguments.concurrency, check, seconds_each=each)
            results[subject.name][operation] = timed
    return results


def run(subjects: list[Subject], arguments: argparse.Namespace) -> dict[str, Any]:
    """POST users up to each size (at most ``--create`` in all), grow in bulk past that, and
    measure at each size; the servers take turns (:class:`Turns`). By server's name."""
    turns = Turns(subjects)
    creation = {subject.name: Timed() for subject in subjects}
    rows: dict[str, dict[str, Any]] = {subject.name: {} for subject in subjects}
    bulk: dict[str, dict[str, float]] = {subject.name: {} for subject in subjects}
    reached = 0
    profiles: list[Path] = []

    def post_until(stop: int) -> None:
        nonlocal reached
        for start in range(reached, stop, CREATE_CHUNK):
            end = min(stop, start + CREATE_CHUNK)
            bodies: list[Request] = [
                ("POST", "/Users", None, user_body(i)) for i in range(start, end)
            ]
            for subject in turns.next():
                profile = None
                if arguments.profile is not None and subject.name == "expressway":
                    profile = arguments.profile.with_name(
                        f"{arguments.profile.name}.{len(profiles)}"
                    )
                    profiles.append(profile)
                with profiled(subject.server.pid, profile):
                    creation[subject.name].add(
                        send(subject, bodies, arguments.concurrency, CREATED)
                    )
        reached = max(reached, stop)
        for subject in subjects:
            if (held := stored_users(subject)) != reached:
                raise RuntimeError(f"{subject.name} holds {held} users, not {reached}")

    for size in sorted(arguments.sizes):
        post_until(min(size, arguments.create))
        if size > reached:
            for subject in subjects:
                bulk[subject.name][str(size)] = round(subject.grow(reached, size), 1)
            reached = size
        for name, timings in measure(turns, size, arguments).items():
            for operation, timed in timings.items():
                rows[name][f"{operation} @ {size}"] = timed.figures()
        print(f"   {size} users measured", flush=True)
    if reached < arguments.create:
        post_until(arguments.create)
    if profiles:
        # One file of collapsed stacks, as flamegraph.pl and speedscope read it.
        with arguments.profile.open("w") as merged:
            for part in profiles:
                merged.write(part.read_text())
                part.unlink()
    return {
        subject.name: {
            "rows": {
                **rows[subject.name],
                f"create ({arguments.create} POSTs)": creation[subject.name].figures(),
            },
            "bulk_seconds": bulk[subject.name],
            **subject.notes,
        }
        for subject in subjects
    }


def _ratio(theirs: float, ours: float) -> float:
    """How many times Expressway's figure fits in scim2-server's: above 1, Expressway is ahead."""
    return round(theirs / ours, 2) if ours else 0.0


def compare(servers: dict[str, Any], sizes: list[int]) -> dict[str, Any]:
    ours, theirs = servers["expressway"]["rows"], servers["scim2-server"]["rows"]
    rows = []
    for operation in ours:
        mine, peer = ours[operation], theirs[operation]
        faster = mine["p50_ms"] < peer["p50_ms"] and mine["per_second"] > peer["per_second"]
        rows.append(
            {
                "operation": operation,
                "expressway": mine,
                "scim2-server": peer,
                "p50_ratio": _ratio(peer["p50_ms"], mine["p50_ms"]),
                "cpu_ratio": _ratio(
                    peer["server_cpu_ms_per_request"], mine["server_cpu_ms_per_request"]
                ),
                "verdict": "faster" if faster else "slower",
            }
        )
    low, high = min(sizes), max(sizes)
    lookup_ratio = {
        name: round(
            server["rows"][f"lookup @ {high}"]["p50_ms"]
            / server["rows"][f"lookup @ {low}"]["p50_ms"],
            2,
        )
        for name, server in servers.items()
    }
    return {"rows": rows, "lookup_p50_ratio": {"sizes": [high, low], **lookup_ratio}}


def print_table(comparison: dict[str, Any]) -> None:
    def cell(figures: dict[str, Any]) -> str:
        return (
            f"{figures['p50_ms']:>7} {figures['p95_ms']:>7} {figures['p99_ms']:>7}"
            f" {figures['per_second']:>7} {figures['server_cpu_ms_per_request']:>6}"
        )

    head = f"{'p50':>7} {'p95':>7} {'p99':>7} {'req/s':>7} {'cpu ms':>6}"
    print(f"{'':<28} {'Expressway':^38} | {'scim2-server':^38} |")
    print(f"{'operation @ users':<28} {head} | {head} | {'p50 x':>5} {'cpu x':>5} verdict")
    for row in comparison["rows"]:
        print(
            f"{row['operation']:<28} {cell(row['expressway'])} | {cell(row['scim2-server'])} |"
            f" {row['p50_ratio']:>5} {row['cpu_ratio']:>5} {row['verdict']}"
        )
    ratios = comparison["lookup_p50_ratio"]
    high, low = ratios["sizes"]
    print(
        f"lookup p50 at {high} / at {low} users: Expressway {ratios['expressway']},"
        f" scim2-server {ratios['scim2-server']} (target: Expressway within 2)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 100_000])
    parser.add_argument("--create", type=int, default=10_000, help="users created with POST")
    parser.add_argument("--requests", type=int, default=500, help="lookups at each size")
    parser.add_argument("--pages", type=int, default=100, help="list requests of each kind")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument(
        "--only", choices=["expressway", "scim2-server"], help="run one server (no comparison)"
    )
    parser.add_argument(
        "--profile", type=Path, help="write py-spy's collapsed stacks of Expressway's creates here"
    )
    parser.add_argument("--json", type=Path, default=Path("bench/scim_compare.json"))
    parser.add_argument("--serve-scim2-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--prefill", type=int, default=0, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.serve_scim2_server:
        serve_scim2_server(arguments.serve_scim2_server, arguments.prefill)
        return
    load_before = os.getloadavg()
    starts = [
        (name, start)
        for name, start in (("expressway", expressway), ("scim2-server", scim2_server))
        if arguments.only in (None, name)
    ]
    with ExitStack() as stack:
        subjects = []
        for name, start in starts:
            print(f"== {name} starting", flush=True)
            scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="scim-compare-"))
            subjects.append(stack.enter_context(start(Path(scratch))))
        servers = run(subjects, arguments)
    comparison = compare(servers, arguments.sizes) if len(servers) == 2 else {}
    if comparison:
        print_table(comparison)
    for name, server in servers.items():
        for operation, figures in server["rows"].items():
            print(f"{name:<12} {operation:<28} {json.dumps(figures)}")
    write_json(
        arguments.json,
        "scim_compare",
        {
            "sizes": sorted(arguments.sizes),
            "created_with_post": arguments.create,
            "concurrency": arguments.concurrency,
            "page_size": PAGE,
            "load_average": {"before": load_before, "after": os.getloadavg()},
            "servers": servers,
            **comparison,
        },
    )
    print(f"written to {arguments.json}")


if __name__ == "__main__":
    main()
