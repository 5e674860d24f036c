"""A connection ready for SCIM on the test tenant, and a client for its SCIM base URL."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from expressway.clock import FrozenClock
from expressway.storage.engine import unit_of_work
from expressway.tenant.rows import ScimTokenRow, UserRow
from expressway.tenant.scim import fast_path
from expressway.tenant.scim.context import ScimAccess
from tests.conftest import Tenant

SCIM_MEDIA_TYPE = "application/scim+json"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


@dataclass
class ScimConnection:
    id: str
    name: str
    token: str
    token_id: str
    base_url: str
    http: TestClient


def scim_connection(
    tenant: Tenant,
    name: str = "acme-okta",
    *,
    scopes: list[str] | None = None,
    configuration: dict[str, Any] | None = None,
) -> ScimConnection:
    """An ``okta`` connection with SCIM switched on and a token; ``http`` sends that token."""
    api = tenant.api()
    created = api.post(
        "/connections",
        json={
            "name": name,
            "strategy": "okta",
            "options": {"domain": "acme.okta.example", "client_id": "c", "client_secret": "s"},
        },
    )
    assert created.status_code == 201, created.text
    connection_id = created.json()["id"]
    config = api.post(f"/connections/{connection_id}/scim-configuration", json=configuration)
    assert config.status_code == 201, config.text
    minted = api.post(
        f"/connections/{connection_id}/scim-configuration/tokens",
        json={"scopes": scopes} if scopes else {},
    )
    assert minted.status_code == 201, minted.text
    token = minted.json()["token"]
    base_url = f"http://localhost:8401/scim/v2/connections/{connection_id}"
    http = TestClient(tenant.http.app, base_url=base_url)
    http.headers["Authorization"] = f"Bearer {token}"
    return ScimConnection(connection_id, name, token, minted.json()["token_id"], base_url, http)


def okta_user(user_name: str, external_id: str | None = None, **extra: Any) -> dict[str, Any]:
    """A user as Okta's provisioning sends it on creation."""
    body: dict[str, Any] = {
        "schemas": [USER_SCHEMA],
        "userName": user_name,
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "emails": [{"primary": True, "value": user_name, "type": "work"}],
        "displayName": "Barbara Jensen",
        "locale": "en-US",
        "groups": [],
        "password": "an-initial-Passw0rd",
        "active": True,
    }
    if external_id is not None:
        body["externalId"] = external_id
    body.update(extra)
    return body


def patch_body(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_SCHEMA], "Operations": list(operations)}


def scim_error(response: Any, status: int, scim_type: str | None = None) -> dict[str, Any]:
    """The body of a SCIM error after checking its shape (RFC 7644 §3.12)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(SCIM_MEDIA_TYPE)
    body: dict[str, Any] = response.json()
    assert body["schemas"] == [ERROR_SCHEMA]
    assert body["status"] == str(status)
    assert body.get("scimType") == scim_type
    assert body["detail"]
    return body


def signed_in_user(tenant: Tenant, user_id: str, at: datetime, logins_count: int) -> UserRow:
    """The tenant user an Okta SSO login made (``acme-okta``, ``jit@example.com``) before any
    SCIM push, written at ``at``; added to ``tenant``'s database."""
    user = UserRow(
        user_id=user_id,
        connection="acme-okta",
        provider="okta",
        email="jit@example.com",
        email_key="jit@example.com",
        blocked=False,
        app_metadata={},
        user_metadata={},
        logins_count=logins_count,
        created_at=at,
        updated_at=at,
    )
    with unit_of_work(tenant.runtime.sessions) as session:
        session.add(user)
    return user


def expiring_scim_connection(tenant: Tenant, minutes: int) -> tuple[FrozenClock, ScimConnection]:
    """A SCIM connection whose token expires ``minutes`` from now, on a clock the test moves."""
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    tenant.runtime.clock = clock
    scim = scim_connection(tenant)
    with unit_of_work(tenant.runtime.sessions) as session:
        token = session.get(ScimTokenRow, scim.token_id)
        assert token is not None
        token.valid_until = clock.now() + timedelta(minutes=minutes)
    return clock, scim


def fast_path_answers(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, ScimAccess]]:
    """From now on, for each time the SCIM fast path answers a request (or tries to), the name
    of the thread it ran in and the access it had: the list returned grows with each."""
    answers: list[tuple[str, ScimAccess]] = []
    real = fast_path._answer

    def spy(access: ScimAccess, handler: Any, *batch: Any) -> Any:
        answers.append((threading.current_thread().name, access))
        return real(access, handler, *batch)

    monkeypatch.setattr(fast_path, "_answer", spy)
    return answers
