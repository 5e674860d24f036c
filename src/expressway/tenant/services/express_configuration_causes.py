"""The Express Configuration prerequisites the tenant can check, as SPEC §4.1 cause codes.

An Express Configure action that fails names every cause visible where it failed, not only the
first, so that an admin fixes everything in one go. The codes and their texts are the shared
catalogue's (:mod:`expressway.oauth.express_configuration`), re-exported here. Universal Login
calls :func:`visible_causes` when an Express Configuration login fails; the Express Configuration
API calls :func:`api_causes`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from expressway.oauth.express_configuration import (
    APP_NOT_CONFIGURED,
    APPLICATION_CONNECTIONS_ENABLED,
    CAUSES,
    CONSENT_DENIED,
    EXPRESS_CONFIGURATION_API_MISSING,
    EXPRESS_CONFIGURE_AUDIENCE,
    HOME_REALM_DISCOVERY_DISABLED,
    NOT_ORGANIZATION_MEMBER,
    ORGANIZATION_PROMPT_DISABLED,
    ROLE_NOT_ASSIGNED,
    ROLE_PERMISSIONS_MISSING,
    SCIM_PERMISSION,
    SSO_NOT_CONFIGURED,
    SSO_PERMISSION,
    ordered,
)
from expressway.tenant.rows import (
    ClientRow,
    OrganizationMemberRoleRow,
    OrganizationMemberRow,
    ResourceServerRow,
    RolePermissionRow,
    UserRoleRow,
)
from expressway.tenant.services import tenant_settings

__all__ = [
    "APPLICATION_CONNECTIONS_ENABLED",
    "APP_NOT_CONFIGURED",
    "CAUSES",
    "CONSENT_DENIED",
    "EXPRESS_CONFIGURATION_API_MISSING",
    "EXPRESS_CONFIGURE_AUDIENCE",
    "EXPRESS_CONFIGURE_PERMISSIONS",
    "HOME_REALM_DISCOVERY_DISABLED",
    "NOT_ORGANIZATION_MEMBER",
    "OIN_APP_TYPE",
    "ORGANIZATION_PROMPT_DISABLED",
    "ROLE_NOT_ASSIGNED",
    "ROLE_PERMISSIONS_MISSING",
    "SCIM_PERMISSION",
    "SSO_NOT_CONFIGURED",
    "SSO_PERMISSION",
    "api_causes",
    "api_missing",
    "describe",
    "holds_permissions",
    "is_express_configuration_login",
    "is_oin_client",
    "ordered",
    "organization_prompt_disabled",
    "role_permissions_missing",
    "saas_application",
    "saas_applications",
    "visible_causes",
]

EXPRESS_CONFIGURE_PERMISSIONS = (SSO_PERMISSION, SCIM_PERMISSION)
OIN_APP_TYPE = "express_configuration"


def describe(causes: Iterable[str]) -> str:
    return " ".join(CAUSES[cause].summary for cause in ordered(causes))


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


_SAAS_APPLICATIONS = (
    select(ClientRow)
    .where(ClientRow.okta_oin_client_id == bindparam("oin_client_id"))
    .order_by(ClientRow.client_id)
)


def saas_applications(session: Session, oin_client_id: str) -> list[ClientRow]:
    """The applications whose ``express_configuration`` names this OIN client."""
    return list(session.scalars(_SAAS_APPLICATIONS, {"oin_client_id": oin_client_id}))


def saas_application(session: Session, client_id: str) -> ClientRow | None:
    """The SaaS application an OIN client configures; ``None`` when ``client_id`` is not an OIN
    client or no application names it. Should several name it, the first by id is the one."""
    client = session.get(ClientRow, client_id)
    if client is None or not is_oin_client(client):
        return None
    applications = saas_applications(session, client_id)
    return applications[0] if applications else None


def _is_member(session: Session, organization_id: str, user_id: str) -> bool:
    return session.get(OrganizationMemberRow, (organization_id, user_id)) is not None


def api_causes(
    session: Session,
    *,
    client_id: str,
    user_id: str,
    organization_id: str,
    permissions: Collection[str],
    needed: str,
) -> tuple[list[str], ClientRow | None]:
    """Every prerequisite of an Express Configuration API call that is missing, for an admin
    whose access token (issued to ``client_id``) carries ``permissions`` and needs ``needed``;
    and the SaaS application the call configures, if any (found on the way, and the call needs
    it next)."""
    causes: list[str] = []
    if needed not in permissions:
        if role_permissions_missing(session):
            causes.append(ROLE_PERMISSIONS_MISSING)
        # A token without the permission whose holder now holds it was minted before the role
        # was assigned: the remedy (assign, then sign in again) is the same, so the cause too.
        if not causes or not holds_permissions(
            session, user_id=user_id, organization_id=organization_id, permissions=[needed]
        ):
            causes.append(ROLE_NOT_ASSIGNED)
    if not _is_member(session, organization_id, user_id):
        causes.append(NOT_ORGANIZATION_MEMBER)
    application = saas_application(session, client_id)
    if application is None:
        causes.append(APP_NOT_CONFIGURED)
    elif not application.home_realm_discovery:
        causes.append(HOME_REALM_DISCOVERY_DISABLED)
    if tenant_settings.read(session)["flags"].get("enable_client_connections"):
        causes.append(APPLICATION_CONNECTIONS_ENABLED)
    return ordered(causes), application


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
