"""What the directory's services call when something an app must hear about changed: each call
writes the jobs in the caller's session, so the change and its jobs commit together or not at all.

Only apps that can hear it get a job: active, with a SCIM configuration, and (for user pushes)
with the matching *To App* switch on. The jobs decide again when they run, since a switch may
have been turned off meanwhile.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from expressway.workforce.provisioning import jobs
from expressway.workforce.provisioning.targets import APP_ACTIVE, has_scim, switches
from expressway.workforce.rows import AppRow, AppUserRow, GroupPushMappingRow, UserRow

MAPPING_ACTIVE = "ACTIVE"


def _apps_of_user(session: Session, user_id: str) -> list[AppRow]:
    return list(
        session.scalars(
            select(AppRow)
            .join(AppUserRow, AppUserRow.app_id == AppRow.id)
            .where(AppUserRow.user_id == user_id)
            .order_by(AppRow.id)
        )
    )


def users_assigned(session: Session, pairs: Iterable[tuple[str, str]], now: datetime) -> None:
    """``(app, user)`` assignments that began: the user is created (or adopted) in the app."""
    for app_id, user_id in pairs:
        app = session.get(AppRow, app_id)
        settings = switches(session, app) if app is not None else None
        if app is not None and settings is not None and settings.create_users:
            jobs.enqueue(session, app, jobs.USER_PUSH, jobs.USER, user_id, now)


def users_unassigned(session: Session, pairs: Iterable[tuple[str, str]], now: datetime) -> None:
    """``(app, user)`` assignments that ended: the user is deactivated in the app, never
    deleted."""
    for app_id, user_id in pairs:
        app = session.get(AppRow, app_id)
        settings = switches(session, app) if app is not None else None
        if app is not None and settings is not None and settings.deactivate_users:
            jobs.enqueue(session, app, jobs.USER_DEACTIVATE, jobs.USER, user_id, now)


def user_profile_changed(session: Session, user_id: str, now: datetime) -> None:
    """The user's profile changed: every app that takes profile updates gets a full PUT. One
    queued update is enough, since it sends the profile as it is when it runs."""
    for app in _apps_of_user(session, user_id):
        settings = switches(session, app)
        if (
            settings is not None
            and settings.update_profile
            and not jobs.has_pending(session, app.id, jobs.USER_UPDATE, user_id)
        ):
            jobs.enqueue(session, app, jobs.USER_UPDATE, jobs.USER, user_id, now)


def user_deactivated(session: Session, user_id: str, now: datetime) -> None:
    """The user was deactivated or suspended in the org: ``active: false`` in their apps."""
    for app in _apps_of_user(session, user_id):
        settings = switches(session, app)
        if settings is not None and settings.deactivate_users:
            jobs.enqueue(session, app, jobs.USER_DEACTIVATE, jobs.USER, user_id, now)


def user_reactivated(session: Session, user_id: str, now: datetime) -> None:
    """The user was activated again or unsuspended: ``active: true`` in their apps (or created,
    where they never were)."""
    for app in _apps_of_user(session, user_id):
        settings = switches(session, app)
        if settings is not None and (settings.deactivate_users or settings.create_users):
            jobs.enqueue(session, app, jobs.USER_REACTIVATE, jobs.USER, user_id, now)


def user_lifecycle_changed(user: UserRow, now: datetime, *, active: bool) -> None:
    """The user's status changed in the session that holds them (the lifecycle functions take
    the user alone): ``active`` again, or not."""
    session = object_session(user)
    if session is None:
        return
    if active:
        user_reactivated(session, user.id, now)
    else:
        user_deactivated(session, user.id, now)


def _pushing_apps(session: Session, group_id: str) -> list[AppRow]:
    """The apps the group is pushed to by an active mapping, and that can be reached."""
    apps = session.scalars(
        select(AppRow)
        .join(GroupPushMappingRow, GroupPushMappingRow.app_id == AppRow.id)
        .where(
            GroupPushMappingRow.source_group_id == group_id,
            GroupPushMappingRow.status == MAPPING_ACTIVE,
        )
        .order_by(AppRow.id)
    )
    return [app for app in apps if app.status == APP_ACTIVE and has_scim(app)]


def group_members_changed(
    session: Session, group_id: str, user_ids: Iterable[str], op: str, now: datetime
) -> None:
    """Members joined (``add``) or left (``remove``) a group: apps it is pushed to follow."""
    members = list(user_ids)
    for app in _pushing_apps(session, group_id):
        for user_id in members:
            jobs.enqueue(
                session,
                app,
                jobs.GROUP_MEMBERS,
                jobs.GROUP,
                group_id,
                now,
                {"op": op, "userId": user_id},
            )


def group_renamed(session: Session, group_id: str, now: datetime) -> None:
    """The group's name changed: apps it is pushed to get the new ``displayName``."""
    for app in _pushing_apps(session, group_id):
        jobs.enqueue(session, app, jobs.GROUP_PUSH, jobs.GROUP, group_id, now)
