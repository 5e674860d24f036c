"""``/api/v2/client-grants``, and a client made through the API using its grant at the token
endpoint."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import BACKENDS, Tenant, auth0_error

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)

ORDERS = "https://orders.example/api"


def _api_and_client(api: TestClient, name: str = "Billing") -> str:
    """The Orders API (made once) and a machine client; the client's id."""
    if api.get(f"/resource-servers/{ORDERS}").status_code == 404:
        created = api.post(
            "/resource-servers",
            json={
                "identifier": ORDERS,
                "scopes": [{"value": "read:orders"}, {"value": "write:orders"}],
            },
        )
        assert created.status_code == 201, created.text
    client = api.post("/clients", json={"name": name, "app_type": "non_interactive"})
    assert client.status_code == 201, client.text
    client_id: str = client.json()["client_id"]
    return client_id


def _grant(api: TestClient, client_id: str, **fields: Any) -> dict[str, Any]:
    response = api.post(
        "/client-grants",
        json={"client_id": client_id, "audience": ORDERS, "scope": ["read:orders"], **fields},
    )
    assert response.status_code == 201, response.text
    grant: dict[str, Any] = response.json()
    return grant


def test_a_grant_is_created_in_auth0s_shape_and_read_back(tenant: Tenant) -> None:
    api = tenant.api()
    client_id = _api_and_client(api)
    grant = _grant(api, client_id, organization_usage="allow", allow_any_organization=True)
    assert grant["id"].startswith("cgr_")
    assert grant["client_id"] == client_id
    assert grant["audience"] == ORDERS
    assert grant["scope"] == ["read:orders"]
    assert grant["organization_usage"] == "allow"
    assert grant["allow_any_organization"] is True
    assert api.get(f"/client-grants/{grant['id']}").json() == grant


def test_a_scope_the_api_does_not_have_is_refused_naming_it(tenant: Tenant) -> None:
    api = tenant.api()
    client_id = _api_and_client(api)
    response = api.post(
        "/client-grants",
        json={"client_id": client_id, "audience": ORDERS, "scope": ["read:orders", "eat:cake"]},
    )
    assert response.status_code == 400
    assert "eat:cake" in auth0_error(response)["message"]


@pytest.mark.parametrize(
    ("field", "value"), [("client_id", "nobody"), ("audience", "https://missing.example")]
)
def test_an_unknown_client_or_audience_is_a_404_naming_it(
    tenant: Tenant, field: str, value: str
) -> None:
    api = tenant.api()
    client_id = _api_and_client(api)
    body = {"client_id": client_id, "audience": ORDERS, "scope": [], field: value}
    response = api.post("/client-grants", json=body)
    assert response.status_code == 404
    assert value in auth0_error(response)["message"]


def test_a_second_grant_for_the_same_client_and_audience_is_a_409(tenant: Tenant) -> None:
    api = tenant.api()
    client_id = _api_and_client(api)
    first = _grant(api, client_id)
    again = api.post(
        "/client-grants", json={"client_id": client_id, "audience": ORDERS, "scope": []}
    )
    assert again.status_code == 409
    assert first["id"] in auth0_error(again)["message"]


def test_allow_any_organization_needs_organizations_to_be_used(tenant: Tenant) -> None:
    api = tenant.api()
    client_id = _api_and_client(api)
    response = api.post(
        "/client-grants",
        json={"client_id": client_id, "audience": ORDERS, "allow_any_organization": True},
    )
    assert response.status_code == 400
    assert "organization_usage" in auth0_error(response)["message"]


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ({"audience": ORDERS}, "client_id"),
        ({"client_id": "x", "audience": ORDERS, "scope": "read:orders"}, "scope"),
        ({"client_id": "x", "audience": ORDERS, "subject_type": "user"}, "subject_type"),
        ({"client_id": "x", "audience": ORDERS, "extra": 1}, "extra"),
    ],
)
def test_bad_grant_input_is_a_400_naming_the_property(
    tenant: Tenant, body: dict[str, Any], named: str
) -> None:
    response = tenant.api().post("/client-grants", json=body)
    assert response.status_code == 400
    assert named in auth0_error(response)["message"]


def test_patch_changes_the_scope_and_checks_it(tenant: Tenant) -> None:
    api = tenant.api()
    grant = _grant(api, _api_and_client(api))
    path = f"/client-grants/{grant['id']}"
    changed = api.patch(path, json={"scope": ["read:orders", "write:orders"]})
    assert changed.status_code == 200
    assert changed.json()["scope"] == ["read:orders", "write:orders"]
    refused = api.patch(path, json={"scope": ["drop:tables"]})
    assert refused.status_code == 400
    assert "drop:tables" in auth0_error(refused)["message"]
    assert api.get(path).json()["scope"] == ["read:orders", "write:orders"]


def test_a_grant_is_deleted_and_then_not_found(tenant: Tenant) -> None:
    api = tenant.api()
    grant = _grant(api, _api_and_client(api))
    assert api.delete(f"/client-grants/{grant['id']}").status_code == 204
    missing = api.get(f"/client-grants/{grant['id']}")
    assert missing.status_code == 404
    assert grant["id"] in auth0_error(missing)["message"]


def test_the_admin_clients_management_grant_cannot_be_deleted(tenant: Tenant) -> None:
    api = tenant.api()
    [grant] = api.get("/client-grants", params={"client_id": tenant.admin_client_id}).json()
    assert api.delete(f"/client-grants/{grant['id']}").status_code == 400
    assert api.get(f"/client-grants/{grant['id']}").status_code == 200


def test_listing_filters_by_audience_and_client(tenant: Tenant) -> None:
    api = tenant.api()
    billing = _api_and_client(api, "Billing")
    shipping = _api_and_client(api, "Shipping")
    _grant(api, billing)
    _grant(api, shipping)
    by_audience = api.get("/client-grants", params={"audience": ORDERS}).json()
    assert sorted(g["client_id"] for g in by_audience) == sorted([billing, shipping])
    by_client = api.get("/client-grants", params={"client_id": shipping}).json()
    assert [g["client_id"] for g in by_client] == [shipping]
    totals = api.get("/client-grants", params={"include_totals": "true", "per_page": 1}).json()
    assert totals["total"] == 3  # the two made here and the admin client's
    assert len(totals["client_grants"]) == 1


def test_checkpoint_pagination_walks_every_grant_once(tenant: Tenant) -> None:
    """Auth0's from/take: each page names where the next one starts."""
    api = tenant.api()
    for name in ("A", "B", "C"):
        _grant(api, _api_and_client(api, name))
    seen: list[str] = []
    params: dict[str, Any] = {"take": 2}
    while True:
        page = api.get("/client-grants", params=params).json()
        seen += [g["id"] for g in page["client_grants"]]
        if "next" not in page:
            break
        params = {"take": 2, "from": page["next"]}
    assert len(seen) == len(set(seen)) == 4


def test_each_grant_call_needs_its_scope(tenant: Tenant) -> None:
    narrow = tenant.api(scope="read:client_grants")
    assert narrow.get("/client-grants").status_code == 200
    refused = narrow.post("/client-grants", json={"client_id": "x", "audience": ORDERS})
    assert refused.status_code == 403
    assert "create:client_grants" in auth0_error(refused)["message"]


def _token(tenant: Tenant, client_id: str, secret: str) -> Any:
    return tenant.http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            "audience": ORDERS,
        },
    )


def test_a_client_made_through_the_api_gets_a_token_with_its_secret_until_rotated(
    tenant: Tenant,
) -> None:
    """The secret from the create answer works once a grant exists; after rotation only the new
    secret does."""
    api = tenant.api()
    _api_and_client(api, "Setup")
    created = api.post("/clients", json={"name": "Billing", "app_type": "non_interactive"}).json()
    client_id, secret = created["client_id"], created["client_secret"]
    before = _token(tenant, client_id, secret)
    assert before.json()["error"] == "unauthorized_client"
    _grant(api, client_id)
    issued = _token(tenant, client_id, secret)
    assert issued.status_code == 200, issued.text
    assert issued.json()["scope"] == "read:orders"
    new_secret = api.post(f"/clients/{client_id}/rotate-secret").json()["client_secret"]
    old = _token(tenant, client_id, secret)
    assert old.status_code == 401
    assert old.json()["error"] == "invalid_client"
    assert _token(tenant, client_id, new_secret).status_code == 200
