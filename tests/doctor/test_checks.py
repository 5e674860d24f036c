"""doctor against real tenant servers (SPEC §5): a tenant seeded broken in each way through the
Management API fails exactly the checks of what is missing, with the SPEC §4.1 cause codes;
``fix`` makes what is missing; a second ``fix`` changes nothing; then every check passes."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from expressway.doctor import Report, Status, examine
from tests.doctor.seed import EC_API, build, ensure_api, inputs, management, public_pem
from tests.interop.conftest import LiveTenant

pytestmark = pytest.mark.interop

LEGACY_API = "https://system.okta.com/actions/express-configure/v1"


def statuses(report: Report, status: Status) -> dict[str, str]:
    """``{check id: cause}`` of the checks with this status."""
    return {check.id: check.cause for check in report.checks if check.status is status}


def check(report: Report, check_id: str) -> tuple[Status, str]:
    found = next(c for c in report.checks if c.id == check_id)
    return found.status, found.detail


def applied(report: Report) -> list[str]:
    return [fix.check for fix in report.fixes if fix.applied]


def test_a_tenant_broken_in_every_way_fails_each_check_with_its_cause_until_fixed(
    own_tenant: LiveTenant, tmp_path: Path
) -> None:
    """SPEC §4.1/§5: every missing prerequisite named at once; --fix twice, then all pass."""
    pem = public_pem(tmp_path / "oin-wizard.pem")
    with httpx.Client(timeout=30) as http:
        api = management(own_tenant, http)
        api("PATCH", "/tenants/settings", {"flags": {"enable_client_connections": True}})
        api(
            "POST",
            "/resource-servers",
            {
                "identifier": LEGACY_API,
                "name": "Express Configure (older)",
                "scopes": [{"value": "expressconfigure:sso", "description": "older"}],
            },
        )
        setup = build(
            api,
            role=False,
            member=False,
            hrd=False,
            domains=False,
            organization_connection=False,
            key=False,
        )
        api(
            "PATCH",
            f"/clients/{setup.oin['client_id']}",
            {"organization_require_behavior": "no_prompt"},
        )
    # The admin is a member of nothing: the organization is the tenant's only one.
    given = inputs(
        own_tenant, setup, pem=pem, organization=False, workforce_url="http://localhost:8403"
    )

    report = examine(given)

    assert statuses(report, Status.FAIL) == {
        "tenant.application_connections": "application_connections_enabled",
        "api.exists": "express_configuration_api_missing",
        "role.permissions": "role_permissions_missing",
        "app.home_realm_discovery": "home_realm_discovery_disabled",
        "oin.organization_prompt": "organization_prompt_disabled",
        "oin.callback": "oin_callback_missing",
        "oin.public_key": "public_key_missing",
        "organization.domains": "organization_domains_missing",
        "admin.member": "not_organization_member",
        "admin.role": "role_not_assigned",
        "admin.connection": "admin_connection_disabled",
    }
    assert statuses(report, Status.WARN) == {"api.legacy_names": "legacy_names"}
    assert set(statuses(report, Status.SKIP)) == {
        "api.permissions",
        "api.rbac",
        "oin.public_key_match",
    }
    _, detail = check(report, "api.exists")
    assert f"rename to {EC_API}" in detail
    assert f"{LEGACY_API}" in detail
    failed = {c.id: c for c in report.failed}
    assert setup.app["client_id"] in failed["app.home_realm_discovery"].remediation
    assert "{client_id}" not in failed["app.home_realm_discovery"].remediation
    assert setup.admin["user_id"] in failed["admin.member"].detail
    assert report.subjects["organization"] == setup.organization["id"]
    assert not report.ok

    fixed = examine(given, fix=True)

    assert set(applied(fixed)) == set(statuses(report, Status.FAIL))
    assert fixed.ok, [c for c in fixed.checks if c.status is Status.FAIL]
    assert statuses(fixed, Status.WARN) == {"api.legacy_names": "legacy_names"}
    assert statuses(fixed, Status.SKIP) == {}
    assert check(fixed, "oin.public_key_match")[0] is Status.PASS
    assert check(fixed, "organization.domains")[1].endswith(setup.domain)

    again = examine(given, fix=True)

    assert applied(again) == []
    assert again.ok
    assert [c.status for c in again.checks] == [c.status for c in fixed.checks]
    with httpx.Client(timeout=30) as http:
        api = management(own_tenant, http)
        # Nothing of the older generation was deleted: it is for a person to retire.
        assert LEGACY_API in [s["identifier"] for s in api("GET", "/resource-servers")]


def test_an_api_without_rbac_and_with_the_older_permission_name_is_explained_and_fixed(
    own_tenant: LiveTenant,
) -> None:
    """Without enforce_policies no permission reaches the token: named as role_not_assigned;
    expressconfigure:sso is recognised and its new name given. The only organization and its
    only member are found without being named."""
    with httpx.Client(timeout=30) as http:
        api = management(own_tenant, http)
        api(
            "POST",
            "/resource-servers",
            {
                "identifier": EC_API,
                "name": "Express Configuration",
                "enforce_policies": False,
                "scopes": [{"value": "expressconfigure:sso", "description": "SSO"}],
            },
        )
        setup = build(api, role=False)
    given = inputs(own_tenant, setup, organization=False, admin=False)

    report = examine(given)

    assert report.subjects["organization"] == setup.organization["id"]
    assert report.subjects["admin"] == setup.admin["user_id"]
    assert statuses(report, Status.FAIL) == {
        "api.permissions": "express_configuration_api_missing",
        "api.rbac": "role_not_assigned",
        "role.permissions": "role_permissions_missing",
        "admin.role": "role_not_assigned",
    }
    assert (
        "expressconfigure:sso is an older name: rename to express_configure:sso"
        in (check(report, "api.permissions")[1])
    )
    assert "fails as role_not_assigned" in check(report, "api.rbac")[1]
    assert "rename to express_configure:sso" in check(report, "api.legacy_names")[1]

    fixed = examine(given, fix=True)

    assert applied(fixed) == [
        "api.permissions",
        "api.rbac",
        "role.permissions",
        "role.permissions",
        "admin.role",
    ]
    assert fixed.ok
    with httpx.Client(timeout=30) as http:
        server = next(
            s
            for s in management(own_tenant, http)("GET", "/resource-servers")
            if s["identifier"] == EC_API
        )
    assert server["enforce_policies"] is True
    # The scope already there kept its description: the update added, it did not replace.
    assert {"value": "expressconfigure:sso", "description": "SSO"} in server["scopes"]
    assert applied(examine(given, fix=True)) == []


def test_a_key_that_is_not_the_wizards_is_a_mismatch_until_the_wizards_key_is_active(
    live_tenant: LiveTenant, tmp_path: Path
) -> None:
    """public_key_mismatch compares key material (RFC 7638 thumbprints), not names; the fix
    uploads the wizard's key and activates it beside the other, which stays."""
    other = public_pem(tmp_path / "other.pem")
    wizard = public_pem(tmp_path / "wizard.pem")
    with httpx.Client(timeout=30) as http:
        api = management(live_tenant, http)
        ensure_api(api)
        setup = build(api, oin_key=other)
        first = api("GET", f"/clients/{setup.oin['client_id']}")
    given = inputs(live_tenant, setup, pem=wizard)

    report = examine(given)

    assert check(report, "oin.public_key")[0] is Status.PASS
    assert statuses(report, Status.FAIL) == {"oin.public_key_match": "public_key_mismatch"}
    assert "wizard.pem" in check(report, "oin.public_key_match")[1]
    assert check(examine(inputs(live_tenant, setup, pem=other)), "oin.public_key_match")[0] is (
        Status.PASS
    )

    fixed = examine(given, fix=True)

    assert applied(fixed) == ["oin.public_key_match", "oin.public_key_match"]
    assert fixed.ok
    with httpx.Client(timeout=30) as http:
        oin = management(live_tenant, http)("GET", f"/clients/{setup.oin['client_id']}")
    active = [
        c["id"] for c in oin["client_authentication_methods"]["private_key_jwt"]["credentials"]
    ]
    kept = first["client_authentication_methods"]["private_key_jwt"]["credentials"][0]["id"]
    assert len(active) == 2
    assert active[0] == kept
    assert applied(examine(given, fix=True)) == []


def test_an_app_without_express_configuration_is_app_not_configured_and_left_to_the_vendor(
    live_tenant: LiveTenant,
) -> None:
    """app_not_configured: no express_configuration, so no OIN client either; fix leaves the
    vendor's configuration to the vendor and says so."""
    with httpx.Client(timeout=30) as http:
        api = management(live_tenant, http)
        ensure_api(api)
        setup = build(api, express_configuration=False)
    given = inputs(live_tenant, setup)

    report = examine(given)

    assert statuses(report, Status.FAIL) == {
        "app.express_configuration": "app_not_configured",
        "oin.client": "app_not_configured",
    }
    assert "has no express_configuration" in check(report, "app.express_configuration")[1]
    assert "--oin-client" in check(report, "oin.client")[1]
    assert {"oin.organization_prompt", "oin.callback", "oin.public_key"} <= set(
        statuses(report, Status.SKIP)
    )

    fixed = examine(given, fix=True)

    assert applied(fixed) == []
    assert {fix.check for fix in fixed.fixes} == {"app.express_configuration", "oin.client"}
    assert all(fix.change.startswith("not fixed: ") for fix in fixed.fixes)
    assert not fixed.ok


def test_without_one_candidate_doctor_asks_for_the_organization_and_the_admin(
    live_tenant: LiveTenant,
) -> None:
    """What is not named is found only when there is one candidate; otherwise a check says
    which option names it, and the checks that need it are skipped."""
    with httpx.Client(timeout=30) as http:
        api = management(live_tenant, http)
        ensure_api(api)
        build(api)
        setup = build(api, member=False)
    report = examine(inputs(live_tenant, setup, organization=False, admin=False))

    assert statuses(report, Status.WARN).keys() >= {"organization.found", "admin.found"}
    assert "--organization" in check(report, "organization.found")[1]
    assert "--admin" in check(report, "admin.found")[1]
    assert {"admin.member", "admin.role", "admin.connection"} <= set(statuses(report, Status.SKIP))


def test_post_login_prompt_needs_the_admins_connection_enabled_for_the_oin_client(
    live_tenant: LiveTenant,
) -> None:
    """With credentials asked first, the admin's connection must serve the OIN client too."""
    with httpx.Client(timeout=30) as http:
        api = management(live_tenant, http)
        ensure_api(api)
        setup = build(api)
        api(
            "PATCH",
            f"/clients/{setup.oin['client_id']}",
            {"organization_require_behavior": "post_login_prompt"},
        )
    given = inputs(live_tenant, setup)

    report = examine(given)

    assert statuses(report, Status.FAIL) == {"admin.connection": "admin_connection_disabled"}
    assert setup.oin["client_id"] in check(report, "admin.connection")[1]

    fixed = examine(given, fix=True)

    assert applied(fixed) == ["admin.connection"]
    assert fixed.ok
    with httpx.Client(timeout=30) as http:
        enabled = management(live_tenant, http)(
            "GET", f"/connections/{setup.database['id']}/clients"
        )
    clients = enabled["clients"] if isinstance(enabled, dict) else enabled
    assert setup.oin["client_id"] in [c["client_id"] for c in clients]
