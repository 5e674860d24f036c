"""Express Configure SSO & UL between two real servers (SPEC §4): the vendor prepares the tenant
and the OIN submission, the customer's admin clicks Express Configure on the test instance, signs
in at the tenant and consents; the connection appears, or the 403 names every missing cause."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.story import Admin, prepare_tenant, prepare_workforce, tenant_api
from tests.interop.conftest import LiveTenant
from tests.interop.workforce_server import LiveWorkforce


@pytest.mark.parametrize("broken", [False, True], ids=["prerequisites-in-place", "support-case"])
def test_express_configure_sso_between_two_real_servers(
    live_tenant: LiveTenant, live_workforce: LiveWorkforce, broken: bool
) -> None:
    with httpx.Client(timeout=30) as http:
        tenant = prepare_tenant(live_tenant, live_workforce, http, broken=broken)
        app_id, headers = prepare_workforce(live_workforce, http, tenant)
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
        connections = tenant_api(live_tenant, http)(
            "GET", f"/organizations/{tenant['organization']['id']}/enabled_connections"
        )
        okta = [c for c in connections if c["connection"]["strategy"] == "okta"]
        assert len(okta) == 1
