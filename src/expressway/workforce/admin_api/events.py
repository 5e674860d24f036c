"""System Log entries that several admin API modules write."""

from __future__ import annotations

from expressway.workforce.admin_api.context import Admin
from expressway.workforce.rows import AppRow, UserRow
from expressway.workforce.services.assignments import Changes
from expressway.workforce.system_log import Party


def log_assignment_changes(ctx: Admin, changes: Changes) -> None:
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
