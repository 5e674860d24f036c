"""The shared Express Configuration error contract (SPEC §4.1)."""

from __future__ import annotations

import json

from expressway.oauth import express_configuration as ec

SPEC_CAUSE_CODES = (
    "role_permissions_missing",
    "role_not_assigned",
    "home_realm_discovery_disabled",
    "not_organization_member",
    "public_key_missing",
    "public_key_mismatch",
    "express_configuration_incomplete",
    "express_configuration_api_missing",
    "app_not_configured",
    "organization_prompt_disabled",
    "application_connections_enabled",
    "consent_denied",
    "sso_not_configured",
    "tenant_unreachable",
)


def test_the_catalogue_names_every_cause_code_of_the_spec_in_its_order() -> None:
    """All 14 codes of SPEC §4.1's table, no more, in the table's order."""
    assert tuple(ec.CAUSES) == SPEC_CAUSE_CODES


def test_every_cause_has_a_one_sentence_summary_and_a_remediation() -> None:
    """Each summary is one sentence; each remediation is longer than a word."""
    for code, cause in ec.CAUSES.items():
        assert cause.summary.endswith("."), code
        assert cause.summary.count(". ") == 0, code
        assert len(cause.remediation.split()) > 5, code


def test_the_body_starts_with_the_fixed_code_and_summary_byte_for_byte() -> None:
    """The first two fields are exactly the SPEC's, in that order."""
    text = json.dumps(ec.error_body([]))
    assert text.startswith(
        '{"errorCode": "oauth_error", "errorSummary": "Failed to Express Configure the '
        'application. Please retry or contact Okta support.", "errorCauses": ['
    )


def test_the_body_names_every_cause_given_once_in_the_table_order() -> None:
    """Causes given out of order and twice come back once each, ordered."""
    body = ec.error_body(
        ["home_realm_discovery_disabled", "role_not_assigned", "home_realm_discovery_disabled"]
    )
    assert [cause["reason"] for cause in body["errorCauses"]] == [
        "role_not_assigned",
        "home_realm_discovery_disabled",
    ]
    assert set(body["errorCauses"][0]) == {"errorSummary", "reason", "remediation"}


def test_the_role_remediation_says_where_to_assign_the_role() -> None:
    """An admin reading it learns both places a role can be assigned."""
    remediation = ec.CAUSES["role_not_assigned"].remediation
    assert "User Management > Users > Roles" in remediation
    assert "Organizations > Members > Assign roles" in remediation
    assert "express_configure:sso" in remediation


def test_an_unknown_cause_code_is_left_out_of_the_body() -> None:
    """A code outside the contract never reaches the caller."""
    assert ec.error_body(["no_such_cause"])["errorCauses"] == []
