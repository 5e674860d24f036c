"""``/api/v2/connections/{id}/scim-configuration`` and its tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from expressway import hashing
from expressway.clock import FrozenClock
from expressway.tenant.rows import ConnectionRow, LogEventRow, ScimTokenRow
from expressway.tenant.services import connections as service
from tests.conftest import BACKENDS, Tenant, auth0_error

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)


def make_connection(api: TestClient, name: str = "acme-okta") -> dict[str, Any]:
    response = api.post(
        "/connections",
        json={
            "name": name,
            "strategy": "okta",
            "options": {"domain": "acme.okta.example", "client_id": "c", "client_secret": "s"},
        },
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def scim_ready(api: TestClient, name: str = "acme-okta") -> dict[str, Any]:
    connection = make_connection(api, name)
    created = api.post(f"/connections/{connection['id']}/scim-configuration")
    assert created.status_code == 201, created.text
    return connection


def freeze(tenant: Tenant) -> FrozenClock:
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    tenant.runtime.clock = clock
    return clock


def test_a_scim_configuration_without_a_body_gets_auth0s_default_mapping(tenant: Tenant) -> None:
    """POST with no body: user id from externalId, userName from preferred_username, and so on."""
    api = tenant.api()
    connection = make_connection(api)
    path = f"/connections/{connection['id']}/scim-configuration"
    created = api.post(path)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["connection_id"] == connection["id"]
    assert body["connection_name"] == "acme-okta"
    assert body["strategy"] == "okta"
    assert body["tenant_name"] == "localhost"
    assert body["user_id_attribute"] == "externalId"
    assert {"auth0": "preferred_username", "scim": "userName"} in body["mapping"]
    assert {"auth0": "email", "scim": "emails[primary eq true].value"} in body["mapping"]
    assert body["created_at"].endswith("Z")
    assert body["updated_on"] == body["created_at"]
    assert api.get(path).json() == body
    default = api.get(f"{path}/default-mapping").json()
    assert default == {"mapping": body["mapping"]}


def test_a_scim_configuration_takes_its_own_mapping_and_is_updated(tenant: Tenant) -> None:
    api = tenant.api()
    clock = freeze(tenant)
    connection = make_connection(api)
    path = f"/connections/{connection['id']}/scim-configuration"
    created = api.post(
        path,
        json={"user_id_attribute": "id", "mapping": [{"auth0": "email", "scim": "userName"}]},
    ).json()
    assert created["mapping"] == [{"auth0": "email", "scim": "userName"}]
    clock.advance(60)
    updated = api.patch(
        path,
        json={
            "user_id_attribute": "externalId",
            "mapping": [
                {"auth0": "email", "scim": "userName"},
                {"auth0": "name", "scim": "displayName"},
            ],
        },
    )
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert body["user_id_attribute"] == "externalId"
    assert len(body["mapping"]) == 2
    assert body["created_at"] == created["created_at"]
    assert body["updated_on"] != created["updated_on"]


def test_a_scim_attribute_mapped_twice_is_refused(tenant: Tenant) -> None:
    api = tenant.api()
    connection = make_connection(api)
    response = api.post(
        f"/connections/{connection['id']}/scim-configuration",
        json={
            "mapping": [
                {"auth0": "email", "scim": "userName"},
                {"auth0": "username", "scim": "userName"},
            ]
        },
    )
    assert response.status_code == 400
    assert "userName" in auth0_error(response)["message"]


def test_a_second_scim_configuration_is_a_409(tenant: Tenant) -> None:
    api = tenant.api()
    connection = scim_ready(api)
    again = api.post(f"/connections/{connection['id']}/scim-configuration")
    assert again.status_code == 409
    assert "acme-okta" in auth0_error(again)["message"]


def test_the_database_connection_takes_no_scim(tenant: Tenant) -> None:
    """Inbound SCIM is for enterprise connections, whose users an upstream IdP owns."""
    api = tenant.api()
    database = api.get("/connections", params={"strategy": "auth0"}).json()[0]
    response = api.post(f"/connections/{database['id']}/scim-configuration")
    assert response.status_code == 400
    assert "enterprise" in auth0_error(response)["message"]


def test_a_missing_scim_configuration_is_a_404(tenant: Tenant) -> None:
    api = tenant.api()
    connection = make_connection(api)
    path = f"/connections/{connection['id']}/scim-configuration"
    for method in ("GET", "DELETE"):
        response = api.request(method, path)
        assert response.status_code == 404
        assert auth0_error(response)["errorCode"] == "inexistent_scim_configuration"
    patched = api.patch(path, json={"user_id_attribute": "id", "mapping": []})
    assert patched.status_code == 404


def test_a_token_is_shown_once_prefixed_and_stored_only_as_its_digest(tenant: Tenant) -> None:
    """The answer to POST is the only place the token appears; the database keeps a SHA-256."""
    api = tenant.api()
    connection = scim_ready(api)
    path = f"/connections/{connection['id']}/scim-configuration/tokens"
    created = api.post(path, json={})
    assert created.status_code == 201, created.text
    body = created.json()
    token = body["token"]
    assert token.startswith("ewscim_")
    assert len(token) > 40
    assert body["token_id"].startswith("tok_")
    assert set(body["scopes"]) >= {"get:users", "post:users", "patch:users", "delete:users"}
    assert body["valid_until"] is None
    listed = api.get(path)
    assert token not in listed.text
    assert [t["token_id"] for t in listed.json()] == [body["token_id"]]
    with tenant.runtime.sessions() as session:
        row = session.get(ScimTokenRow, body["token_id"])
        assert row is not None
        assert row.token_hash == hashing.hash_token(token)
        for table in ("scim_tokens", "log_events"):
            dumped = str(session.execute(text(f"SELECT * FROM {table}")).all())  # noqa: S608
            assert token not in dumped


def test_a_token_takes_scopes_and_a_lifetime(tenant: Tenant) -> None:
    api = tenant.api()
    clock = freeze(tenant)
    connection = scim_ready(api)
    body = api.post(
        f"/connections/{connection['id']}/scim-configuration/tokens",
        json={"scopes": ["get:users", "patch:users"], "token_lifetime": 3600},
    ).json()
    assert body["scopes"] == ["get:users", "patch:users"]
    expected = clock.now() + timedelta(seconds=3600)
    assert datetime.fromisoformat(body["valid_until"]) == expected


def test_bad_token_requests_are_refused_naming_the_field(tenant: Tenant) -> None:
    api = tenant.api()
    connection = scim_ready(api)
    path = f"/connections/{connection['id']}/scim-configuration/tokens"
    for body, named in [
        ({"scopes": ["read:everything"]}, "read:everything"),
        ({"token_lifetime": 900}, "token_lifetime"),
        ({"token_lifetime": "long"}, "token_lifetime"),
        ({"scopes": "get:users"}, "scopes"),
        ({"lifetime": 3600}, "lifetime"),
    ]:
        response = api.post(path, json=body)
        assert response.status_code == 400, body
        assert named in auth0_error(response)["message"], body
    assert api.get(path).json() == []


def test_a_token_needs_the_scim_configuration_first(tenant: Tenant) -> None:
    api = tenant.api()
    connection = make_connection(api)
    response = api.post(f"/connections/{connection['id']}/scim-configuration/tokens", json={})
    assert response.status_code == 400
    message = auth0_error(response)["message"]
    assert "SCIM configuration" in message
    assert f"/connections/{connection['id']}/scim-configuration" in message


def test_a_third_active_token_is_refused_until_one_expires_or_is_deleted(tenant: Tenant) -> None:
    """At most two active tokens: enough to rotate, no more to leak."""
    api = tenant.api()
    clock = freeze(tenant)
    connection = scim_ready(api)
    path = f"/connections/{connection['id']}/scim-configuration/tokens"
    short = api.post(path, json={"token_lifetime": 1000}).json()
    lasting = api.post(path, json={}).json()
    third = api.post(path, json={})
    assert third.status_code == 409
    message = auth0_error(third)["message"]
    assert "2 active SCIM tokens" in message
    assert "DELETE" in message
    clock.advance(1001)
    api = tenant.api()
    assert api.post(path, json={}).status_code == 201
    assert api.post(path, json={}).status_code == 409
    assert api.delete(f"{path}/{lasting['token_id']}").status_code == 204
    assert api.post(path, json={}).status_code == 201
    listed = [t["token_id"] for t in api.get(path).json()]
    assert short["token_id"] in listed
    assert lasting["token_id"] not in listed


def test_a_token_of_another_connection_cannot_be_deleted_through_this_one(tenant: Tenant) -> None:
    api = tenant.api()
    acme, globex = scim_ready(api, "acme"), scim_ready(api, "globex")
    token = api.post(f"/connections/{acme['id']}/scim-configuration/tokens", json={}).json()
    response = api.delete(
        f"/connections/{globex['id']}/scim-configuration/tokens/{token['token_id']}"
    )
    assert response.status_code == 404
    assert token["token_id"] in auth0_error(response)["message"]
    remaining = api.get(f"/connections/{acme['id']}/scim-configuration/tokens").json()
    assert [t["token_id"] for t in remaining] == [token["token_id"]]


def test_deleting_the_scim_configuration_deletes_its_tokens(tenant: Tenant) -> None:
    """Switching SCIM off must also stop the IdP that still holds a token."""
    api = tenant.api()
    connection = scim_ready(api)
    base = f"/connections/{connection['id']}/scim-configuration"
    api.post(f"{base}/tokens", json={})
    assert api.delete(base).status_code == 204
    assert api.get(f"{base}/tokens").json() == []
    with tenant.runtime.sessions() as session:
        assert session.scalars(select(ScimTokenRow)).all() == []


def test_a_token_authenticates_only_for_its_connection_and_while_valid(tenant: Tenant) -> None:
    """The SCIM server's check: right connection, not expired; a use is recorded."""
    api = tenant.api()
    clock = freeze(tenant)
    acme, globex = scim_ready(api, "acme"), scim_ready(api, "globex")
    token = api.post(
        f"/connections/{acme['id']}/scim-configuration/tokens", json={"token_lifetime": 1000}
    ).json()
    with tenant.runtime.sessions() as session:
        found = service.authenticate_scim_token(session, clock.now(), acme["id"], token["token"])
        assert found is not None
        assert found.last_used_at == clock.now()
        session.commit()
        assert (
            service.authenticate_scim_token(session, clock.now(), globex["id"], token["token"])
            is None
        )
        assert service.authenticate_scim_token(session, clock.now(), acme["id"], "ewscim_x") is None
        later = clock.now() + timedelta(seconds=1001)
        assert service.authenticate_scim_token(session, later, acme["id"], token["token"]) is None
    listed = api.get(f"/connections/{acme['id']}/scim-configuration/tokens").json()
    assert listed[0]["last_used_at"] is not None


def test_scim_writes_are_logged_and_scoped(tenant: Tenant) -> None:
    api = tenant.api()
    connection = scim_ready(api)
    with tenant.runtime.sessions() as session:
        descriptions = session.scalars(
            select(LogEventRow.description).where(LogEventRow.connection_id == connection["id"])
        ).all()
        assert "Create a SCIM configuration" in descriptions
        assert session.get(ConnectionRow, connection["id"]) is not None
    path = f"/connections/{connection['id']}/scim-configuration"
    reader = tenant.api(scope="read:scim_config")
    assert reader.get(path).status_code == 200
    assert reader.get(f"{path}/tokens").status_code == 403
    refused = reader.post(f"{path}/tokens", json={})
    assert refused.status_code == 403
    assert "create:scim_token" in auth0_error(refused)["message"]
