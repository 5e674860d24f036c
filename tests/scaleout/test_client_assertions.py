"""A ``private_key_jwt`` client assertion is single-use across replicas: its ``jti`` is
remembered in the shared database, so the replica that did not see it first refuses it too."""

from __future__ import annotations

import secrets
import time

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.e2e.story import tenant_api
from tests.scaleout.conftest import Cluster

pytestmark = pytest.mark.postgres

API = "https://scaleout.example/api"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def machine_client(cluster: Cluster, http: httpx.Client) -> tuple[str, str, rsa.RSAPrivateKey]:
    """A machine client authenticated by ``private_key_jwt`` with a grant for :data:`API`:
    its id, its key's ``kid`` and the private key."""
    api = tenant_api(cluster.tenant, http)
    api("POST", "/resource-servers", {"identifier": API, "scopes": [{"value": "read"}]})
    client = api(
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
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    client_id = str(client["client_id"])
    credential = api(
        "POST",
        f"/clients/{client_id}/credentials",
        {"credential_type": "public_key", "pem": pem, "alg": "RS256"},
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
    api("POST", "/client-grants", {"client_id": client_id, "audience": API, "scope": ["read"]})
    return client_id, str(credential["kid"]), key


def assertion(cluster: Cluster, client_id: str, kid: str, key: rsa.RSAPrivateKey) -> str:
    now = int(time.time())
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return jwt.encode(
        {"alg": "RS256", "kid": kid},
        {
            "iss": client_id,
            "sub": client_id,
            # The issuer is the public URL, the balancer's, whichever replica receives it.
            "aud": f"{cluster.tenant.url}/",
            "iat": now,
            "exp": now + 60,
            "jti": secrets.token_urlsafe(16),
        },
        RSAKey.import_key(private),
    )


def test_an_assertion_accepted_by_one_replica_is_refused_by_the_other(cluster: Cluster) -> None:
    with httpx.Client(timeout=30) as http:
        client_id, kid, key = machine_client(cluster, http)
        form = {
            "grant_type": "client_credentials",
            "audience": API,
            "client_assertion_type": JWT_BEARER,
            "client_assertion": assertion(cluster, client_id, kid, key),
        }
        first, second = (replica.url for replica in cluster.tenant_replicas)
        accepted = http.post(f"{first}/oauth/token", data=form)
        assert accepted.status_code == 200, accepted.text
        assert accepted.json()["token_type"] == "Bearer"
        replayed = http.post(f"{second}/oauth/token", data=form)
        assert replayed.status_code == 401, replayed.text
        body = replayed.json()
        assert body["error"] == "invalid_client"
        assert "jti" in body["error_description"]
        # And back on the first: refused there as well, and a fresh assertion still works on
        # the second, so the refusal is the replay's, not the replica's.
        assert http.post(f"{first}/oauth/token", data=form).status_code == 401
        fresh = {**form, "client_assertion": assertion(cluster, client_id, kid, key)}
        assert http.post(f"{second}/oauth/token", data=fresh).status_code == 200
