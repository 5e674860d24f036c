"""Role-based access control: the permissions a user holds on an API.

A user holds a permission through a role assigned directly (``/users/{id}/roles``) or, in the
organization they signed in to and only there, as a member role
(``/organizations/{id}/members/{user_id}/roles``). Member roles of another organization never
count: a login to one customer must not carry the rights the user has at another.
"""

from __future__ import annotations

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from expressway.tenant.rows import OrganizationMemberRoleRow, RolePermissionRow, UserRoleRow

# Built once: a statement built at each call costs more than its execution here.
_DIRECT_ROLES = select(UserRoleRow.role_id).where(UserRoleRow.user_id == bindparam("user_id"))
_MEMBER_ROLES = select(OrganizationMemberRoleRow.role_id).where(
    OrganizationMemberRoleRow.organization_id == bindparam("organization_id"),
    OrganizationMemberRoleRow.user_id == bindparam("user_id"),
)
_PERMISSIONS = (
    select(RolePermissionRow.permission_name)
    .where(
        RolePermissionRow.resource_server_identifier == bindparam("audience"),
        RolePermissionRow.role_id.in_(_DIRECT_ROLES),
    )
    .distinct()
)
_PERMISSIONS_IN_ORGANIZATION = (
    select(RolePermissionRow.permission_name)
    .where(
        RolePermissionRow.resource_server_identifier == bindparam("audience"),
        or_(
            RolePermissionRow.role_id.in_(_DIRECT_ROLES),
            RolePermissionRow.role_id.in_(_MEMBER_ROLES),
        ),
    )
    .distinct()
)


def permissions_for(
    session: Session, user_id: str, organization_id: str | None, audience: str
) -> set[str]:
    """The permission names the user holds on the API ``audience`` in this login."""
    if organization_id is None:
        names = session.scalars(_PERMISSIONS, {"user_id": user_id, "audience": audience})
    else:
        names = session.scalars(
            _PERMISSIONS_IN_ORGANIZATION,
            {"user_id": user_id, "organization_id": organization_id, "audience": audience},
        )
    return set(names)
