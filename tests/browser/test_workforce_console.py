"""The workforce admin console in a real browser (Debian's chromium, headless, through
Playwright) against a live workforce IdP and a live tenant: the OIN wizard from capabilities to a
test instance, then *Express Configure SSO & UL* failing in the support case with every cause and
its remediation on the page, and succeeding once the tenant is fixed through its Management API.

Each step leaves a screenshot under ``test-output/screenshots/workforce/``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Response, expect, sync_playwright

from tests.browser.conftest import SCREENSHOTS as BROWSER_SCREENSHOTS
from tests.browser.conftest import chromium_path
from tests.browser.universal_login import TIMEOUT, express_configure, walk_the_tenant
from tests.e2e.story import EC_API, PASSWORD, prepare_tenant
from tests.interop.conftest import LiveTenant, live_tenant  # noqa: F401 - session fixture
from tests.interop.workforce_server import LiveWorkforce, live_workforce  # noqa: F401

pytestmark = pytest.mark.interop

SCREENSHOTS = BROWSER_SCREENSHOTS / "workforce"
ADMIN_PASSWORD = "Console-Admin-Password-1"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    executable = chromium_path()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def _shot(page: Page, name: str, *, full_page: bool = True) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=full_page)


def _admin_login(workforce: LiveWorkforce, http: httpx.Client) -> str:
    """The org's super admin, given a password we know (init prints its own only once)."""
    headers = {"Authorization": f"SSWS {workforce.tokens['acme']}"}
    me = http.post(
        f"{workforce.org_url('acme')}/api/v1/users/me",
        json={"credentials": {"password": {"value": ADMIN_PASSWORD}}},
        headers=headers,
    )
    assert me.status_code == 200, me.text
    login: str = me.json()["profile"]["login"]
    return login


def _express_configure(
    page: Page, tenant: dict[str, Any], callback: str, outcome_selector: str
) -> Response:
    """Click the button and go through the tenant as its admin; screenshot the consent page."""

    def on_page(kind: str, popup: Page) -> None:
        if kind == "consent":
            _shot(popup, "08-tenant-consent")

    def walk(popup: Page) -> None:
        walk_the_tenant(
            popup,
            organization=tenant["organization"]["name"],
            email=tenant["email"],
            password=PASSWORD,
            callback=callback,
            on_page=on_page,
        )

    return express_configure(page, "Express Configure SSO & UL", outcome_selector, walk)


def _fix_the_tenant(tenant: dict[str, Any]) -> None:
    """What doctor --fix would do, through the Management API: a role holding both
    permissions, the admin a member of the organization with that role, Home Realm Discovery."""
    api = tenant["api"]
    role = api("POST", "/roles", {"name": "Express Configuration admins"})
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
    organization = tenant["organization"]["id"]
    user_id = tenant["admin"]["user_id"]
    api("POST", f"/organizations/{organization}/members", {"members": [user_id]})
    api("POST", f"/organizations/{organization}/members/{user_id}/roles", {"roles": [role["id"]]})
    api("PATCH", f"/clients/{tenant['app']['client_id']}", {"home_realm_discovery": True})


def test_the_wizard_then_express_configure_fails_with_its_causes_and_succeeds_once_fixed(
    chromium: Browser,
    live_tenant: LiveTenant,  # noqa: F811 - the session fixture imported above
    live_workforce: LiveWorkforce,  # noqa: F811
) -> None:
    """SPEC §3 and §4.1 through the console: the page shows the errorSummary and each cause
    with its remediation, and the same button succeeds after the tenant is fixed."""
    # Kept open for the whole test: the tenant's Management API is called through it later.
    http = httpx.Client(timeout=30)
    login = _admin_login(live_workforce, http)
    tenant = prepare_tenant(live_tenant, live_workforce, http, broken=True)
    console = f"{live_workforce.org_url('acme')}/admin"
    callback = f"{live_workforce.url}/admin/app/generic/oauth20redirect"
    context = chromium.new_context(viewport={"width": 1280, "height": 860}, accept_downloads=True)
    context.set_default_timeout(TIMEOUT)
    page = context.new_page()
    try:
        # Sign in, with the keyboard only.
        page.goto(console)
        expect(page).to_have_url(f"{console}/login")
        expect(page.get_by_label("Username")).to_be_focused()
        page.keyboard.type(login)
        page.keyboard.press("Tab")
        page.keyboard.type(ADMIN_PASSWORD)
        _shot(page, "01-sign-in")
        page.get_by_label("Password").press("Enter")
        expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

        # The wizard: capabilities and details.
        navigation = page.get_by_role("navigation", name="Admin console")
        navigation.get_by_role("link", name="Your OIN Integrations").click()
        page.get_by_label("Integration name").fill("Vendor SaaS")
        page.get_by_label("Description").fill("The vendor's app, with SCIM and Universal Logout")
        expect(page.get_by_label("SCIM provisioning")).to_be_checked()
        page.get_by_role("button", name="Create integration").click()
        expect(page.get_by_role("status")).to_have_text("The integration was created.")
        submission_id = page.url.rsplit("/", 1)[-1].split("?")[0]

        # The Express Configuration pane: a bad paste names its fields, then the real one.
        paste = page.get_by_label("Express Configuration information (JSON)")
        paste.fill(json.dumps({**tenant["information"], "oin_client_id": ""}))
        page.get_by_role("button", name="Save Express Configuration").click()
        expect(page.get_by_role("alert")).to_contain_text("oin_client_id")
        _shot(page, "02-wizard-bad-paste")
        paste.fill(json.dumps(tenant["information"], indent=2))
        page.get_by_role("button", name="Save Express Configuration").click()
        expect(page.get_by_role("status")).to_contain_text("Express Configuration information")

        # The key, its download, and the upload of the .pem to the tenant's OIN client.
        page.get_by_role("button", name="Generate key").click()
        with page.expect_download() as downloaded:
            page.get_by_role("link", name="Download Key (.pem)").click()
        pem = Path(downloaded.value.path()).read_text()
        assert pem.startswith("-----BEGIN PUBLIC KEY-----")
        assert downloaded.value.suggested_filename == f"{submission_id}.pem"
        _shot(page, "03-wizard-key")
        api = tenant["api"]
        oin_client = tenant["oin"]["client_id"]
        credential = api(
            "POST",
            f"/clients/{oin_client}/credentials",
            {
                "credential_type": "public_key",
                "pem": pem,
                "alg": "RS256",
                "name": f"oin:{submission_id}",
            },
        )
        api(
            "PATCH",
            f"/clients/{oin_client}",
            {
                "client_authentication_methods": {
                    "private_key_jwt": {"credentials": [{"id": credential["id"]}]}
                }
            },
        )

        # Finish, and a test instance in this org.
        page.get_by_role("button", name="Finish").click()
        expect(page.get_by_role("status")).to_have_text("The integration is finished.")
        _shot(page, "04-wizard-finished")
        page.get_by_role("button", name="Generate instance").click()
        expect(page.get_by_role("link", name="Sign On")).to_have_attribute("aria-current", "page")
        _shot(page, "05-sign-on")

        # The support case: every cause the tenant can see, each with its remediation.
        xhr = _express_configure(page, tenant, callback, ".ec-failure")
        assert xhr.status == 403
        body = xhr.json()
        assert list(body)[:2] == ["errorCode", "errorSummary"]
        assert body["errorCode"] == "oauth_error"
        failure = page.locator(".ec-failure")
        expect(failure).to_contain_text(
            "Failed to Express Configure the application. Please retry or contact Okta support."
        )
        reasons = failure.locator(".ec-cause code").all_inner_texts()
        assert reasons == [cause["reason"] for cause in body["errorCauses"]]
        assert "not_organization_member" in reasons
        assert "home_realm_discovery_disabled" in reasons
        assert {"role_not_assigned", "role_permissions_missing"} & set(reasons)
        remediations = failure.locator(".ec-remediation").all_inner_texts()
        assert len(remediations) == len(reasons)
        assert all(len(text) > len("Fix: ") + 10 for text in remediations)
        _shot(page, "06-express-configure-failed")

        # The vendor fixes its tenant; the same button now succeeds.
        _fix_the_tenant(tenant)
        assert _express_configure(page, tenant, callback, ".ec-success").status == 200
        success = page.locator(".ec-success")
        expect(success).to_contain_text("Express Configure SSO & UL succeeded.")
        expect(success).to_contain_text(tenant["organization"]["name"])
        expect(success).to_contain_text("/oauth/global-token-revocation/connection/")
        expect(success).to_contain_text("organization=")
        _shot(page, "07-express-configure-succeeded")

        # What was set up is kept on the instance, and each step is in the System Log.
        page.reload()
        expect(page.locator("main")).to_contain_text("/oauth/global-token-revocation/connection/")
        navigation.get_by_role("link", name="System Log").click()
        expect(page.locator("main")).to_contain_text("app.express_configure.succeed")
        expect(page.locator("main")).to_contain_text("app.express_configure.fail")
        _shot(page, "09-system-log", full_page=False)

        # Readable on a narrow screen.
        page.set_viewport_size({"width": 390, "height": 844})
        page.go_back()
        _shot(page, "10-sign-on-narrow")
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"the page is {overflow}px wider than a phone's screen"
    finally:
        context.close()
        http.close()
