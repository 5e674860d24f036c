"""The story's cast for end-to-end tests: the vendor preparing its tenant (everything in place, or
the support case) and its OIN submission, and a person at a browser signing in and consenting."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from tests.e2e.servers import TenantProcess
from tests.interop.conftest import LiveTenant
from tests.interop.workforce_server import LiveWorkforce
from tests.tenant.browser import forms_of

EC_API = "urn:auth0:express-configure"
PASSWORD = "Correct-Horse-42"


class Person:
    """A person at a browser: follows redirects, keeps cookies, fills the forms shown (the
    tenant's organization, identifier, password and consent pages, the workforce's login page).

    ``consent`` is the button pressed on a consent page (``accept`` or ``deny``)."""

    def __init__(
        self,
        http: httpx.Client,
        email: str,
        organization: str | None = None,
        *,
        password: str = PASSWORD,
        consent: str = "accept",
    ) -> None:
        self.http = http
        self.email = email
        self.organization = organization
        self.password = password
        self.consent = consent
        self.pages: list[str] = []

    def walk(
        self, url: str, stop_at: str, before_last: Callable[[], None] | None = None
    ) -> httpx.Response:
        """From ``url`` until a redirect to ``stop_at``, which is followed once (after
        ``before_last``, when given); answers what it answered."""
        response = self.http.get(url)
        for _ in range(25):
            if response.is_redirect:
                location = str(response.next_request.url) if response.next_request else ""
                if location.startswith(stop_at) and before_last is not None:
                    before_last()
                response = self.http.get(location)
                if location.startswith(stop_at):
                    return response
                continue
            forms = forms_of(response.text)
            assert forms, f"{response.url}: {response.status_code} {response.text[:600]}"
            form = forms[0]
            self.pages.append(f"{response.url.host}:{response.url.port}{form.action}")
            fields = dict(form.fields)
            for name in list(fields):
                if name == "organization_name" and self.organization is not None:
                    fields[name] = self.organization
                elif name in ("email", "username"):
                    fields[name] = self.email
                elif name == "password":
                    fields[name] = self.password
            for name, values in form.buttons.items():
                fields[name] = self.consent if self.consent in values else values[0]
            response = self.http.post(httpx.URL(str(response.url)).join(form.action), data=fields)
        raise AssertionError(f"the browser never reached {stop_at}; pages: {self.pages}")


class Admin(Person):
    """The customer's IT admin, signing in at the tenant during Express Configure."""

    def __init__(self, http: httpx.Client, email: str, organization: str) -> None:
        super().__init__(http, email, organization)

    def sign_in_and_consent(self, url: str, stop_at: str) -> httpx.Response:
        return self.walk(url, stop_at)


def tenant_api(live_tenant: LiveTenant, http: httpx.Client) -> Any:
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


def prepare_tenant(
    live_tenant: LiveTenant,
    live_workforce: LiveWorkforce,
    http: httpx.Client,
    *,
    broken: bool,
    app_url: str | None = None,
) -> dict[str, Any]:
    """The vendor's tenant: everything in place, or the support case (role missing, Home Realm
    Discovery off, the admin not a member of the organization).

    With ``app_url``, the SaaS app is the sample app served there: its callback, its logout URL,
    an organization required after sign-in, and its initiate login URI."""
    api = tenant_api(live_tenant, http)
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
    role: dict[str, Any] = {}
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
    base = app_url or "http://127.0.0.1:9"
    app = api(
        "POST",
        "/clients",
        {
            "name": f"Vendor SaaS {suffix}",
            "app_type": "regular_web",
            "callbacks": [f"{base}/callback"],
            "allowed_logout_urls": [f"{base}/"],
            "grant_types": ["authorization_code", "refresh_token"],
            "organization_usage": "require",
            "organization_require_behavior": "post_login_prompt",
            "home_realm_discovery": not broken,
            **(
                {
                    "oidc_logout": {
                        "backchannel_logout_urls": [f"{base}/backchannel-logout"],
                        "backchannel_logout_initiators": {"mode": "all"},
                    }
                }
                if app_url
                else {}
            ),
            "express_configuration": {
                "initiate_login_uri_template": (
                    f"{base}/login?organization={{organization_id}}&connection={{connection_name}}"
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
        "admin": admin,
        "role": role,
        "database": database,
        "organization": organization,
        "oin": oin,
        "app": app,
        "connection_profile": connection_profile,
        "attribute_profile": attribute_profile,
        "information": information,
    }


def _template_body(templates: Any, key: str) -> dict[str, Any]:
    items = templates[key] if isinstance(templates, dict) else templates
    template = items[0]["template"]
    return {k: v for k, v in template.items() if k != "name"}


def prepare_workforce(
    live_workforce: LiveWorkforce, http: httpx.Client, tenant: dict[str, Any]
) -> tuple[str, dict[str, str]]:
    """The vendor's OIN submission in its integrator org (here `acme`, which also plays the
    customer through the test instance): paste, key, upload of the .pem to the tenant, Finish."""
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
    tenant["submission"] = submission
    tenant["credential"] = credential
    return instance["id"], headers


def workforce_api(live_workforce: LiveWorkforce, http: httpx.Client, org: str = "acme") -> Any:
    """Okta's admin API of one org, with its super admin's token."""
    headers = {"Authorization": f"SSWS {live_workforce.tokens[org]}"}
    base = f"{live_workforce.org_url(org)}/api/v1"

    def call(method: str, path: str, body: object = None, ok: bool = True) -> Any:
        response = http.request(method, f"{base}{path}", json=body, headers=headers)
        if ok:
            assert response.status_code < 300, f"{method} {path}: {response.text}"
        return response.json() if response.content else None

    return call


def add_employee(
    live_workforce: LiveWorkforce, http: httpx.Client, app_id: str, email: str, name: str
) -> dict[str, Any]:
    """An active person of the customer's directory (org ``acme``), assigned to the app."""
    api = workforce_api(live_workforce, http)
    first, _, last = name.partition(" ")
    user: dict[str, Any] = api(
        "POST",
        "/users?activate=true",
        {
            "profile": {"login": email, "email": email, "firstName": first, "lastName": last},
            "credentials": {"password": {"value": PASSWORD}},
        },
    )
    api("POST", f"/apps/{app_id}/users", {"id": user["id"], "scope": "USER"})
    return user


def express_configure(
    live_workforce: LiveWorkforce,
    app_id: str,
    admin: Person,
    action: str = "sso",
    *,
    before_callback: Callable[[], None] | None = None,
) -> httpx.Response:
    """The admin clicks Express Configure (``sso`` or ``scim``) on the instance, signs in at the
    tenant and answers its consent page; answers the flow's outcome as the console reads it.

    ``before_callback`` runs when the tenant sends the browser back, before the browser
    arrives at the workforce's callback (to stop the tenant in between, say)."""
    api_base = f"{live_workforce.org_url('acme')}/api/v1/apps/{app_id}/express-configure"
    headers = {"Authorization": f"SSWS {live_workforce.tokens['acme']}"}
    callback = f"{live_workforce.url}/admin/app/generic/oauth20redirect"
    with httpx.Client(timeout=30) as http:
        started = http.post(f"{api_base}/{action}", headers=headers)
        if started.status_code != 200:
            return started
        flow = started.json()
        admin.walk(flow["authorizeUrl"], stop_at=callback, before_last=before_callback)
        return http.get(f"{api_base}/flows/{flow['flowId']}", headers=headers)


@dataclass
class Story:
    tenant: TenantProcess
    workforce: LiveWorkforce
    vendor: dict[str, Any]
    app_id: str
    api: Callable[..., Any]

    @property
    def organization(self) -> dict[str, Any]:
        organization: dict[str, Any] = self.vendor["organization"]
        return organization

    @property
    def admin_id(self) -> str:
        admin_id: str = self.vendor["admin"]["user_id"]
        return admin_id

    @property
    def role_id(self) -> str:
        role_id: str = self.vendor["role"]["id"]
        return role_id

    def click(
        self,
        action: str = "sso",
        *,
        admin: Person | None = None,
        before_callback: Callable[[], None] | None = None,
    ) -> httpx.Response:
        """The customer's admin clicks Express Configure in a fresh browser."""
        with httpx.Client(timeout=30, follow_redirects=False) as browser:
            person = admin or Person(browser, self.vendor["email"], self.organization["name"])
            person.http = browser
            return express_configure(
                self.workforce, self.app_id, person, action, before_callback=before_callback
            )
