"""``expressway tenant serve``, in one process and with ``--workers 2``, believes
``X-Forwarded-For`` and ``X-Forwarded-Proto`` from the proxies ``EXPRESSWAY_TRUSTED_PROXIES``
names and from no other connection, a loopback one included: the address its log events record,
its access log prints and its redirects' scheme follow that one setting."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.interop.conftest import (
    free_port,
    initialise_tenant,
    management_token,
    tenant_environment,
    tenant_server,
)

CLIENT = "203.0.113.9"
#: What a proxy in front of the tenant adds to each request it forwards.
FORWARDED = {"X-Forwarded-For": CLIENT, "X-Forwarded-Proto": "https"}
API = "https://proxied.example/api"


@dataclass
class Served:
    url: str
    admin: dict[str, str]
    log: Path

    def token(self, secret: str, user_agent: str) -> httpx.Response:
        return httpx.post(
            f"{self.url}/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": self.admin["client_id"],
                "client_secret": secret,
                "audience": f"{self.url}/api/v2/",
            },
            headers={**FORWARDED, "User-Agent": user_agent},
            timeout=30,
        )


@pytest.fixture(
    scope="module",
    params=[
        pytest.param(([], 1), id="no-trusted-proxies"),
        pytest.param((["127.0.0.1/32"], 1), id="loopback-trusted"),
        pytest.param(([], 2), id="no-trusted-proxies-two-workers"),
        pytest.param((["127.0.0.1/32"], 2), id="loopback-trusted-two-workers"),
    ],
)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Served, bool]]:
    """A tenant served on loopback, with or without its own loopback as a trusted proxy;
    yields it and whether the proxy is trusted."""
    trusted, workers = request.param
    tmp_path = tmp_path_factory.mktemp("served")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = tenant_environment(tmp_path, url)
    env["EXPRESSWAY_TRUSTED_PROXIES"] = json.dumps(trusted)
    # uvicorn's own setting, at its default: it must decide nothing.
    env.pop("FORWARDED_ALLOW_IPS", None)
    admin = initialise_tenant(env)
    log = tmp_path / "serve.log"
    with tenant_server(env, port, url, log, workers=workers):
        yield Served(url, admin, log), bool(trusted)


def test_a_forwarded_request_is_the_clients_only_from_a_trusted_proxy(
    served: tuple[Served, bool],
) -> None:
    """The log events of the token endpoint (answered ahead of the application and by it) and of
    the Management API record the forwarded address exactly when the peer is trusted."""
    tenant, trusted = served
    expected = CLIENT if trusted else "127.0.0.1"

    assert tenant.token(tenant.admin["client_secret"], "proxied/issued").status_code == 200
    assert tenant.token("not-the-secret", "proxied/refused").status_code == 401
    token = management_token(f"{tenant.url}/oauth/token", tenant.admin, f"{tenant.url}/api/v2/")
    with httpx.Client(
        base_url=f"{tenant.url}/api/v2",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ) as management:
        created = management.post(
            "/resource-servers",
            json={"identifier": API, "name": "Proxied API"},
            headers={**FORWARDED, "User-Agent": "proxied/management"},
        )
        assert created.status_code == 201, created.text
        events = management.get("/logs", params={"per_page": 100}).json()

    addresses = {
        event["user_agent"]: event.get("ip")
        for event in events
        if str(event.get("user_agent")).startswith("proxied/")
    }
    assert addresses == {
        "proxied/issued": expected,
        "proxied/refused": expected,
        "proxied/management": expected,
    }
    # uvicorn's access log reads the same request, and prints the same client.
    assert (f'{CLIENT}:0 - "POST /oauth/token' in tenant.log.read_text()) is trusted


def test_a_redirect_of_a_stray_slash_names_neither_the_forwarded_scheme_nor_the_host(
    served: tuple[Served, bool],
) -> None:
    """The redirect of a stray trailing slash is a relative reference, from a trusted proxy or
    not: nothing the request's headers say (``Host``, ``X-Forwarded-Proto``) is written in it."""
    tenant, _trusted = served
    answer = httpx.get(
        f"{tenant.url}/api/v2/logs/?page=1",
        headers={**FORWARDED, "Host": "evil.example"},
        timeout=30,
    )
    assert answer.status_code == 307
    assert answer.headers["location"] == "/api/v2/logs?page=1"
