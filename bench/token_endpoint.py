"""Token endpoint throughput: ``client_credentials`` with ``private_key_jwt`` and RS256 JWT access
tokens, Expressway's tenant against panva's ``oidc-provider`` configured the same way, back to
back at the same concurrency, with the RS256 ceiling of this machine beside them.

Each server runs on loopback in its own process; ``wrk`` drives it with keep-alive and sends
every pre-signed client assertion once (both servers refuse a replayed ``jti``). The server's
CPU time and RSS are read from ``/proc``.

    .venv/bin/python bench/token_endpoint.py [--seconds 15] [--connections 16] [--workers 1 2]

Expressway runs once for each ``--workers N`` (by default 1, then 2): ``expressway tenant serve
--workers N``, N processes on one database; its CPU time and RSS are then those of all its
processes. Like oidc-provider, which writes no line per request, it runs without its access log
(``--no-access-log``) unless ``--access-log`` is given.

The servers take turns ``--rounds`` times (by default 3), each round in the other order than the
one before, and each server's figures are the medians of its runs, each run's share of the RS256
ceiling and each round's ratio to oidc-provider taken first: these 2 vCPU machines' speed drifts
by a fifth from one minute to the next, and one server's figures measured in a fast minute and
the other's in a slow one misstate both the share and the ratio (one process read 55% to 65% of
the ceiling in six runs of one session, alone on the machine, at the same commit).
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

import httpx
from _harness import (
    CLI,
    NODE,
    NODE_MODULES,
    Management,
    Meter,
    Server,
    WrkResult,
    body_of,
    connections_per_process,
    cpu_seconds,
    expressway_environment,
    free_port,
    initialise_tenant,
    profiled,
    request_line,
    rss_mb,
    run_wrk,
    serve,
    write_json,
)
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

API = "https://bench.example/api"
SCOPE = "read:bench"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
#: The headers of a token request.
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
#: Seconds an assertion stays valid: under the tenant's cap of five minutes, over a run's length.
ASSERTION_LIFETIME = 280
WARMUP_ASSERTIONS = 1500

T = TypeVar("T")


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# --- the machine's ceiling ------------------------------------------------------------------


def rs256_ceiling(seconds: float, *, openssl: bool = True) -> dict[str, Any]:
    """RS256 signs and verifies per CPU-second of one core, timed in this process with
    ``cryptography`` (the library under Expressway's JOSE code), and ``openssl speed``'s
    figures for the system's OpenSSL when it is installed (and ``openssl`` is set)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = key.public_key()
    message = b"x" * 400  # about a JWT's signing input
    signature = key.sign(message, padding.PKCS1v15(), hashes.SHA256())

    def rate(operation: Callable[[], object]) -> float:
        # CPU time, not wall time: on a shared machine the wall clock also counts other
        # processes' turns on the core, and the ceiling is what one core does.
        count, started = 0, time.process_time()
        while (elapsed := time.process_time() - started) < seconds:
            for _ in range(20):
                operation()
            count += 20
        return count / elapsed

    signs = rate(lambda: key.sign(message, padding.PKCS1v15(), hashes.SHA256()))
    verifies = rate(lambda: public.verify(signature, message, padding.PKCS1v15(), hashes.SHA256()))
    per_token = 1 / (1 / signs + 1 / verifies)
    return {
        "signs_per_second": round(signs),
        "verifies_per_second": round(verifies),
        "tokens_per_second_per_core": round(per_token),
        "openssl_speed": openssl_speed(seconds) if openssl else None,
    }


def openssl_speed(seconds: float) -> dict[str, float] | None:
    """``openssl speed rsa2048`` signs and verifies per second (the system's OpenSSL)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    done = subprocess.run(  # noqa: S603 - openssl with fixed arguments
        [openssl, "speed", "-seconds", str(max(1, round(seconds))), "rsa2048"],
        capture_output=True,
        text=True,
        check=False,
    )
    for line in done.stdout.splitlines():
        if line.startswith("rsa 2048 bits"):
            fields = line.split()
            return {"signs_per_second": float(fields[5]), "verifies_per_second": float(fields[6])}
    return None


# --- assertions -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Signer:
    """What it takes to make one client's assertions for one token endpoint."""

    private_pem: bytes
    kid: str
    client_id: str
    audience: str
    #: The form fields sent beside the assertion.
    form: tuple[tuple[str, str], ...]


def sign_requests(signer: Signer, count: int) -> list[str]:
    """``count`` token request bodies, each with an assertion of its own."""
    key = serialization.load_pem_private_key(signer.private_pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise TypeError("the client key must be an RSA key")
    header = b64url(json.dumps({"alg": "RS256", "typ": "JWT", "kid": signer.kid}).encode())
    now = int(time.time())
    bodies = []
    for _ in range(count):
        claims = {
            "iss": signer.client_id,
            "sub": signer.client_id,
            "aud": signer.audience,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME,
            "jti": secrets.token_urlsafe(18),
        }
        signing_input = f"{header}.{b64url(json.dumps(claims).encode())}"
        signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
        assertion = f"{signing_input}.{b64url(signature)}"
        form = [
            *signer.form,
            ("client_assertion_type", JWT_BEARER),
            ("client_assertion", assertion),
        ]
        bodies.append(urlencode(form))
    return bodies


def sign_bodies(signer: Signer, count: int, path: Path) -> Path:
    """``count`` token requests for :func:`run_wrk` (to wrk's URL), each with a fresh assertion;
    signed on every core."""
    workers = os.cpu_count() or 1
    share = math.ceil(count / workers)
    with ProcessPoolExecutor(workers) as pool:
        batches = list(pool.map(sign_requests, [signer] * workers, [share] * workers))
    lines = (request_line("POST", "", body) for batch in batches for body in batch)
    path.write_text("\n".join(lines) + "\n")
    return path


# --- one server under load ------------------------------------------------------------------


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (a ``serve --workers`` supervisor and its workers)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended while we looked
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    tree, pending = [], [pid]
    while pending:
        current = pending.pop()
        tree.append(current)
        pending.extend(children.get(current, []))
    return tree


class TreeMeter(Meter):
    """:class:`Meter` over a process and its descendants: CPU time and RSS summed."""

    def __init__(self, pid: int) -> None:
        super().__init__(pid)
        self.pids = process_tree(pid)

    def _cpu(self) -> float:
        return sum(cpu_seconds(pid) for pid in self.pids)

    def _rss(self) -> float:
        return sum(rss_mb(pid) for pid in self.pids)

    def _sample(self) -> None:
        while not self._stopping.wait(self.interval):
            self.peak_rss_mb = max(self.peak_rss_mb, self._rss())

    def start(self) -> TreeMeter:
        self._cpu_start = self._cpu()
        self._wall_start = time.perf_counter()
        self.peak_rss_mb = self._rss()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join()
        self.wall_seconds = time.perf_counter() - self._wall_start
        self.cpu_seconds = self._cpu() - self._cpu_start
        self.peak_rss_mb = max(self.peak_rss_mb, self._rss())


@dataclass
class Contender:
    name: str
    server: Server
    token_endpoint: str
    signer: Signer


def check_one_token(contender: Contender, scratch: Path) -> dict[str, Any]:
    """One request before the load: the answer is an RS256 JWT for the API, with the scope."""
    bodies = sign_bodies(contender.signer, 1, scratch / f"{contender.name}-check.txt")
    body = body_of(bodies.read_text().splitlines()[0])
    answer = httpx.post(
        contender.token_endpoint,
        content=body,
        headers=FORM,
        timeout=30,
    )
    if answer.status_code != 200:
        raise RuntimeError(f"{contender.name} refused the token request: {answer.text}")
    token = answer.json()["access_token"]
    head, payload, _ = token.split(".")
    header = json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    if header.get("alg") != "RS256" or claims.get("aud") != API or SCOPE not in claims["scope"]:
        raise RuntimeError(f"{contender.name} answered an unexpected token: {header} {claims}")
    return {"alg": header["alg"], "typ": header.get("typ"), "bytes": len(token)}


def measure(
    contender: Contender,
    scratch: Path,
    *,
    connections: int,
    seconds: float,
    warmup: int,
    most_per_second: float,
    profile: Path | None = None,
) -> dict[str, Any]:
    """Load ``contender`` for ``seconds`` with fresh assertions; ``most_per_second`` is the most
    tokens a second the machine can sign (the RS256 ceiling on every core), which bounds the
    assertions the run can need."""
    pid = contender.server.pid
    token = check_one_token(contender, scratch)
    idle_rss = TreeMeter(pid)._rss()
    warm_bodies = sign_bodies(contender.signer, warmup, scratch / f"{contender.name}-warm.txt")
    warm = run_wrk(
        contender.token_endpoint,
        warm_bodies,
        connections=connections,
        seconds=seconds,
        headers=FORM,
        status=200,
    )
    if warm.non_2xx or warm.socket_errors or warm.failed_checks:
        raise RuntimeError(f"{contender.name} failed during warm-up: {warm}")
    # Enough assertions for twice the warm-up's pace over the whole run. A warm-up that used up
    # its assertions says nothing of the pace (wrk reports the whole duration however early its
    # threads stopped), so the run then gets as many as the machine could possibly sign.
    if warm.bodies_left:
        needed = math.ceil(warm.per_second * seconds * 2) + 200
    else:
        needed = math.ceil(most_per_second * seconds) + 200
    bodies = sign_bodies(contender.signer, needed, scratch / f"{contender.name}-run.txt")
    # Halfway through, how the kernel split wrk's connections among the processes: with
    # ``--workers``, each worker's socket gets a connection by a hash of its addresses, so a
    # few connections can land unevenly, and a run with one worker idle says so here.
    split: dict[int, int] = {}
    port = urlsplit(contender.token_endpoint).port or 80
    sampler = threading.Timer(
        seconds / 2, lambda: split.update(connections_per_process(process_tree(pid), port))
    )
    with profiled(pid, profile):
        meter = TreeMeter(pid).start()
        sampler.start()
        result: WrkResult = run_wrk(
            contender.token_endpoint,
            bodies,
            connections=connections,
            seconds=seconds,
            headers=FORM,
            status=200,
        )
        sampler.join()
        meter.stop()
    per_core = result.per_second / meter.cores_used if meter.cores_used else 0.0
    return {
        "server": contender.name,
        "processes": len(meter.pids),
        "connections_per_process": sorted(split.values(), reverse=True),
        "requests": result.requests,
        "seconds": round(result.seconds, 2),
        "requests_per_second": round(result.per_second, 1),
        "non_2xx": result.non_2xx,
        # Answers not 200 (wrk's own count above is of those outside 2xx and 3xx).
        "failed_checks": result.failed_checks,
        "socket_errors": result.socket_errors,
        "assertions_left": result.bodies_left,
        "p50_ms": round(result.p50_ms, 2),
        "p95_ms": round(result.p95_ms, 2),
        "p99_ms": round(result.p99_ms, 2),
        "cpu_cores_used": round(meter.cores_used, 2),
        "requests_per_second_per_core": round(per_core, 1),
        "rss_idle_mb": round(idle_rss, 1),
        "rss_peak_under_load_mb": round(meter.peak_rss_mb, 1),
        "token": token,
    }


def new_client_key() -> tuple[bytes, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private, public


@contextmanager
def tenant(data_dir: Path, workers: int, access_log: bool) -> Iterator[Server]:
    """``expressway tenant serve --workers N`` on a free port, initialised; ``extra`` holds the
    admin client."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = expressway_environment(data_dir, tenant=url)
    admin = initialise_tenant(env)
    command = [*CLI, "tenant", "serve", "--port", str(port), "--public-url", url]
    if workers > 1:
        command += ["--workers", str(workers)]
    if not access_log:
        command.append("--no-access-log")
    with serve(command, env, url, "/.well-known/jwks.json", data_dir / "tenant.log") as server:
        server.extra["admin"] = admin
        yield server


def prepare(public_url: str, admin: Mapping[str, str]) -> Signer:
    """:func:`set_up_client` through the Management API at ``public_url``."""
    api = Management(public_url, admin)
    try:
        return set_up_client(api, public_url)
    finally:
        api.close()


def set_up_client(api: Callable[..., Any], public_url: str) -> Signer:
    """Through ``api`` (the Management API: method, path under ``/api/v2``, body): an API whose
    tokens are RS256, and a machine client authenticated by ``private_key_jwt`` holding a client
    grant for it; answer the signer of that client's assertions (for the token endpoint at
    ``public_url``)."""
    api(
        "POST",
        "/resource-servers",
        {
            "identifier": API,
            "name": "Bench API",
            "signing_alg": "RS256",
            "token_lifetime": 86400,
            "scopes": [{"value": SCOPE, "description": "Read"}],
        },
    )
    client = api(
        "POST",
        "/clients",
        {
            "name": "Bench machine",
            "app_type": "non_interactive",
            "grant_types": ["client_credentials"],
        },
    )
    private, public = new_client_key()
    client_id = client["client_id"]
    credential = api(
        "POST",
        f"/clients/{client_id}/credentials",
        {"credential_type": "public_key", "pem": public.decode(), "alg": "RS256"},
    )
    api(
        "PATCH",
        f"/clients/{client_id}",
        {
            "client_authentication_methods": {
                "private_key_jwt": {"credentials": [{"id": credential["id"]}]}
            }
        },
    )
    api("POST", "/client-grants", {"client_id": client_id, "audience": API, "scope": [SCOPE]})
    return Signer(
        private_pem=private,
        kid=credential["kid"],
        client_id=client_id,
        audience=f"{public_url}/oauth/token",
        form=(("grant_type", "client_credentials"), ("audience", API), ("scope", SCOPE)),
    )


@contextmanager
def expressway(scratch: Path, workers: int = 1, access_log: bool = False) -> Iterator[Contender]:
    """The tenant, prepared by :func:`prepare`."""
    with tenant(scratch / f"tenant-{workers}", workers, access_log) as server:
        yield Contender(
            name="expressway" if workers == 1 else f"expressway x{workers}",
            server=server,
            token_endpoint=f"{server.url}/oauth/token",
            signer=prepare(server.url, server.extra["admin"]),
        )


def oidc_provider_available() -> str | None:
    """Why the peer cannot run, or None."""
    if not NODE.exists() or not (NODE_MODULES / "oidc-provider").exists():
        return "oidc-provider is not installed: `npm ci --prefix tests/interop/node`"
    return None


@contextmanager
def oidc_provider(scratch: Path) -> Iterator[Contender]:
    """panva's oidc-provider with the same client, API, scope and token format."""
    private, public = new_client_key()
    public_key = serialization.load_pem_public_key(public)
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise TypeError("the client key must be an RSA key")
    numbers = public_key.public_numbers()
    kid = "bench-client-1"
    jwk = {
        "kty": "RSA",
        "kid": kid,
        "alg": "RS256",
        "use": "sig",
        "n": b64url(numbers.n.to_bytes((numbers.n.bit_length() + 7) // 8, "big")),
        "e": b64url(numbers.e.to_bytes(3, "big")),
    }
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    client_id = "bench-machine"
    config = {
        "port": port,
        "issuer": issuer,
        "provider_module": str(NODE_MODULES / "oidc-provider" / "lib" / "index.js"),
        "client_id": client_id,
        "client_jwks": {"keys": [jwk]},
        "audience": API,
        "scope": SCOPE,
    }
    env = {**os.environ, "BENCH_PEER_CONFIG": json.dumps(config), "NODE_ENV": "production"}
    script = Path(__file__).parent / "peers" / "oidc_provider_token.mjs"
    log = scratch / "oidc-provider.log"
    with serve([str(NODE), str(script)], env, issuer, "/jwks", log) as server:
        yield Contender(
            name="oidc-provider",
            server=server,
            token_endpoint=f"{issuer}/token",
            signer=Signer(
                private_pem=private,
                kid=kid,
                client_id=client_id,
                audience=f"{issuer}/token",
                form=(("grant_type", "client_credentials"), ("resource", API), ("scope", SCOPE)),
            ),
        )


def node_version() -> str:
    return subprocess.run(  # noqa: S603 - the pinned node binary
        [str(NODE), "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15, help="length of each timed run")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections")
    parser.add_argument("--warmup", type=int, default=WARMUP_ASSERTIONS, help="warm-up requests")
    parser.add_argument("--ceiling-seconds", type=float, default=2.0)
    parser.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="turns each server takes, in alternating order; the figures are the medians",
    )
    parser.add_argument("--without-peer", action="store_true", help="Expressway alone")
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[1, 2],
        help="tenant worker processes (serve --workers); one run for each",
    )
    parser.add_argument(
        "--access-log", action="store_true", help="serve the tenant with its access log on"
    )
    parser.add_argument(
        "--profile", type=Path, help="write py-spy's collapsed stacks of Expressway's run here"
    )
    parser.add_argument("--json", type=Path, default=Path("bench/results/token_endpoint.json"))
    arguments = parser.parse_args()
    if arguments.rounds < 1:
        parser.error("--rounds must be at least 1")

    ceiling = rs256_ceiling(arguments.ceiling_seconds)
    runs: list[dict[str, Any]] = []
    peer_missing = None if not arguments.without_peer else "left out (--without-peer)"
    peer_missing = peer_missing or oidc_provider_available()
    contenders: list[Callable[[Path], AbstractContextManager[Contender]]] = [
        partial(expressway, workers=workers, access_log=arguments.access_log)
        for workers in arguments.workers
    ]
    if peer_missing is None:
        contenders.append(oidc_provider)
    # The ceiling is timed again after each run: a shared machine's speed can drift by a third
    # within minutes, so each run's share is taken against the ceilings timed just before and
    # just after it, not against one timed minutes earlier.
    before = ceiling["tokens_per_second_per_core"]
    with tempfile.TemporaryDirectory(prefix="token-bench-") as directory:
        scratch = Path(directory)
        for turn, start in turns(contenders, arguments.rounds):
            # Each run a server of its own, on a database of its own.
            here = scratch / f"round-{turn}"
            here.mkdir(exist_ok=True)
            with start(here) as contender:
                run = measure(
                    contender,
                    here,
                    connections=arguments.connections,
                    seconds=arguments.seconds,
                    warmup=arguments.warmup,
                    most_per_second=ceiling["tokens_per_second_per_core"] * (os.cpu_count() or 1),
                    profile=arguments.profile if contender.name != "oidc-provider" else None,
                )
            after = rs256_ceiling(arguments.ceiling_seconds, openssl=False)
            around = (before + after["tokens_per_second_per_core"]) / 2
            run["rs256_ceiling_per_core"] = round(around)
            run["share_of_rs256_ceiling_per_core"] = round(
                run["requests_per_second_per_core"] / around, 3
            )
            run["round"] = turn
            runs.append(run)
            before = after["tokens_per_second_per_core"]
    ratios = ratios_to_peer(runs)
    report = {
        "connections": arguments.connections,
        "workers": arguments.workers,
        "access_log": arguments.access_log,
        "seconds": arguments.seconds,
        "rounds": arguments.rounds,
        "rs256_ceiling": ceiling,
        "runs": runs,
        "medians": medians(runs),
        "expressway_over_oidc_provider": {
            server: round(statistics.median(by_round), 2) for server, by_round in ratios.items()
        }
        or None,
        "expressway_over_oidc_provider_by_round": ratios or None,
        "peer": {"oidc-provider": "9.13.3", "node": node_version()} if not peer_missing else None,
        "peer_missing": peer_missing,
    }
    print_table(report)
    write_json(arguments.json, "token_endpoint", report)
    print(f"written to {arguments.json}")


def turns(contenders: Sequence[T], rounds: int) -> Iterator[tuple[int, T]]:
    """``(round, contender)`` for ``rounds`` rounds, each in the other order than the one before
    (A B C, C B A, A B C): a drift of the machine's speed over a round weighs on each alike."""
    for turn in range(1, rounds + 1):
        for contender in contenders if turn % 2 else reversed(contenders):
            yield turn, contender


#: The figures of a run of which :func:`medians` takes each server's median.
MEDIAN_FIGURES = (
    "requests_per_second",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "cpu_cores_used",
    "requests_per_second_per_core",
    "rs256_ceiling_per_core",
    "share_of_rs256_ceiling_per_core",
    "rss_peak_under_load_mb",
)


def medians(runs: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Each server's median of each figure over its runs (each figure's own median: the run
    with the median throughput need not have the median share), with the range of its share."""
    servers: dict[str, list[Mapping[str, Any]]] = {}
    for run in runs:
        servers.setdefault(run["server"], []).append(run)
    summary: dict[str, dict[str, Any]] = {}
    for server, own in servers.items():
        figures: dict[str, Any] = {"runs": len(own)}
        for name in MEDIAN_FIGURES:
            figures[name] = round(statistics.median(run[name] for run in own), 3)
        shares = [run["share_of_rs256_ceiling_per_core"] for run in own]
        figures["share_range"] = [min(shares), max(shares)]
        summary[server] = figures
    return summary


def ratios_to_peer(runs: Sequence[Mapping[str, Any]]) -> dict[str, list[float]]:
    """For each of Expressway's servers, its throughput over oidc-provider's in each round, in
    round order: a ratio of two runs minutes apart, never of runs of different rounds."""
    peers = {run["round"]: run for run in runs if run["server"] == "oidc-provider"}
    ratios: dict[str, list[float]] = {}
    for run in runs:
        peer = peers.get(run["round"])
        if peer is not None and run is not peer:
            ratios.setdefault(run["server"], []).append(
                round(run["requests_per_second"] / peer["requests_per_second"], 3)
            )
    return ratios


def print_table(report: Mapping[str, Any]) -> None:
    ceiling = report["rs256_ceiling"]
    print(
        f"RS256 ceiling, one core: {ceiling['signs_per_second']} signs/s, "
        f"{ceiling['verifies_per_second']} verifies/s, "
        f"{ceiling['tokens_per_second_per_core']} tokens/s (one sign + one verify each; timed"
        " again after each run, and each run's share taken against the mean of the two around it)"
    )
    if ceiling["openssl_speed"]:
        speed = ceiling["openssl_speed"]
        print(
            f"openssl speed rsa2048 (system OpenSSL): {speed['signs_per_second']:.0f} signs/s,"
            f" {speed['verifies_per_second']:.0f} verifies/s"
        )
    print(
        f"{'round':>5} {'server':<14} {'req/s':>8} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}"
        f" {'cores':>6} {'req/s/core':>10} {'ceiling':>8} {'share':>6} {'RSS idle':>9}"
        f" {'RSS load':>9} {'errors':>6} {'split':>9}"
    )
    for run in report["runs"]:
        print(
            f"{run['round']:>5} {run['server']:<14} {run['requests_per_second']:>8}"
            f" {run['p50_ms']:>7}"
            f" {run['p95_ms']:>7} {run['p99_ms']:>7} {run['cpu_cores_used']:>6}"
            f" {run['requests_per_second_per_core']:>10}"
            f" {run['rs256_ceiling_per_core']:>8} {run['share_of_rs256_ceiling_per_core']:>6.0%}"
            f" {run['rss_idle_mb']:>9} {run['rss_peak_under_load_mb']:>9}"
            f" {run['non_2xx'] + run['failed_checks'] + run['socket_errors']:>6}"
            f" {'/'.join(str(n) for n in run['connections_per_process']):>9}"
        )
    print(f"medians of {report['rounds']} round(s):")
    for server, figures in report["medians"].items():
        low, high = figures["share_range"]
        print(
            f"  {server:<14} {figures['requests_per_second']:>8} req/s at"
            f" {figures['cpu_cores_used']} cores, {figures['requests_per_second_per_core']}"
            f" req/s/core, {figures['share_of_rs256_ceiling_per_core']:.0%} of the RS256 ceiling"
            f" ({low:.0%} to {high:.0%})"
        )
    if report["expressway_over_oidc_provider"] is not None:
        for server, ratio in report["expressway_over_oidc_provider"].items():
            by_round = report["expressway_over_oidc_provider_by_round"][server]
            print(
                f"{server} / oidc-provider throughput: {ratio}"
                f" (by round: {', '.join(f'{r:.2f}' for r in by_round)})"
            )
    elif report["peer_missing"]:
        print(f"oidc-provider: {report['peer_missing']}", file=sys.stderr)


if __name__ == "__main__":
    main()
