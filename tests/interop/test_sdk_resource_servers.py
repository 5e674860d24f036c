"""The official Auth0 SDK manages APIs on a running tenant."""

from __future__ import annotations

from auth0.management import Auth0
from auth0.management.types import ResourceServerScope

from tests.interop.conftest import LiveTenant


def test_the_sdk_creates_reads_updates_lists_and_deletes_an_api(
    live_tenant: LiveTenant, sdk: Auth0
) -> None:
    created = sdk.resource_servers.create(
        identifier="https://orders.example/api",
        name="Orders",
        scopes=[ResourceServerScope(value="read:orders", description="Read orders")],
        enforce_policies=True,
    )
    assert created.id
    assert created.enforce_policies is True
    fetched = sdk.resource_servers.get(created.id)
    assert fetched.identifier == "https://orders.example/api"
    updated = sdk.resource_servers.update(created.id, name="Orders API", token_lifetime=3600)
    assert updated.name == "Orders API"
    assert updated.token_lifetime == 3600
    identifiers = [api.identifier for api in sdk.resource_servers.list()]
    assert "https://orders.example/api" in identifiers
    assert live_tenant.management_audience in identifiers
    sdk.resource_servers.delete(created.id)
    assert "https://orders.example/api" not in [
        api.identifier for api in sdk.resource_servers.list()
    ]
