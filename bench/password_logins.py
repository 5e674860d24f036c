"""Password logins per second through Universal Login, against Keycloak's published sizing of
15 password logins per second per vCPU.

Each login is what a browser does: ``/authorize`` (authorization code with PKCE), the
identifier and password pages with their CSRF tokens, and the redirect back to the application
with a code. Several browsers log in at once for a fixed time; the tenant's CPU time gives the
logins per second per vCPU. Argon2id verifications per second with the parameters in use, and
with Keycloak's default parameters, are timed in-process beside it: the password hash is what
bounds a login.

    .venv/bin/python bench/password_logins.py [--seconds 20] [--browsers 4]
    .venv/bin/python bench/password_logins.py --profile /tmp/logins.txt   # py-spy collapsed stacks
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import secrets
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from _harness import Management, Meter, percentile, profiled, rss_mb, tenant, write_json
from argon2 import PasswordHasher

from expressway import hashing
from expressway.demo.browser import forms_of
from expressway.web.outbound import http_client

CALLBACK = "https://app.bench.example/callback"
DATABASE = "Username-Password-Authentication"
PASSWORD = "Bench-Password-7"
KEYCLOAK_LOGINS_PER_VCPU = 15
#: Keycloak's default Argon2id parameters (its ``password-hashing`` SPI): 7 MiB, 5 passes, 1 lane.
KEYCLOAK_ARGON2 = {"memory_cost": 7168, "time_cost": 5, "parallelism": 1}


def argon2_parameters() -> dict[str, int]:
    """The parameters the tenant hashes passwords with, read from a hash it makes."""
    encoded = hashing.hash_password("parameters")
    fields = dict(part.split("=") for part in encoded.split("$")[3].split(","))
    return {
        "memory_cost": int(fields["m"]),
        "time_cost": int(fields["t"]),
        "parallelism": int(fields["p"]),
    }


def verifies_per_cpu_second(parameters: dict[str, int], count: int) -> dict[str, float]:
    hasher = PasswordHasher(
        memory_cost=parameters["memory_cost"],
        time_cost=parameters["time_cost"],
        parallelism=parameters["parallelism"],
    )
    stored = hasher.hash(PASSWORD)
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(count):
        hasher.verify(stored, PASSWORD)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return {
        "cpu_ms_per_verify": round(cpu / count * 1000, 1),
        "wall_ms_per_verify": round(wall / count * 1000, 1),
        "verifies_per_cpu_second": round(count / cpu, 1),
    }


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def log_in(url: str, client_id: str, email: str) -> float:
    """One login in a new browser, up to the redirect to the application with a code; answers
    the milliseconds it took."""
    _, challenge = pkce()
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": CALLBACK,
            "scope": "openid",
            "state": secrets.token_urlsafe(12),
            "code_challenge": challenge,
            "code_challenge_method": "S256",
        }
    )
    started = time.perf_counter()
    # A new browser for each login, on the process's one TLS context: a context of its own loads
    # the CA bundle each time (29 ms of CPU on a 2 vCPU EPYC), taken from the tenant's cores.
    with http_client(base_url=url, timeout=60) as browser:
        response = browser.get(f"/authorize?{query}")
        for _ in range(10):
            if response.is_redirect:
                location = response.headers["location"]
                if location.startswith(CALLBACK):
                    if "code=" not in location:
                        raise RuntimeError(f"the login failed: {location}")
                    return (time.perf_counter() - started) * 1000
                response = browser.get(str(response.url.join(location)))
                continue
            forms = forms_of(response.text)
            if not forms:
                raise RuntimeError(f"{response.url} answered {response.status_code}: no form")
            form = forms[0]
            data = dict(form.fields)
            for name in data:
                if name in ("email", "username"):
                    data[name] = email
                elif name == "password":
                    data[name] = PASSWORD
            for name, values in form.buttons.items():
                data[name] = "accept" if "accept" in values else values[0]
            response = browser.post(str(response.url.join(form.action)), data=data)
    raise RuntimeError("the login never reached the application")


def prepare(url: str, admin: dict[str, str], users: int) -> tuple[str, list[str]]:
    api = Management(url, admin)
    try:
        client = api(
            "POST",
            "/clients",
            {
                "name": "Bench web app",
                "app_type": "regular_web",
                "callbacks": [CALLBACK],
                "grant_types": ["authorization_code"],
            },
        )
        connections = api("GET", "/connections?per_page=100")
        database = next(c for c in connections if c["name"] == DATABASE)
        api(
            "PATCH",
            f"/connections/{database['id']}/clients",
            [{"client_id": client["client_id"], "status": True}],
        )
        emails = [f"user{n}@bench.example" for n in range(users)]
        for email in emails:
            api("POST", "/users", {"connection": DATABASE, "email": email, "password": PASSWORD})
    finally:
        api.close()
    return client["client_id"], emails


def run(
    seconds: float, browsers: int, data_dir: Path, profile: Path | None = None
) -> dict[str, Any]:
    with tenant(data_dir) as server:
        client_id, emails = prepare(server.url, server.extra["admin"], browsers * 2)
        log_in(server.url, client_id, emails[0])  # warm-up
        timings: list[float] = []
        failures: list[str] = []
        deadline = time.monotonic() + seconds

        def browse(index: int) -> None:
            turn = 0
            while time.monotonic() < deadline:
                email = emails[(index + turn * browsers) % len(emails)]
                turn += 1
                try:
                    timings.append(log_in(server.url, client_id, email))
                except (RuntimeError, httpx.HTTPError) as error:
                    failures.append(str(error))

        with profiled(server.pid, profile):
            meter = Meter(server.pid).start()
            threads = [threading.Thread(target=browse, args=(n,)) for n in range(browsers)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            meter.stop()
        if failures:
            raise RuntimeError(f"{len(failures)} logins failed, the first: {failures[0]}")
        logins = len(timings)
        per_second = logins / meter.wall_seconds
        return {
            "browsers": browsers,
            "seconds": round(meter.wall_seconds, 1),
            "logins": logins,
            "logins_per_second": round(per_second, 2),
            "server_cpu_cores_used": round(meter.cores_used, 2),
            "logins_per_second_per_vcpu": round(logins / meter.cpu_seconds, 2),
            "server_cpu_ms_per_login": round(meter.cpu_seconds / logins * 1000, 1),
            "p50_ms": round(statistics.median(timings), 1),
            "p95_ms": round(percentile(timings, 0.95), 1),
            "rss_peak_mb": round(meter.peak_rss_mb, 1),
            "rss_after_mb": round(rss_mb(server.pid), 1),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--browsers", type=int, default=4, help="concurrent logins")
    parser.add_argument("--verifies", type=int, default=10, help="in-process Argon2 verifies")
    parser.add_argument(
        "--profile", type=Path, help="write py-spy's collapsed stacks of the tenant here"
    )
    parser.add_argument("--json", type=Path, default=Path("bench/results/password_logins.json"))
    arguments = parser.parse_args()
    ours = argon2_parameters()
    hashes = {
        "expressway": {**ours, **verifies_per_cpu_second(ours, arguments.verifies)},
        "keycloak_default": {
            **KEYCLOAK_ARGON2,
            **verifies_per_cpu_second(KEYCLOAK_ARGON2, arguments.verifies * 5),
        },
    }
    with tempfile.TemporaryDirectory(prefix="login-bench-") as scratch:
        result = run(arguments.seconds, arguments.browsers, Path(scratch), arguments.profile)
    report = {
        "argon2id": hashes,
        "http": result,
        "keycloak_logins_per_second_per_vcpu": KEYCLOAK_LOGINS_PER_VCPU,
        "ratio_to_keycloak": round(
            result["logins_per_second_per_vcpu"] / KEYCLOAK_LOGINS_PER_VCPU, 2
        ),
    }
    print(
        f"Argon2id in use: m={ours['memory_cost']} KiB, t={ours['time_cost']},"
        f" p={ours['parallelism']}: {hashes['expressway']['cpu_ms_per_verify']} ms CPU a verify"
        f" ({hashes['expressway']['verifies_per_cpu_second']} per CPU-second);"
        f" Keycloak's default (m=7168, t=5, p=1): {hashes['keycloak_default']['cpu_ms_per_verify']}"
        " ms"
    )
    print(
        f"{'browsers':>8} {'logins':>6} {'logins/s':>8} {'cores':>6} {'per vCPU':>8}"
        f" {'CPU ms':>7} {'p50 ms':>7} {'p95 ms':>7} {'Keycloak':>8}"
    )
    print(
        f"{result['browsers']:>8} {result['logins']:>6} {result['logins_per_second']:>8}"
        f" {result['server_cpu_cores_used']:>6} {result['logins_per_second_per_vcpu']:>8}"
        f" {result['server_cpu_ms_per_login']:>7} {result['p50_ms']:>7} {result['p95_ms']:>7}"
        f" {KEYCLOAK_LOGINS_PER_VCPU:>8}"
    )
    write_json(arguments.json, "password_logins", report)
    print(f"written to {arguments.json}")


if __name__ == "__main__":
    main()
