"""SCIM groups of a connection (RFC 7643 §4.2): a display name unique in the connection, an
``externalId``, and members, which are SCIM users of the same connection.

A member id that is not a user of this connection (another connection's user, a group, nothing)
is refused with ``invalidValue``: a connection's IdP can only group the users it provisioned.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from expressway.scim import errors as scim_errors
from expressway.scim.patch import apply_patch
from expressway.scim.resources import (
    GROUP_URN,
    GroupResource,
    display_name_key,
    stored_form,
)
from expressway.tenant.rows import ScimGroupMemberRow, ScimGroupRow, ScimUserRow
from expressway.tenant.services.scim_queries import Indexed, Kind
from expressway.tenant.services.scim_resources import ScimKind, checked_name
from expressway.tenant.services.scim_users import new_scim_id

COLUMNS = {
    f"{GROUP_URN}:id".lower(): Indexed(ScimGroupRow.id, Kind.EXACT),
    f"{GROUP_URN}:displayName".lower(): Indexed(ScimGroupRow.display_name_key, Kind.KEY),
    f"{GROUP_URN}:externalId".lower(): Indexed(ScimGroupRow.external_id, Kind.EXACT),
    f"{GROUP_URN}:meta.created".lower(): Indexed(ScimGroupRow.created_at, Kind.DATETIME),
    f"{GROUP_URN}:meta.lastModified".lower(): Indexed(ScimGroupRow.updated_at, Kind.DATETIME),
}

#: A member as stored: the SCIM user's id and the ``display`` the IdP sent.
Member = tuple[str, str | None]


def members_of(session: Session, group_ids: Sequence[str]) -> dict[str, list[Member]]:
    found: dict[str, list[Member]] = {group_id: [] for group_id in group_ids}
    if not group_ids:
        return found
    rows = session.execute(
        sa.select(
            ScimGroupMemberRow.group_id, ScimGroupMemberRow.member_id, ScimGroupMemberRow.display
        )
        .where(ScimGroupMemberRow.group_id.in_(group_ids))
        .order_by(ScimGroupMemberRow.group_id, ScimGroupMemberRow.member_id)
    )
    for group_id, member_id, display in rows:
        found[group_id].append((member_id, display))
    return found


def _member(member: Member, base_url: str) -> dict[str, Any]:
    member_id, display = member
    shown = {"display": display} if display is not None else {}
    return {"value": member_id, "$ref": f"{base_url}/Users/{member_id}", "type": "User", **shown}


#: SCIM groups as :mod:`scim_resources` reads them; ``members`` comes from the member rows.
GROUPS: ScimKind[ScimGroupRow, GroupResource] = ScimKind(
    name="Group",
    row=ScimGroupRow,
    model=GroupResource,
    columns=COLUMNS,
    name_attribute="displayName",
    name_key=ScimGroupRow.display_name_key,
    key_of=display_name_key,
    related="members",
    load_related=members_of,
    related_item=_member,
)


def _wanted_members(resource: GroupResource) -> dict[str, str | None]:
    wanted: dict[str, str | None] = {}
    for member in resource.members or []:
        if not member.value:
            raise scim_errors.invalid_value("every member needs a value (the member's id)")
        if member.type is not None and member.type != "User":
            raise scim_errors.invalid_value(
                f"member {member.value}: only users can be members of a group"
            )
        wanted[member.value] = member.display
    return wanted


def _check_members(session: Session, connection_id: str, member_ids: set[str]) -> None:
    if not member_ids:
        return
    if any(len(member_id) > 64 for member_id in member_ids):
        raise scim_errors.invalid_value("a member id is longer than any user id")
    known = set(
        session.scalars(
            sa.select(ScimUserRow.id).where(
                ScimUserRow.connection_id == connection_id, ScimUserRow.id.in_(member_ids)
            )
        )
    )
    unknown = sorted(member_ids - known)
    if unknown:
        raise scim_errors.invalid_value(
            f"no user of this connection has the id {', '.join(unknown[:5])}"
        )


def _set_members(
    session: Session,
    connection_id: str,
    row: ScimGroupRow,
    current: dict[str, str | None],
    wanted: dict[str, str | None],
) -> bool:
    """Make ``wanted`` the group's members; answers whether anything changed."""
    added = set(wanted) - set(current)
    removed = set(current) - set(wanted)
    _check_members(session, connection_id, added)
    if removed:
        session.execute(
            sa.delete(ScimGroupMemberRow).where(
                ScimGroupMemberRow.group_id == row.id,
                ScimGroupMemberRow.member_id.in_(removed),
            )
        )
    session.add_all(
        ScimGroupMemberRow(group_id=row.id, member_id=member_id, display=wanted[member_id])
        for member_id in sorted(added)
    )
    renamed = [m for m in set(wanted) & set(current) if wanted[m] != current[m]]
    for member_id in renamed:
        session.execute(
            sa.update(ScimGroupMemberRow)
            .where(
                ScimGroupMemberRow.group_id == row.id,
                ScimGroupMemberRow.member_id == member_id,
            )
            .values(display=wanted[member_id])
        )
    return bool(added or removed or renamed)


def _flush(session: Session) -> None:
    try:
        session.flush()
    except IntegrityError as exc:
        raise scim_errors.uniqueness("a group with this displayName already exists") from exc


def create(
    session: Session, now: datetime, connection_id: str, resource: GroupResource
) -> ScimGroupRow:
    display_name = checked_name("displayName", resource.display_name, resource.external_id)
    key = display_name_key(display_name)
    GROUPS.check_name_free(session, connection_id, key, None)
    wanted = _wanted_members(resource)
    row = ScimGroupRow(
        id=new_scim_id(),
        connection_id=connection_id,
        display_name=display_name,
        display_name_key=key,
        external_id=resource.external_id,
        resource=stored_form(resource),
        created_at=now,
        updated_at=now,
        version=1,
    )
    session.add(row)
    _flush(session)
    _set_members(session, connection_id, row, {}, wanted)
    _flush(session)
    return row


def _update(
    session: Session,
    now: datetime,
    row: ScimGroupRow,
    resource: GroupResource,
    current: dict[str, str | None],
) -> bool:
    display_name = checked_name("displayName", resource.display_name, resource.external_id)
    key = display_name_key(display_name)
    GROUPS.check_name_free(session, row.connection_id, key, row.id)
    members_changed = _set_members(
        session, row.connection_id, row, current, _wanted_members(resource)
    )
    stored = stored_form(resource)
    changed = members_changed or stored != row.resource or display_name != row.display_name
    if changed:
        row.display_name = display_name
        row.display_name_key = key
        row.external_id = resource.external_id
        row.resource = stored
        row.updated_at = now
        row.version += 1
    _flush(session)
    return changed


def replace(
    session: Session, now: datetime, row: ScimGroupRow, resource: GroupResource
) -> ScimGroupRow:
    """Replace the group's attributes and members with ``resource`` (RFC 7644 §3.5.1)."""
    current = dict(members_of(session, [row.id])[row.id])
    _update(session, now, row, resource, current)
    return row


def patch(
    session: Session, now: datetime, row: ScimGroupRow, operations: Any, base_url: str
) -> bool:
    """Apply a PatchOp; answers whether anything changed."""
    members = members_of(session, [row.id])[row.id]
    resource = GROUPS.to_resource(row, base_url, members)
    resource.meta = None
    if not apply_patch(operations, resource):
        return False
    return _update(session, now, row, resource, dict(members))


def remove(session: Session, row: ScimGroupRow) -> None:
    session.delete(row)
    session.flush()
