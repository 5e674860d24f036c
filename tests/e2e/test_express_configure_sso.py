"""Express Configure SSO & UL between two real servers (SPEC §4): the vendor prepares the tenant
and the OIN submission, the customer's admin clicks Express Configure on the test instance, signs
in at the tenant and consents; the connection appears, or the 403 names every missing cause."""

from __future__ import annotations

import secrets
from typing import Any

import httpx
import pytest

from tests.interop.conftest import LiveTenant
from tests.interop.workforce_server import LiveWorkforce
from tests.tenant.browser import forms_of

EC_API = "urn:auth0:express-configure"
PASSWORD = "Correct-Horse-42"


class Admin:
    """A person at a browser: follows redirects, keeps cookies, fills the forms shown."""

    def __init__(self, http: httpx.Client, email: str, organization: str) -> None:
        self.http = http
        self.email = email
        self.organization = organization

    def sign_in_and_consent(self, url: str, stop_at: str) -> httpx.Response:
        response = self.http.get(url)
        for _ in range(15):
            if response.is_redirect:
                location = str(response.next_request.url) if response.next_request else ""
                response = self.http.get(location)
                if location.startswith(stop_at):
                    return response
                continue
            forms = forms_of(response.text)
            assert forms, response.text[:600]
            form = forms[0]
            fields = dict(form.fields)
            for name in list(fields):
                if name == "organization_name":
                    fields[name] = self.organization
                elif name == "email":
                    fields[name] = self.email
                elif name == "password":
                    fields[name] = PASSWORD
            for name, values in form.buttons.items():
                fields[name] = next((v for v in values if v in ("accept", "allow")), values[0])
            response = self.http.post(httpx.URL(str(response.url)).join(form.action), data=fields)
        raise AssertionError("the sign-in did not come back to the workforce callback")


def _tenant_api(live_tenant: LiveTenant, http: httpx.Client) -> Any:
    token = live_tenant.token()

    def call(method: str, path: str, body: object = None, ok: bool = True) -> Any:
        response = http.request(
            method,
            f"{live_tenant.url}/api/v2{path}",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
        )
        if ok:
            assert response.status_code < 300, f"{method} {path}: {response.text}"
        return response.json() if response.content else None

    return call


def _prepare_tenant(
    live_tenant: LiveTenant, live_workforce: LiveWorkforce, http: httpx.Client, *, broken: bool
) -> dict[str, Any]:
    """The vendor's tenant: everything in place, or the support case (role missing, Home Realm
    Discovery off, the admin not a member of the organization)."""
    api = _tenant_api(live_tenant, http)
    suffix = secrets.token_hex(3)
    # Permissions reach the access token only from an API with RBAC on (enforce_policies).
    if api("GET", f"/resource-servers/{EC_API}", ok=False).get("identifier") == EC_API:
        api("PATCH", f"/resource-servers/{EC_API}", {"enforce_policies": True})
    else:
        api(
            "POST",
            "/resource-servers",
            {
                "identifier": EC_API,
                "name": "Express Configuration",
                "enforce_policies": True,
                "scopes": [
                    {"value": "express_configure:sso", "description": "Configure SSO"},
                    {"value": "express_configure:scim", "description": "Configure SCIM"},
                ],
            },
        )
    email = f"it-admin-{suffix}@acme{suffix}.example"
    admin = api(
        "POST",
        "/users",
        {"connection": "Username-Password-Authentication", "email": email, "password": PASSWORD},
    )
    organization = api(
        "POST",
        "/organizations",
        {"name": f"acme-{suffix}", "metadata": {"domains": f"acme{suffix}.example"}},
    )
    database = next(
        c for c in api("GET", "/connections") if c["name"] == "Username-Password-Authentication"
    )
    api(
        "POST",
        f"/organizations/{organization['id']}/enabled_connections",
        {"connection_id": database["id"]},
    )
    if not broken:
        role = api("POST", "/roles", {"name": f"EC admin {suffix}"})
        api(
            "POST",
            f"/roles/{role['id']}/permissions",
            {
                "permissions": [
                    {"resource_server_identifier": EC_API, "permission_name": name}
                    for name in ("express_configure:sso", "express_configure:scim")
                ]
            },
        )
        api("POST", f"/organizations/{organization['id']}/members", {"members": [admin["user_id"]]})
        api(
            "POST",
            f"/organizations/{organization['id']}/members/{admin['user_id']}/roles",
            {"roles": [role["id"]]},
        )
    oin = api(
        "POST",
        "/clients",
        {
            "name": f"Okta OIN {suffix}",
            "app_type": "express_configuration",
            "callbacks": [f"{live_workforce.url}/admin/app/generic/oauth20redirect"],
        },
    )
    api(
        "PATCH",
        f"/connections/{database['id']}/clients",
        [{"client_id": oin["client_id"], "status": True}],
    )
    profiles = api("GET", "/connection-profiles/templates")
    attribute_templates = api("GET", "/user-attribute-profiles/templates")
    connection_profile = api(
        "POST",
        "/connection-profiles",
        {"name": f"EC {suffix}", **_template_body(profiles, "connection_profile_templates")},
    )
    attribute_profile = api(
        "POST",
        "/user-attribute-profiles",
        {
            "name": f"EC {suffix}",
            **_template_body(attribute_templates, "user_attribute_profile_templates"),
        },
    )
    app = api(
        "POST",
        "/clients",
        {
            "name": f"Vendor SaaS {suffix}",
            "app_type": "regular_web",
            "callbacks": ["http://127.0.0.1:9/callback"],
            "home_realm_discovery": not broken,
            "express_configuration": {
                "initiate_login_uri_template": (
                    "http://127.0.0.1:9/login?organization={organization_id}"
                    "&connection={connection_name}"
                ),
                "user_attribute_profile_id": attribute_profile["id"],
                "connection_profile_id": connection_profile["id"],
                "enable_client": True,
                "enable_organization": True,
                "linked_clients": [],
                "okta_oin_client_id": oin["client_id"],
                "admin_login_domain": live_tenant.url.removeprefix("http://"),
            },
        },
    )
    information = api("GET", f"/clients/{app['client_id']}/express-configuration-information")
    return {
        "api": api,
        "email": email,
        "organization": organization,
        "oin": oin,
        "app": app,
        "information": information,
    }


def _template_body(templates: Any, key: str) -> dict[str, Any]:
    items = templates[key] if isinstance(templates, dict) else templates
    template = items[0]["template"]
    return {k: v for k, v in template.items() if k != "name"}


def _prepare_workforce(
    live_workforce: LiveWorkforce, http: httpx.Client, tenant: dict[str, Any]
) -> tuple[str, dict[str, str]]:
    """The vendor's OIN submission in its integrator org (here `acme`, which also plays the
    customer through the test instance): paste, key, upload of the .pem to the tenant, Finish."""
    import json

    headers = {"Authorization": f"SSWS {live_workforce.tokens['acme']}"}
    base = f"{live_workforce.org_url('acme')}/api/v1"

    def call(method: str, path: str, body: object = None) -> Any:
        response = http.request(method, f"{base}{path}", json=body, headers=headers)
        assert response.status_code < 300, f"{method} {path}: {response.text}"
        return response.json() if response.content else None

    submission = call(
        "POST",
        "/oin/submissions",
        {
            "name": "Vendor SaaS",
            "description": "e2e",
            "capabilities": ["OIDC", "SCIM", "UNIVERSAL_LOGOUT"],
        },
    )
    call(
        "PUT",
        f"/oin/submissions/{submission['id']}/express-configuration",
        {"information": json.dumps(tenant["information"])},
    )
    call("POST", f"/oin/submissions/{submission['id']}/key")
    pem = http.get(f"{base}/oin/submissions/{submission['id']}/key.pem", headers=headers).text
    credential = tenant["api"](
        "POST",
        f"/clients/{tenant['oin']['client_id']}/credentials",
        {
            "credential_type": "public_key",
            "pem": pem,
            "alg": "RS256",
            "name": f"oin:{submission['id']}",
        },
    )
    tenant["api"](
        "PATCH",
        f"/clients/{tenant['oin']['client_id']}",
        {
            "client_authentication_methods": {
                "private_key_jwt": {"credentials": [{"id": credential["id"]}]}
            }
        },
    )
    call("POST", f"/oin/submissions/{submission['id']}/finish")
    instance = call("POST", f"/oin/submissions/{submission['id']}/test-instance")
    return instance["id"], headers


@pytest.mark.parametrize("broken", [False, True], ids=["prerequisites-in-place", "support-case"])
def test_express_configure_sso_between_two_real_servers(
    live_tenant: LiveTenant, live_workforce: LiveWorkforce, broken: bool
) -> None:
    with httpx.Client(timeout=30) as http:
        tenant = _prepare_tenant(live_tenant, live_workforce, http, broken=broken)
        app_id, headers = _prepare_workforce(live_workforce, http, tenant)
        started = http.post(
            f"{live_workforce.org_url('acme')}/api/v1/apps/{app_id}/express-configure/sso",
            headers=headers,
        )
        assert started.status_code == 200, started.text
        flow = started.json()
    with httpx.Client(timeout=30, follow_redirects=False) as browser:
        admin = Admin(browser, tenant["email"], tenant["organization"]["name"])
        admin.sign_in_and_consent(
            flow["authorizeUrl"], stop_at=f"{live_workforce.url}/admin/app/generic/oauth20redirect"
        )
    with httpx.Client(timeout=30) as http:
        outcome = http.get(
            f"{live_workforce.org_url('acme')}/api/v1/apps/{app_id}/express-configure/flows/{flow['flowId']}",
            headers=headers,
        )
        if broken:
            assert outcome.status_code == 403, outcome.text
            body = outcome.json()
            assert body["errorCode"] == "oauth_error"
            assert body["errorSummary"] == (
                "Failed to Express Configure the application. Please retry or contact Okta support."
            )
            reasons = {cause["reason"] for cause in body["errorCauses"]}
            assert {
                "role_not_assigned",
                "home_realm_discovery_disabled",
                "not_organization_member",
            } <= reasons
            assert all(cause["remediation"] for cause in body["errorCauses"])
            return
        assert outcome.status_code == 200, outcome.text
        connections = _tenant_api(live_tenant, http)(
            "GET", f"/organizations/{tenant['organization']['id']}/enabled_connections"
        )
        okta = [c for c in connections if c["connection"]["strategy"] == "okta"]
        assert len(okta) == 1
