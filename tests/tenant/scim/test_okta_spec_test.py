"""A replay of Okta's "SCIM 2.0 Spec Test" (the Runscope suite of Okta's SCIM guide) and of its
CRUD test: create, update, deactivate, reactivate, unassign."""

from __future__ import annotations

import pytest

from tests.conftest import BACKENDS, Tenant
from tests.tenant.scim.helpers import (
    ERROR_SCHEMA,
    LIST_SCHEMA,
    USER_SCHEMA,
    okta_user,
    patch_body,
    scim_connection,
)

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)

OKTA_HEADERS = {
    "Accept-Charset": "utf-8",
    "Content-Type": "application/json; charset=utf-8",
    "Accept": "application/scim+json",
    "User-Agent": "OKTA SCIM Integration",
}


def test_okta_scim_spec_test_passes(tenant: Tenant) -> None:
    """Okta's SCIM 2.0 Spec Test, request by request."""
    scim = scim_connection(tenant)
    http = scim.http
    http.headers.update(OKTA_HEADERS)
    seeded = http.post("/Users", json=okta_user("bjensen@example.com", "00u-seed"))
    assert seeded.status_code == 201, seeded.text

    listed = http.get("/Users", params={"count": "1", "startIndex": "1"})
    assert listed.status_code == 200
    page = listed.json()
    assert LIST_SCHEMA in page["schemas"]
    assert all(isinstance(page[k], int) for k in ("itemsPerPage", "startIndex", "totalResults"))
    first = page["Resources"][0]
    assert first["id"]
    assert first["userName"]
    assert first["active"] is not None
    assert first["name"]["familyName"]
    assert first["name"]["givenName"]
    assert first["emails"][0]["value"]

    fetched = http.get(f"/Users/{first['id']}")
    assert fetched.status_code == 200
    assert fetched.json()["id"] == first["id"]

    missing = http.get("/Users", params={"filter": 'userName eq "abcdefgh@example.com"'})
    assert missing.status_code == 200
    assert missing.json()["totalResults"] == 0

    unknown = http.get("/Users/010101001010101011001010101011")
    assert unknown.status_code == 404
    assert ERROR_SCHEMA in unknown.json()["schemas"]
    assert unknown.json()["status"] == "404"
    assert "detail" in unknown.json()

    user_name = "Runscope300Hfluaklab151@example.com"
    body = okta_user(user_name)
    body["name"] = {"givenName": "Runscope300", "familyName": "Hfluaklab151"}
    created = http.post("/Users", json=body)
    assert created.status_code == 201, created.text
    user = created.json()
    assert user["active"] is True
    assert user["userName"] == user_name
    assert user["name"]["familyName"] == "Hfluaklab151"
    assert USER_SCHEMA in user["schemas"]
    assert user["emails"][0]["value"] == user_name
    assert "password" not in user

    again = http.post("/Users", json=body)
    assert again.status_code == 409
    assert again.json()["scimType"] == "uniqueness"

    caps = http.get("/Users", params={"filter": f'userName eq "{user_name.upper()}"'})
    assert caps.status_code == 200
    assert caps.json()["totalResults"] == 1
    assert caps.json()["Resources"][0]["id"] == user["id"]

    groups = http.get("/Groups")
    assert groups.status_code == 200
    assert isinstance(groups.json()["totalResults"], int)
    assert isinstance(groups.json()["Resources"], list)

    http.headers["Authorization"] = "Bearer not-a-token"
    refused = http.get("/Users")
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"].startswith("Bearer")


def test_okta_crud_test_create_update_deactivate_reactivate_unassign(tenant: Tenant) -> None:
    """Okta's CRUD test: each step changes the tenant user the way Okta means it."""
    scim = scim_connection(tenant)
    http = scim.http
    http.headers.update(OKTA_HEADERS)
    user_name = "dade.murphy@example.com"

    lookup = http.get(
        "/Users", params={"filter": f'userName eq "{user_name}"', "startIndex": 1, "count": 100}
    )
    assert lookup.json()["totalResults"] == 0
    created = http.post("/Users", json=okta_user(user_name, "00u1abcd"))
    assert created.status_code == 201, created.text
    scim_id = created.json()["id"]
    assert created.headers["location"].endswith(f"/Users/{scim_id}")
    users_api = tenant.api()
    tenant_user = users_api.get("/users/okta|acme-okta|00u1abcd").json()
    assert tenant_user["email"] == user_name
    assert tenant_user["given_name"] == "Barbara"
    assert tenant_user["blocked"] is False

    update = okta_user(user_name, "00u1abcd", id=scim_id)
    update["name"]["givenName"] = "Crash"
    replaced = http.put(f"/Users/{scim_id}", json=update)
    assert replaced.status_code == 200, replaced.text
    assert replaced.json()["name"]["givenName"] == "Crash"
    assert users_api.get("/users/okta|acme-okta|00u1abcd").json()["given_name"] == "Crash"

    deactivated = http.patch(
        f"/Users/{scim_id}", json=patch_body({"op": "replace", "value": {"active": False}})
    )
    assert deactivated.status_code == 200, deactivated.text
    assert deactivated.json()["active"] is False
    assert users_api.get("/users/okta|acme-okta|00u1abcd").json()["blocked"] is True

    reactivated = http.patch(
        f"/Users/{scim_id}", json=patch_body({"op": "replace", "value": {"active": True}})
    )
    assert reactivated.json()["active"] is True
    assert users_api.get("/users/okta|acme-okta|00u1abcd").json()["blocked"] is False

    unassigned = http.patch(
        f"/Users/{scim_id}", json=patch_body({"op": "replace", "value": {"active": False}})
    )
    assert unassigned.json()["active"] is False
    assert http.get(f"/Users/{scim_id}").json()["active"] is False
    assert users_api.get("/users/okta|acme-okta|00u1abcd").json()["blocked"] is True
