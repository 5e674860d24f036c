"""The tenant's database rows: one module per concept, all on :data:`TenantBase`'s metadata.

Rows hold secrets (hashes, sealed keys); API schemas are built from rows field by field in the
management modules, never by dumping a row, so a new column never leaks by accident.
"""

from expressway.tenant.rows.authn import (
    AuthorizationCodeRow,
    AuthorizationRequestRow,
    ConsentRow,
    LoginSessionRow,
    RefreshTokenRow,
    UpstreamLoginRow,
)
from expressway.tenant.rows.backchannel_logout import BackchannelLogoutRow, LoginSessionClientRow
from expressway.tenant.rows.base import TenantBase
from expressway.tenant.rows.clients import ClientCredentialRow, ClientGrantRow, ClientRow
from expressway.tenant.rows.connections import (
    EXPRESS_CONFIGURATION_ORGANIZATION_KEY,
    ConnectionClientRow,
    ConnectionDomainAliasRow,
    ConnectionRow,
    ScimConfigurationRow,
    ScimTokenRow,
)
from expressway.tenant.rows.dashboard import DashboardAdminRow, DashboardSessionRow
from expressway.tenant.rows.keys import SigningKeyRow
from expressway.tenant.rows.logs import LogEventRow
from expressway.tenant.rows.organizations import (
    OrganizationConnectionRow,
    OrganizationMemberRoleRow,
    OrganizationMemberRow,
    OrganizationRow,
)
from expressway.tenant.rows.profiles import ConnectionProfileRow, UserAttributeProfileRow
from expressway.tenant.rows.replay import UsedAssertionRow
from expressway.tenant.rows.resource_servers import ResourceServerRow
from expressway.tenant.rows.roles import RolePermissionRow, RoleRow, UserRoleRow
from expressway.tenant.rows.scim import ScimGroupMemberRow, ScimGroupRow, ScimUserRow
from expressway.tenant.rows.settings import TenantSettingsRow
from expressway.tenant.rows.throttling import AttemptCounterRow
from expressway.tenant.rows.users import UserRow

__all__ = [
    "EXPRESS_CONFIGURATION_ORGANIZATION_KEY",
    "AttemptCounterRow",
    "AuthorizationCodeRow",
    "AuthorizationRequestRow",
    "BackchannelLogoutRow",
    "ClientCredentialRow",
    "ClientGrantRow",
    "ClientRow",
    "ConnectionClientRow",
    "ConnectionDomainAliasRow",
    "ConnectionProfileRow",
    "ConnectionRow",
    "ConsentRow",
    "DashboardAdminRow",
    "DashboardSessionRow",
    "LogEventRow",
    "LoginSessionClientRow",
    "LoginSessionRow",
    "OrganizationConnectionRow",
    "OrganizationMemberRoleRow",
    "OrganizationMemberRow",
    "OrganizationRow",
    "RefreshTokenRow",
    "ResourceServerRow",
    "RolePermissionRow",
    "RoleRow",
    "ScimConfigurationRow",
    "ScimGroupMemberRow",
    "ScimGroupRow",
    "ScimTokenRow",
    "ScimUserRow",
    "SigningKeyRow",
    "TenantBase",
    "TenantSettingsRow",
    "UpstreamLoginRow",
    "UsedAssertionRow",
    "UserAttributeProfileRow",
    "UserRoleRow",
    "UserRow",
]
