"""Each prerequisite of SPEC §4.1, missing alone, between a real tenant and a real workforce IdP:
Express Configure answers 403 naming exactly that cause (with its remediation), and once the
vendor fixes it, the retry succeeds.

The tenant is this module's own: several prerequisites are tenant-wide (the Express
Configuration API, which roles hold its permissions, "Enable Application Connections"), and one
test stops the tenant in the middle of a flow."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from expressway.oauth.express_configuration import CAUSES, ERROR_CODE, ERROR_SUMMARY
from tests.e2e.servers import own_tenant
from tests.e2e.story import (
    EC_API,
    Person,
    Story,
    add_employee,
    prepare_tenant,
    prepare_workforce,
    tenant_api,
    workforce_api,
)
from tests.interop.workforce_server import LiveWorkforce

PERMISSIONS = ("express_configure:sso", "express_configure:scim")


@pytest.fixture(scope="module")
def story(
    tmp_path_factory: pytest.TempPathFactory, live_workforce: LiveWorkforce
) -> Iterator[Story]:
    """Everything in place, and Express Configure SSO done once."""
    with own_tenant(tmp_path_factory.mktemp("causes-tenant")) as tenant:
        http = httpx.Client(timeout=30)
        vendor = prepare_tenant(tenant.live, live_workforce, http, broken=False)
        app_id, _ = prepare_workforce(live_workforce, http, vendor)
        story = Story(tenant, live_workforce, vendor, app_id, tenant_api(tenant.live, http))
        first = story.click()
        assert first.status_code == 200, first.text
        yield story
        http.close()


def assert_names_exactly(outcome: httpx.Response, *expected: str) -> None:
    """The SPEC §4.1 body, naming these causes and no other, each with its remediation."""
    assert outcome.status_code == 403, outcome.text
    body = outcome.json()
    assert body["errorCode"] == ERROR_CODE
    assert body["errorSummary"] == ERROR_SUMMARY
    assert sorted(cause["reason"] for cause in body["errorCauses"]) == sorted(expected)
    for cause in body["errorCauses"]:
        assert cause["remediation"] == CAUSES[cause["reason"]].remediation
        assert cause["errorSummary"]


def assert_succeeds(story: Story, action: str = "sso") -> None:
    outcome = story.click(action)
    assert outcome.status_code == 200, outcome.text


def test_role_not_assigned_alone(story: Story) -> None:
    """The admin's member role is taken away: the token lacks the permission."""
    path = f"/organizations/{story.organization['id']}/members/{story.admin_id}/roles"
    story.api("DELETE", path, {"roles": [story.role_id]})
    assert_names_exactly(story.click(), "role_not_assigned")
    story.api("POST", path, {"roles": [story.role_id]})
    assert_succeeds(story)


def test_home_realm_discovery_disabled_alone(story: Story) -> None:
    """Home Realm Discovery off on the SaaS app."""
    app = f"/clients/{story.vendor['app']['client_id']}"
    story.api("PATCH", app, {"home_realm_discovery": False})
    assert_names_exactly(story.click(), "home_realm_discovery_disabled")
    story.api("PATCH", app, {"home_realm_discovery": True})
    assert_succeeds(story)


def test_not_organization_member_alone(story: Story) -> None:
    """The admin holds the role directly, but is no member of the organization."""
    organization = story.organization["id"]
    story.api("POST", f"/users/{story.admin_id}/roles", {"roles": [story.role_id]})
    story.api("DELETE", f"/organizations/{organization}/members", {"members": [story.admin_id]})
    assert_names_exactly(story.click(), "not_organization_member")
    story.api("POST", f"/organizations/{organization}/members", {"members": [story.admin_id]})
    assert_succeeds(story)
    story.api("DELETE", f"/users/{story.admin_id}/roles", {"roles": [story.role_id]})
    story.api(
        "POST",
        f"/organizations/{organization}/members/{story.admin_id}/roles",
        {"roles": [story.role_id]},
    )
    assert_succeeds(story)


def test_role_permissions_missing_comes_with_role_not_assigned(story: Story) -> None:
    """No role holds both permissions. Nobody can then hold the missing one, so the admin's
    role is named too: both fixes are needed (add the permission, and the admin signs in again
    with it)."""
    scim = [{"resource_server_identifier": EC_API, "permission_name": "express_configure:scim"}]
    story.api("DELETE", f"/roles/{story.role_id}/permissions", {"permissions": scim})
    assert_names_exactly(story.click("scim"), "role_permissions_missing", "role_not_assigned")
    story.api("POST", f"/roles/{story.role_id}/permissions", {"permissions": scim})
    assert_succeeds(story, "scim")


def test_public_key_missing_alone(story: Story) -> None:
    """No key activated for private_key_jwt on the OIN client: the code exchange fails."""
    oin = f"/clients/{story.vendor['oin']['client_id']}"

    def activate(credentials: list[dict[str, str]]) -> None:
        story.api(
            "PATCH",
            oin,
            {"client_authentication_methods": {"private_key_jwt": {"credentials": credentials}}},
        )

    activate([])
    assert_names_exactly(story.click(), "public_key_missing")
    activate([{"id": story.vendor["credential"]["id"]}])
    assert_succeeds(story)


def test_a_wrong_pem_is_public_key_mismatch_and_the_right_one_fixes_it(
    story: Story, live_workforce: LiveWorkforce
) -> None:
    """The .pem of another submission uploaded to the OIN client instead of this one's."""
    with httpx.Client(timeout=30) as http:
        wizard = workforce_api(live_workforce, http)
        other = wizard(
            "POST",
            "/oin/submissions",
            {"name": "Another integration", "description": "e2e", "capabilities": ["OIDC"]},
        )
        wizard("POST", f"/oin/submissions/{other['id']}/key")
        wrong_pem = http.get(
            f"{live_workforce.org_url('acme')}/api/v1/oin/submissions/{other['id']}/key.pem",
            headers={"Authorization": f"SSWS {live_workforce.tokens['acme']}"},
        ).text
    oin = f"/clients/{story.vendor['oin']['client_id']}"
    wrong = story.api(
        "POST",
        f"{oin}/credentials",
        {"credential_type": "public_key", "pem": wrong_pem, "alg": "RS256"},
    )

    def activate(credential_id: str) -> None:
        story.api(
            "PATCH",
            oin,
            {
                "client_authentication_methods": {
                    "private_key_jwt": {"credentials": [{"id": credential_id}]}
                }
            },
        )

    activate(wrong["id"])
    assert_names_exactly(story.click(), "public_key_mismatch")
    activate(story.vendor["credential"]["id"])
    assert_succeeds(story)


def test_express_configuration_incomplete_alone(
    story: Story, live_workforce: LiveWorkforce
) -> None:
    """The integration was edited after Finish (a draft again): refused before any redirect."""
    with httpx.Client(timeout=30) as http:
        wizard = workforce_api(live_workforce, http)
        submission = story.vendor["submission"]["id"]
        wizard(
            "PUT",
            f"/oin/submissions/{submission}/express-configuration",
            {"information": json.dumps(story.vendor["information"])},
        )
        assert_names_exactly(story.click(), "express_configuration_incomplete")
        wizard("POST", f"/oin/submissions/{submission}/finish")
    assert_succeeds(story)


def test_app_not_configured_alone(story: Story) -> None:
    """The SaaS app's Express Configuration names another OIN client."""
    other = story.api(
        "POST",
        "/clients",
        {"name": f"Other OIN {secrets.token_hex(3)}", "app_type": "express_configuration"},
    )
    app = f"/clients/{story.vendor['app']['client_id']}"
    configuration = dict(story.vendor["app"]["express_configuration"])
    story.api(
        "PATCH",
        app,
        {"express_configuration": {**configuration, "okta_oin_client_id": other["client_id"]}},
    )
    assert_names_exactly(story.click(), "app_not_configured")
    story.api("PATCH", app, {"express_configuration": configuration})
    assert_succeeds(story)


def test_organization_prompt_disabled_alone(story: Story) -> None:
    """The OIN client does not require an organization."""
    oin = f"/clients/{story.vendor['oin']['client_id']}"
    story.api("PATCH", oin, {"organization_usage": "allow"})
    assert_names_exactly(story.click(), "organization_prompt_disabled")
    story.api("PATCH", oin, {"organization_usage": "require"})
    assert_succeeds(story)


def test_application_connections_enabled_alone(story: Story) -> None:
    """The tenant setting "Enable Application Connections" is on."""
    story.api("PATCH", "/tenants/settings", {"flags": {"enable_client_connections": True}})
    assert_names_exactly(story.click(), "application_connections_enabled")
    story.api("PATCH", "/tenants/settings", {"flags": {"enable_client_connections": False}})
    assert_succeeds(story)


def test_express_configuration_api_missing(story: Story) -> None:
    """The tenant has no resource server urn:auth0:express-configure. Its permissions go with
    it, so no role holds them any more: that cause is named as well."""
    story.api("DELETE", f"/resource-servers/{EC_API}")
    assert_names_exactly(
        story.click(), "express_configuration_api_missing", "role_permissions_missing"
    )
    story.api(
        "POST",
        "/resource-servers",
        {
            "identifier": EC_API,
            "name": "Express Configuration",
            "enforce_policies": True,
            "scopes": [{"value": name, "description": name} for name in PERMISSIONS],
        },
    )
    story.api(
        "POST",
        f"/roles/{story.role_id}/permissions",
        {
            "permissions": [
                {"resource_server_identifier": EC_API, "permission_name": name}
                for name in PERMISSIONS
            ]
        },
    )
    assert_succeeds(story)


def test_consent_denied_alone(story: Story) -> None:
    """A second admin of the organization declines the consent page; accepting it works."""
    email = f"second-admin-{secrets.token_hex(3)}@customer.example"
    second = story.api(
        "POST",
        "/users",
        {
            "connection": "Username-Password-Authentication",
            "email": email,
            "password": "Correct-Horse-42",
        },
    )
    organization = story.organization["id"]
    story.api("POST", f"/organizations/{organization}/members", {"members": [second["user_id"]]})
    story.api(
        "POST",
        f"/organizations/{organization}/members/{second['user_id']}/roles",
        {"roles": [story.role_id]},
    )
    with httpx.Client() as placeholder:
        declining = Person(placeholder, email, story.organization["name"], consent="deny")
        assert_names_exactly(story.click(admin=declining), "consent_denied")
        accepting = Person(placeholder, email, story.organization["name"])
        assert story.click(admin=accepting).status_code == 200


def test_tenant_unreachable_then_the_retry_succeeds(story: Story) -> None:
    """The tenant goes down between the consent and the callback: the code exchange cannot
    happen. Once it is back, the admin clicks again and it works."""
    outcome = story.click(before_callback=story.tenant.stop)
    story.tenant.start()
    assert_names_exactly(outcome, "tenant_unreachable")
    assert_succeeds(story)


def _okta_connection_id(story: Story, organization_id: str) -> str:
    links = story.api("GET", f"/organizations/{organization_id}/enabled_connections")
    [okta] = [link for link in links if link["connection"]["strategy"] == "okta"]
    connection_id: str = okta["connection_id"]
    return connection_id


def test_sso_not_configured_then_scim_after_sso_with_a_token_for_that_connection_only(
    live_workforce: LiveWorkforce, story: Story
) -> None:
    """SCIM asked for in an organization with no connection yet: sso_not_configured. After
    Express Configure SSO there, Express Configure SCIM succeeds; the token it handed the
    workforce works (provisioning an assigned employee goes through), and a token of another
    connection is refused at this connection's base URL."""
    with httpx.Client(timeout=30) as http:
        vendor = prepare_tenant(story.tenant.live, live_workforce, http, broken=False)
        app_id, _ = prepare_workforce(live_workforce, http, vendor)
        domain = vendor["organization"]["metadata"]["domains"]
        employee = add_employee(
            live_workforce, http, app_id, f"someone-{secrets.token_hex(3)}@{domain}", "Some One"
        )
        other = Story(story.tenant, live_workforce, vendor, app_id, story.api)
        assert_names_exactly(other.click("scim"), "sso_not_configured")
        assert_succeeds(other, "sso")
        scim = other.click("scim")
        assert scim.status_code == 200, scim.text
        base_url = scim.json()["result"]["scim_base_url"]
        connection_id = _okta_connection_id(other, vendor["organization"]["id"])
        assert base_url == f"{story.tenant.url}/scim/v2/connections/{connection_id}"

        enabled = {"status": "ENABLED"}
        workforce_api(live_workforce, http)(
            "PUT",
            f"/apps/{app_id}/features/USER_PROVISIONING",
            {"create": {"lifecycleCreate": enabled}, "update": {"profile": enabled}},
        )
        members: list[dict[str, Any]] = []
        for _ in range(100):
            members = story.api("GET", f"/organizations/{vendor['organization']['id']}/members")
            if any(member.get("email") == employee["profile"]["email"] for member in members):
                break
            time.sleep(0.1)
        provisioned = [m for m in members if m.get("email") == employee["profile"]["email"]]
        assert provisioned, "the workforce pushed the employee with the token it was given"
        assert (
            provisioned[0]["user_id"]
            == f"okta|{_connection_name(story, connection_id)}|" + (employee["id"])
        )

        another = story.api(
            "POST",
            "/connections",
            {
                "name": f"another-{secrets.token_hex(3)}",
                "strategy": "okta",
                "options": {
                    "domain": "idp.example",
                    "client_id": "another",
                    "client_secret": "another-secret",
                },
            },
        )
        story.api("POST", f"/connections/{another['id']}/scim-configuration", {})
        minted = story.api("POST", f"/connections/{another['id']}/scim-configuration/tokens", {})
        refused = http.get(
            f"{base_url}/Users", headers={"Authorization": f"Bearer {minted['token']}"}
        )
        assert refused.status_code == 401, refused.text
        assert refused.headers["content-type"].startswith("application/scim+json")


def _connection_name(story: Story, connection_id: str) -> str:
    name: str = story.api("GET", f"/connections/{connection_id}")["name"]
    return name
