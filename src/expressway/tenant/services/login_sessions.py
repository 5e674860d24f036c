"""Login sessions: what lets a browser that signed in once skip the login pages next time.

The cookie holds a random secret; the row keeps only its SHA-256 digest, so a copy of the
database opens no session. A session lasts at most the tenant's ``session_lifetime`` hours from
sign-in, and ends earlier after ``idle_session_lifetime`` hours without use (Auth0's settings of
the same names). A revoked session, an expired one, or one of a blocked user is no session.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from expressway import hashing, ids
from expressway.tenant.rows import LoginSessionRow, UserRow
from expressway.tenant.services import backchannel_logout, tenant_settings
from expressway.tenant.services.backchannel_logout import SESSION_REVOKED

COOKIE_NAME = "expressway_tenant_session"


@dataclass(frozen=True)
class Lifetimes:
    absolute: timedelta
    idle: timedelta


@dataclass
class NewSession:
    row: LoginSessionRow
    #: The cookie value: given to the browser once, never stored.
    secret: str


def lifetimes(session: Session) -> Lifetimes:
    """The tenant's session lifetimes, read from its settings at each use."""
    settings = tenant_settings.read(session)
    return Lifetimes(
        absolute=timedelta(hours=float(settings["session_lifetime"])),
        idle=timedelta(hours=float(settings["idle_session_lifetime"])),
    )


def create_session(
    session: Session, now: datetime, *, user_id: str, connection: str, auth_time: datetime
) -> NewSession:
    secret = secrets.token_urlsafe(32)
    row = LoginSessionRow(
        id=ids.prefixed_id("ses", 24),
        secret_hash=hashing.hash_token(secret),
        user_id=user_id,
        connection=connection,
        auth_time=auth_time,
        created_at=now,
        last_active_at=now,
        expires_at=now + lifetimes(session).absolute,
        revoked_at=None,
    )
    session.add(row)
    session.flush()
    return NewSession(row, secret)


def find_live_session(
    session: Session, now: datetime, secret: str | None
) -> LoginSessionRow | None:
    """The session a cookie opens, if it is still one: not revoked, not past its absolute or idle
    lifetime, and its user not blocked."""
    if not secret or len(secret) > 128:
        return None
    row = session.scalars(
        select(LoginSessionRow).where(LoginSessionRow.secret_hash == hashing.hash_token(secret))
    ).first()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    if row.last_active_at + lifetimes(session).idle <= now:
        return None
    user = session.get(UserRow, row.user_id)
    if user is None or user.blocked:
        return None
    return row


def touch_session(row: LoginSessionRow, now: datetime) -> None:
    """Record a use, which restarts the idle lifetime (never the absolute one)."""
    row.last_active_at = now


def revoke_session(
    session: Session, now: datetime, session_id: str, *, initiator: str = SESSION_REVOKED
) -> bool:
    """End one session; answers whether it was live until now. The applications that received
    tokens through it and subscribe to ``initiator`` get a Logout Token, written to the outbox in
    this transaction."""
    return bool(_revoke(session, now, LoginSessionRow.id == session_id, initiator))


def revoke_user_sessions(
    session: Session, now: datetime, user_id: str, *, initiator: str = SESSION_REVOKED
) -> int:
    """End every session of a user (blocked, deprovisioned, deleted, Universal Logout); answers
    how many were not yet revoked. Back-channel logout as for :func:`revoke_session`; a
    deactivated account is ``initiator="account-deactivated"``, a deleted one
    ``"account-deleted"``, a Universal Logout ``"idp-logout"``."""
    return _revoke(session, now, LoginSessionRow.user_id == user_id, initiator)


def revoke_connection_users_sessions(
    session: Session, now: datetime, connection: str, *, initiator: str
) -> int:
    """End every session of every user of ``connection`` (the connection is being deleted, and
    its users with it); answers how many were not yet revoked. Back-channel logout as for
    :func:`revoke_session`."""
    users = select(UserRow.user_id).where(UserRow.connection == connection)
    return _revoke(session, now, LoginSessionRow.user_id.in_(users), initiator)


def _revoke(session: Session, now: datetime, which: ColumnElement[bool], initiator: str) -> int:
    """Revoke the live sessions ``which`` selects and queue their Logout Tokens, in one
    transaction; answers how many were revoked. The outbox rows hold the ``sub`` and ``sid``
    themselves: a user deleted right after (which deletes the sessions) leaves them standing."""
    ended = session.execute(
        update(LoginSessionRow)
        .where(which, LoginSessionRow.revoked_at.is_(None))
        .values(revoked_at=now)
        .returning(LoginSessionRow.id, LoginSessionRow.user_id)
        .execution_options(synchronize_session="fetch")
    ).all()
    backchannel_logout.enqueue(session, now, [(row.id, row.user_id) for row in ended], initiator)
    return len(ended)
