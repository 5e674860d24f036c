"""The Express Configuration prerequisites the tenant can check, as SPEC §4.1 cause codes.

An Express Configure action that fails names every cause visible where it failed, not only the
first, so that an admin fixes everything in one go. Universal Login calls :func:`visible_causes`
when an Express Configuration login fails; the Express Configuration API can call it too.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from expressway.tenant.rows import (
    ClientRow,
    OrganizationMemberRoleRow,
    ResourceServerRow,
    RolePermissionRow,
    UserRoleRow,
)
from expressway.tenant.services import tenant_settings

EXPRESS_CONFIGURE_AUDIENCE = "urn:auth0:express-configure"
SSO_PERMISSION = "express_configure:sso"
SCIM_PERMISSION = "express_configure:scim"
EXPRESS_CONFIGURE_PERMISSIONS = (SSO_PERMISSION, SCIM_PERMISSION)
OIN_APP_TYPE = "express_configuration"

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

#: The order of SPEC §4.1's table, in which causes are listed.
CAUSE_ORDER = (
    ROLE_PERMISSIONS_MISSING,
    ROLE_NOT_ASSIGNED,
    HOME_REALM_DISCOVERY_DISABLED,
    NOT_ORGANIZATION_MEMBER,
    PUBLIC_KEY_MISSING,
    PUBLIC_KEY_MISMATCH,
    EXPRESS_CONFIGURATION_INCOMPLETE,
    EXPRESS_CONFIGURATION_API_MISSING,
    APP_NOT_CONFIGURED,
    ORGANIZATION_PROMPT_DISABLED,
    APPLICATION_CONNECTIONS_ENABLED,
    CONSENT_DENIED,
    SSO_NOT_CONFIGURED,
    TENANT_UNREACHABLE,
)

#: What is missing, one sentence per cause the tenant detects.
SUMMARIES = {
    ROLE_PERMISSIONS_MISSING: (
        f"No role holds both {SSO_PERMISSION} and {SCIM_PERMISSION} on "
        f"{EXPRESS_CONFIGURE_AUDIENCE}."
    ),
    ROLE_NOT_ASSIGNED: (
        "The user holds no role with the Express Configuration permission this action needs, "
        "neither directly nor as a member role in the organization."
    ),
    HOME_REALM_DISCOVERY_DISABLED: "Home Realm Discovery is not enabled on the SaaS application.",
    NOT_ORGANIZATION_MEMBER: "The user is not a member of the organization.",
    EXPRESS_CONFIGURATION_API_MISSING: (
        f"The tenant has no API with the identifier {EXPRESS_CONFIGURE_AUDIENCE}."
    ),
    APP_NOT_CONFIGURED: ("No application has an express_configuration that names this OIN client."),
    ORGANIZATION_PROMPT_DISABLED: (
        "The OIN client does not require an organization with a login prompt "
        "(organization_usage require, organization_require_behavior pre_login_prompt)."
    ),
    APPLICATION_CONNECTIONS_ENABLED: (
        'The tenant setting "Enable Application Connections" (flags.enable_client_connections) '
        "is on."
    ),
    CONSENT_DENIED: "The user declined the consent page.",
}


def ordered(causes: Iterable[str]) -> list[str]:
    """Causes once each, in the table's order."""
    wanted = set(causes)
    return [cause for cause in CAUSE_ORDER if cause in wanted]


def describe(causes: Iterable[str]) -> str:
    return " ".join(SUMMARIES.get(cause, cause) for cause in ordered(causes))


def is_oin_client(client: ClientRow) -> bool:
    return client.app_type == OIN_APP_TYPE


def is_express_configuration_login(client: ClientRow, audience: str | None) -> bool:
    return is_oin_client(client) or audience == EXPRESS_CONFIGURE_AUDIENCE


def organization_prompt_disabled(client: ClientRow, *, organization_given: bool) -> bool:
    """Whether the OIN client lets an admin in without asking for an organization."""
    if client.organization_usage != "require":
        return True
    return client.organization_require_behavior == "no_prompt" and not organization_given


def api_missing(session: Session) -> bool:
    return (
        session.scalars(
            select(ResourceServerRow.id).where(
                ResourceServerRow.identifier == EXPRESS_CONFIGURE_AUDIENCE
            )
        ).first()
        is None
    )


def _roles_holding(session: Session, permission: str) -> set[str]:
    return set(
        session.scalars(
            select(RolePermissionRow.role_id).where(
                RolePermissionRow.resource_server_identifier == EXPRESS_CONFIGURE_AUDIENCE,
                RolePermissionRow.permission_name == permission,
            )
        )
    )


def role_permissions_missing(session: Session) -> bool:
    """Whether no role holds both Express Configuration permissions."""
    return not (_roles_holding(session, SSO_PERMISSION) & _roles_holding(session, SCIM_PERMISSION))


def holds_permissions(
    session: Session, *, user_id: str, organization_id: str | None, permissions: Collection[str]
) -> bool:
    """Whether the user's direct roles, with their member roles in the organization, hold every
    one of ``permissions`` on the Express Configuration API."""
    role_ids = set(
        session.scalars(select(UserRoleRow.role_id).where(UserRoleRow.user_id == user_id))
    )
    if organization_id is not None:
        role_ids |= set(
            session.scalars(
                select(OrganizationMemberRoleRow.role_id).where(
                    OrganizationMemberRoleRow.organization_id == organization_id,
                    OrganizationMemberRoleRow.user_id == user_id,
                )
            )
        )
    if not role_ids:
        return not permissions
    held = set(
        session.scalars(
            select(RolePermissionRow.permission_name).where(
                RolePermissionRow.role_id.in_(role_ids),
                RolePermissionRow.resource_server_identifier == EXPRESS_CONFIGURE_AUDIENCE,
            )
        )
    )
    return set(permissions) <= held


def saas_applications(session: Session, oin_client_id: str) -> list[ClientRow]:
    """The applications whose ``express_configuration`` names this OIN client."""
    return [
        client
        for client in session.scalars(select(ClientRow).order_by(ClientRow.client_id))
        if (client.express_configuration or {}).get("okta_oin_client_id") == oin_client_id
    ]


def visible_causes(
    session: Session,
    *,
    client: ClientRow,
    audience: str | None,
    scopes: Collection[str],
    organization_given: bool,
    user_id: str | None = None,
    organization_id: str | None = None,
) -> list[str]:
    """Every prerequisite of an Express Configuration login that is missing, as far as the
    tenant can tell from the client, the audience, and (once known) the user and organization."""
    causes: list[str] = []
    if audience == EXPRESS_CONFIGURE_AUDIENCE and api_missing(session):
        causes.append(EXPRESS_CONFIGURATION_API_MISSING)
    if is_oin_client(client):
        if organization_prompt_disabled(client, organization_given=organization_given):
            causes.append(ORGANIZATION_PROMPT_DISABLED)
        if role_permissions_missing(session):
            causes.append(ROLE_PERMISSIONS_MISSING)
        applications = saas_applications(session, client.client_id)
        if not applications:
            causes.append(APP_NOT_CONFIGURED)
        elif not any(application.home_realm_discovery for application in applications):
            causes.append(HOME_REALM_DISCOVERY_DISABLED)
        if tenant_settings.read(session)["flags"].get("enable_client_connections"):
            causes.append(APPLICATION_CONNECTIONS_ENABLED)
    needed = [scope for scope in scopes if scope in EXPRESS_CONFIGURE_PERMISSIONS]
    if (
        user_id is not None
        and audience == EXPRESS_CONFIGURE_AUDIENCE
        and needed
        and not holds_permissions(
            session, user_id=user_id, organization_id=organization_id, permissions=needed
        )
    ):
        causes.append(ROLE_NOT_ASSIGNED)
    return ordered(causes)
