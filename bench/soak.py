"""Ten minutes of mixed load at steady, modest rates: does anything fail, and does memory level off?

The tenant and the workforce IdP run as ``expressway … serve`` processes on SQLite in a fresh data
directory, with the demo's scene repaired by ``doctor --fix`` and Express Configure SSO and SCIM
done once. Then five kinds of work run side by side, each in its own thread at a fixed rate:

- ``login``: a password login through Universal Login in a new browser (authorization code with
  PKCE, the identifier and password pages), up to the redirect back with a code;
- ``token_pkjwt`` and ``token_secret``: ``client_credentials`` for an RS256 API, the client
  authenticated by a ``private_key_jwt`` assertion, or by its client secret;
- ``scim``: writes to the connection's SCIM endpoint with the connection's token: each user is
  created, patched, replaced, added to and removed from a group, then deleted;
- ``express_configure``: Express Configure SSO, the whole flow (the admin's click, sign-in at the
  tenant, the code exchanged with ``private_key_jwt``, the Express Configuration API call).

The rates are chosen so that the load stays well under the two cores of the reference machine (a
soak, not a stress test). Every minute (10 seconds with ``--quick``) the script records, per kind,
the requests, errors and p50/p95 latency, and per server its RSS, the CPU it used, its open file
descriptors and the size of its database, all read from ``/proc`` and the data directory.

Verdict: no request failed, and memory levels off: for each server, the least-squares line
through the RSS samples of the second half of the run rises by less than 5% of the RSS at mid-run
over that half. The script exits 1 when the verdict fails. ``--quick`` runs 30 seconds at lower
rates, for ``bench/run --quick``: too short for memory to settle, it is judged on errors alone.

    .venv/bin/python bench/soak.py [--minutes 10] [--quick]
"""

from __future__ import annotations

import argparse
import itertools
import os
import secrets
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from _harness import Server, cpu_seconds, percentile, rss_mb, write_json
from express_configure import scene
from password_logins import CALLBACK, PASSWORD, log_in
from rich.console import Console
from rich.table import Table
from token_endpoint import API, SCOPE, Signer, new_client_key, sign_requests

from expressway.demo import story as demo_story

DATABASE = "Username-Password-Authentication"
SCIM_TYPE = "application/scim+json"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
#: Memory levels off when the second half's trend adds less than this share of the mid-run RSS.
GROWTH_LIMIT = 0.05

#: Operations per second of each kind (a SCIM request is one write; a user's cycle is six).
RATES = {
    "login": 1.0,
    "token_pkjwt": 2.0,
    "token_secret": 2.0,
    "scim": 3.0,
    "express_configure": 0.1,
}
QUICK_RATES = {
    "login": 0.5,
    "token_pkjwt": 1.0,
    "token_secret": 1.0,
    "scim": 2.0,
    "express_configure": 0.2,
}
KINDS = tuple(RATES)


@dataclass
class Sample:
    """One request: when it started (seconds into the run), how long it took, and any error."""

    at: float
    kind: str
    ms: float
    error: str | None = None


@dataclass
class Probe:
    """One reading of the servers: RSS, CPU seconds and open descriptors, and database sizes."""

    at: float
    rss_mb: dict[str, float]
    cpu_seconds: dict[str, float]
    fds: dict[str, int]
    database_mb: dict[str, float]


@dataclass
class Recorder:
    """What the load threads and the sampler write, behind one lock."""

    started: float = field(default_factory=time.monotonic)
    samples: list[Sample] = field(default_factory=list)
    probes: list[Probe] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def now(self) -> float:
        return time.monotonic() - self.started

    def add(self, sample: Sample) -> None:
        with self.lock:
            self.samples.append(sample)


# --- reading the servers --------------------------------------------------------------------


def open_fds(pid: int) -> int:
    """Open file descriptors of the process (sockets, database files, logs)."""
    return sum(1 for _ in Path(f"/proc/{pid}/fd").iterdir())


def database_mb(data_dir: Path) -> dict[str, float]:
    """Each SQLite database in the data directory with its WAL and shared memory, in MiB."""
    sizes: dict[str, float] = {}
    for path in data_dir.rglob("*"):
        name = path.name.split(".")[0] if path.is_file() else ""
        if not name or not any(path.name.endswith(s) for s in (".db", "-wal", "-shm")):
            continue
        sizes[name] = sizes.get(name, 0.0) + path.stat().st_size / 1024 / 1024
    return sizes


def probe(recorder: Recorder, servers: dict[str, Server], data_dir: Path) -> Probe:
    return Probe(
        at=recorder.now(),
        rss_mb={name: rss_mb(s.pid) for name, s in servers.items()},
        cpu_seconds={name: cpu_seconds(s.pid) for name, s in servers.items()},
        fds={name: open_fds(s.pid) for name, s in servers.items()},
        database_mb=database_mb(data_dir),
    )


# --- the work -------------------------------------------------------------------------------

#: A step is one request, timed on its own; an operation is the steps of one turn of a kind.
Step = Callable[[], object]
Operations = Callable[[], list[Step]]
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass
class Workload:
    """The clients and credentials each kind of work uses."""

    story: demo_story.Story
    login_client: str
    emails: list[str]
    pkjwt: Signer
    secret_client: tuple[str, str]
    scim_url: str
    scim_token: str
    group_id: str
    counter: itertools.count[int] = field(default_factory=itertools.count)


def _require(answer: httpx.Response, *statuses: int) -> httpx.Response:
    if answer.status_code not in statuses:
        raise RuntimeError(
            f"{answer.request.method} {answer.request.url.path} answered"
            f" {answer.status_code}: {answer.text[:300]}"
        )
    return answer


def _token(answer: httpx.Response) -> None:
    if "access_token" not in _require(answer, 200).json():
        raise RuntimeError(f"the token endpoint answered no token: {answer.text[:300]}")


def token_pkjwt(work: Workload, http: httpx.Client) -> Operations:
    """Each request has a fresh assertion (a replayed ``jti`` is refused), signed before the
    clock starts."""

    def operations() -> list[Step]:
        body = sign_requests(work.pkjwt, 1)[0]
        return [lambda: _token(http.post(work.pkjwt.audience, content=body, headers=FORM))]

    return operations


def token_secret(work: Workload, http: httpx.Client) -> Operations:
    client_id, client_secret = work.secret_client
    form = {
        "grant_type": "client_credentials",
        "client_id": client_id,
        "client_secret": client_secret,
        "audience": API,
        "scope": SCOPE,
    }
    url = f"{work.story.tenant_url}/oauth/token"
    return lambda: [lambda: _token(http.post(url, data=form))]


def login(work: Workload, http: httpx.Client) -> Operations:
    """A new browser each time (``log_in`` makes its own client: no cookies carried over)."""

    def operations() -> list[Step]:
        email = work.emails[next(work.counter) % len(work.emails)]
        return [lambda: log_in(work.story.tenant_url, work.login_client, email)]

    return operations


def express_configure(work: Workload, http: httpx.Client) -> Operations:
    def run() -> None:
        status, body = work.story.express_configure("sso")
        if status != 200:
            raise RuntimeError(f"Express Configure SSO answered {status}: {body}")

    return lambda: [run]


def scim(work: Workload, http: httpx.Client) -> Operations:
    """One user's life over SCIM, a write a step: created, patched, replaced, added to and
    removed from the group, deleted."""
    http.headers.update({"Authorization": f"Bearer {work.scim_token}", "Accept": SCIM_TYPE})
    group = f"{work.scim_url}/Groups/{work.group_id}"

    def patch(url: str, *operations: dict[str, Any]) -> None:
        body = {"schemas": [PATCH_SCHEMA], "Operations": list(operations)}
        _require(http.patch(url, json=body), 200, 204)

    def operations() -> list[Step]:
        number = next(work.counter)
        user_name = f"soak{number}-{secrets.token_hex(3)}@{demo_story.DOMAIN}"
        user: dict[str, Any] = {
            "schemas": [USER_SCHEMA],
            "userName": user_name,
            "name": {"givenName": "Soak", "familyName": f"Person{number}"},
            "emails": [{"primary": True, "value": user_name, "type": "work"}],
            "displayName": f"Soak Person{number}",
            "active": True,
        }
        made: dict[str, str] = {}

        def create() -> None:
            made["url"] = (
                f"{work.scim_url}/Users/"
                + _require(http.post(f"{work.scim_url}/Users", json=user), 201).json()["id"]
            )

        def replace() -> None:
            body = {**user, "name": {"givenName": "Soak", "familyName": f"Replaced{number}"}}
            _require(http.put(made["url"], json=body), 200)

        def member(op: str) -> None:
            scim_id = made["url"].rsplit("/", 1)[1]
            if op == "add":
                patch(group, {"op": "add", "path": "members", "value": [{"value": scim_id}]})
            else:
                patch(group, {"op": "remove", "path": f'members[value eq "{scim_id}"]'})

        return [
            create,
            lambda: patch(made["url"], {"op": "replace", "value": {"displayName": "Patched"}}),
            replace,
            lambda: member("add"),
            lambda: member("remove"),
            lambda: _require(http.delete(made["url"]), 204),
        ]

    return operations


WORK: dict[str, Callable[[Workload, httpx.Client], Operations]] = {
    "login": login,
    "token_pkjwt": token_pkjwt,
    "token_secret": token_secret,
    "scim": scim,
    "express_configure": express_configure,
}


# --- pacing ---------------------------------------------------------------------------------


def paced(
    recorder: Recorder,
    kind: str,
    rate: float,
    until: float,
    operations: Operations,
    stopping: threading.Event,
) -> None:
    """Start one step every ``1 / rate`` seconds until ``until`` (seconds into the run); a late
    step starts at once, but missed turns are not made up in a burst. A failed step drops the
    rest of its operation."""
    interval = 1 / rate
    next_at = recorder.now()
    queue: list[Step] = []
    while next_at < until:
        wait = next_at - recorder.now()
        if wait > 0 and stopping.wait(wait):
            return
        if not queue:
            queue = operations()
        step = queue.pop(0)
        at, started = recorder.now(), time.perf_counter()
        error = None
        try:
            step()
        except Exception as failure:  # every failure is counted and shown
            error = f"{type(failure).__name__}: {failure}"[:500]
            queue = []
        recorder.add(Sample(at, kind, (time.perf_counter() - started) * 1000, error))
        next_at = max(next_at + interval, recorder.now() - interval)


# --- the scene ------------------------------------------------------------------------------


def _machine_clients(api: Any) -> tuple[Signer, tuple[str, str]]:
    """An RS256 API and two machine clients granted it: one with a key pair
    (``private_key_jwt``), one with a client secret (``client_secret_post``)."""
    api(
        "POST",
        "/resource-servers",
        {
            "identifier": API,
            "name": "Soak API",
            "signing_alg": "RS256",
            "scopes": [{"value": SCOPE, "description": "Read"}],
        },
    )
    machine = {"app_type": "non_interactive", "grant_types": ["client_credentials"]}
    keyed = api("POST", "/clients", {"name": "Soak machine (key)", **machine})
    private, public = new_client_key()
    credential = api(
        "POST",
        f"/clients/{keyed['client_id']}/credentials",
        {"credential_type": "public_key", "pem": public.decode(), "alg": "RS256"},
    )
    methods = {"private_key_jwt": {"credentials": [{"id": credential["id"]}]}}
    api("PATCH", f"/clients/{keyed['client_id']}", {"client_authentication_methods": methods})
    secret = api(
        "POST",
        "/clients",
        {"name": "Soak machine (secret)", "token_endpoint_auth_method": "client_secret_post"}
        | machine,
    )
    client_secret = api("POST", f"/clients/{secret['client_id']}/rotate-secret")["client_secret"]
    for client in (keyed, secret):
        grant = {"client_id": client["client_id"], "audience": API, "scope": [SCOPE]}
        api("POST", "/client-grants", grant)
    signer = Signer(
        private_pem=private,
        kid=credential["kid"],
        client_id=keyed["client_id"],
        audience=f"{api.base.removesuffix('/api/v2')}/oauth/token",
        form=(("grant_type", "client_credentials"), ("audience", API), ("scope", SCOPE)),
    )
    return signer, (secret["client_id"], client_secret)


def prepare(story: demo_story.Story, users: int) -> Workload:
    """A web app for password logins with its users, the machine clients, and a SCIM token and
    a group on the connection Express Configure made."""
    api = story.tenant
    connections = api("GET", "/connections?per_page=100")
    database = next(c for c in connections if c["name"] == DATABASE)
    web = api(
        "POST",
        "/clients",
        {
            "name": "Soak web app",
            "app_type": "regular_web",
            "callbacks": [CALLBACK],
            "grant_types": ["authorization_code"],
        },
    )
    enabled = [{"client_id": web["client_id"], "status": True}]
    api("PATCH", f"/connections/{database['id']}/clients", enabled)
    emails = [f"soak-login{n}@soak.example" for n in range(users)]
    for email in emails:
        api("POST", "/users", {"connection": DATABASE, "email": email, "password": PASSWORD})
    signer, secret_client = _machine_clients(api)
    connection = next(c for c in connections if c["strategy"] == "okta")
    minted = api("POST", f"/connections/{connection['id']}/scim-configuration/tokens", {})
    scim_url = f"{story.tenant_url}/scim/v2/connections/{connection['id']}"
    group = _require(
        httpx.post(
            f"{scim_url}/Groups",
            json={"schemas": [GROUP_SCHEMA], "displayName": "Soak"},
            headers={"Authorization": f"Bearer {minted['token']}"},
        ),
        201,
    ).json()
    return Workload(
        story=story,
        login_client=web["client_id"],
        emails=emails,
        pkjwt=signer,
        secret_client=secret_client,
        scim_url=scim_url,
        scim_token=minted["token"],
        group_id=group["id"],
    )


def warm_up(operations: dict[str, Operations], rounds: int = 2) -> None:
    """Each kind's operation a few times, all kinds at once, before the clock starts: what
    the first requests load (modules, caches, worker threads and their memory) is not growth.
    A failure here stops the run."""
    failures: list[BaseException] = []

    def repeat(kind: str) -> None:
        try:
            for _ in range(rounds):
                for step in operations[kind]():
                    step()
        except Exception as failure:  # reported by the caller
            failures.append(failure)

    threads = [threading.Thread(target=repeat, args=(kind,)) for kind in operations]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"the warm-up failed: {failures[0]}") from failures[0]


# --- the run --------------------------------------------------------------------------------


def sampling(
    recorder: Recorder,
    servers: dict[str, Server],
    data_dir: Path,
    every: float,
    stopping: threading.Event,
) -> None:
    while not stopping.wait(every):
        reading = probe(recorder, servers, data_dir)
        with recorder.lock:
            recorder.probes.append(reading)


def run(
    seconds: float,
    interval: float,
    rates: dict[str, float],
    every: float,
    data_dir: Path,
    *,
    judge_memory: bool = True,
) -> dict[str, Any]:
    with scene(data_dir) as (story, tenant, workforce):
        for action in ("sso", "scim"):  # the first runs make the connection and its SCIM
            status, body = story.express_configure(action)
            if status != 200:
                raise RuntimeError(f"Express Configure {action} failed: {status} {body}")
        work = prepare(story, users=4)
        clients = {kind: httpx.Client(timeout=60) for kind in KINDS}
        operations = {kind: WORK[kind](work, clients[kind]) for kind in KINDS}
        warm_up(operations)
        servers = {"tenant": tenant, "workforce": workforce}
        recorder, stopping = Recorder(), threading.Event()
        recorder.probes.append(probe(recorder, servers, data_dir))
        sampler = threading.Thread(
            target=sampling, args=(recorder, servers, data_dir, every, stopping), daemon=True
        )
        load = [
            threading.Thread(
                target=paced,
                args=(recorder, kind, rates[kind], seconds, operations[kind], stopping),
                name=kind,
            )
            for kind in KINDS
        ]
        sampler.start()
        for thread in load:
            thread.start()
        for thread in load:
            thread.join()
        stopping.set()
        sampler.join()
        recorder.probes.append(probe(recorder, servers, data_dir))
        for client in clients.values():
            client.close()
    return summarise(recorder, seconds, interval, rates, judge_memory=judge_memory)


# --- the figures ----------------------------------------------------------------------------


def _latency(samples: list[Sample]) -> dict[str, Any]:
    timings = [s.ms for s in samples]
    return {
        "requests": len(samples),
        "errors": sum(1 for s in samples if s.error),
        "p50_ms": round(statistics.median(timings), 1) if timings else None,
        "p95_ms": round(percentile(timings, 0.95), 1) if timings else None,
    }


def _at(probes: list[Probe], moment: float) -> Probe:
    """The last reading at or before ``moment`` (the first one if none)."""
    before = [p for p in probes if p.at <= moment + 1e-6]
    return before[-1] if before else probes[0]


def per_interval(recorder: Recorder, seconds: float, interval: float) -> list[dict[str, Any]]:
    rows = []
    count = max(1, round(seconds / interval))
    for index in range(count):
        start, end = index * interval, min(seconds, (index + 1) * interval)
        inside = [s for s in recorder.samples if start <= s.at < end]
        first, last = _at(recorder.probes, start), _at(recorder.probes, end)
        elapsed = max(last.at - first.at, 1e-9)
        rows.append(
            {
                "minute": index + 1,
                "seconds": [round(start), round(end)],
                "kinds": {k: _latency([s for s in inside if s.kind == k]) for k in KINDS},
                "servers": {
                    name: {
                        "rss_mb": round(last.rss_mb[name], 1),
                        "cpu_cores": round(
                            (last.cpu_seconds[name] - first.cpu_seconds[name]) / elapsed, 2
                        ),
                        "fds": last.fds[name],
                    }
                    for name in last.rss_mb
                },
                "database_mb": {k: round(v, 2) for k, v in last.database_mb.items()},
            }
        )
    return rows


def memory(probes: list[Probe], seconds: float) -> dict[str, dict[str, Any]]:
    """RSS at the start, mid-run and end, and whether it levels off (see the module's text)."""
    half = seconds / 2
    second_half = [p for p in probes if p.at >= half]
    verdicts = {}
    for name in probes[0].rss_mb:
        mid = _at(probes, half).rss_mb[name]
        if len(second_half) >= 2:
            times = [p.at / 60 for p in second_half]
            slope = statistics.linear_regression(times, [p.rss_mb[name] for p in second_half])[0]
        else:
            slope = 0.0
        growth = slope * half / 60
        verdicts[name] = {
            "rss_start_mb": round(probes[0].rss_mb[name], 1),
            "rss_mid_mb": round(mid, 1),
            "rss_end_mb": round(probes[-1].rss_mb[name], 1),
            "rss_peak_mb": round(max(p.rss_mb[name] for p in probes), 1),
            "second_half_slope_mb_per_minute": round(slope, 3),
            "second_half_growth_mb": round(growth, 2),
            "growth_limit_mb": round(GROWTH_LIMIT * mid, 2),
            "levels_off": growth < GROWTH_LIMIT * mid,
            "fds_start": probes[0].fds[name],
            "fds_end": probes[-1].fds[name],
            "cpu_cores_mean": round(
                (probes[-1].cpu_seconds[name] - probes[0].cpu_seconds[name])
                / max(probes[-1].at - probes[0].at, 1e-9),
                2,
            ),
        }
    return verdicts


def summarise(
    recorder: Recorder,
    seconds: float,
    interval: float,
    rates: dict[str, float],
    *,
    judge_memory: bool,
) -> dict[str, Any]:
    """The totals, the per-interval rows, memory, and the verdict. A run too short to see memory
    settle (``--quick``) reports the memory figures but is judged on errors alone."""
    totals = {k: _latency([s for s in recorder.samples if s.kind == k]) for k in KINDS}
    for kind, total in totals.items():
        total["first_errors"] = [s.error for s in recorder.samples if s.kind == kind and s.error][
            :5
        ]
    services = memory(recorder.probes, seconds)
    errors = sum(t["errors"] for t in totals.values())
    idle = [k for k, t in totals.items() if t["requests"] == 0]
    levels_off = all(s["levels_off"] for s in services.values())
    return {
        "database": "sqlite",
        "seconds": seconds,
        "interval_seconds": interval,
        "rates_per_second": rates,
        "sample_every_seconds": round(recorder.probes[1].at - recorder.probes[0].at, 1)
        if len(recorder.probes) > 1
        else None,
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "totals": totals,
        "intervals": per_interval(recorder, seconds, interval),
        "services": services,
        "database_mb": {
            "start": {k: round(v, 2) for k, v in recorder.probes[0].database_mb.items()},
            "end": {k: round(v, 2) for k, v in recorder.probes[-1].database_mb.items()},
        },
        "verdict": {
            "errors": errors,
            "kinds_without_requests": idle,
            "memory_levels_off": levels_off,
            "memory_judged": judge_memory,
            "rule": (
                f"no error, every kind ran, and for each server the least-squares RSS trend over"
                f" the second half rises by less than {GROWTH_LIMIT:.0%} of the mid-run RSS"
                + ("" if judge_memory else " (memory not judged: the run is too short)")
            ),
            "ok": errors == 0 and not idle and (levels_off or not judge_memory),
        },
    }


# --- the report -----------------------------------------------------------------------------


def show(result: dict[str, Any], console: Console) -> None:
    load = Table(title="Requests per minute: count / errors, p50 / p95 ms")
    load.add_column("min", justify="right")
    for kind in KINDS:
        load.add_column(f"{kind} ({result['rates_per_second'][kind]}/s)", justify="right")
    for row in result["intervals"]:
        cells = []
        for kind in KINDS:
            k = row["kinds"][kind]
            cells.append(f"{k['requests']} / {k['errors']}  {k['p50_ms']} / {k['p95_ms']}")
        load.add_row(str(row["minute"]), *cells)
    console.print(load)
    servers = Table(title="Servers per minute: RSS MB, CPU cores, open fds; database MB")
    servers.add_column("min", justify="right")
    names = list(result["services"])
    for name in names:
        servers.add_column(name, justify="right")
    databases = sorted(result["database_mb"]["end"])
    for database in databases:
        servers.add_column(f"{database} db", justify="right")
    for row in result["intervals"]:
        cells = [
            f"{s['rss_mb']} MB  {s['cpu_cores']}  {s['fds']} fds"
            for s in (row["servers"][name] for name in names)
        ]
        cells += [str(row["database_mb"].get(d, "")) for d in databases]
        servers.add_row(str(row["minute"]), *cells)
    console.print(servers)
    memory_table = Table(title="Memory: does it level off?")
    for column in ("server", "RSS start", "mid", "end", "2nd-half trend", "limit", "levels off"):
        memory_table.add_column(column, justify="right")
    for name, s in result["services"].items():
        memory_table.add_row(
            name,
            f"{s['rss_start_mb']} MB",
            f"{s['rss_mid_mb']} MB",
            f"{s['rss_end_mb']} MB",
            f"{s['second_half_growth_mb']:+} MB",
            f"{s['growth_limit_mb']} MB",
            "yes" if s["levels_off"] else "NO",
        )
    console.print(memory_table)
    verdict = result["verdict"]
    for kind, total in result["totals"].items():
        for error in total["first_errors"]:
            console.print(f"[red]{kind}: {error}[/red]")
    console.print(
        f"verdict: {'[green]passed[/green]' if verdict['ok'] else '[red]FAILED[/red]'}"
        f" ({verdict['errors']} errors, memory levels off: {verdict['memory_levels_off']}"
        f"{'' if verdict['memory_judged'] else ' (not judged in a run this short)'},"
        f" kinds without requests: {verdict['kinds_without_requests'] or 'none'})"
    )


def keep_logs(data_dir: Path, into: Path) -> None:
    """The servers' logs, kept beside the JSON: what to read when a request failed."""
    into.mkdir(parents=True, exist_ok=True)
    for log in data_dir.glob("*.log"):
        shutil.copyfile(log, into / log.name)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--quick", action="store_true", help="30 seconds at lower rates")
    parser.add_argument("--json", type=Path, default=Path("bench/results/soak.json"))
    arguments = parser.parse_args()
    if arguments.quick:
        seconds, interval, every, rates = 30.0, 10.0, 1.0, QUICK_RATES
    else:
        seconds, interval, every, rates = arguments.minutes * 60, 60.0, 5.0, RATES
    with tempfile.TemporaryDirectory(prefix="soak-bench-") as scratch:
        try:
            result = run(
                seconds, interval, rates, every, Path(scratch), judge_memory=not arguments.quick
            )
        finally:
            keep_logs(Path(scratch), arguments.json.with_name(f"{arguments.json.stem}-logs"))
    show(result, Console(width=160))
    write_json(arguments.json, "soak", result)
    print(f"written to {arguments.json}")
    return 0 if result["verdict"]["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
