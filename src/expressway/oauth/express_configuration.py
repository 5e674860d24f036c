"""The Express Configuration error contract (SPEC §4.1), shared by tenant and workforce side.

Every failed Express Configure action is answered with HTTP 403 and :func:`error_body`: the
fixed ``errorCode``/``errorSummary`` pair followed by one entry per cause, each saying what is
missing and what to do about it, where. Both systems and ``doctor`` name causes by the codes
below, so the texts live here once.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

ERROR_CODE = "oauth_error"
ERROR_SUMMARY = "Failed to Express Configure the application. Please retry or contact Okta support."

EXPRESS_CONFIGURE_AUDIENCE = "urn:auth0:express-configure"
SSO_PERMISSION = "express_configure:sso"
SCIM_PERMISSION = "express_configure:scim"

ROLE_PERMISSIONS_MISSING = "role_permissions_missing"
ROLE_NOT_ASSIGNED = "role_not_assigned"
HOME_REALM_DISCOVERY_DISABLED = "home_realm_discovery_disabled"
NOT_ORGANIZATION_MEMBER = "not_organization_member"
PUBLIC_KEY_MISSING = "public_key_missing"
PUBLIC_KEY_MISMATCH = "public_key_mismatch"
EXPRESS_CONFIGURATION_INCOMPLETE = "express_configuration_incomplete"
EXPRESS_CONFIGURATION_API_MISSING = "express_configuration_api_missing"
APP_NOT_CONFIGURED = "app_not_configured"
ORGANIZATION_PROMPT_DISABLED = "organization_prompt_disabled"
APPLICATION_CONNECTIONS_ENABLED = "application_connections_enabled"
CONSENT_DENIED = "consent_denied"
SSO_NOT_CONFIGURED = "sso_not_configured"
TENANT_UNREACHABLE = "tenant_unreachable"


class Cause(NamedTuple):
    #: One sentence: what is missing.
    summary: str
    #: What to do, and where.
    remediation: str


#: Every cause code of SPEC §4.1, in the table's order (the order causes are listed in).
CAUSES: dict[str, Cause] = {
    ROLE_PERMISSIONS_MISSING: Cause(
        f"No role holds both {SSO_PERMISSION} and {SCIM_PERMISSION} on "
        f"{EXPRESS_CONFIGURE_AUDIENCE}.",
        f"In the tenant, add the permissions {SSO_PERMISSION} and {SCIM_PERMISSION} of the API "
        f"{EXPRESS_CONFIGURE_AUDIENCE} to a role (User Management > Roles > Permissions > Add "
        "Permissions), or through the Management API: POST /api/v2/roles/{role_id}/permissions "
        f'with {{"permissions": [{{"resource_server_identifier": "{EXPRESS_CONFIGURE_AUDIENCE}", '
        f'"permission_name": "{SSO_PERMISSION}"}}, {{"resource_server_identifier": '
        f'"{EXPRESS_CONFIGURE_AUDIENCE}", "permission_name": "{SCIM_PERMISSION}"}}]}}.',
    ),
    ROLE_NOT_ASSIGNED: Cause(
        "The admin user holds no role with the Express Configuration permission this action "
        "needs, neither directly nor as a member role in the organization.",
        f"Assign a role that holds {SSO_PERMISSION} (and {SCIM_PERMISSION} for SCIM) to the admin "
        "user, directly (User Management > Users > Roles) or as a member role in the organization "
        "(Organizations > Members > Assign roles); through the Management API: POST "
        "/api/v2/users/{user_id}/roles or POST "
        "/api/v2/organizations/{org_id}/members/{user_id}/roles with "
        '{"roles": ["{role_id}"]}.',
    ),
    HOME_REALM_DISCOVERY_DISABLED: Cause(
        "Home Realm Discovery is not enabled on the SaaS application.",
        "In the tenant, turn on Home Realm Discovery for the SaaS application (Applications > "
        "the application > Okta Integration Network), or through the Management API: PATCH "
        '/api/v2/clients/{client_id} with {"home_realm_discovery": true}.',
    ),
    NOT_ORGANIZATION_MEMBER: Cause(
        "The admin user is not a member of the organization they signed in to.",
        "In the tenant, add the admin user to the organization (Organizations > the organization "
        "> Members > Add Members), or through the Management API: POST "
        '/api/v2/organizations/{org_id}/members with {"members": ["{user_id}"]}.',
    ),
    PUBLIC_KEY_MISSING: Cause(
        "The OIN client has no public key activated for private_key_jwt.",
        "Download the key (.pem) from the OIN Wizard's Express Configuration step and upload it to "
        "the OIN client (Applications > the OIN client > Credentials > Add New Key), or through "
        "the Management API: POST /api/v2/clients/{oin_client_id}/credentials with the PEM, then "
        'PATCH /api/v2/clients/{oin_client_id} with {"client_authentication_methods": '
        '{"private_key_jwt": {"credentials": [{"id": "{credential_id}"}]}}}.',
    ),
    PUBLIC_KEY_MISMATCH: Cause(
        "The client assertion does not verify with any public key activated on the OIN client.",
        "Upload to the OIN client the .pem the OIN Wizard generated for this integration "
        "(Applications > the OIN client > Credentials > Add New Key), activate it for "
        "private_key_jwt, and remove the key that does not match.",
    ),
    EXPRESS_CONFIGURATION_INCOMPLETE: Cause(
        "The integration lacks the Express Configuration information, its key, or Finish.",
        "In the OIN Wizard, paste the Express Configuration information generated by the tenant "
        "for the SaaS application (Enable Express Configuration), generate and download the key, "
        "and click Finish.",
    ),
    EXPRESS_CONFIGURATION_API_MISSING: Cause(
        f"The tenant has no API with the identifier {EXPRESS_CONFIGURE_AUDIENCE}.",
        f"In the tenant, create the API {EXPRESS_CONFIGURE_AUDIENCE} with the permissions "
        f"{SSO_PERMISSION} and {SCIM_PERMISSION} and RBAC enforced (Applications > APIs > Create "
        "API), or through the Management API: POST /api/v2/resource-servers with "
        f'{{"identifier": "{EXPRESS_CONFIGURE_AUDIENCE}", "enforce_policies": true, '
        '"token_dialect": "access_token_authz", "scopes": [...]}.',
    ),
    APP_NOT_CONFIGURED: Cause(
        "No SaaS application has an express_configuration that names this OIN client.",
        "In the tenant, set express_configuration on the SaaS application with "
        "okta_oin_client_id = the OIN client's id (Applications > the application > Express "
        "Configuration), or through the Management API: PATCH /api/v2/clients/{client_id} with "
        '{"express_configuration": {"okta_oin_client_id": "{oin_client_id}", ...}}.',
    ),
    ORGANIZATION_PROMPT_DISABLED: Cause(
        "The OIN client does not require an organization with a login prompt.",
        "In the tenant, set the OIN client's organization behavior to require an organization "
        "with a prompt (Applications > the OIN client > Organizations), or through the "
        'Management API: PATCH /api/v2/clients/{oin_client_id} with {"organization_usage": '
        '"require", "organization_require_behavior": "pre_login_prompt"}.',
    ),
    APPLICATION_CONNECTIONS_ENABLED: Cause(
        'The tenant setting "Enable Application Connections" is on.',
        'In the tenant, turn off "Enable Application Connections" (Settings > Advanced), or '
        "through the Management API: PATCH /api/v2/tenants/settings with "
        '{"flags": {"enable_client_connections": false}}.',
    ),
    CONSENT_DENIED: Cause(
        "The admin user declined the consent page.",
        "Run Express Configure again and accept the consent page.",
    ),
    SSO_NOT_CONFIGURED: Cause(
        "SCIM was asked for before Express Configure SSO made a connection for this organization.",
        "Run Express Configure SSO & UL on the app instance first (Sign On > Express Configure "
        "SSO & UL), then run Express Configure SCIM (Provisioning > Express Configure SCIM).",
    ),
    TENANT_UNREACHABLE: Cause(
        "The tenant did not answer, or answered with a server error.",
        "Check that the tenant's login domain in the Express Configuration information is right "
        "and that the tenant is up, then retry; if it persists, contact the application's vendor.",
    ),
}


def ordered(causes: Iterable[str]) -> list[str]:
    """Known causes once each, in the table's order."""
    wanted = set(causes)
    return [cause for cause in CAUSES if cause in wanted]


def error_body(causes: Iterable[str]) -> dict[str, Any]:
    """The SPEC §4.1 403 body naming every cause given (unknown codes are dropped)."""
    return {
        "errorCode": ERROR_CODE,
        "errorSummary": ERROR_SUMMARY,
        "errorCauses": [
            {
                "errorSummary": CAUSES[cause].summary,
                "reason": cause,
                "remediation": CAUSES[cause].remediation,
            }
            for cause in ordered(causes)
        ],
    }
