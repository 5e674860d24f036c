"""A ``private_key_jwt`` client assertion is single-use across replicas: its ``jti`` is
remembered in the shared database, so the replica that did not see it first refuses it too."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.story import tenant_api
from tests.interop.machine_clients import client_assertion, private_key_jwt_client
from tests.scaleout.conftest import Cluster

pytestmark = pytest.mark.postgres

API = "https://scaleout.example/api"
JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


def test_an_assertion_accepted_by_one_replica_is_refused_by_the_other(cluster: Cluster) -> None:
    # The issuer is the public URL, the balancer's, whichever replica receives the assertion.
    audience = f"{cluster.tenant.url}/"
    with httpx.Client(timeout=30) as http:
        client_id, kid, key = private_key_jwt_client(tenant_api(cluster.tenant, http), API)
        form = {
            "grant_type": "client_credentials",
            "audience": API,
            "client_assertion_type": JWT_BEARER,
            "client_assertion": client_assertion(client_id, kid, key, audience),
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
        fresh = {**form, "client_assertion": client_assertion(client_id, kid, key, audience)}
        assert http.post(f"{second}/oauth/token", data=fresh).status_code == 200
