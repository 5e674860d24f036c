"""The support case end to end (SPEC §5, §6): the vendor's tenant lacks the admin's role, Home
Realm Discovery and the admin's membership; ``expressway doctor`` names exactly those causes
before anyone clicks; ``doctor --fix`` makes them; Express Configure SSO then succeeds between
the two real servers."""

from __future__ import annotations

import json

import httpx
import pytest
from typer.testing import CliRunner

from expressway.cli.main import app
from tests.e2e.story import Admin, prepare_tenant, prepare_workforce, tenant_api
from tests.interop.conftest import LiveTenant
from tests.interop.workforce_server import LiveWorkforce

pytestmark = pytest.mark.interop

SUPPORT_CASE = {"home_realm_discovery_disabled", "not_organization_member"}
ROLE_CAUSES = {"role_not_assigned", "role_permissions_missing"}


def doctor(live_tenant: LiveTenant, *args: str) -> tuple[int, dict[str, object]]:
    result = CliRunner().invoke(
        app,
        [
            "doctor",
            "--url",
            live_tenant.url,
            "--client-id",
            live_tenant.client_id,
            "--json",
            *args,
        ],
        env={"EXPRESSWAY_DOCTOR_CLIENT_SECRET": live_tenant.client_secret},
    )
    document: dict[str, object] = json.loads(result.stdout)
    return result.exit_code, document


def test_doctor_names_the_support_case_and_after_fix_express_configure_sso_succeeds(
    live_tenant: LiveTenant, live_workforce: LiveWorkforce
) -> None:
    """doctor finds every cause the 403 would name; after --fix the flow answers 200."""
    with httpx.Client(timeout=30) as http:
        tenant = prepare_tenant(live_tenant, live_workforce, http, broken=True)
        app_id, headers = prepare_workforce(live_workforce, http, tenant)
    subjects = [
        "--app",
        tenant["app"]["client_id"],
        "--organization",
        tenant["organization"]["name"],
        "--admin",
        tenant["email"],
        "--workforce-url",
        live_workforce.url,
    ]

    status, report = doctor(live_tenant, *subjects)

    assert status == 1
    checks = report["checks"]
    assert isinstance(checks, list)
    causes = {c["cause"] for c in checks if c["status"] == "fail"}
    assert causes & ROLE_CAUSES
    assert causes - ROLE_CAUSES == SUPPORT_CASE
    assert all(c["remediation"] for c in checks if c["status"] == "fail")

    status, fixed = doctor(live_tenant, *subjects, "--fix")

    assert status == 0, fixed
    assert fixed["ok"] is True
    status, again = doctor(live_tenant, *subjects, "--fix")
    assert status == 0
    assert again["fixes"] == []

    with httpx.Client(timeout=30) as http:
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
        assert outcome.status_code == 200, outcome.text
        connections = tenant_api(live_tenant, http)(
            "GET", f"/organizations/{tenant['organization']['id']}/enabled_connections"
        )
    assert [c["connection"]["strategy"] for c in connections].count("okta") == 1
