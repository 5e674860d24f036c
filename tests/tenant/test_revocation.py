"""``/oauth/revoke`` (RFC 7009)."""

from __future__ import annotations

import base64

import pytest
from httpx import Response

from tests.conftest import BACKENDS, Tenant
from tests.tenant.token_flows import App, log_types, make_app, make_user, refresh, sign_in

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)


def _revoke(tenant: Tenant, app: App, token: str, **extra: str) -> Response:
    return tenant.http.post("/oauth/revoke", data={"token": token, **app.credentials(), **extra})


def test_a_revoked_refresh_token_and_its_successors_no_longer_work(tenant: Tenant) -> None:
    """RFC 7009 §2.1: revocation of a refresh token; its whole family goes with it."""
    api = tenant.api()
    app = make_app(api)
    body = sign_in(tenant, app, make_user(api))
    successor = refresh(tenant, app, body["refresh_token"]).json()["refresh_token"]
    response = _revoke(tenant, app, successor, token_type_hint="refresh_token")
    assert response.status_code == 200
    assert response.content == b""
    assert refresh(tenant, app, successor).json()["error"] == "invalid_grant"
    assert log_types(tenant)[-2] == "srrt"


def test_a_public_client_revokes_with_its_client_id(tenant: Tenant) -> None:
    api = tenant.api()
    app = make_app(api, public=True)
    token = sign_in(tenant, app, make_user(api))["refresh_token"]
    assert _revoke(tenant, app, token).status_code == 200
    assert refresh(tenant, app, token).json()["error"] == "invalid_grant"


def test_an_unknown_token_is_answered_200(tenant: Tenant) -> None:
    """RFC 7009 §2.2: invalid tokens do not cause an error response."""
    app = make_app(tenant.api())
    assert _revoke(tenant, app, "never-issued").status_code == 200


def test_another_clients_token_is_answered_200_and_stays_valid(tenant: Tenant) -> None:
    """The answer does not reveal the token exists, and another client cannot revoke it."""
    api = tenant.api()
    app = make_app(api)
    other = make_app(api, name="Other")
    token = sign_in(tenant, app, make_user(api))["refresh_token"]
    assert _revoke(tenant, other, token).status_code == 200
    assert refresh(tenant, app, token).status_code == 200


def test_revocation_needs_client_authentication(tenant: Tenant) -> None:
    """RFC 7009 §2.1: the client authenticates as at the token endpoint."""
    api = tenant.api()
    app = make_app(api)
    token = sign_in(tenant, app, make_user(api))["refresh_token"]
    wrong = tenant.http.post(
        "/oauth/revoke",
        data={"token": token, "client_id": app.client_id, "client_secret": "wrong"},
    )
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "invalid_client"
    assert refresh(tenant, app, token).status_code == 200


def test_client_secret_basic_is_accepted(tenant: Tenant) -> None:
    api = tenant.api()
    app = make_app(api)
    token = sign_in(tenant, app, make_user(api))["refresh_token"]
    basic = base64.b64encode(f"{app.client_id}:{app.client_secret}".encode()).decode()
    response = tenant.http.post(
        "/oauth/revoke", data={"token": token}, headers={"Authorization": f"Basic {basic}"}
    )
    assert response.status_code == 200
    assert refresh(tenant, app, token).json()["error"] == "invalid_grant"


def test_a_request_without_a_token_is_invalid_request(tenant: Tenant) -> None:
    app = make_app(tenant.api())
    response = tenant.http.post("/oauth/revoke", data=app.credentials())
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
