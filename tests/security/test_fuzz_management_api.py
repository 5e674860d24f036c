"""Generated requests against every operation of the Management API's OpenAPI document.

Rule: whatever a caller sends, the Management API answers no 5xx, answers in the documented
content type and schema, and refuses what its schema does not allow with a 4xx.
"""

from __future__ import annotations

import re

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.conftest import BACKENDS, Tenant
from tests.security.fuzzing import fuzz, matching
from tests.tenant.browser import (
    make_api,
    make_client,
    make_enterprise_connection,
    make_organization,
    make_user,
    management,
)

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)

#: About 100 operations at up to 12 cases each (fewer where no more distinct cases exist):
#: more than 1,000 in all.
EXAMPLES_PER_OPERATION = 12


def _seed(tenant: Tenant) -> dict[str, str]:
    """One object of each kind, named by the path segment (or parameter) that addresses it."""
    api = management(tenant)
    client = make_client(tenant, name="Fuzzed app")
    public_pem = (
        rsa.generate_private_key(public_exponent=65537, key_size=2048)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    credential = api.post(
        f"/clients/{client}/credentials",
        json={"credential_type": "public_key", "pem": public_pem, "alg": "RS256"},
    ).json()["id"]
    make_api(tenant, "https://api.fuzz.example", "read:things")
    resource_server = api.get("/resource-servers").json()[0]["id"]
    role = api.post("/roles", json={"name": "Fuzzed role"}).json()["id"]
    user = make_user(tenant, "fuzz@example.com")
    connection = make_enterprise_connection(
        tenant, "fuzzed-okta", domains=["fuzz.example"], clients=[client]
    )
    organization = make_organization(tenant, "fuzzed-org", user)
    api.post(
        f"/organizations/{organization}/enabled_connections",
        json={"connection_id": connection, "assign_membership_on_login": False},
    ).raise_for_status()
    api.post(f"/connections/{connection}/scim-configuration", json={}).raise_for_status()
    token = api.post(f"/connections/{connection}/scim-configuration/tokens", json={}).json()
    grant = api.post(
        "/client-grants",
        json={"client_id": client, "audience": "https://api.fuzz.example", "scope": []},
    ).json()["id"]
    return {
        "clients": client,
        "credential_id": credential,
        "resource-servers": resource_server,
        "roles": role,
        "users": user,
        "user_id": user,
        "organizations": organization,
        "name": "fuzzed-org",
        "connections": connection,
        "connection_id": connection,
        "token_id": token["token_id"],
        "client-grants": grant,
        "logs": api.get("/logs").json()[0]["log_id"],
    }


def _known_ids(seeded: dict[str, str]) -> object:
    def known(path: str) -> dict[str, str]:
        found: dict[str, str] = {}
        segments = path.strip("/").split("/")
        for position, segment in enumerate(segments):
            parameter = re.fullmatch(r"\{(\w+)\}", segment)
            if parameter is None:
                continue
            name = parameter.group(1)
            key = segments[position - 1] if name == "id" else name
            if key in seeded:
                found[name] = seeded[key]
        return found

    return known


def test_generated_requests_to_the_management_api_get_no_5xx_and_documented_answers(
    tenant: Tenant,
) -> None:
    """Positive and negative cases for every /api/v2 operation, with an all-scopes token."""
    seeded = _seed(tenant)
    run = fuzz(
        tenant.http,
        tenant.http.app.openapi(),  # type: ignore[attr-defined]
        paths=matching("/api/v2/"),
        examples_per_operation=EXAMPLES_PER_OPERATION,
        headers={"Authorization": f"Bearer {tenant.token()}"},
        known_ids=_known_ids(seeded),  # type: ignore[arg-type]
    )
    print(run.summary())
    assert run.total >= 1000, run.summary()
    assert len(run.cases) == run.operations >= 70, sorted(run.cases)
    assert any(200 <= status < 300 for status in run.statuses), run.summary()
