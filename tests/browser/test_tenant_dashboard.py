"""The vendor's part of the support case, in the tenant's dashboard, in a real browser.

Each step saves a screenshot under ``test-output/screenshots/tenant/`` (the walkthrough in
``docs/dashboard.md`` shows them).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from playwright.sync_api import Locator, Page, expect, sync_playwright

from tests.browser.conftest import SCREENSHOTS, DashboardTenant, chromium_path

pytestmark = pytest.mark.interop

SHOTS = SCREENSHOTS / "tenant"
EC_API = "urn:auth0:express-configure"


@pytest.fixture
def page(dashboard_tenant: DashboardTenant) -> Iterator[Page]:
    executable = chromium_path()
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            headless=True,
            # Root in a container has no user namespaces for chromium's sandbox.
            args=["--no-sandbox"],
        )
        context = browser.new_context(
            viewport={"width": 1280, "height": 900},
            permissions=["clipboard-read", "clipboard-write"],
        )
        context.set_default_timeout(15_000)
        yield context.new_page()
        context.close()
        browser.close()


def nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Dashboard")


def shot(page: Page, name: str, detail: Locator | None = None) -> None:
    """The whole page; and, given ``detail``, that part of it alone (the walkthrough's size)."""
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    if detail is not None:
        detail.screenshot(path=str(SHOTS / f"{name}-detail.png"))


def _management(tenant: DashboardTenant) -> httpx.Client:
    """The Management API, with a token of the tenant's admin client."""
    token = httpx.post(
        f"{tenant.url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": tenant.client_id,
            "client_secret": tenant.client_secret,
            "audience": f"{tenant.url}/api/v2/",
        },
    ).json()["access_token"]
    return httpx.Client(
        base_url=f"{tenant.url}/api/v2", headers={"Authorization": f"Bearer {token}"}
    )


def _customer(tenant: DashboardTenant) -> None:
    """The customer's organization and IT admin, as the support case has them: the admin is
    not a member yet."""
    with _management(tenant) as api:
        api.post(
            "/organizations", json={"name": "acme", "metadata": {"domains": "acme.example"}}
        ).raise_for_status()
        api.post(
            "/users",
            json={
                "email": "it-admin@acme.example",
                "password": "Correct-Horse-7",
                "connection": "Username-Password-Authentication",
            },
        ).raise_for_status()


def _public_pem() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def test_the_vendor_prepares_express_configuration_in_the_dashboard(
    page: Page, dashboard_tenant: DashboardTenant
) -> None:
    """Support case, vendor side: role with both permissions, OIN client, SaaS app with its OIN
    tab, the information copied, the .pem uploaded, the Readiness panel and one fix."""
    tenant = dashboard_tenant
    _customer(tenant)

    page.goto(f"{tenant.url}/dashboard")
    expect(page.get_by_role("heading", name="Sign in to the dashboard")).to_be_visible()
    page.get_by_label("E-mail").fill(tenant.admin_email)
    page.get_by_label("Password").fill(tenant.admin_password)
    shot(page, "01-sign-in")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Applications")).to_be_visible()
    # Keyboard: the first Tab reaches the skip link, which leads to the content.
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"

    # The Express Configuration API and its two permissions.
    nav(page).get_by_role("link", name="APIs").click()
    page.get_by_label("Name").fill("Express Configuration")
    page.get_by_label("Identifier").fill(EC_API)
    page.get_by_role("button", name="Create").click()
    for permission in ("express_configure:sso", "express_configure:scim"):
        page.get_by_role("textbox", name="Permission").fill(permission)
        page.get_by_label("Description").fill(f"Express Configure {permission.split(':')[1]}")
        page.get_by_role("button", name="Add").click()
    expect(page.get_by_role("cell", name="express_configure:scim")).to_be_visible()
    shot(page, "02-api-permissions")

    # A role holding both.
    nav(page).get_by_role("link", name="Roles").click()
    page.get_by_label("Name").fill("Express Configuration Admin")
    page.get_by_role("button", name="Create").click()
    page.get_by_label("API", exact=True).select_option(label=f"Express Configuration ({EC_API})")
    page.get_by_role("button", name="Show its permissions").click()
    page.get_by_label("express_configure:sso").check()
    page.get_by_label("express_configure:scim").check()
    page.get_by_role("button", name="Add permissions").click()
    expect(page.get_by_role("cell", name="express_configure:sso")).to_be_visible()
    shot(page, "03-role-permissions")

    # The OIN client.
    nav(page).get_by_role("link", name="Applications").click()
    page.get_by_label("Name").fill("Okta OIN")
    page.get_by_label("Type").select_option("express_configuration")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name="Okta OIN")).to_be_visible()
    shot(page, "04-oin-client")

    # The SaaS app and its Okta Integration Network tab.
    nav(page).get_by_role("link", name="Applications").click()
    page.get_by_label("Name").fill("Vendor SaaS")
    page.get_by_label("Type").select_option("regular_web")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_text("shown only this once")).to_be_visible()
    page.get_by_role("link", name="Okta Integration Network").click()
    page.get_by_role("button", name="Create connection profile from").click()
    page.get_by_role("button", name="Create user attribute profile from").click()
    page.get_by_label("Initiate login URI template").fill(
        "http://localhost:8400/login?organization={organization_id}"
    )
    page.get_by_label("Admin login domain").fill(tenant.url.split("://", 1)[1])
    page.get_by_role("button", name="Save Express Configuration").click()
    expect(page.get_by_role("status").first).to_have_text("Saved.")
    shot(page, "05-oin-tab")

    # The Express Configuration information, copied for the OIN Wizard.
    page.get_by_role("button", name="Copy").click()
    expect(page.locator("#information-copied")).to_have_text("Copied to the clipboard.")
    information = json.loads(page.evaluate("navigator.clipboard.readText()"))
    assert information["display_name"] == "Vendor SaaS"
    assert information["tenant_domain"] == tenant.url
    page.locator("#information").scroll_into_view_if_needed()
    shot(page, "06-information-copied", page.locator("section:has(#information)"))

    # The OIN Wizard's public key, from its .pem file.
    page.get_by_label("OIN submission ID").fill("sub_0oa1b2c3")
    page.get_by_label("Or choose a .pem file").set_input_files(
        files=[
            {
                "name": "oin-wizard.pem",
                "mimeType": "application/x-pem-file",
                "buffer": _public_pem(),
            }
        ]
    )
    # The page's script fills the text area from the file, for the admin to see before upload.
    expect(page.locator("#pem")).to_have_value(re.compile(r"^-----BEGIN PUBLIC KEY-----"))
    page.get_by_role("button", name="Upload and activate").click()
    expect(page.get_by_role("status").first).to_have_text("The key is active for private_key_jwt.")
    expect(page.get_by_text("OIN submission: sub_0oa1b2c3")).to_be_visible()
    shot(page, "07-oin-key", page.locator("section:has(#express)"))

    # Readiness: doctor's checks, and a fix.
    page.get_by_label("Customer organization (optional)").fill("acme")
    page.get_by_label("Customer admin (optional)").fill("it-admin@acme.example")
    page.get_by_role("button", name="Run checks").click()
    expect(page.locator("#readiness-summary")).to_contain_text("Not ready")
    for cause in ("home_realm_discovery_disabled", "not_organization_member", "role_not_assigned"):
        expect(page.locator("#readiness-panel").get_by_text(cause, exact=True)).to_be_visible()
    page.locator("#check-app\\.home_realm_discovery").scroll_into_view_if_needed()
    shot(page, "08-readiness", page.locator("#readiness-summary"))
    page.get_by_role("button", name="Fix: Home Realm Discovery is on for the application").click()
    expect(page.get_by_text("Done: turned on Home Realm Discovery")).to_be_visible()
    expect(page.locator("#check-app\\.home_realm_discovery .badge")).to_have_text("pass")
    shot(
        page,
        "09-readiness-fixed",
        page.locator("#readiness-panel .notice, #check-app\\.home_realm_discovery").first,
    )
    page.locator("#check-admin\\.member").screenshot(path=str(SHOTS / "09-check-detail.png"))

    # A narrow screen: one column, everything reachable.
    page.set_viewport_size({"width": 390, "height": 844})
    nav(page).get_by_role("link", name="Roles").click()
    expect(page.get_by_role("link", name="Express Configuration Admin")).to_be_visible()
    shot(page, "10-narrow-screen")


def test_an_admin_finds_one_customer_among_many_organizations(
    page: Page, dashboard_tenant: DashboardTenant
) -> None:
    """Organizations a page at a time: the search box, by keyboard, then the customer's page."""
    tenant = dashboard_tenant
    with _management(tenant) as api:
        for index in range(60):
            api.post(
                "/organizations",
                json={"name": f"customer-{index:03d}", "display_name": f"Customer {index}"},
            ).raise_for_status()

    page.goto(f"{tenant.url}/dashboard")
    page.get_by_label("E-mail").fill(tenant.admin_email)
    page.get_by_label("Password").fill(tenant.admin_password)
    page.get_by_role("button", name="Sign in").click()
    nav(page).get_by_role("link", name="Organizations").click()
    expect(page.get_by_text(re.compile(r"1\u201350 of \d+ organizations"))).to_be_visible()
    pages = page.get_by_role("navigation", name="Pages of organizations")
    expect(pages.get_by_role("link", name="Next")).to_be_visible()
    expect(page.locator("tbody tr")).to_have_count(50)

    search = page.get_by_role("searchbox", name="Search organizations by name")
    search.fill("Customer 4")
    search.press("Enter")
    expect(page.locator("tbody tr")).to_have_count(11)  # 4, and 40 to 49
    expect(page.get_by_text("1\u201311 of 11 organizations matching")).to_be_visible()
    shot(page, "11-organizations-search")
    page.get_by_role("link", name="customer-042").click()
    expect(page.get_by_role("heading", name="Customer 42", exact=True)).to_be_visible()
