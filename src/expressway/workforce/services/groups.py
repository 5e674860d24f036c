"""Groups of an org's users (Okta's ``OKTA_GROUP``) and their members."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

from expressway.workforce import ids
from expressway.workforce.errors import InvalidInput, NotFound
from expressway.workforce.provisioning import outbox
from expressway.workforce.rows import GroupMemberRow, GroupRow, UserRow
from expressway.workforce.services import assignments, queries
from expressway.workforce.services.assignments import Changes
from expressway.workforce.services.queries import Attribute, Kind

OKTA_GROUP = "OKTA_GROUP"
MAX_NAME_LENGTH = 255
MAX_DESCRIPTION_LENGTH = 1024

FILTER_ATTRIBUTES: dict[str, Attribute] = {
    "id": Attribute(GroupRow.id, Kind.EXACT),
    "type": Attribute(GroupRow.type, Kind.CODE),
    "created": Attribute(GroupRow.created_at, Kind.DATE),
    "lastUpdated": Attribute(GroupRow.updated_at, Kind.DATE),
    "lastMembershipUpdated": Attribute(GroupRow.membership_updated_at, Kind.DATE),
}
SEARCH_ATTRIBUTES: dict[str, Attribute] = {
    **FILTER_ATTRIBUTES,
    "profile.name": Attribute(GroupRow.name, Kind.TEXT),
    "profile.description": Attribute(GroupRow.description, Kind.TEXT),
}


def _check_profile(name: str | None, description: str | None) -> str:
    if name is None or not name.strip():
        raise InvalidInput.field("name", "The field cannot be left blank")
    if len(name) > MAX_NAME_LENGTH:
        raise InvalidInput.field("name", f"The field is too long (maximum {MAX_NAME_LENGTH})")
    if description is not None and len(description) > MAX_DESCRIPTION_LENGTH:
        raise InvalidInput.field(
            "description", f"The field is too long (maximum {MAX_DESCRIPTION_LENGTH})"
        )
    return name


def _check_name_free(session: Session, org_id: str, name: str, group_id: str | None) -> None:
    taken = session.scalars(
        select(GroupRow.id).where(GroupRow.org_id == org_id, GroupRow.name_key == name.lower())
    ).first()
    if taken is not None and taken != group_id:
        raise InvalidInput.field(
            "name", "An object with this field already exists in the current organization"
        )


def create(
    session: Session, org_id: str, now: datetime, name: str | None, description: str | None
) -> GroupRow:
    checked = _check_profile(name, description)
    _check_name_free(session, org_id, checked, None)
    group = GroupRow(
        id=ids.okta_id(ids.GROUP, now),
        org_id=org_id,
        type=OKTA_GROUP,
        name=checked,
        name_key=checked.lower(),
        description=description,
        created_at=now,
        updated_at=now,
        membership_updated_at=now,
    )
    session.add(group)
    session.flush()
    return group


def find(session: Session, org_id: str, group_id: str) -> GroupRow:
    group = session.scalars(
        select(GroupRow).where(GroupRow.org_id == org_id, GroupRow.id == group_id)
    ).first()
    if group is None:
        raise NotFound(group_id, "UserGroup")
    return group


def replace(
    session: Session, group: GroupRow, now: datetime, name: str | None, description: str | None
) -> GroupRow:
    """Okta's PUT: the profile is replaced, so a description left out is removed."""
    checked = _check_profile(name, description)
    _check_name_free(session, group.org_id, checked, group.id)
    if checked != group.name:
        outbox.group_renamed(session, group.id, now)
    group.name = checked
    group.name_key = checked.lower()
    group.description = description
    group.updated_at = now
    session.flush()
    return group


def remove(session: Session, group: GroupRow, now: datetime) -> Changes:
    """Delete the group; its members lose the apps they had only through it."""
    members = member_ids(session, group.id)
    pairs = [
        (app_id, user_id)
        for app_id in assignments.app_ids_of_group(session, group.id)
        for user_id in members
    ]
    session.delete(group)
    session.flush()
    return assignments.reconcile(session, pairs, now)


def member_ids(session: Session, group_id: str) -> list[str]:
    return list(
        session.scalars(select(GroupMemberRow.user_id).where(GroupMemberRow.group_id == group_id))
    )


def add_member(
    session: Session, group: GroupRow, user: UserRow, now: datetime
) -> tuple[bool, Changes]:
    """Add ``user``; answer whether they were not a member yet, and the app changes."""
    if session.get(GroupMemberRow, (group.id, user.id)) is not None:
        return False, Changes()
    session.add(GroupMemberRow(group_id=group.id, user_id=user.id, created_at=now))
    group.membership_updated_at = now
    session.flush()
    changes = assignments.membership_changed(session, group.id, [user.id], now)
    outbox.group_members_changed(session, group.id, [user.id], "add", now)
    return True, changes


def remove_member(
    session: Session, group: GroupRow, user: UserRow, now: datetime
) -> tuple[bool, Changes]:
    """Remove ``user``; answer whether they were a member, and the app changes."""
    member = session.get(GroupMemberRow, (group.id, user.id))
    if member is None:
        return False, Changes()
    session.delete(member)
    group.membership_updated_at = now
    session.flush()
    changes = assignments.membership_changed(session, group.id, [user.id], now)
    outbox.group_members_changed(session, group.id, [user.id], "remove", now)
    return True, changes


def list_statement(
    org_id: str,
    *,
    q: str | None = None,
    filter: str | None = None,
    search: str | None = None,
) -> Select[GroupRow]:
    conditions: list[ColumnElement[bool]] = [GroupRow.org_id == org_id]
    if q is not None:
        conditions.append(queries.starts_with_any(q, [GroupRow.name]))
    if filter is not None:
        conditions.append(queries.condition("filter", filter, FILTER_ATTRIBUTES))
    if search is not None:
        conditions.append(queries.condition("search", search, SEARCH_ATTRIBUTES))
    return select(GroupRow).where(*conditions).order_by(GroupRow.id)


def groups_of_user_statement(user: UserRow) -> Select[GroupRow]:
    return (
        select(GroupRow)
        .join(GroupMemberRow, GroupMemberRow.group_id == GroupRow.id)
        .where(GroupMemberRow.user_id == user.id)
        .order_by(GroupRow.id)
    )


def members_statement(group: GroupRow) -> Select[UserRow]:
    return (
        select(UserRow)
        .join(GroupMemberRow, GroupMemberRow.user_id == UserRow.id)
        .where(GroupMemberRow.group_id == group.id)
        .order_by(UserRow.id)
    )
