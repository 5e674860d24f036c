"""Users' browser sessions in an org: started by a sign-in, found by their cookie, ended by a
logout or by an administrator.

The cookie holds a random token; only its SHA-256 is kept, so the session table signs no one in.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from expressway import hashing
from expressway.workforce import ids
from expressway.workforce.rows import RefreshTokenRow, UserRow, UserSessionRow

#: Okta's default maximum session lifetime of its default sign-on policy.
SESSION_LIFETIME = timedelta(hours=2)
SESSION_PREFIX = "102"


def start(session: Session, now: datetime, user: UserRow) -> tuple[UserSessionRow, str]:
    """A new session of ``user`` and the cookie value that carries it (shown once)."""
    token = secrets.token_urlsafe(32)
    row = UserSessionRow(
        id=ids.okta_id(SESSION_PREFIX, now),
        org_id=user.org_id,
        user_id=user.id,
        token_digest=hashing.hash_token(token),
        authenticated_at=now,
        expires_at=now + SESSION_LIFETIME,
        ended_at=None,
    )
    session.add(row)
    session.flush()
    return row, token


def find_active(
    session: Session, now: datetime, org_id: str, token: str | None
) -> UserSessionRow | None:
    """The live session of this org that ``token`` carries, or ``None``.

    A session of another org is not found: each org's sessions are its own.
    """
    if not token or len(token) > 256:
        return None
    row = session.scalars(
        select(UserSessionRow).where(
            UserSessionRow.token_digest == hashing.hash_token(token),
            UserSessionRow.org_id == org_id,
        )
    ).first()
    if row is None or row.ended_at is not None or row.expires_at <= now:
        return None
    return row


def end(row: UserSessionRow, now: datetime) -> None:
    if row.ended_at is None:
        row.ended_at = now


def end_user_sessions(session: Session, now: datetime, org_id: str, user_id: str) -> int:
    """End every live session of a user in an org, and revoke their refresh tokens there (Okta's
    *Clear user sessions* with tokens); answers how many sessions were ended."""
    ended: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(UserSessionRow)
        .where(
            UserSessionRow.org_id == org_id,
            UserSessionRow.user_id == user_id,
            UserSessionRow.ended_at.is_(None),
            UserSessionRow.expires_at > now,
        )
        .values(ended_at=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(RefreshTokenRow)
        .where(
            RefreshTokenRow.org_id == org_id,
            RefreshTokenRow.user_id == user_id,
            RefreshTokenRow.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return int(ended.rowcount or 0)
