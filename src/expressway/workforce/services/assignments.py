"""Who is assigned to which app: directly (Okta's scope ``USER``) or through a group (``GROUP``).

An app user exists while the user is assigned directly or is a member of a group assigned to the
app. Every change that can alter that (a group assigned or unassigned, a member added or removed,
a direct assignment removed, a group deleted) ends in :func:`reconcile` for the pairs it touched,
which adds and removes group-derived app users and says what it did, so the caller can log it;
the provisioning jobs for what changed are written in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from expressway.workforce.errors import InvalidInput, NotFound
from expressway.workforce.provisioning import outbox
from expressway.workforce.rows import (
    AppGroupRow,
    AppRow,
    AppUserRow,
    GroupMemberRow,
    GroupRow,
    UserRow,
)
from expressway.workforce.services import queries
from expressway.workforce.services import users as users_service

USER_SCOPE = "USER"
GROUP_SCOPE = "GROUP"
MAX_USER_NAME_LENGTH = 100


@dataclass
class Changes:
    """App users that appeared or disappeared, as ``(app_id, user_id)`` pairs."""

    added: list[tuple[str, str]] = field(default_factory=list)
    removed: list[tuple[str, str]] = field(default_factory=list)


def scope_of(app_user: AppUserRow) -> str:
    return USER_SCOPE if app_user.direct else GROUP_SCOPE


def find_app_user(session: Session, app: AppRow, user_id: str) -> AppUserRow:
    row = session.get(AppUserRow, (app.id, user_id))
    if row is None:
        raise NotFound(user_id, "AppUser")
    return row


def _user_name(user: UserRow, given: str | None) -> str:
    name = given if given is not None else user.login
    if not name.strip() or len(name) > MAX_USER_NAME_LENGTH:
        raise InvalidInput.field(
            "userName", f"The user name is 1 to {MAX_USER_NAME_LENGTH} characters"
        )
    return name


def assign_user(
    session: Session,
    app: AppRow,
    user: UserRow,
    now: datetime,
    *,
    user_name: str | None = None,
    profile: Mapping[str, Any] | None = None,
) -> tuple[AppUserRow, bool]:
    """Assign ``user`` to ``app`` directly; answer the app user and whether it is new."""
    if user.status == users_service.DEPROVISIONED:
        raise InvalidInput.field("id", "A deactivated user cannot be assigned to an app")
    row = session.get(AppUserRow, (app.id, user.id))
    if row is None:
        row = AppUserRow(
            app_id=app.id,
            user_id=user.id,
            direct=True,
            user_name=_user_name(user, user_name),
            profile=dict(profile or {}),
            created_at=now,
            updated_at=now,
            status_changed_at=now,
        )
        session.add(row)
        session.flush()
        outbox.users_assigned(session, [(app.id, user.id)], now)
        return row, True
    row.direct = True
    update_user(row, user, now, user_name=user_name, profile=profile)
    return row, False


def update_user(
    row: AppUserRow,
    user: UserRow,
    now: datetime,
    *,
    user_name: str | None = None,
    profile: Mapping[str, Any] | None = None,
) -> AppUserRow:
    if user_name is not None:
        row.user_name = _user_name(user, user_name)
    if profile is not None:
        row.profile = {**row.profile, **profile}
    row.updated_at = now
    return row


def unassign_user(session: Session, app: AppRow, user_id: str, now: datetime) -> Changes:
    """End the direct assignment; the user stays assigned if a group of theirs is."""
    row = find_app_user(session, app, user_id)
    if not row.direct:
        raise InvalidInput(
            "Api validation failed: the user is assigned to this app through a group",
            causes=[
                "id: Remove the user from the group, or the group from the app, to unassign them"
            ],
        )
    row.direct = False
    row.updated_at = now
    session.flush()
    return reconcile(session, [(app.id, user_id)], now)


def assign_group(
    session: Session,
    app: AppRow,
    group: GroupRow,
    now: datetime,
    *,
    priority: int | None = None,
    profile: Mapping[str, Any] | None = None,
) -> tuple[AppGroupRow, bool, Changes]:
    """Assign ``group`` to ``app`` (or change its assignment); answer the assignment, whether
    it is new, and the app users it added."""
    row = session.get(AppGroupRow, (app.id, group.id))
    created = row is None
    if row is None:
        row = AppGroupRow(
            app_id=app.id,
            group_id=group.id,
            priority=priority if priority is not None else _next_priority(session, app),
            profile=dict(profile or {}),
            created_at=now,
            updated_at=now,
        )
        session.add(row)
    else:
        if priority is not None:
            row.priority = priority
        if profile is not None:
            row.profile = dict(profile)
        row.updated_at = now
    session.flush()
    return row, created, reconcile(session, _pairs([app.id], _member_ids(session, group.id)), now)


def _next_priority(session: Session, app: AppRow) -> int:
    priorities = session.scalars(select(AppGroupRow.priority).where(AppGroupRow.app_id == app.id))
    return max(priorities, default=-1) + 1


def find_app_group(session: Session, app: AppRow, group_id: str) -> AppGroupRow:
    row = session.get(AppGroupRow, (app.id, group_id))
    if row is None:
        raise NotFound(group_id, "AppGroup")
    return row


def unassign_group(session: Session, app: AppRow, group_id: str, now: datetime) -> Changes:
    row = find_app_group(session, app, group_id)
    session.delete(row)
    session.flush()
    return reconcile(session, _pairs([app.id], _member_ids(session, group_id)), now)


def _member_ids(session: Session, group_id: str) -> list[str]:
    return list(
        session.scalars(select(GroupMemberRow.user_id).where(GroupMemberRow.group_id == group_id))
    )


def app_ids_of_group(session: Session, group_id: str) -> list[str]:
    return list(session.scalars(select(AppGroupRow.app_id).where(AppGroupRow.group_id == group_id)))


def _pairs(app_ids: Iterable[str], user_ids: Iterable[str]) -> list[tuple[str, str]]:
    user_ids = list(user_ids)
    return [(app_id, user_id) for app_id in app_ids for user_id in user_ids]


def membership_changed(
    session: Session, group_id: str, user_ids: Iterable[str], now: datetime
) -> Changes:
    """After members joined or left ``group_id``: assign or unassign them from its apps."""
    return reconcile(session, _pairs(app_ids_of_group(session, group_id), user_ids), now)


def reconcile(session: Session, pairs: Iterable[tuple[str, str]], now: datetime) -> Changes:
    """Make each ``(app, user)`` app user exist exactly when it is direct or through a group."""
    changes = Changes()
    for app_id, user_id in dict.fromkeys(pairs):
        through_group = (
            session.scalars(
                select(AppGroupRow.group_id)
                .join(GroupMemberRow, GroupMemberRow.group_id == AppGroupRow.group_id)
                .where(AppGroupRow.app_id == app_id, GroupMemberRow.user_id == user_id)
            ).first()
            is not None
        )
        row = session.get(AppUserRow, (app_id, user_id))
        if row is not None and not row.direct and not through_group:
            session.delete(row)
            changes.removed.append((app_id, user_id))
        elif row is None and through_group:
            user = session.get(UserRow, user_id)
            if user is None:
                continue
            session.add(
                AppUserRow(
                    app_id=app_id,
                    user_id=user_id,
                    direct=False,
                    user_name=user.login,
                    profile={},
                    created_at=now,
                    updated_at=now,
                    status_changed_at=now,
                )
            )
            changes.added.append((app_id, user_id))
    session.flush()
    outbox.users_assigned(session, changes.added, now)
    outbox.users_unassigned(session, changes.removed, now)
    return changes


def list_app_users_statement(app: AppRow, q: str | None = None) -> Select[AppUserRow]:
    """The app's users in user id order; ``q`` matches the start of their user name or names."""
    statement = (
        select(AppUserRow)
        .join(UserRow, UserRow.id == AppUserRow.user_id)
        .where(AppUserRow.app_id == app.id)
        .order_by(AppUserRow.user_id)
    )
    if q is not None:
        statement = statement.where(
            queries.starts_with_any(
                q, [AppUserRow.user_name, UserRow.first_name, UserRow.last_name, UserRow.email]
            )
        )
    return statement


def list_app_groups_statement(app: AppRow) -> Select[AppGroupRow]:
    return select(AppGroupRow).where(AppGroupRow.app_id == app.id).order_by(AppGroupRow.group_id)
