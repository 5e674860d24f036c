"""The whole support case in the two consoles, in a real browser (Debian's chromium, headless,
through Playwright), against a live tenant and a live workforce IdP, with no API call for
anything a person would click.

The vendor's developer works in the tenant's dashboard, the integrator's admin in the workforce
admin console, each in a browser of their own; the only things done outside the consoles are
what a person also does outside them: ``expressway tenant init`` and ``expressway workforce init``,
whose printed credentials sign them in. The story is SPEC §4 with the support case's omissions
(no role, Home Realm Discovery off, the admin not a member of the organization): the first
*Express Configure SSO & UL* fails with every cause (SPEC §4.1), the vendor fixes some by hand
and the rest with the Readiness panel, the retry succeeds, SCIM is configured, and a person
assigned in the console appears in the tenant's organization.

Each step saves a screenshot under ``test-output/screenshots/support-case/`` (the walkthrough in
``docs/walkthrough.md`` shows them).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    Response,
    expect,
    sync_playwright,
)

from tests.browser.conftest import SCREENSHOTS, chromium_path
from tests.browser.universal_login import TIMEOUT, walk_the_tenant
from tests.browser.universal_login import express_configure as click_express_configure
from tests.interop.conftest import free_port, initialise_tenant, tenant_environment, tenant_server

pytestmark = pytest.mark.interop

SHOTS = SCREENSHOTS / "support-case"
EC_API = "urn:auth0:express-configure"
DATABASE = "Username-Password-Authentication"
ORGANIZATION = "acme"
DOMAIN = "acme.example"
IT_ADMIN = f"it-admin@{DOMAIN}"
IT_ADMIN_PASSWORD = "Correct-Horse-Battery-7"
INSTANCE = "Vendor SaaS (test)"
VIEWPORT = {"width": 1280, "height": 800}


@dataclass(frozen=True)
class Systems:
    """The two live systems and the credentials their ``init`` printed."""

    tenant_url: str
    dashboard_email: str
    dashboard_password: str
    workforce_url: str
    console_login: str
    console_password: str

    @property
    def console(self) -> str:
        return f"{self.workforce_url}/orgs/{ORGANIZATION}/admin"

    @property
    def callback(self) -> str:
        return f"{self.workforce_url}/admin/app/generic/oauth20redirect"


@pytest.fixture(scope="module")
def systems(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Systems]:
    """``tenant init`` and ``workforce init``, then both ``serve``: each knows the other's public
    URL, as in production (the OIN client's callback is the workforce's)."""
    tenant_port, workforce_port = free_port(), free_port()
    tenant_url = f"http://127.0.0.1:{tenant_port}"
    workforce_url = f"http://127.0.0.1:{workforce_port}"
    tenant_dir = tmp_path_factory.mktemp("support-tenant")
    tenant_env = {
        **tenant_environment(tenant_dir, tenant_url),
        "EXPRESSWAY_WORKFORCE_PUBLIC_URL": workforce_url,
    }
    created = initialise_tenant(tenant_env)
    workforce_dir = tmp_path_factory.mktemp("support-workforce")
    workforce_env = {
        **os.environ,
        "EXPRESSWAY_DATA_DIR": str(workforce_dir),
        "EXPRESSWAY_WORKFORCE_PUBLIC_URL": workforce_url,
    }
    workforce_env.pop("EXPRESSWAY_WORKFORCE_DATABASE_URL", None)
    cli = [sys.executable, "-m", "expressway.cli", "workforce"]
    init = subprocess.run(  # noqa: S603 - our own CLI
        [*cli, "init", "--org", ORGANIZATION, "--json"],
        env=workforce_env,
        capture_output=True,
        text=True,
        check=True,
    )
    org = json.loads(init.stdout)
    log_path = workforce_dir / "server.log"
    with (
        tenant_server(tenant_env, tenant_port, tenant_url, tenant_dir / "server.log"),
        log_path.open("w") as log,
    ):
        server = subprocess.Popen(  # noqa: S603 - our own CLI
            [*cli, "serve", "--port", str(workforce_port), "--public-url", workforce_url],
            env=workforce_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_up(server, f"{workforce_url}/orgs/{ORGANIZATION}/oauth2/v1/keys", log_path)
            yield Systems(
                tenant_url=tenant_url,
                dashboard_email=created["dashboard_admin_email"],
                dashboard_password=created["dashboard_admin_password"],
                workforce_url=workforce_url,
                console_login=org["admin_login"],
                console_password=org["admin_password"],
            )
        finally:
            server.terminate()
            server.wait(timeout=10)


def _wait_until_up(server: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 90
    while True:
        try:
            if httpx.get(url).status_code == 200:
                return
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(log.read_text())
        time.sleep(0.1)


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=executable,
            headless=True,
            # Root in a container has no user namespaces for chromium's sandbox.
            args=["--no-sandbox"],
        )
        try:
            yield browser
        finally:
            browser.close()


def _context(browser: Browser) -> BrowserContext:
    context = browser.new_context(
        viewport=VIEWPORT,
        accept_downloads=True,
        permissions=["clipboard-read", "clipboard-write"],
    )
    context.set_default_timeout(TIMEOUT)
    return context


def shot(page: Page, name: str, focus: Locator | None = None, *, block: str = "start") -> None:
    """The viewport (1280x800), with ``focus`` scrolled to its top (or ``block``) when given:
    what a person sees at that step, small enough for the docs."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    if focus is not None:
        focus.first.evaluate("(node, block) => node.scrollIntoView({block})", block)
    page.screenshot(path=str(SHOTS / f"{name}.png"))


# --- the vendor, in the tenant's dashboard -----------------------------------------------------


def dashboard_nav(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Dashboard").get_by_role(
        "link", name=name, exact=True
    ).click()


def sign_in_to_dashboard(page: Page, systems: Systems) -> None:
    page.goto(f"{systems.tenant_url}/dashboard")
    page.get_by_label("E-mail").fill(systems.dashboard_email)
    page.get_by_label("Password").fill(systems.dashboard_password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Applications")).to_be_visible()


def create_the_api(page: Page) -> None:
    dashboard_nav(page, "APIs")
    page.get_by_label("Name").fill("Express Configuration")
    page.get_by_label("Identifier").fill(EC_API)
    page.get_by_role("button", name="Create").click()
    for permission in ("express_configure:sso", "express_configure:scim"):
        page.get_by_role("textbox", name="Permission").fill(permission)
        page.get_by_label("Description").fill(f"Express Configure {permission.split(':')[1]}")
        page.get_by_role("button", name="Add").click()
        expect(page.get_by_role("cell", name=permission)).to_be_visible()


def create_the_customer(page: Page) -> None:
    """The customer's organization (its domain; the database connection its admin signs in
    with) and the customer's IT admin as a user of the tenant: not a member yet."""
    dashboard_nav(page, "Organizations")
    page.get_by_role("textbox", name="Name", exact=True).fill(ORGANIZATION)
    page.get_by_label("Display name").fill("Acme Corporation")
    page.get_by_label("E-mail domains").fill(DOMAIN)
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name="Acme Corporation")).to_be_visible()
    page.get_by_label("Connection", exact=True).select_option(label=f"{DATABASE} (auth0)")
    page.get_by_role("button", name="Enable").click()
    expect(page.get_by_role("cell", name=DATABASE)).to_be_visible()

    dashboard_nav(page, "Users")
    page.get_by_role("textbox", name="E-mail", exact=True).fill(IT_ADMIN)
    page.get_by_role("textbox", name="Name", exact=True).fill("Acme IT admin")
    page.get_by_label("Password").fill(IT_ADMIN_PASSWORD)
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("cell", name=IT_ADMIN)).to_be_visible()


def create_the_applications(page: Page, systems: Systems) -> None:
    """The OIN client, and the SaaS app with its Okta Integration Network tab filled in."""
    dashboard_nav(page, "Applications")
    page.get_by_label("Name").fill("Okta OIN")
    page.get_by_label("Type").select_option("express_configuration")
    page.get_by_role("button", name="Create").click()
    expect(page.get_by_role("heading", name="Okta OIN")).to_be_visible()
    page.get_by_role("link", name="Okta Integration Network").click()
    shot(page, "02-oin-client")

    dashboard_nav(page, "Applications")
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
    expect(page.get_by_label("Admin login domain")).to_have_value(
        systems.tenant_url.removeprefix("http://")
    )
    page.get_by_role("button", name="Save Express Configuration").click()
    expect(page.get_by_role("status").first).to_have_text("Saved.")
    express = page.get_by_role("heading", name="Express Configuration", exact=True)
    shot(page, "03-express-configuration", express)


def open_application(page: Page, name: str) -> None:
    """Applications > the application > Okta Integration Network."""
    dashboard_nav(page, "Applications")
    page.get_by_role("link", name=name, exact=True).click()
    page.get_by_role("link", name="Okta Integration Network").click()


def open_organization(page: Page) -> None:
    dashboard_nav(page, "Organizations")
    page.get_by_role("link", name=ORGANIZATION, exact=True).click()
    expect(page.get_by_role("heading", name="Acme Corporation")).to_be_visible()


def copy_the_information(page: Page, systems: Systems) -> str:
    page.get_by_role("button", name="Copy").click()
    expect(page.locator("#information-copied")).to_have_text("Copied to the clipboard.")
    copied: str = page.evaluate("navigator.clipboard.readText()")
    information = json.loads(copied)
    assert information["display_name"] == "Vendor SaaS"
    assert information["tenant_domain"] == systems.tenant_url
    shot(page, "04-information-copied", page.locator("#express-configuration-information"))
    return copied


# --- the integrator's admin, in the workforce console ------------------------------------------


def console_nav(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Admin console").get_by_role(
        "link", name=name, exact=True
    ).click()


def sign_in_to_console(page: Page, systems: Systems) -> None:
    page.goto(systems.console)
    page.get_by_label("Username").fill(systems.console_login)
    page.get_by_label("Password").fill(systems.console_password)
    page.get_by_label("Password").press("Enter")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()


def open_instance(page: Page, tab: str) -> None:
    """Applications > the test instance > ``tab``."""
    console_nav(page, "Applications")
    page.get_by_role("link", name=INSTANCE, exact=True).click()
    page.get_by_role("link", name=tab, exact=True).click()
    expect(page.get_by_role("link", name=tab, exact=True)).to_have_attribute("aria-current", "page")


def express_configure(
    page: Page, systems: Systems, button: str, outcome: str, shots: dict[str, str] | None = None
) -> Response:
    """Click ``button`` and go through the tenant as the IT admin; ``shots`` names the
    screenshot of a tenant page (``organization``, ``consent``) the first time it shows."""
    names = shots or {}

    def on_page(kind: str, popup: Page) -> None:
        if kind in names:
            shot(popup, names[kind])

    def walk(popup: Page) -> None:
        walk_the_tenant(
            popup,
            organization=ORGANIZATION,
            email=IT_ADMIN,
            password=IT_ADMIN_PASSWORD,
            callback=systems.callback,
            on_page=on_page,
        )

    return click_express_configure(page, button, outcome, walk)


def readiness_check(page: Page, check_id: str) -> Locator:
    return page.locator(f"#check-{check_id}".replace(".", "\\."))


def reload_until(page: Page, locator: Locator, text: str, *, attempts: int = 30) -> None:
    """Reload until ``locator`` shows ``text``: the page shows work done apart from it (the
    provisioning worker), and a person would refresh it the same way."""
    for _ in range(attempts - 1):
        try:
            expect(locator.first).to_contain_text(text, timeout=1_000)
            return
        except AssertionError:
            page.reload()
    expect(locator.first).to_contain_text(text)


# --- the story ---------------------------------------------------------------------------------


def test_the_support_case_from_both_consoles(chromium: Browser, systems: Systems) -> None:
    """SPEC §3, §4 and §4.1 clicked through end to end: the failure names every cause with its
    remediation (the XHR answers the 403 body), the fixes are made in the dashboard, the retry
    succeeds, and SCIM brings the assigned person into the tenant's organization."""
    # The screenshots of this run only.
    shutil.rmtree(SHOTS, ignore_errors=True)
    vendor_context, admin_context = _context(chromium), _context(chromium)
    vendor, admin = vendor_context.new_page(), admin_context.new_page()
    try:
        # 1. The vendor prepares its tenant: the API, the customer, the applications.
        sign_in_to_dashboard(vendor, systems)
        create_the_api(vendor)
        shot(vendor, "01-api-permissions")
        create_the_customer(vendor)
        create_the_applications(vendor, systems)
        information = copy_the_information(vendor, systems)

        # 2. The OIN Wizard in the integrator's console.
        sign_in_to_console(admin, systems)
        console_nav(admin, "Your OIN Integrations")
        admin.get_by_label("Integration name").fill("Vendor SaaS")
        admin.get_by_label("Description").fill("SSO, SCIM and Universal Logout")
        expect(admin.get_by_label("SCIM provisioning")).to_be_checked()
        admin.get_by_role("button", name="Create integration").click()
        expect(admin.get_by_role("status")).to_have_text("The integration was created.")
        submission_id = admin.url.rsplit("/", 1)[-1].split("?")[0]
        admin.get_by_label("Express Configuration information (JSON)").fill(information)
        admin.get_by_role("button", name="Save Express Configuration").click()
        expect(admin.get_by_role("status")).to_contain_text("Express Configuration information")
        shot(admin, "05-wizard-pasted", admin.get_by_role("heading", name="Express Configuration"))
        admin.get_by_role("button", name="Generate key").click()
        with admin.expect_download() as downloaded:
            admin.get_by_role("link", name="Download Key (.pem)").click()
        assert downloaded.value.suggested_filename == f"{submission_id}.pem"
        pem_path = Path(downloaded.value.path())
        assert pem_path.read_text().startswith("-----BEGIN PUBLIC KEY-----")
        shot(admin, "06-wizard-key", admin.get_by_role("link", name="Download Key (.pem)"))

        # The vendor uploads that .pem to the OIN client, named after the submission.
        open_application(vendor, "Okta OIN")
        vendor.get_by_label("OIN submission ID").fill(submission_id)
        vendor.get_by_label("Or choose a .pem file").set_input_files(str(pem_path))
        expect(vendor.locator("#pem")).to_have_value(re.compile(r"^-----BEGIN PUBLIC KEY-----"))
        vendor.get_by_role("button", name="Upload and activate").click()
        expect(vendor.get_by_role("status").first).to_have_text(
            "The key is active for private_key_jwt."
        )
        vendor.get_by_role("link", name="Credentials").click()
        expect(vendor.get_by_role("cell", name=f"oin:{submission_id}")).to_be_visible()
        shot(vendor, "07-oin-key-uploaded")

        # Finish, and the test instance.
        admin.get_by_role("button", name="Finish").click()
        expect(admin.get_by_role("status")).to_have_text("The integration is finished.")
        shot(admin, "08-wizard-finished", admin.get_by_role("heading", name="Finish"))
        admin.get_by_role("button", name="Generate instance").click()
        expect(admin.get_by_role("link", name="Sign On")).to_have_attribute("aria-current", "page")
        shot(admin, "09-test-instance")

        # 3. Express Configure SSO & UL fails: the support case, every cause named.
        xhr = express_configure(
            admin,
            systems,
            "Express Configure SSO & UL",
            ".ec-failure",
            {"organization": "10-tenant-organization"},
        )
        assert xhr.status == 403
        body = xhr.json()
        assert list(body)[:2] == ["errorCode", "errorSummary"]
        assert body["errorCode"] == "oauth_error"
        assert body["errorSummary"] == (
            "Failed to Express Configure the application. Please retry or contact Okta support."
        )
        reasons = [cause["reason"] for cause in body["errorCauses"]]
        assert "not_organization_member" in reasons
        assert "home_realm_discovery_disabled" in reasons
        assert {"role_not_assigned", "role_permissions_missing"} & set(reasons)
        failure = admin.locator(".ec-failure")
        expect(failure).to_contain_text(body["errorSummary"])
        assert failure.locator(".ec-cause code").all_inner_texts() == reasons
        remediations = failure.locator(".ec-remediation").all_inner_texts()
        assert remediations == [f"Fix: {cause['remediation']}" for cause in body["errorCauses"]]
        shot(admin, "11-express-configure-failed", failure, block="end")

        # 4. The vendor fixes them: the role and the membership by hand ...
        dashboard_nav(vendor, "Roles")
        vendor.get_by_label("Name").fill("Express Configuration Admin")
        vendor.get_by_role("button", name="Create").click()
        vendor.get_by_label("API", exact=True).select_option(
            label=f"Express Configuration ({EC_API})"
        )
        vendor.get_by_role("button", name="Show its permissions").click()
        vendor.get_by_label("express_configure:sso").check()
        vendor.get_by_label("express_configure:scim").check()
        vendor.get_by_role("button", name="Add permissions").click()
        expect(vendor.get_by_role("cell", name="express_configure:scim")).to_be_visible()
        shot(vendor, "12-role-permissions")
        open_organization(vendor)
        vendor.get_by_label("User (e-mail or user ID)").fill(IT_ADMIN)
        vendor.get_by_role("button", name="Add member").click()
        members = vendor.get_by_role("table").filter(has_text="Roles in this organization")
        expect(members).to_contain_text(IT_ADMIN)
        vendor.get_by_label(f"Role for {IT_ADMIN}").select_option(
            label="Express Configuration Admin"
        )
        vendor.get_by_role("button", name="Assign role").click()
        expect(
            members.get_by_role("listitem").filter(has_text="Express Configuration Admin")
        ).to_be_visible()
        shot(vendor, "13-organization-member", vendor.get_by_role("heading", name="Members"))

        # ... and the rest with the Readiness panel: it finds Home Realm Discovery still off.
        open_application(vendor, "Vendor SaaS")
        vendor.get_by_label("Customer organization (optional)").fill(ORGANIZATION)
        vendor.get_by_label("Customer admin (optional)").fill(IT_ADMIN)
        vendor.get_by_label("OIN Wizard's public key (optional)").fill(pem_path.read_text())
        vendor.get_by_role("button", name="Run checks").click()
        expect(vendor.locator("#readiness-summary")).to_contain_text("Not ready")
        for check in ("admin.member", "admin.role", "oin.public_key_match"):
            expect(readiness_check(vendor, check).locator(".badge")).to_have_text("pass")
        hrd = readiness_check(vendor, "app.home_realm_discovery")
        expect(hrd.locator(".badge")).to_have_text("fail")
        expect(hrd).to_contain_text("home_realm_discovery_disabled")
        shot(vendor, "14-readiness", hrd, block="center")
        hrd.get_by_role(
            "button", name="Fix: Home Realm Discovery is on for the application"
        ).click()
        expect(vendor.get_by_text("Done: turned on Home Realm Discovery")).to_be_visible()
        expect(vendor.locator("#readiness-summary")).to_contain_text(
            "Ready for Express Configuration"
        )
        shot(vendor, "15-readiness-fixed", vendor.locator("#readiness-panel .notice"))

        # 5. The retry succeeds: a member now, the admin reaches the consent page.
        xhr = express_configure(
            admin,
            systems,
            "Express Configure SSO & UL",
            ".ec-success",
            {"consent": "16-tenant-consent"},
        )
        assert xhr.status == 200
        result = xhr.json()["result"]
        assert result["organization"]["name"] == ORGANIZATION
        success = admin.locator(".ec-success")
        expect(success).to_contain_text("Express Configure SSO & UL succeeded.")
        expect(success).to_contain_text(result["connection"]["name"])
        expect(success).to_contain_text(DOMAIN)
        shot(admin, "17-express-configure-succeeded", success, block="end")

        # 6. The page says its Current configuration is out of date; reloaded, it is the new one.
        refreshed = admin.locator(".ec-refreshed")
        expect(refreshed).to_contain_text("Express Configure changed this.")
        refreshed.get_by_role("link", name="Reload the page to see it").click()
        current = admin.locator("section").filter(
            has=admin.get_by_role("heading", name="Current configuration")
        )
        expect(current).to_contain_text(result["connection"]["id"])
        expect(current).to_contain_text(result["organization"]["id"])
        expect(current).to_contain_text(result["global_token_revocation_endpoint"])
        shot(admin, "18-current-configuration", current)

        # SCIM: Express Configure SCIM, then To App.
        admin.get_by_role("link", name="Provisioning").click()
        xhr = express_configure(admin, systems, "Express Configure SCIM", ".ec-success")
        assert xhr.status == 200
        scim = xhr.json()["result"]
        assert scim["scim_base_url"] == (
            f"{systems.tenant_url}/scim/v2/connections/{result['connection']['id']}"
        )
        expect(admin.locator(".ec-success")).to_contain_text("Express Configure SCIM succeeded.")
        shot(admin, "19-express-configure-scim", admin.locator(".ec-success"), block="end")
        admin.get_by_role("link", name="Reload the page to see it").click()
        admin.get_by_role("switch", name="Create Users").check()
        admin.get_by_role("switch", name="Update User Attributes").check()
        admin.get_by_role("switch", name="Deactivate Users").check()
        admin.get_by_role("button", name="Save").click()
        expect(admin.get_by_role("switch", name="Create Users")).to_be_checked()
        shot(admin, "20-to-app", admin.get_by_role("heading", name="To App"))

        # A person in the directory, assigned to the instance.
        console_nav(admin, "People")
        employee = f"jane.doe@{DOMAIN}"
        admin.get_by_label("First name").fill("Jane")
        admin.get_by_label("Last name").fill("Doe")
        admin.get_by_role("textbox", name="Username", exact=True).fill(employee)
        admin.get_by_role("button", name="Save").click()
        expect(admin.get_by_role("status")).to_be_visible()
        console_nav(admin, "People")
        expect(admin.get_by_role("cell", name=employee)).to_be_visible()
        shot(admin, "21-person")
        open_instance(admin, "Assignments")
        admin.get_by_label("Assign to person").select_option(label=employee)
        admin.get_by_role("button", name="Assign").first.click()
        expect(admin.get_by_role("cell", name="Jane Doe")).to_be_visible()
        shot(admin, "22-assigned")

        # The provisioning job runs; the jobs list shows it done (the page is reloaded until it
        # is: the worker runs apart from the page).
        open_instance(admin, "Provisioning")
        reload_until(admin, admin.get_by_role("row").filter(has_text=employee), "COMPLETED")
        shot(admin, "23-provisioning-job", admin.get_by_role("heading", name="Provisioning jobs"))

        # The person is in the tenant's organization, where the vendor looks.
        open_organization(vendor)
        members = vendor.get_by_role("table").filter(has_text="Roles in this organization")
        expect(members.get_by_role("row").filter(has_text=employee)).to_contain_text(
            f"okta|{result['connection']['name']}|"
        )
        shot(vendor, "24-organization-members", vendor.get_by_role("heading", name="Members"))

        # Group Push: a group of the directory, kept in step with a group in the app.
        console_nav(admin, "Groups")
        admin.get_by_role("textbox", name="Name", exact=True).fill("Acme Engineering")
        admin.get_by_role("button", name="Save").click()
        admin.get_by_label("Add person").select_option(label=employee)
        admin.get_by_role("button", name="Add", exact=True).click()
        expect(admin.get_by_role("cell", name=employee, exact=True)).to_be_visible()
        open_instance(admin, "Push Groups")
        admin.get_by_label("Group", exact=True).select_option(label="Acme Engineering")
        expect(admin.get_by_label("Push group memberships immediately")).to_be_checked()
        admin.get_by_role("button", name="Save").click()
        expect(admin.get_by_role("status")).to_have_text("The group push was added.")
        pushed = admin.get_by_role("row").filter(has_text="Acme Engineering")
        expect(pushed).to_contain_text("ACTIVE")
        reload_until(admin, pushed, "UTC")
        expect(pushed).not_to_contain_text("Not pushed yet")
        shot(admin, "25-push-groups", admin.get_by_role("heading", name="Pushed groups"))
    finally:
        vendor_context.close()
        admin_context.close()
