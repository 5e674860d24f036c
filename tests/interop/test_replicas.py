"""Two tenant processes on one database, as behind a load balancer: what one has seen, the other
knows (SPEC §7). A client assertion's ``jti`` used at one replica is refused at the other."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.databases import postgres_database, postgres_unreachable_reason
from tests.interop.conftest import (
    free_port,
    initialise_tenant,
    management_token,
    tenant_environment,
    tenant_server,
)
from tests.interop.machine_clients import client_assertion, private_key_jwt_client

API = "https://replicated.example/api"


@pytest.fixture
def shared_database(tmp_path: Path) -> Iterator[str]:
    """PostgreSQL when there is one (how replicas run for real), else one SQLite file."""
    if postgres_unreachable_reason() is None:
        with postgres_database() as url:
            yield url
    else:
        yield f"sqlite:///{tmp_path / 'shared.db'}"


def test_an_assertion_used_at_one_replica_is_refused_at_the_other(
    tmp_path: Path, shared_database: str
) -> None:
    port_a, port_b = free_port(), free_port()
    public_url = f"http://127.0.0.1:{port_a}"  # the load balancer's address: one issuer
    env = tenant_environment(tmp_path, public_url, shared_database)
    env["EXPRESSWAY_SECRET_KEY"] = secrets.token_urlsafe(32)
    admin = initialise_tenant(env)
    with (
        tenant_server(env, port_a, public_url, tmp_path / "a.log") as replica_a,
        tenant_server(env, port_b, public_url, tmp_path / "b.log") as replica_b,
        httpx.Client(timeout=30) as http,
    ):
        token = management_token(f"{replica_a}/oauth/token", admin, f"{public_url}/api/v2/")
        management = {"Authorization": f"Bearer {token}"}

        def call(method: str, path: str, body: object) -> dict[str, object]:
            response = http.request(
                method, f"{replica_b}/api/v2{path}", json=body, headers=management
            )
            assert response.status_code < 300, response.text
            return response.json() if response.content else {}

        client_id, kid, key = private_key_jwt_client(call, API)
        assertion = client_assertion(client_id, kid, key, f"{public_url}/")
        form = {
            "grant_type": "client_credentials",
            "audience": API,
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            "client_assertion": assertion,
        }
        first = http.post(f"{replica_a}/oauth/token", data=form)
        assert first.status_code == 200, first.text
        replay = http.post(f"{replica_b}/oauth/token", data=form)
        assert replay.status_code == 401
        assert "jti" in replay.json()["error_description"]
