"""The workforce IdP's database rows: one module per concept, all on :data:`WorkforceBase`'s
metadata.

Rows hold secrets (password hashes, token digests, sealed keys); API schemas are built from rows
field by field in the admin API modules, never by dumping a row, so a new column never leaks.
"""

from expressway.workforce.rows.api_tokens import ApiTokenRow
from expressway.workforce.rows.apps import AppGroupRow, AppRow, AppUserRow
from expressway.workforce.rows.base import WorkforceBase
from expressway.workforce.rows.express_configure import ExpressConfigureFlowRow
from expressway.workforce.rows.groups import GroupMemberRow, GroupRow
from expressway.workforce.rows.logs import LogEventRow
from expressway.workforce.rows.oidc import (
    AuthorizationCodeRow,
    AuthorizationTransactionRow,
    RefreshTokenRow,
    UserSessionRow,
)
from expressway.workforce.rows.oin import OinSubmissionRow
from expressway.workforce.rows.orgs import OrgRow, OrgSigningKeyRow
from expressway.workforce.rows.provisioning import (
    AppProvisioningRow,
    GroupPushMappingRow,
    ImportedUserRow,
    ProvisionedUserRow,
    ProvisioningImportRow,
    ProvisioningJobRow,
)
from expressway.workforce.rows.throttling import AttemptCounterRow
from expressway.workforce.rows.users import AdminRoleRow, UserRow

__all__ = [
    "AdminRoleRow",
    "ApiTokenRow",
    "AppGroupRow",
    "AppProvisioningRow",
    "AppRow",
    "AppUserRow",
    "AttemptCounterRow",
    "AuthorizationCodeRow",
    "AuthorizationTransactionRow",
    "ExpressConfigureFlowRow",
    "GroupMemberRow",
    "GroupPushMappingRow",
    "GroupRow",
    "ImportedUserRow",
    "LogEventRow",
    "OinSubmissionRow",
    "OrgRow",
    "OrgSigningKeyRow",
    "ProvisionedUserRow",
    "ProvisioningImportRow",
    "ProvisioningJobRow",
    "RefreshTokenRow",
    "UserRow",
    "UserSessionRow",
    "WorkforceBase",
]
