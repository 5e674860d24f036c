"""The checks as pure functions of a snapshot: the cases a seeded tenant cannot easily show."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from expressway.doctor.checks import CHECKS, run_checks
from expressway.doctor.facts import Api, Client, Credential, Facts, Found, Organization, Role, User
from expressway.doctor.report import Status

NOW = datetime(2025, 6, 1, tzinfo=UTC)
EC = "urn:auth0:express-configure"
THUMBPRINT = "n" * 43


def healthy() -> Facts:
    """A snapshot in which every prerequisite is in place."""
    oin = Client(
        client_id="oin",
        name="Okta OIN",
        app_type="express_configuration",
        callbacks=("http://localhost:8402/admin/app/generic/oauth20redirect",),
        organization_usage="require",
        organization_require_behavior="pre_login_prompt",
        active_credentials=("cred_1",),
        home_realm_discovery=False,
        express_configuration=None,
    )
    app = replace(
        oin,
        client_id="app",
        name="Vendor SaaS",
        app_type="regular_web",
        active_credentials=(),
        home_realm_discovery=True,
        express_configuration={
            "initiate_login_uri_template": "https://app.example/login",
            "user_attribute_profile_id": "uap_1",
            "connection_profile_id": "cop_1",
            "okta_oin_client_id": "oin",
            "admin_login_domain": "vendor.example",
        },
    )
    return Facts(
        apis=(
            Api(
                "api_1",
                EC,
                "Express Configuration",
                ("express_configure:sso", "express_configure:scim"),
                True,
            ),
        ),
        roles=(
            Role(
                "rol_1",
                "EC admin",
                frozenset({(EC, "express_configure:sso"), (EC, "express_configure:scim")}),
            ),
        ),
        flags={"enable_client_connections": False},
        app=app,
        oin=Found(oin),
        oin_credentials=(Credential("cred_1", "oin:sub", THUMBPRINT, None),),
        organization=Found(Organization("org_1", "acme", {"domains": "acme.example"})),
        admin=Found(User("auth0|1", "admin@acme.example", "Username-Password-Authentication")),
        checked_at=NOW,
        admin_member_roles=frozenset({"rol_1"}),
        admin_organizations=frozenset({"org_1"}),
        organization_connections=frozenset({"con_1"}),
        admin_connection_id="con_1",
        pem_thumbprint=THUMBPRINT,
        pem_source="oin.pem",
    )


def result(facts: Facts, check_id: str) -> tuple[Status, str, str]:
    found = next(r for r in run_checks(facts) if r.id == check_id)
    return found.status, found.detail, found.remediation


def test_every_check_passes_on_a_healthy_snapshot_and_ids_are_unique() -> None:
    results = run_checks(healthy())
    assert [r.status for r in results] == [Status.PASS] * len(CHECKS)
    assert len({check.id for check in CHECKS}) == len(CHECKS)
    assert all(r.remediation == "" for r in results)


def test_an_expired_active_key_is_public_key_missing() -> None:
    """SPEC §4.1 public_key_missing: an expired credential verifies nothing."""
    facts = replace(
        healthy(),
        oin_credentials=(Credential("cred_1", None, THUMBPRINT, NOW - timedelta(seconds=1)),),
    )
    status, detail, _ = result(facts, "oin.public_key")
    assert status is Status.FAIL
    assert "expired: cred_1" in detail
    assert result(facts, "oin.public_key_match")[0] is Status.SKIP


def test_a_key_uploaded_with_a_kid_of_its_own_cannot_be_compared_and_says_so() -> None:
    facts = replace(healthy(), oin_credentials=(Credential("cred_1", None, "my-key-1", None),))
    status, detail, remediation = result(facts, "oin.public_key_match")
    assert status is Status.WARN
    assert "cannot be compared" in detail
    assert "without a kid" in remediation


def test_an_uploaded_but_inactive_wizard_key_is_named() -> None:
    facts = replace(
        healthy(),
        oin_credentials=(
            Credential("cred_1", None, "o" * 43, None),
            Credential("cred_2", None, THUMBPRINT, None),
        ),
    )
    status, detail, _ = result(facts, "oin.public_key_match")
    assert status is Status.FAIL
    assert "cred_2, which is not active" in detail


def test_an_oin_client_without_a_prompt_is_organization_prompt_disabled() -> None:
    facts = healthy()
    assert facts.oin.value is not None
    oin = replace(facts.oin.value, organization_require_behavior="no_prompt")
    status, _, remediation = result(replace(facts, oin=Found(oin)), "oin.organization_prompt")
    assert status is Status.FAIL
    assert "PATCH /api/v2/clients/oin " in remediation


def test_a_role_holding_one_permission_is_named_in_role_permissions_missing() -> None:
    facts = replace(
        healthy(), roles=(Role("rol_1", "EC admin", frozenset({(EC, "express_configure:sso")})),)
    )
    status, detail, _ = result(facts, "role.permissions")
    assert status is Status.FAIL
    assert "EC admin (rol_1) holds only express_configure:sso" in detail
    status, detail, _ = result(facts, "admin.role")
    assert status is Status.FAIL
    assert "express_configure:scim (needed by Express Configure SCIM)" in detail


def test_member_roles_count_only_in_the_organization_checked() -> None:
    """SPEC §2.2: direct roles plus member roles in the organization logged into."""
    facts = replace(healthy(), admin_member_roles=frozenset(), admin_roles=frozenset({"rol_1"}))
    assert result(facts, "admin.role")[0] is Status.PASS
    facts = replace(facts, admin_roles=frozenset())
    assert result(facts, "admin.role")[0] is Status.FAIL


def test_a_tenant_without_the_hrd_extension_is_a_warning_not_a_failure() -> None:
    """An Auth0 tenant does not report Expressway's home_realm_discovery."""
    facts = healthy()
    app = replace(facts.app, home_realm_discovery=None)
    assert result(replace(facts, app=app), "app.home_realm_discovery")[0] is Status.WARN


def test_an_app_naming_another_oin_client_is_app_not_configured() -> None:
    facts = healthy()
    config = {**(facts.app.express_configuration or {}), "okta_oin_client_id": "someone-else"}
    app = replace(facts.app, express_configuration=config)
    status, detail, remediation = result(replace(facts, app=app), "app.express_configuration")
    assert status is Status.FAIL
    assert "names the OIN client someone-else, not oin" in detail
    assert "PATCH /api/v2/clients/app " in remediation
