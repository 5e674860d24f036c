"""scim2-tester's full check suite (discovery, CRUD, PATCH add/remove/replace on every attribute,
``attributes``/``excludedAttributes``) against a running tenant over real HTTP."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import httpx2
import pytest
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

from tests.interop.conftest import LiveTenant

pytestmark = pytest.mark.interop


def _management(live_tenant: LiveTenant) -> httpx.Client:
    return httpx.Client(
        base_url=f"{live_tenant.url}/api/v2",
        headers={"Authorization": f"Bearer {live_tenant.token()}"},
        timeout=30,
    )


def scim_base_and_token(live_tenant: LiveTenant, name: str) -> tuple[str, str]:
    """A fresh ``okta`` connection with SCIM on: its SCIM base URL and a token."""
    with _management(live_tenant) as api:
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
        config = api.post(f"/connections/{connection_id}/scim-configuration")
        assert config.status_code == 201, config.text
        minted = api.post(f"/connections/{connection_id}/scim-configuration/tokens", json={})
        assert minted.status_code == 201, minted.text
    return f"{live_tenant.url}/scim/v2/connections/{connection_id}", minted.json()["token"]


@pytest.fixture
def scim_client(live_tenant: LiveTenant) -> Iterator[SyncSCIMClient]:
    base_url, token = scim_base_and_token(live_tenant, f"scim2-tester-{secrets.token_hex(4)}")
    with httpx2.Client(
        base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30
    ) as http:
        yield SyncSCIMClient(http)


def _describe(result: Any) -> str:
    return f"{result.title} [{result.resource_type}]: {result.reason}"


def test_scim2_tester_finds_no_error(scim_client: SyncSCIMClient) -> None:
    """Every check of scim2-tester's suite passes or is skipped for a feature the server does not
    announce (RFC 7644)."""
    results = check_server(scim_client)
    errors = [_describe(r) for r in results if r.status == Status.ERROR]
    assert not errors, "\n".join(errors)
    passed = [r for r in results if r.status == Status.SUCCESS]
    assert len(passed) > 50
    assert {r.resource_type for r in passed} >= {"User", "Group"}
