"""``/api/v2/resource-servers``."""

from __future__ import annotations

import pytest

from tests.conftest import BACKENDS, Tenant, auth0_error

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)


def test_an_api_is_created_with_its_permissions_and_read_back_by_id_or_identifier(
    tenant: Tenant,
) -> None:
    """An API keeps its scopes; Auth0 accepts its id or its identifier in the path."""
    api = tenant.api()
    created = api.post(
        "/resource-servers",
        json={
            "identifier": "urn:auth0:express-configure",
            "name": "Express Configuration",
            "scopes": [
                {"value": "express_configure:sso", "description": "Configure SSO"},
                {"value": "express_configure:scim", "description": "Configure SCIM"},
            ],
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["identifier"] == "urn:auth0:express-configure"
    assert [s["value"] for s in body["scopes"]] == [
        "express_configure:sso",
        "express_configure:scim",
    ]
    by_id = api.get(f"/resource-servers/{body['id']}").json()
    by_identifier = api.get("/resource-servers/urn:auth0:express-configure").json()
    assert by_id == by_identifier == body


def test_a_second_api_with_the_same_identifier_is_refused_with_409(tenant: Tenant) -> None:
    api = tenant.api()
    assert (
        api.post("/resource-servers", json={"identifier": "https://api.example"}).status_code == 201
    )
    again = api.post("/resource-servers", json={"identifier": "https://api.example"})
    assert again.status_code == 409
    assert "https://api.example" in auth0_error(again)["message"]


def test_an_unknown_property_is_refused_naming_it(tenant: Tenant) -> None:
    response = tenant.api().post(
        "/resource-servers", json={"identifier": "https://a.example", "colour": "blue"}
    )
    assert response.status_code == 400
    assert "colour" in auth0_error(response)["message"]


def test_a_wrongly_typed_property_is_refused_naming_it(tenant: Tenant) -> None:
    response = tenant.api().post(
        "/resource-servers", json={"identifier": "https://a.example", "token_lifetime": "long"}
    )
    assert response.status_code == 400
    assert "token_lifetime" in auth0_error(response)["message"]


def test_malformed_json_is_a_400_not_a_500(tenant: Tenant) -> None:
    response = tenant.api().post(
        "/resource-servers", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert auth0_error(response)["errorCode"] == "invalid_body"


def test_the_management_api_itself_cannot_be_deleted(tenant: Tenant) -> None:
    api = tenant.api()
    audience = tenant.runtime.settings.management_audience
    response = api.delete(f"/resource-servers/{audience}")
    assert response.status_code == 400
    assert api.get(f"/resource-servers/{audience}").status_code == 200


def test_listing_pages_with_totals(tenant: Tenant) -> None:
    api = tenant.api()
    for n in range(3):
        api.post("/resource-servers", json={"identifier": f"https://api{n}.example"})
    page = api.get("/resource-servers", params={"per_page": 2, "page": 1, "include_totals": "true"})
    body = page.json()
    assert body["total"] == 4  # three made here and the Management API
    assert body["start"] == 2
    assert body["limit"] == 2
    assert len(body["resource_servers"]) == 2
    assert isinstance(api.get("/resource-servers").json(), list)


def test_a_call_without_a_token_is_401_and_without_the_scope_403(tenant: Tenant) -> None:
    anonymous = tenant.http.get("/api/v2/resource-servers")
    assert anonymous.status_code == 401
    narrow = tenant.api(scope="read:roles").get("/resource-servers")
    assert narrow.status_code == 403
    assert "read:resource_servers" in auth0_error(narrow)["message"]


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/resource-servers/a%00b", "invalid_uri"),
        ("/resource-servers?identifiers=a%00b", "invalid_query_string"),
    ],
)
def test_a_nul_character_in_the_url_is_a_400_on_every_database(
    tenant: Tenant, path: str, code: str
) -> None:
    """PostgreSQL cannot store U+0000; the request is refused before it gets that far."""
    response = tenant.api().get(path)
    assert response.status_code == 400
    assert auth0_error(response)["errorCode"] == code


def test_a_nul_character_in_the_body_is_a_400_naming_the_property(tenant: Tenant) -> None:
    response = tenant.api().post(
        "/resource-servers",
        json={"identifier": "https://a.example", "scopes": [{"value": "a\u0000b"}]},
    )
    assert response.status_code == 400
    assert "scopes[0].value" in auth0_error(response)["message"]


def test_an_unknown_path_and_a_wrong_method_answer_in_auth0s_shape(tenant: Tenant) -> None:
    unknown = tenant.api().get("/no-such-thing")
    assert unknown.status_code == 404
    assert auth0_error(unknown)["error"] == "Not Found"
    wrong_method = tenant.api().put("/resource-servers")
    assert wrong_method.status_code == 405
    assert auth0_error(wrong_method)["error"] == "Method Not Allowed"
