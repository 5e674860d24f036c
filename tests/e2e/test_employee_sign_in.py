"""After Express Configure SSO, the customer's employees sign in to the vendor's app by SSO: the
tenant, the workforce IdP and the sample app as three real servers (SPEC §4, "Then: users
assigned to the instance sign in to the sample app through the new connection")."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.e2e.servers import sample_app
from tests.e2e.story import (
    Admin,
    Person,
    add_employee,
    express_configure,
    prepare_tenant,
    prepare_workforce,
    tenant_api,
    workforce_api,
)
from tests.interop.conftest import LiveTenant, free_port
from tests.interop.workforce_server import LiveWorkforce


@dataclass
class Configured:
    vendor: dict[str, Any]
    app_id: str
    app_url: str
    outcome: dict[str, Any]
    api: Any

    @property
    def organization(self) -> dict[str, Any]:
        organization: dict[str, Any] = self.vendor["organization"]
        return organization

    @property
    def domain(self) -> str:
        domain: str = self.organization["metadata"]["domains"]
        return domain

    def okta_links(self) -> list[dict[str, Any]]:
        links = self.api("GET", f"/organizations/{self.organization['id']}/enabled_connections")
        return [link for link in links if link["connection"]["strategy"] == "okta"]


@pytest.fixture(scope="module")
def configured(
    live_tenant: LiveTenant, live_workforce: LiveWorkforce, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Configured]:
    """Every prerequisite in place, the sample app as the SaaS app, Express Configure SSO done;
    the sample app serving."""
    app_url = f"http://127.0.0.1:{free_port()}"
    with httpx.Client(timeout=30) as http:
        vendor = prepare_tenant(live_tenant, live_workforce, http, broken=False, app_url=app_url)
        app_id, _ = prepare_workforce(live_workforce, http, vendor)
        api = tenant_api(live_tenant, http)
        with httpx.Client(timeout=30, follow_redirects=False) as browser:
            admin = Admin(browser, vendor["email"], vendor["organization"]["name"])
            outcome = express_configure(live_workforce, app_id, admin)
        assert outcome.status_code == 200, outcome.text
        port = int(app_url.rpartition(":")[2])
        with sample_app(
            tmp_path_factory.mktemp("sample-app"),
            live_tenant.url,
            vendor["app"]["client_id"],
            vendor["app"]["client_secret"],
            port=port,
        ):
            yield Configured(vendor, app_id, app_url, outcome.json(), api)


def test_the_connection_is_made_as_the_profiles_say(configured: Configured) -> None:
    """One okta connection in the organization, named by the profile's prefix, claiming the
    organization's domains, enabled for the SaaS app, and enrolling members on login."""
    [link] = configured.okta_links()
    connection = configured.api("GET", f"/connections/{link['connection_id']}")
    organization_id = configured.organization["id"]
    assert connection["name"].startswith(f"con-{organization_id.replace('_', '-')}-")
    assert connection["options"]["domain_aliases"] == [configured.domain]
    enabled = configured.api("GET", f"/connections/{connection['id']}/clients")
    client_ids = {client["client_id"] for client in enabled.get("clients", enabled)}
    assert configured.vendor["app"]["client_id"] in client_ids
    assert link["assign_membership_on_login"] is True
    assert configured.outcome["result"]["connection"]["name"] == connection["name"]


def _sign_in(configured: Configured, employee: dict[str, Any], start: str) -> str:
    """The employee, in a browser of their own, from ``start`` to the sample app's home page."""
    with httpx.Client(timeout=30, follow_redirects=False) as browser:
        person = Person(browser, employee["profile"]["email"])
        person.walk(start, stop_at=f"{configured.app_url}/callback")
        home = browser.get(f"{configured.app_url}/")
        assert home.status_code == 200, home.text
        assert any("/oauth2/v1/authorize" in page or "/login" in page for page in person.pages)
        return home.text


def test_an_employee_signs_in_through_home_realm_discovery(
    configured: Configured, live_workforce: LiveWorkforce
) -> None:
    """Identifier first: the e-mail's domain routes to the organization's Okta connection; the
    employee signs in at the workforce org, joins the organization, and both tokens carry it."""
    with httpx.Client(timeout=30) as http:
        employee = add_employee(
            live_workforce,
            http,
            configured.app_id,
            f"ada-{secrets.token_hex(3)}@{configured.domain}",
            "Ada Lovelace",
        )
    home = _sign_in(
        configured,
        employee,
        f"{configured.app_url}/login?login_hint={employee['profile']['email']}",
    )
    [link] = configured.okta_links()
    assert f"okta|{link['connection']['name']}|{employee['id']}" in home
    assert home.count(configured.organization["id"]) == 2, "org_id of the ID and access tokens"


def test_an_employee_signs_in_through_the_initiate_login_uri(
    configured: Configured, live_workforce: LiveWorkforce
) -> None:
    """The initiate login URI from the IdP's dashboard names the organization and connection:
    straight to the workforce org's login page, and back with the organization in the tokens."""
    with httpx.Client(timeout=30) as http:
        employee = add_employee(
            live_workforce,
            http,
            configured.app_id,
            f"grace-{secrets.token_hex(3)}@{configured.domain}",
            "Grace Hopper",
        )
    initiate = configured.outcome["result"]["initiate_login_uri"]
    assert initiate.startswith(f"{configured.app_url}/login?organization=")
    home = _sign_in(configured, employee, initiate)
    assert employee["id"] in home
    assert home.count(configured.organization["id"]) == 2, "org_id of the ID and access tokens"


def test_an_employee_not_assigned_to_the_app_is_not_let_in(
    configured: Configured, live_workforce: LiveWorkforce
) -> None:
    """Only people assigned to the app instance sign in through it: the workforce refuses, and
    the refusal reaches the sample app as access_denied."""
    email = f"mallory-{secrets.token_hex(3)}@{configured.domain}"
    with httpx.Client(timeout=30) as http:
        workforce_api(live_workforce, http)(
            "POST",
            "/users?activate=true",
            {
                "profile": {
                    "login": email,
                    "email": email,
                    "firstName": "Mallory",
                    "lastName": "Nobody",
                },
                "credentials": {"password": {"value": "Correct-Horse-42"}},
            },
        )
    with httpx.Client(timeout=30, follow_redirects=False) as browser:
        person = Person(browser, email)
        back = person.walk(
            f"{configured.app_url}/login?login_hint={email}",
            stop_at=f"{configured.app_url}/callback",
        )
        assert "access_denied" in back.text
        assert "not assigned" in back.text
        assert email not in browser.get(f"{configured.app_url}/").text


def test_running_express_configure_sso_again_changes_nothing(
    configured: Configured, live_workforce: LiveWorkforce
) -> None:
    """A re-run updates in place: same connection, same settings, still exactly one."""
    [before] = configured.okta_links()
    connection_before = configured.api("GET", f"/connections/{before['connection_id']}")
    with httpx.Client(timeout=30, follow_redirects=False) as browser:
        admin = Admin(browser, configured.vendor["email"], configured.organization["name"])
        again = express_configure(live_workforce, configured.app_id, admin)
    assert again.status_code == 200, again.text
    assert again.json()["result"]["connection"] == configured.outcome["result"]["connection"]
    [after] = configured.okta_links()
    assert after == before
    assert configured.api("GET", f"/connections/{after['connection_id']}") == connection_before


def test_each_step_is_in_the_logs_of_both_sides(
    configured: Configured, live_workforce: LiveWorkforce
) -> None:
    """A support engineer follows one attempt from the click to the outcome: the workforce's
    System Log has the flow's steps; the tenant's logs have the login, the code exchange and
    the Express Configuration API call."""
    with httpx.Client(timeout=30) as http:
        events = workforce_api(live_workforce, http)("GET", "/logs?limit=200")
    flow_events = [
        event
        for event in events
        if (event.get("debugContext") or {}).get("debugData", {}).get("flowId")
        == configured.outcome["id"]
    ]
    assert len(flow_events) >= 2, [event["eventType"] for event in events][:30]
    logs = configured.api("GET", "/logs?per_page=100&sort=date:-1")
    admin_id = configured.vendor["admin"]["user_id"]
    types = {log["type"] for log in logs if log.get("user_id") == admin_id}
    assert {"s", "seacft", "sapi"} <= types, types


def test_universal_logout_from_the_idp_signs_the_employee_out_of_the_sample_app(
    configured: Configured, live_workforce: LiveWorkforce
) -> None:
    """The customer's admin clears an employee's sessions in the IdP: the workforce sends the
    tenant a signed global-token-revocation request, the tenant ends the employee's session
    and tells the sample app over the back channel, and the sample app's page asks to sign in."""
    with httpx.Client(timeout=30) as http:
        employee = add_employee(
            live_workforce,
            http,
            configured.app_id,
            f"linus-{secrets.token_hex(3)}@{configured.domain}",
            "Linus Leaver",
        )
    email = employee["profile"]["email"]
    with httpx.Client(timeout=30, follow_redirects=False) as browser:
        person = Person(browser, email)
        person.walk(
            f"{configured.app_url}/login?login_hint={email}",
            stop_at=f"{configured.app_url}/callback",
        )
        assert email in browser.get(f"{configured.app_url}/").text
        with httpx.Client(timeout=30) as http:
            workforce_api(live_workforce, http)(
                "DELETE", f"/users/{employee['id']}/sessions?oauthTokens=true"
            )
        deadline = time.monotonic() + 60
        while email in browser.get(f"{configured.app_url}/").text:
            assert time.monotonic() < deadline, "the sample app kept the employee's session"
            time.sleep(0.25)
    logs = configured.api("GET", "/logs?per_page=100&sort=date:-1")
    types = {log["type"] for log in logs}
    assert {"slo", "oidc_backchannel_logout_succeeded"} <= types
