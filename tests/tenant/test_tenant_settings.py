"""``/api/v2/tenants/settings``."""

from __future__ import annotations

import pytest

from expressway.tenant.services import tenant_settings as service
from tests.conftest import BACKENDS, Tenant, auth0_error

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)


def test_a_new_tenant_has_the_settings_of_tenant_init(tenant: Tenant) -> None:
    """Application Connections start off, as Express Configuration needs them."""
    body = tenant.api().get("/tenants/settings").json()
    assert body["friendly_name"] == "Expressway"
    assert body["session_lifetime"] == 168
    assert body["idle_session_lifetime"] == 72
    assert body["flags"] == {
        "enable_client_connections": False,
        "use_scope_descriptions_for_consent": False,
    }


def test_settings_are_updated_and_flags_merge_key_by_key(tenant: Tenant) -> None:
    """PATCH of one flag leaves the other as it was."""
    api = tenant.api()
    api.patch("/tenants/settings", json={"flags": {"use_scope_descriptions_for_consent": True}})
    updated = api.patch(
        "/tenants/settings",
        json={
            "friendly_name": "Acme Cloud",
            "support_email": "help@acme.example",
            "session_lifetime": 24,
            "idle_session_lifetime": 0.5,
            "flags": {"enable_client_connections": True},
        },
    )
    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert body["friendly_name"] == "Acme Cloud"
    assert body["support_email"] == "help@acme.example"
    assert body["session_lifetime"] == 24
    assert body["idle_session_lifetime"] == 0.5
    assert body["flags"] == {
        "enable_client_connections": True,
        "use_scope_descriptions_for_consent": True,
    }
    assert api.get("/tenants/settings").json() == body
    with tenant.runtime.sessions() as session:
        assert service.read(session)["flags"]["enable_client_connections"] is True


def test_the_default_audience_must_name_an_existing_api(tenant: Tenant) -> None:
    api = tenant.api()
    audience = tenant.runtime.settings.management_audience
    assert api.patch("/tenants/settings", json={"default_audience": audience}).status_code == 200
    unknown = api.patch("/tenants/settings", json={"default_audience": "https://nowhere"})
    assert unknown.status_code == 400
    assert "https://nowhere" in auth0_error(unknown)["message"]
    assert api.get("/tenants/settings").json()["default_audience"] == audience


def test_bad_settings_are_refused_naming_the_field_and_change_nothing(tenant: Tenant) -> None:
    """A refused PATCH leaves every setting, even the valid ones sent with it, as it was."""
    api = tenant.api()
    before = api.get("/tenants/settings").json()
    for body, named in [
        ({"flags": {"enable_sso": True}}, "enable_sso"),
        ({"flags": {"enable_client_connections": "yes"}}, "enable_client_connections"),
        ({"session_lifetime": 0}, "session_lifetime"),
        ({"session_lifetime": "1h"}, "session_lifetime"),
        ({"support_email": "not-an-address"}, "support_email"),
        ({"support_url": "javascript:alert(1)"}, "support_url"),
        ({"friendly_name": "x" * 256}, "friendly_name"),
        ({"sandbox_version": "22"}, "sandbox_version"),
    ]:
        response = api.patch("/tenants/settings", json={"friendly_name": "Changed", **body})
        assert response.status_code == 400, body
        assert named in auth0_error(response)["message"], body
    assert api.get("/tenants/settings").json() == before


def test_settings_need_their_scopes_and_updates_are_logged(tenant: Tenant) -> None:
    reader = tenant.api(scope="read:tenant_settings")
    assert reader.get("/tenants/settings").status_code == 200
    refused = reader.patch("/tenants/settings", json={"friendly_name": "x"})
    assert refused.status_code == 403
    assert "update:tenant_settings" in auth0_error(refused)["message"]
    api = tenant.api()
    api.patch("/tenants/settings", json={"flags": {"enable_client_connections": True}})
    event = api.get("/logs", params={"q": "type:sapi"}).json()[0]
    assert event["description"] == "Update tenant settings"
    assert event["details"]["flags"] == {"enable_client_connections": True}
