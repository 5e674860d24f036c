"""The support case, seeded and played over the services' own APIs (SPEC §6).

Every call is one a person or a tool would make: the vendor's developer through the tenant's
Management API, the customer's admin and employees through their browsers, the OIN through the
workforce's admin API. Each step answers a :class:`Step` for the narrator; none prints.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from expressway.demo.browser import BrowserStuck, Person
from expressway.doctor.inputs import Credentials, Inputs
from expressway.doctor.report import Report
from expressway.doctor.service import examine
from expressway.web.outbound import http_client

EC_API = "urn:auth0:express-configure"
EC_PERMISSIONS = ("express_configure:sso", "express_configure:scim")
DATABASE_CONNECTION = "Username-Password-Authentication"
ORG_NAME = "acme"
ORG_DISPLAY_NAME = "Acme Corp"
DOMAIN = "acme.example"
ADMIN_EMAIL = f"it-admin@{DOMAIN}"
SAAS_APP_NAME = "Sample App"
OIN_CLIENT_NAME = "Okta OIN (Sample App)"
PROFILE_NAME = "Okta Express Configuration (Sample App)"
SUBMISSION_NAME = "Sample App"
INSTANCE_LABEL = "Sample App"
EMPLOYEES = (("alice", "Alice", "Archer"), ("bob", "Bob", "Baker"))


class DemoError(RuntimeError):
    """A service answered what the story did not expect."""


@dataclass
class Step:
    """What happened, for the narrator: a title, lines of prose, and an optional document."""

    title: str
    lines: list[str] = field(default_factory=list)
    document: Any = None
    ok: bool = True


class _Api:
    """JSON over HTTP with one credential; a failure names the call and the answer."""

    def __init__(self, base: str, headers: dict[str, str]) -> None:
        self.base = base
        self.http = http_client(timeout=30, headers=headers)

    def answer(self, method: str, path: str, body: object = None) -> httpx.Response:
        return self.http.request(method, f"{self.base}{path}", json=body)

    def __call__(self, method: str, path: str, body: object = None) -> Any:
        response = self.answer(method, path, body)
        if response.status_code >= 300:
            raise DemoError(f"{method} {path} answered {response.status_code}: {response.text}")
        return response.json() if response.content else None

    def close(self) -> None:
        self.http.close()


def management_api(tenant_url: str, client_id: str, client_secret: str) -> _Api:
    token = httpx.post(
        f"{tenant_url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
            "audience": f"{tenant_url}/api/v2/",
        },
        timeout=30,
    )
    if token.status_code != 200:
        raise DemoError(f"the tenant refused the demo's Management API client: {token.text}")
    return _Api(f"{tenant_url}/api/v2", {"Authorization": f"Bearer {token.json()['access_token']}"})


def workforce_api(org_url: str, token: str) -> _Api:
    return _Api(f"{org_url}/api/v1", {"Authorization": f"SSWS {token}"})


@dataclass
class Cast:
    """Who and what the story is about, once seeded."""

    admin_password: str
    employee_password: str
    organization: dict[str, Any] = field(default_factory=dict)
    admin: dict[str, Any] = field(default_factory=dict)
    app: dict[str, Any] = field(default_factory=dict)
    app_secret: str = ""
    oin: dict[str, Any] = field(default_factory=dict)
    submission: dict[str, Any] = field(default_factory=dict)
    instance_id: str = ""
    employees: list[dict[str, Any]] = field(default_factory=list)
    #: The employee who signed in to the sample app, at their browser.
    signed_in: Person | None = None


class Story:
    def __init__(
        self,
        *,
        tenant_url: str,
        workforce_url: str,
        sample_app_url: str,
        tenant: _Api,
        workforce: _Api,
        doctor_credentials: Credentials,
    ) -> None:
        self.doctor_credentials = doctor_credentials
        self.tenant_url = tenant_url
        self.workforce_url = workforce_url
        self.sample_app_url = sample_app_url
        self.tenant = tenant
        self.workforce = workforce
        self.cast = Cast(
            admin_password=f"Demo-{secrets.token_urlsafe(9)}",
            employee_password=f"Demo-{secrets.token_urlsafe(9)}",
        )

    # --- seeding ------------------------------------------------------------------------------

    def _find(self, path: str, key: str, value: str) -> dict[str, Any] | None:
        page = 0
        while True:
            separator = "&" if "?" in path else "?"
            items = self.tenant("GET", f"{path}{separator}page={page}&per_page=100")
            for item in items:
                if item.get(key) == value:
                    found: dict[str, Any] = item
                    return found
            if len(items) < 100:
                return None
            page += 1

    def seed_tenant(self) -> Step:
        """The vendor's tenant, with the support case's three faults."""
        api = self.tenant
        lines = []
        ec_api = api.answer("GET", f"/resource-servers/{quote(EC_API, safe='')}")
        if ec_api.status_code == 404:
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
            lines.append(f"API {EC_API} with its two permissions")
        database = self._find("/connections", "name", DATABASE_CONNECTION)
        if database is None:
            raise DemoError("the tenant has no database connection; run `expressway tenant init`")
        organization = self._find("/organizations", "name", ORG_NAME)
        if organization is None:
            organization = api(
                "POST",
                "/organizations",
                {
                    "name": ORG_NAME,
                    "display_name": ORG_DISPLAY_NAME,
                    "metadata": {"domains": DOMAIN},
                },
            )
            api(
                "POST",
                f"/organizations/{organization['id']}/enabled_connections",
                {"connection_id": database["id"]},
            )
            lines.append(f"organization {ORG_NAME} ({ORG_DISPLAY_NAME}), domain {DOMAIN}")
        self.cast.organization = organization
        admins = api("GET", f"/users-by-email?email={quote(ADMIN_EMAIL)}")
        if admins:
            admin = admins[0]
            api("PATCH", f"/users/{admin['user_id']}", {"password": self.cast.admin_password})
        else:
            admin = api(
                "POST",
                "/users",
                {
                    "connection": DATABASE_CONNECTION,
                    "email": ADMIN_EMAIL,
                    "password": self.cast.admin_password,
                    "name": "Acme IT Admin",
                },
            )
            lines.append(f"the customer's IT admin {ADMIN_EMAIL}")
        self.cast.admin = admin
        oin = self._find("/clients", "name", OIN_CLIENT_NAME)
        if oin is None:
            oin = api(
                "POST",
                "/clients",
                {
                    "name": OIN_CLIENT_NAME,
                    "app_type": "express_configuration",
                    "callbacks": [f"{self.workforce_url}/admin/app/generic/oauth20redirect"],
                },
            )
            api(
                "PATCH",
                f"/connections/{database['id']}/clients",
                [{"client_id": oin["client_id"], "status": True}],
            )
            lines.append(f"the OIN client {oin['client_id']}")
        else:
            oin = api(
                "PATCH",
                f"/clients/{oin['client_id']}",
                {"callbacks": [f"{self.workforce_url}/admin/app/generic/oauth20redirect"]},
            )
        self.cast.oin = oin
        app = self._find("/clients", "name", SAAS_APP_NAME)
        app_body = self._app_body(api, oin["client_id"])
        if app is None:
            app = api("POST", "/clients", {"name": SAAS_APP_NAME, **app_body})
            lines.append(f"the SaaS app {SAAS_APP_NAME} ({app['client_id']})")
        else:
            app = api("PATCH", f"/clients/{app['client_id']}", app_body)
        self.cast.app = app
        self.cast.app_secret = api("POST", f"/clients/{app['client_id']}/rotate-secret")[
            "client_secret"
        ]
        api(
            "PATCH",
            f"/connections/{database['id']}/clients",
            [{"client_id": app["client_id"], "status": True}],
        )
        lines += self._break_as_in_the_support_case()
        return Step("The vendor's tenant", lines)

    def _app_body(self, api: _Api, oin_client_id: str) -> dict[str, Any]:
        listed = api("GET", "/connection-profiles?take=100")["connection_profiles"]
        profiles = {p["name"]: p for p in listed}
        connection_profile = profiles.get(PROFILE_NAME)
        if connection_profile is None:
            template = api("GET", "/connection-profiles/templates")
            items = template["connection_profile_templates"]
            body = {k: v for k, v in items[0]["template"].items() if k != "name"}
            connection_profile = api("POST", "/connection-profiles", {"name": PROFILE_NAME, **body})
        listed = api("GET", "/user-attribute-profiles?take=100")["user_attribute_profiles"]
        attributes = {p["name"]: p for p in listed}
        attribute_profile = attributes.get(PROFILE_NAME)
        if attribute_profile is None:
            template = api("GET", "/user-attribute-profiles/templates")
            items = template["user_attribute_profile_templates"]
            body = {k: v for k, v in items[0]["template"].items() if k != "name"}
            attribute_profile = api(
                "POST", "/user-attribute-profiles", {"name": PROFILE_NAME, **body}
            )
        return {
            "app_type": "regular_web",
            "callbacks": [f"{self.sample_app_url}/callback"],
            "allowed_logout_urls": [f"{self.sample_app_url}/"],
            "grant_types": ["authorization_code", "refresh_token"],
            "organization_usage": "require",
            "organization_require_behavior": "post_login_prompt",
            "home_realm_discovery": False,
            # The tenant tells the sample app when a session it signed in through ends
            # (logout, Universal Logout, deprovisioning): OIDC Back-Channel Logout.
            "oidc_logout": {
                "backchannel_logout_urls": [f"{self.sample_app_url}/backchannel-logout"],
                "backchannel_logout_initiators": {"mode": "all"},
            },
            "express_configuration": {
                "initiate_login_uri_template": (
                    f"{self.sample_app_url}/login?organization={{organization_id}}"
                    "&connection={connection_name}"
                ),
                "user_attribute_profile_id": attribute_profile["id"],
                "connection_profile_id": connection_profile["id"],
                "enable_client": True,
                "enable_organization": True,
                "linked_clients": [],
                "okta_oin_client_id": oin_client_id,
                "admin_login_domain": self.tenant_url.split("://", 1)[1],
            },
        }

    def _break_as_in_the_support_case(self) -> list[str]:
        """No role with the Express Configuration permissions, Home Realm Discovery off (done by
        the app's body), and the admin no member of the organization."""
        api = self.tenant
        for role in api("GET", "/roles?per_page=100"):
            held = {
                (p["resource_server_identifier"], p["permission_name"])
                for p in api("GET", f"/roles/{role['id']}/permissions")
            }
            if any((EC_API, name) in held for name in EC_PERMISSIONS):
                api("DELETE", f"/roles/{role['id']}")
        api(
            "DELETE",
            f"/organizations/{self.cast.organization['id']}/members",
            {"members": [self.cast.admin["user_id"]]},
        )
        return [
            "the support case: no role holds the Express Configuration permissions, Home Realm "
            "Discovery is off on the SaaS app, and the IT admin is no member of the organization"
        ]

    def seed_workforce(self) -> Step:
        """The vendor's OIN submission in the integrator org, its test instance, and the
        customer's employees assigned to it (the org plays both, as in Okta's test flow)."""
        wf = self.workforce
        lines = []
        submissions = wf("GET", "/oin/submissions")
        submission = next((s for s in submissions if s["name"] == SUBMISSION_NAME), None)
        if submission is None:
            submission = wf(
                "POST",
                "/oin/submissions",
                {
                    "name": SUBMISSION_NAME,
                    "description": "The vendor's own web app",
                    "capabilities": ["OIDC", "SCIM", "UNIVERSAL_LOGOUT"],
                },
            )
            lines.append(f"OIN submission {submission['id']}")
        information = self.tenant(
            "GET", f"/clients/{self.cast.app['client_id']}/express-configuration-information"
        )
        sid = submission["id"]
        wf(
            "PUT",
            f"/oin/submissions/{sid}/express-configuration",
            {"information": json.dumps(information)},
        )
        if not submission.get("key"):
            wf("POST", f"/oin/submissions/{sid}/key")
            lines.append("the wizard's key pair")
        pem = wf.http.get(f"{wf.base}/oin/submissions/{sid}/key.pem").text
        oin_id = self.cast.oin["client_id"]
        credentials = self.tenant("GET", f"/clients/{oin_id}/credentials")
        credential = next((c for c in credentials if c.get("name") == f"oin:{sid}"), None)
        if credential is None:
            credential = self.tenant(
                "POST",
                f"/clients/{oin_id}/credentials",
                {"credential_type": "public_key", "pem": pem, "alg": "RS256", "name": f"oin:{sid}"},
            )
            lines.append("the wizard's public key (.pem) uploaded to the OIN client")
        self.tenant(
            "PATCH",
            f"/clients/{oin_id}",
            {
                "client_authentication_methods": {
                    "private_key_jwt": {"credentials": [{"id": credential["id"]}]}
                }
            },
        )
        wf("POST", f"/oin/submissions/{sid}/finish")
        self.cast.submission = submission
        instance = next(
            (a for a in wf("GET", "/apps?limit=200") if a.get("label") == INSTANCE_LABEL), None
        )
        if instance is None:
            instance = wf(
                "POST", f"/oin/submissions/{sid}/test-instance", {"label": INSTANCE_LABEL}
            )
            lines.append(f"test instance {instance['id']}")
        self.cast.instance_id = instance["id"]
        for login, first, last in EMPLOYEES:
            email = f"{login}@{DOMAIN}"
            expression = quote(f'profile.login eq "{email}"')
            found = wf("GET", f"/users?filter={expression}")
            if found:
                user = found[0]
                wf(
                    "POST",
                    f"/users/{user['id']}",
                    {"credentials": {"password": {"value": self.cast.employee_password}}},
                )
            else:
                user = wf(
                    "POST",
                    "/users?activate=true",
                    {
                        "profile": {
                            "login": email,
                            "email": email,
                            "firstName": first,
                            "lastName": last,
                        },
                        "credentials": {"password": {"value": self.cast.employee_password}},
                    },
                )
                lines.append(f"employee {email}")
            wf("POST", f"/apps/{instance['id']}/users", {"id": user["id"], "scope": "USER"})
            self.cast.employees.append(user)
        return Step("The customer's IdP and the OIN integration", lines)

    # --- the story ----------------------------------------------------------------------------

    def express_configure(self, action: str = "sso") -> tuple[int, dict[str, Any]]:
        """The IT admin clicks Express Configure on the instance and signs in at the tenant."""
        base = f"/apps/{self.cast.instance_id}/express-configure"
        started = self.workforce.answer("POST", f"{base}/{action}")
        if started.status_code != 200:
            return started.status_code, started.json()
        flow = started.json()
        with Person(ADMIN_EMAIL, self.cast.admin_password, self.cast.organization["name"]) as admin:
            admin.walk(
                flow["authorizeUrl"],
                stop_at=f"{self.workforce_url}/admin/app/generic/oauth20redirect",
            )
        outcome = self.workforce.answer("GET", f"{base}/flows/{flow['flowId']}")
        body: dict[str, Any] = outcome.json()
        return outcome.status_code, body

    def click(self, title: str, action: str = "sso") -> Step:
        status, body = self.express_configure(action)
        return Step(f"{title}: HTTP {status}", document=body, ok=status == 200)

    def employee_signs_in(self) -> Step:
        """The first employee, identifier first: Home Realm Discovery by their e-mail's domain."""
        employee = self.cast.employees[0]
        email = employee["profile"]["email"]
        person = Person(email, self.cast.employee_password)
        try:
            person.walk(
                f"{self.sample_app_url}/login?login_hint={quote(email)}",
                stop_at=f"{self.sample_app_url}/callback",
            )
        except BrowserStuck as error:
            person.close()
            return Step(f"{email} could not sign in to the sample app", [str(error)], ok=False)
        home = person.http.get(f"{self.sample_app_url}/")
        self.cast.signed_in = person
        organization_id = self.cast.organization["id"]
        signed_in = email in home.text and organization_id in home.text
        return Step(
            f"{email} signs in to the sample app by SSO",
            [
                "pages: " + " → ".join(person.pages),
                f"the sample app shows {email} in organization {organization_id}"
                if signed_in
                else "the sample app does not show the employee signed in",
            ],
            ok=signed_in,
        )

    def doctor(self, *, fix: bool = False) -> tuple[Step, Report]:
        """``expressway doctor`` (``--fix``) for the SaaS app, its organization and admin."""
        report = examine(
            Inputs(
                tenant_url=self.tenant_url,
                credentials=self.doctor_credentials,
                app=self.cast.app["client_id"],
                organization=self.cast.organization["id"],
                admin=self.cast.admin["user_id"],
                workforce_url=self.workforce_url,
            ),
            fix=fix,
        )
        if fix:
            lines = [f"{fix.check}: {fix.change}" for fix in report.fixes]
            title = f"expressway doctor --fix: {len(report.fixes)} changes"
        else:
            lines = [
                f"✗ {check.cause}: {check.detail}\n    fix: {check.remediation}"
                for check in report.failed
            ]
            title = f"expressway doctor: {len(report.failed)} of {len(report.checks)} checks fail"
        return Step(title, lines, ok=report.ok if fix else True), report

    def provision(self) -> Step:
        """*To App* on: the assigned employees are pushed to the tenant over SCIM; answers
        once every job has finished, with the organization's members as the tenant sees them."""
        app_id = self.cast.instance_id
        enabled = {"status": "ENABLED"}
        self.workforce(
            "PUT",
            f"/apps/{app_id}/features/USER_PROVISIONING",
            {
                "create": {"lifecycleCreate": enabled},
                "update": {"profile": enabled, "lifecycleDeactivate": enabled},
            },
        )
        jobs = self._wait_for_jobs(app_id)
        members = self.tenant("GET", f"/organizations/{self.cast.organization['id']}/members")
        emails = sorted(member.get("email", "") for member in members)
        expected = sorted(e["profile"]["email"] for e in self.cast.employees)
        lines = [f"{job['eventType']}: {job['state']}" for job in jobs]
        lines.append("members of the organization at the tenant: " + ", ".join(emails))
        ok = all(job["state"] == "COMPLETED" for job in jobs) and set(expected) <= set(emails)
        return Step("Provisioning (To App on): SCIM pushes the assigned employees", lines, ok=ok)

    def _wait_for_jobs(self, app_id: str, timeout: float = 30.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            jobs: list[dict[str, Any]] = self.workforce(
                "GET", f"/apps/{app_id}/provisioning/jobs?limit=200"
            )
            pending = [job for job in jobs if job["state"] in ("QUEUED", "IN_PROGRESS")]
            if (jobs and not pending) or time.monotonic() > deadline:
                return jobs
            time.sleep(0.2)

    def universal_logout(self) -> Step:
        """The customer's admin clears the employee's sessions in the IdP: Universal Logout
        reaches the tenant, which ends the employee's session there and tells the sample app."""
        person = self.cast.signed_in
        employee = self.cast.employees[0]
        email = employee["profile"]["email"]
        if person is None:
            return Step("Universal Logout", ["nobody is signed in to the sample app"], ok=False)
        self.workforce("DELETE", f"/users/{employee['id']}/sessions?oauthTokens=true")
        deadline = time.monotonic() + 20
        signed_out = False
        while time.monotonic() < deadline and not signed_out:
            signed_out = email not in person.http.get(f"{self.sample_app_url}/").text
            if not signed_out:
                time.sleep(0.2)
        person.close()
        self.cast.signed_in = None
        return Step(
            f"Universal Logout of {email}",
            [
                "the IdP sent a signed global-token-revocation request to the tenant; the tenant "
                "ended the employee's session and refresh tokens and sent the sample app a "
                "back-channel Logout Token",
                "the sample app now asks them to sign in"
                if signed_out
                else "the sample app still shows them signed in",
            ],
            ok=signed_out,
        )
