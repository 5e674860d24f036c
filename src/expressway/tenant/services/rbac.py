"""Role-based access control: the permissions a user holds on an API.

A user holds a permission through a role assigned directly (``/users/{id}/roles``) or, in the
organization they signed in to and only there, as a member role
(``/organizations/{id}/members/{user_id}/roles``). Member roles of another organization never
count: a login to one customer must not carry the rights the user has at another.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from expressway.tenant.rows import OrganizationMemberRoleRow, RolePermissionRow, UserRoleRow


def permissions_for(
    session: Session, user_id: str, organization_id: str | None, audience: str
) -> set[str]:
    """The permission names the user holds on the API ``audience`` in this login."""
    held_through = [
        RolePermissionRow.role_id.in_(
            select(UserRoleRow.role_id).where(UserRoleRow.user_id == user_id)
        )
    ]
    if organization_id is not None:
        held_through.append(
            RolePermissionRow.role_id.in_(
                select(OrganizationMemberRoleRow.role_id).where(
                    OrganizationMemberRoleRow.organization_id == organization_id,
                    OrganizationMemberRoleRow.user_id == user_id,
                )
            )
        )
    names = session.scalars(
        select(RolePermissionRow.permission_name)
        .where(RolePermissionRow.resource_server_identifier == audience, or_(*held_through))
        .distinct()
    )
    return set(names)
