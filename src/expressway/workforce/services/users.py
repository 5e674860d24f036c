"""Users of an org: creation, profile updates, passwords and Okta's lifecycle.

Okta's lifecycle, which every transition here follows::

    STAGED ──activate──▶ PROVISIONED (no password yet) or ACTIVE (has one)
    ACTIVE ──suspend──▶ SUSPENDED ──unsuspend──▶ ACTIVE
    any but DEPROVISIONED ──deactivate──▶ DEPROVISIONED ──activate──▶ PROVISIONED or ACTIVE
    DEPROVISIONED ──delete──▶ gone
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, or_, select
from sqlalchemy.orm import Session

from expressway import hashing
from expressway.workforce import ids
from expressway.workforce.errors import (
    AlreadyActive,
    Forbidden,
    InvalidInput,
    NotAllowedInStatus,
    NotFound,
)
from expressway.workforce.provisioning import outbox
from expressway.workforce.rows import AdminRoleRow, UserRow
from expressway.workforce.services import profiles, queries
from expressway.workforce.services.queries import Attribute, Kind

STAGED = "STAGED"
PROVISIONED = "PROVISIONED"
ACTIVE = "ACTIVE"
SUSPENDED = "SUSPENDED"
DEPROVISIONED = "DEPROVISIONED"

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 256
PASSWORD_REQUIREMENTS = (
    f"Password requirements were not met. Password requirements: at least "
    f"{MIN_PASSWORD_LENGTH} characters."
)

SUPER_ADMIN = "SUPER_ADMIN"

_TOP_LEVEL_ATTRIBUTES: dict[str, Attribute] = {
    "id": Attribute(UserRow.id, Kind.EXACT),
    "status": Attribute(UserRow.status, Kind.CODE),
    "created": Attribute(UserRow.created_at, Kind.DATE),
    "activated": Attribute(UserRow.activated_at, Kind.DATE),
    "statusChanged": Attribute(UserRow.status_changed_at, Kind.DATE),
    "lastUpdated": Attribute(UserRow.updated_at, Kind.DATE),
    "profile.login": Attribute(UserRow.login, Kind.TEXT),
    "profile.email": Attribute(UserRow.email, Kind.TEXT),
    "profile.firstName": Attribute(UserRow.first_name, Kind.TEXT),
    "profile.lastName": Attribute(UserRow.last_name, Kind.TEXT),
}
#: ``filter``: what Okta's filter supports on users.
FILTER_ATTRIBUTES = {
    name: _TOP_LEVEL_ATTRIBUTES[name]
    for name in (
        "id",
        "status",
        "lastUpdated",
        "profile.login",
        "profile.email",
        "profile.firstName",
        "profile.lastName",
    )
}
#: ``search``: every top-level attribute and every profile attribute.
SEARCH_ATTRIBUTES = {
    **_TOP_LEVEL_ATTRIBUTES,
    **{
        f"profile.{name}": Attribute(UserRow.profile_extra[name].as_string(), Kind.TEXT)
        for name in profiles.MAX_LENGTHS
        if name not in profiles.REQUIRED
    },
}


def check_password(password: str) -> None:
    if not (MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH):
        raise InvalidInput.field("password", PASSWORD_REQUIREMENTS)


def find_by_login(session: Session, org_id: str, login: str) -> UserRow | None:
    """The org's user who signs in as ``login`` (in any case); None for an empty one."""
    if not login:
        return None
    return session.scalars(
        select(UserRow).where(UserRow.org_id == org_id, UserRow.login_key == login.lower())
    ).first()


def stored_password_hash(session: Session, org_id: str, login: str) -> str | None:
    """The password hash a sign-in as ``login`` is checked against (None: no such user, or
    none set): read before the sign-in's transaction, to check it with no lock held."""
    user = find_by_login(session, org_id, login)
    return user.password_hash if user is not None else None


def authenticate(
    user: UserRow | None,
    password: str,
    checked: hashing.PasswordCheck | None = None,
) -> tuple[UserRow | None, str | None]:
    """Whether ``user`` (:func:`find_by_login`'s, in the sign-in's transaction; None for an
    unknown login) is proven by ``password``: the user, or the reason not (for the System Log);
    the rule of the org's login page and of its admin console.

    ``checked`` is the check made before the transaction (against
    :func:`stored_password_hash`); it is made again when the user or their hash changed since.
    For an unknown login the check spends the time of a real one, so a response time does not
    tell which logins exist. A hash made with other Argon2id parameters is renewed here, the
    one moment the password is known.
    """
    stored = user.password_hash if user is not None else None
    if checked is None or checked.stored_hash != stored:
        checked = hashing.check_password(stored, password)
    if user is None or user.password_hash is None or not checked.matches:
        return user, "INVALID_CREDENTIALS"
    if user.status != ACTIVE:
        return user, f"User is {user.status}"
    if checked.rehashed is not None:
        user.password_hash = checked.rehashed
    return user, None


def _check_login_free(session: Session, org_id: str, login: str, user_id: str | None) -> None:
    taken = session.scalars(
        select(UserRow.id).where(UserRow.org_id == org_id, UserRow.login_key == login.lower())
    ).first()
    if taken is not None and taken != user_id:
        raise InvalidInput.field(
            "login", "An object with this field already exists in the current organization"
        )


def _apply_profile(user: UserRow, profile: profiles.Profile) -> None:
    user.login = profile.login
    user.login_key = profile.login.lower()
    user.email = profile.email
    user.first_name = profile.first_name
    user.last_name = profile.last_name
    user.profile_extra = profile.extra


def profile_of(user: UserRow) -> dict[str, Any]:
    """The user's profile as Okta shows it: the base attributes, then the others given."""
    return {
        "login": user.login,
        "email": user.email,
        "firstName": user.first_name,
        "lastName": user.last_name,
        **user.profile_extra,
    }


def _set_password(user: UserRow, password: str, now: datetime) -> None:
    check_password(password)
    user.password_hash = hashing.hash_password(password)
    user.password_changed_at = now


def _set_status(user: UserRow, status: str, now: datetime) -> None:
    user.status = status
    user.status_changed_at = now
    user.updated_at = now
    if status == ACTIVE and user.activated_at is None:
        user.activated_at = now


def create(
    session: Session,
    org_id: str,
    now: datetime,
    profile: Mapping[str, Any],
    *,
    password: str | None = None,
    activate: bool = True,
) -> UserRow:
    """A new user, ``STAGED``, or activated: ``ACTIVE`` with a password, else ``PROVISIONED``."""
    checked = profiles.check(profile)
    _check_login_free(session, org_id, checked.login, None)
    user = UserRow(
        id=ids.okta_id(ids.USER, now),
        org_id=org_id,
        status=STAGED,
        password_hash=None,
        created_at=now,
        updated_at=now,
        activated_at=None,
        status_changed_at=None,
        last_login_at=None,
        password_changed_at=None,
    )
    _apply_profile(user, checked)
    if password is not None:
        _set_password(user, password, now)
    if activate:
        _set_status(user, ACTIVE if user.password_hash else PROVISIONED, now)
    session.add(user)
    session.flush()
    return user


def find(session: Session, org_id: str, id_or_login: str) -> UserRow:
    """A user of the org by id or by login (whatever its case), as Okta's paths accept."""
    user = session.scalars(
        select(UserRow).where(
            UserRow.org_id == org_id,
            or_(UserRow.id == id_or_login, UserRow.login_key == id_or_login.lower()),
        )
    ).first()
    if user is None:
        raise NotFound(id_or_login, "User")
    return user


def update(
    session: Session,
    user: UserRow,
    now: datetime,
    profile: Mapping[str, Any] | None,
    *,
    password: str | None = None,
    replace: bool = False,
) -> UserRow:
    """Change the profile (merged into the current one, or ``replace`` it) and the password."""
    if user.status == DEPROVISIONED:
        raise NotAllowedInStatus(["The user is deactivated; activate the user first."])
    if profile is not None:
        merged = dict(profile) if replace else {**profile_of(user), **profile}
        checked = profiles.check(merged)
        _check_login_free(session, user.org_id, checked.login, user.id)
        before = profile_of(user)
        _apply_profile(user, checked)
        if profile_of(user) != before:
            outbox.user_profile_changed(session, user.id, now)
    if password is not None:
        _set_password(user, password, now)
    user.updated_at = now
    session.flush()
    return user


def activate(user: UserRow, now: datetime) -> None:
    if user.status in (ACTIVE, SUSPENDED):
        raise AlreadyActive()
    if user.status not in (STAGED, DEPROVISIONED):
        raise InvalidInput(
            f"Activation failed: the user is {user.status}; only STAGED or DEPROVISIONED "
            "users can be activated (reactivate a PROVISIONED one)"
        )
    _set_status(user, ACTIVE if user.password_hash else PROVISIONED, now)
    outbox.user_lifecycle_changed(user, now, active=True)


def reactivate(user: UserRow, now: datetime) -> None:
    if user.status != PROVISIONED:
        raise InvalidInput(
            f"Reactivation failed: the user is {user.status}; only PROVISIONED users can be "
            "reactivated"
        )
    user.updated_at = now


def deactivate(user: UserRow, now: datetime) -> None:
    if user.status == DEPROVISIONED:
        raise InvalidInput("Deactivation failed: the user is already deactivated")
    _set_status(user, DEPROVISIONED, now)
    outbox.user_lifecycle_changed(user, now, active=False)


def suspend(user: UserRow, now: datetime) -> None:
    if user.status != ACTIVE:
        raise InvalidInput(f"Cannot suspend a user that is not active (the user is {user.status})")
    _set_status(user, SUSPENDED, now)
    outbox.user_lifecycle_changed(user, now, active=False)


def unsuspend(user: UserRow, now: datetime) -> None:
    if user.status != SUSPENDED:
        raise InvalidInput(
            f"Cannot unsuspend a user that is not suspended (the user is {user.status})"
        )
    _set_status(user, ACTIVE, now)
    outbox.user_lifecycle_changed(user, now, active=True)


def remove(session: Session, user: UserRow) -> None:
    """Delete a deactivated user, and with it their memberships, assignments and tokens."""
    if user.status != DEPROVISIONED:
        raise InvalidInput("Only a deactivated user can be deleted; deactivate the user first")
    session.delete(user)
    session.flush()


def check_not_self(user: UserRow, actor: UserRow, action: str) -> None:
    """An admin cannot lock themselves out: their own account is not theirs to end."""
    if user.id == actor.id:
        raise Forbidden(causes=[f"An administrator cannot {action} their own account."])


def grant_super_admin(session: Session, user: UserRow, now: datetime) -> AdminRoleRow:
    role = AdminRoleRow(
        id=ids.okta_id(ids.ROLE_ASSIGNMENT, now),
        org_id=user.org_id,
        user_id=user.id,
        type=SUPER_ADMIN,
        created_at=now,
    )
    session.add(role)
    session.flush()
    return role


#: Built once: every request of the admin API checks its caller's role.
_SUPER_ADMIN_ROLE = select(AdminRoleRow.id).where(
    AdminRoleRow.user_id == bindparam("user_id"), AdminRoleRow.type == SUPER_ADMIN
)


def is_super_admin(session: Session, user: UserRow) -> bool:
    return session.scalars(_SUPER_ADMIN_ROLE, {"user_id": user.id}).first() is not None


def list_statement(
    org_id: str,
    *,
    q: str | None = None,
    filter: str | None = None,
    search: str | None = None,
) -> Select[UserRow]:
    """The org's users in id (creation) order, narrowed as Okta's list narrows them.

    Without ``filter`` or ``search``, deactivated users are left out, as in Okta.
    """
    conditions: list[ColumnElement[bool]] = [UserRow.org_id == org_id]
    if search is not None:
        conditions.append(queries.condition("search", search, SEARCH_ATTRIBUTES))
    if filter is not None:
        conditions.append(queries.condition("filter", filter, FILTER_ATTRIBUTES))
    if search is None and filter is None:
        conditions.append(UserRow.status != DEPROVISIONED)
    if q is not None:
        conditions.append(
            queries.starts_with_any(q, [UserRow.first_name, UserRow.last_name, UserRow.email])
        )
    return select(UserRow).where(*conditions).order_by(UserRow.id)
