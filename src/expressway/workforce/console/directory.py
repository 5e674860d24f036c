"""Directory: People and Groups, their lifecycle, memberships and *Clear user sessions*.

Each change calls the same service as the admin API and leaves the same System Log event.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from fastapi import APIRouter
from sqlalchemy import select
from starlette.responses import Response

from expressway.workforce.console.context import CheckedForm, Console, ConsolePage
from expressway.workforce.console.rendering import notice_of
from expressway.workforce.errors import InvalidInput
from expressway.workforce.rows import AppRow, UserRow
from expressway.workforce.services import apps as apps_service
from expressway.workforce.services import groups as groups_service
from expressway.workforce.services import universal_logout
from expressway.workforce.services import users as users_service
from expressway.workforce.services.assignments import Changes
from expressway.workforce.system_log import Party

router = APIRouter(prefix="/orgs/{org}/admin", include_in_schema=False)

#: Rows a list page shows; narrow with the search box.
LIST_LIMIT = 200
SEARCH_LIMIT = 100


def log_assignment_changes(ctx: Console, changes: Changes) -> None:
    """One event per app user that appeared or disappeared through a group."""
    for verb, pairs, message in (
        ("add", changes.added, "Add user to application membership"),
        ("remove", changes.removed, "Remove user from application membership"),
    ):
        for app_id, user_id in pairs:
            app = ctx.session.get(AppRow, app_id)
            user = ctx.session.get(UserRow, user_id)
            targets = [Party.of_user(user)] if user is not None else [Party(user_id, "User")]
            targets.append(Party.of_app(app) if app is not None else Party(app_id, "AppInstance"))
            ctx.log(f"application.user_membership.{verb}", message, *targets)


def _search(q: str | None) -> str | None:
    value = (q or "").strip()[:SEARCH_LIMIT]
    return value or None


# --- people -----------------------------------------------------------------------------------


@router.get("/people")
def people(ctx: ConsolePage, q: str | None = None, notice: str | None = None) -> Response:
    search = _search(q)
    rows = ctx.session.scalars(
        users_service.list_statement(ctx.org.id, q=search).limit(LIST_LIMIT)
    ).all()
    return ctx.page(
        "people.html",
        title="People",
        section="people",
        people=rows,
        q=search or "",
        notice=notice_of(notice),
    )


@router.post("/people")
def add_person(ctx: ConsolePage, form: CheckedForm) -> Response:
    login = form.text("login", 100, label="Username")
    profile = {
        "login": login,
        "email": form.text("email", 100, label="Primary email") or login,
        "firstName": form.text("firstName", 50, label="First name"),
        "lastName": form.text("lastName", 50, label="Last name"),
    }
    password = form.text("password", users_service.MAX_PASSWORD_LENGTH, label="Password") or None
    activate = form.flag("activate")
    user = users_service.create(
        ctx.session, ctx.org.id, ctx.now, profile, password=password, activate=activate
    )
    ctx.log("user.lifecycle.create", "Create Okta user", Party.of_user(user))
    if user.status != users_service.STAGED:
        ctx.log("user.lifecycle.activate", "Activate Okta user", Party.of_user(user))
    return ctx.redirect(f"/people/{user.id}", "user-created")


@router.get("/people/{user_id}")
def person(ctx: ConsolePage, user_id: str, notice: str | None = None) -> Response:
    user = users_service.find(ctx.session, ctx.org.id, user_id)
    groups = ctx.session.scalars(groups_service.groups_of_user_statement(user)).all()
    apps = ctx.session.scalars(apps_service.apps_of_user_statement(ctx.org.id, user.id)).all()
    return ctx.page(
        "person.html",
        title=f"{user.first_name} {user.last_name}".strip() or user.login,
        section="people",
        person=user,
        is_self=user.id == ctx.actor.id,
        groups=groups,
        apps=apps,
        notice=notice_of(notice),
    )


#: The lifecycle buttons: the service, the System Log event, and whether the admin may do it
#: to themself.
_LIFECYCLE: dict[str, tuple[Callable[[UserRow, datetime], None], str, str, bool]] = {
    "activate": (users_service.activate, "user.lifecycle.activate", "Activate Okta user", True),
    "reactivate": (
        users_service.reactivate,
        "user.lifecycle.reactivate",
        "Reactivate Okta user",
        True,
    ),
    "deactivate": (
        users_service.deactivate,
        "user.lifecycle.deactivate",
        "Deactivate Okta user",
        False,
    ),
    "suspend": (users_service.suspend, "user.lifecycle.suspend", "Suspend Okta user", False),
    "unsuspend": (
        users_service.unsuspend,
        "user.lifecycle.unsuspend",
        "Unsuspend Okta user",
        True,
    ),
}


@router.post("/people/{user_id}/lifecycle/{action}")
def change_lifecycle(ctx: ConsolePage, form: CheckedForm, user_id: str, action: str) -> Response:
    if action not in _LIFECYCLE:
        raise InvalidInput.field("action", f"{action[:40]!r} is not a lifecycle action")
    change, event_type, message, on_self = _LIFECYCLE[action]
    user = users_service.find(ctx.session, ctx.org.id, user_id)
    if not on_self:
        users_service.check_not_self(user, ctx.actor, action)
    change(user, ctx.now)
    ctx.log(event_type, message, Party.of_user(user))
    return ctx.redirect(f"/people/{user.id}", "user-updated")


@router.post("/people/{user_id}/clear-sessions")
def clear_sessions(ctx: ConsolePage, form: CheckedForm, user_id: str) -> Response:
    """Okta's *Clear user sessions* with tokens: sessions end, refresh tokens are revoked, and
    each of the person's apps with Universal Logout is told."""
    user = users_service.find(ctx.session, ctx.org.id, user_id)
    cleared = universal_logout.clear_sessions(
        ctx.session, user, ctx.runtime.org_url(ctx.org.name), ctx.now, oauth_tokens=True
    )
    ctx.log(
        "user.session.clear",
        "Clear user session",
        Party.of_user(user),
        debug={
            "oauthTokens": True,
            "sessionsEnded": cleared.sessions_ended,
            "universalLogoutApps": cleared.apps_notified,
        },
    )
    if user.id == ctx.actor.id:
        # The admin's own session was among them: the next page asks them to sign in again.
        return ctx.redirect("/login")
    return ctx.redirect(f"/people/{user.id}", "sessions-cleared")


# --- groups -----------------------------------------------------------------------------------


@router.get("/groups")
def groups(ctx: ConsolePage, q: str | None = None, notice: str | None = None) -> Response:
    search = _search(q)
    rows = ctx.session.scalars(
        groups_service.list_statement(ctx.org.id, q=search).limit(LIST_LIMIT)
    ).all()
    return ctx.page(
        "groups.html",
        title="Groups",
        section="groups",
        groups=rows,
        q=search or "",
        notice=notice_of(notice),
    )


@router.post("/groups")
def add_group(ctx: ConsolePage, form: CheckedForm) -> Response:
    name = form.text("name", groups_service.MAX_NAME_LENGTH, label="Name")
    description = form.text(
        "description", groups_service.MAX_DESCRIPTION_LENGTH, label="Description"
    )
    group = groups_service.create(ctx.session, ctx.org.id, ctx.now, name, description or None)
    ctx.log("group.lifecycle.create", "Create Okta group", Party.of_group(group))
    return ctx.redirect(f"/groups/{group.id}", "group-created")


def assignable_people(ctx: Console) -> list[UserRow]:
    """The org's people who can be added to a group or assigned to an app, by login."""
    return list(
        ctx.session.scalars(
            select(UserRow)
            .where(UserRow.org_id == ctx.org.id, UserRow.status != users_service.DEPROVISIONED)
            .order_by(UserRow.login_key)
            .limit(LIST_LIMIT)
        )
    )


@router.get("/groups/{group_id}")
def group(ctx: ConsolePage, group_id: str, notice: str | None = None) -> Response:
    row = groups_service.find(ctx.session, ctx.org.id, group_id)
    members = ctx.session.scalars(groups_service.members_statement(row).limit(LIST_LIMIT)).all()
    member_ids = {m.id for m in members}
    apps = ctx.session.scalars(apps_service.apps_of_group_statement(ctx.org.id, row.id)).all()
    return ctx.page(
        "group.html",
        title=row.name,
        section="groups",
        group=row,
        members=members,
        candidates=[u for u in assignable_people(ctx) if u.id not in member_ids],
        apps=apps,
        notice=notice_of(notice),
    )


@router.post("/groups/{group_id}/members")
def add_member(ctx: ConsolePage, form: CheckedForm, group_id: str) -> Response:
    row = groups_service.find(ctx.session, ctx.org.id, group_id)
    user_id = form.text("userId", 100, label="Person")
    if not user_id:
        raise InvalidInput.field("Person", "Choose a person to add")
    user = users_service.find(ctx.session, ctx.org.id, user_id)
    added, changes = groups_service.add_member(ctx.session, row, user, ctx.now)
    if added:
        ctx.log(
            "group.user_membership.add",
            "Add user to group membership",
            Party.of_user(user),
            Party.of_group(row),
        )
        log_assignment_changes(ctx, changes)
    return ctx.redirect(f"/groups/{row.id}", "member-added")


@router.post("/groups/{group_id}/members/{user_id}/remove")
def remove_member(ctx: ConsolePage, form: CheckedForm, group_id: str, user_id: str) -> Response:
    row = groups_service.find(ctx.session, ctx.org.id, group_id)
    user = users_service.find(ctx.session, ctx.org.id, user_id)
    removed, changes = groups_service.remove_member(ctx.session, row, user, ctx.now)
    if removed:
        ctx.log(
            "group.user_membership.remove",
            "Remove user from group membership",
            Party.of_user(user),
            Party.of_group(row),
        )
        log_assignment_changes(ctx, changes)
    return ctx.redirect(f"/groups/{row.id}", "member-removed")
