"""Machine instructions a token costs, counted by callgrind: what the token endpoint does beside
the RS256 sign and verify, measured so that a change of a few percent shows.

Wall-clock and CPU time drift by a fifth from one minute to the next on the 2 vCPU machines these
benchmarks run on, so a change to the token path's own work (a tenth of a token's CPU on a
machine with fast RSA, a third of its instructions' time on any) is lost in the noise of
``token_endpoint.py``. Instructions executed are the same from run to run, whatever else the
machine does. This benchmark counts them with valgrind's callgrind, only while the tokens are
being issued, and splits them by the library that executed them:

- ``cryptography``: the RSA sign of each access token and the verify of each client assertion
  (OpenSSL, linked into cryptography's module): the work the issue's RS256 ceiling counts;
- ``sqlite``: the batches' statements and commits in SQLite's library;
- ``interpreter``: CPython running Expressway, FastAPI's and every other Python library's code;
- ``other``: the C library (memory, copies), orjson, and the rest.

The tenant runs in this process on SQLite, as ``tenant serve`` runs it but without uvicorn (the
requests are handed to its ASGI application, 16 in flight, as ``token_endpoint.py``'s 16
connections are): what uvicorn and the kernel add a request is measured by ``token_endpoint.py``.
Two things that follow the wall-clock time, which callgrind stretches fifty-fold, are left out:
the WAL's background checkpoints, and the hot rows' refresh (every 1.5 s of a client's use: every
few thousand tokens at full speed, but every hundred or so under callgrind); and the cycle
collector starts the count from nothing collected, so that two runs count the same work.
Instructions are not time (an RSA sign runs several instructions a cycle, the interpreter about
one), so the share of instructions is not the share of CPU time: ``token_endpoint.py`` measures
that.

    .venv/bin/python bench/token_instructions.py [--tokens 300]

It needs valgrind (``apt-get install -y valgrind``); the tokens it issues run about fifty times
slower than without it.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import _callgrind
from _harness import write_json

#: Requests in flight at once, as token_endpoint.py's connections.
CONCURRENCY = 16
#: Tokens issued before counting starts: the hot rows read, the code paths warm.
WARMUP = 100
URL = "http://localhost:8401"

# --- the process callgrind runs ---------------------------------------------------------------


def _token_request(body: bytes) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/oauth/token",
        "raw_path": b"/oauth/token",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"localhost:8401"),
            (b"content-type", b"application/x-www-form-urlencoded"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8401),
    }


async def _issue(app: Any, bodies: list[bytes]) -> int:
    """Each body's token request, ``CONCURRENCY`` in flight; answers how many got a 200."""
    pending = iter(bodies)
    issued = 0

    async def one(body: bytes) -> None:
        messages = [{"type": "http.request", "body": body, "more_body": False}]

        async def receive() -> dict[str, Any]:
            if messages:
                return messages.pop()
            await asyncio.Event().wait()  # the client never disconnects
            raise AssertionError("unreachable")

        async def send(message: dict[str, Any]) -> None:
            nonlocal issued
            if message["type"] == "http.response.start" and message["status"] == 200:
                issued += 1

        await app(_token_request(body), receive, send)

    async def connection() -> None:
        for body in pending:
            await one(body)

    await asyncio.gather(*(connection() for _ in range(CONCURRENCY)))
    return issued


def child(tokens: int, report: Path) -> None:
    """Set a tenant up, issue the warm-up tokens, then ``tokens`` tokens with callgrind counting."""
    import token_endpoint
    from pydantic import SecretStr
    from starlette.testclient import TestClient

    from expressway.cli.serving import tune_interpreter
    from expressway.config import Settings
    from expressway.tenant.app import create_app
    from expressway.tenant.authn import hot_rows
    from expressway.tenant.bootstrap import initialise_tenant
    from expressway.tenant.runtime import TenantRuntime

    tune_interpreter()
    hot_rows.TTL_SECONDS = hot_rows.REFRESH_AFTER_SECONDS = 24 * 3600.0
    with tempfile.TemporaryDirectory(prefix="token-instructions-") as scratch:
        settings = Settings(
            data_dir=Path(scratch),
            secret_key=SecretStr("token-instructions-benchmark-key"),
            tenant_public_url=URL,
            tenant_backchannel_logout_worker=False,
        )
        runtime = TenantRuntime.from_settings(settings)
        admin = initialise_tenant(runtime)
        # Not entered as a context: the app's lifespan would start the background checkpoints.
        app = create_app(runtime)
        http = TestClient(app, base_url=URL)
        form = {
            "grant_type": "client_credentials",
            "client_id": admin.admin_client_id or "",
            "client_secret": admin.admin_client_secret or "",
            "audience": settings.management_audience,
        }
        token = http.post("/oauth/token", data=form).json()["access_token"]

        def management(method: str, path: str, body: object = None) -> Any:
            answer = http.request(
                method, f"/api/v2{path}", json=body, headers={"Authorization": f"Bearer {token}"}
            )
            answer.raise_for_status()
            return answer.json()

        signer = token_endpoint.set_up_client(management, URL)
        bodies = [b.encode() for b in token_endpoint.sign_requests(signer, WARMUP + tokens)]

        async def run() -> dict[str, int]:
            warmed = await _issue(app, bodies[:WARMUP])
            gc.collect()
            _callgrind.instrument(os.getpid(), True)
            issued = await _issue(app, bodies[WARMUP:])
            _callgrind.instrument(os.getpid(), False)
            return {"warm_up": warmed, "issued": issued}

        import uvloop

        outcome = uvloop.run(run())
        runtime.engine.dispose()
    report.write_text(json.dumps(outcome))


# --- the benchmark ------------------------------------------------------------------------------


def count(tokens: int) -> dict[str, Any]:
    """Run :func:`child` under callgrind; answer the instructions a token, by library."""
    with tempfile.TemporaryDirectory(prefix="token-instructions-") as scratch:
        out, report = Path(scratch) / "callgrind.out", Path(scratch) / "report.json"
        command = [
            *_callgrind.command(out),
            sys.executable,
            __file__,
            "--child",
            "--tokens",
            str(tokens),
            "--report",
            str(report),
        ]
        done = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        if done.returncode != 0 or not report.exists():
            raise SystemExit(f"the run under callgrind failed:\n{done.stderr[-3000:]}")
        outcome = json.loads(report.read_text())
        if outcome["issued"] != tokens or outcome["warm_up"] != WARMUP:
            raise SystemExit(f"not every token request was answered with a token: {outcome}")
        by_library = _callgrind.count_by_library(out)
    total = sum(by_library.values())
    per_token = {name: round(value / tokens) for name, value in sorted(by_library.items())}
    beside_rsa = total - by_library["cryptography"]
    return {
        "tokens": tokens,
        "concurrency": CONCURRENCY,
        "instructions_per_token": round(total / tokens),
        "by_library_per_token": per_token,
        "beside_rsa_per_token": round(beside_rsa / tokens),
        "rsa_share_of_instructions": round(by_library["cryptography"] / total, 4),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=300, help="tokens counted")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--report", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--json", type=Path, default=Path("bench/results/token_instructions.json"))
    arguments = parser.parse_args()
    if arguments.child:
        child(arguments.tokens, arguments.report)
        return
    if not _callgrind.available():
        raise SystemExit("token_instructions needs valgrind: apt-get install -y valgrind")
    result = count(arguments.tokens)
    libraries = result["by_library_per_token"]
    print(f"{'tokens':>7} {'per token':>10} " + " ".join(f"{name:>13}" for name in libraries))
    print(
        f"{result['tokens']:>7} {result['instructions_per_token']:>10,} "
        + " ".join(f"{value:>13,}" for value in libraries.values())
    )
    print(
        f"beside the RSA sign and verify: {result['beside_rsa_per_token']:,} instructions a token"
        f" ({1 - result['rsa_share_of_instructions']:.1%} of them)"
    )
    write_json(arguments.json, "token_instructions", result)
    print(f"written to {arguments.json}")


if __name__ == "__main__":
    main()
