"""Two tenant processes on one database, as behind a load balancer: what one has seen, the other
knows (SPEC §7). A client assertion's ``jti`` used at one replica is refused at the other."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.databases import postgres_database, postgres_unreachable_reason
from tests.interop.conftest import free_port, initialise_tenant, tenant_environment, tenant_server

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
        token = http.post(
            f"{replica_a}/oauth/token",
            data={
                "grant_type": "client_credentials",
                "client_id": admin["client_id"],
                "client_secret": admin["client_secret"],
                "audience": f"{public_url}/api/v2/",
            },
        ).json()["access_token"]
        management = {"Authorization": f"Bearer {token}"}

        def call(method: str, path: str, body: object) -> dict[str, object]:
            response = http.request(
                method, f"{replica_b}/api/v2{path}", json=body, headers=management
            )
            assert response.status_code < 300, response.text
            return response.json() if response.content else {}

        call("POST", "/resource-servers", {"identifier": API, "scopes": [{"value": "read"}]})
        machine = call(
            "POST",
            "/clients",
            {
                "name": "Replicated machine",
                "app_type": "non_interactive",
                "grant_types": ["client_credentials"],
            },
        )
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = (
            key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        client_id = str(machine["client_id"])
        credential = call(
            "POST",
            f"/clients/{client_id}/credentials",
            {"credential_type": "public_key", "pem": pem, "alg": "RS256"},
        )
        call(
            "PATCH",
            f"/clients/{client_id}",
            {
                "client_authentication_methods": {
                    "private_key_jwt": {"credentials": [{"id": credential["id"]}]}
                }
            },
        )
        call("POST", "/client-grants", {"client_id": client_id, "audience": API, "scope": ["read"]})

        now = int(time.time())
        assertion = jwt.encode(
            {"alg": "RS256", "kid": str(credential["kid"])},
            {
                "iss": client_id,
                "sub": client_id,
                "aud": f"{public_url}/",
                "iat": now,
                "exp": now + 60,
                "jti": secrets.token_urlsafe(16),
            },
            RSAKey.import_key(
                key.private_bytes(
                    serialization.Encoding.PEM,
                    serialization.PrivateFormat.PKCS8,
                    serialization.NoEncryption(),
                )
            ),
        )
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
