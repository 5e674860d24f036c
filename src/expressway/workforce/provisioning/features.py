"""Okta's ``USER_PROVISIONING`` app feature: the *To App* switches of an instance.

An instance without a SCIM configuration (Express Configure SCIM not run) has no provisioning
to switch, and both reading and changing the feature are refused, as Okta refuses them for an
app whose provisioning is not enabled. Turning *Create Users* on pushes the users already
assigned, so an admin who assigned people before configuring SCIM need not assign them again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from expressway.workforce.errors import InvalidInput
from expressway.workforce.provisioning import jobs
from expressway.workforce.provisioning.targets import has_scim
from expressway.workforce.rows import AppProvisioningRow, AppRow, AppUserRow

USER_PROVISIONING = "USER_PROVISIONING"
FEATURES = (USER_PROVISIONING,)
ENABLED = "ENABLED"
DISABLED = "DISABLED"


class ProvisioningNotConfigured(InvalidInput):
    def __init__(self) -> None:
        super().__init__(
            "Api validation failed: provisioning is not enabled for this app",
            causes=[
                "USER_PROVISIONING: the app has no SCIM connection; run Express Configure SCIM "
                "on the app first"
            ],
        )


@dataclass(frozen=True)
class Switches:
    """The feature's three switches; ``None`` leaves a switch as it is (a partial update)."""

    create_users: bool | None = None
    update_profile: bool | None = None
    deactivate_users: bool | None = None


def check_configured(app: AppRow) -> None:
    if not has_scim(app):
        raise ProvisioningNotConfigured()


def current(session: Session, app: AppRow) -> AppProvisioningRow | None:
    check_configured(app)
    return session.get(AppProvisioningRow, app.id)


def update(session: Session, app: AppRow, now: datetime, given: Switches) -> AppProvisioningRow:
    """Apply ``given`` over the current switches (all off at first)."""
    check_configured(app)
    row = session.get(AppProvisioningRow, app.id)
    if row is None:
        row = AppProvisioningRow(
            app_id=app.id,
            org_id=app.org_id,
            create_users=False,
            update_profile=False,
            deactivate_users=False,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
    was_creating = row.create_users
    for name in ("create_users", "update_profile", "deactivate_users"):
        value = getattr(given, name)
        if value is not None:
            setattr(row, name, value)
    row.updated_at = now
    session.flush()
    if row.create_users and not was_creating:
        _push_assigned(session, app, now)
    return row


def _push_assigned(session: Session, app: AppRow, now: datetime) -> None:
    user_ids = session.scalars(
        select(AppUserRow.user_id).where(AppUserRow.app_id == app.id).order_by(AppUserRow.user_id)
    )
    for user_id in list(user_ids):
        jobs.enqueue(session, app, jobs.USER_PUSH, jobs.USER, user_id, now)
