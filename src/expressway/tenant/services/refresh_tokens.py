"""Refresh tokens with rotation (RFC 9700 §4.14.2).

Every token belongs to a family started by one code exchange. Each use answers a new token of the
family and marks the presented one used; a used token presented again means two parties hold the
family (one of them a thief), so the whole family is revoked. A family never outlives the
absolute lifetime of its first token: rotation renews the token, not the grant.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, select, update
from sqlalchemy.orm import Session

from expressway import hashing, ids
from expressway.tenant.rows import RefreshTokenRow

#: Auth0's default absolute lifetime of a rotating refresh token.
REFRESH_TOKEN_LIFETIME = timedelta(days=30)


@dataclass(frozen=True)
class IssuedRefreshToken:
    """A new refresh token: the secret (shown once, to the client) and its row."""

    token: str
    row: RefreshTokenRow


def issue(
    session: Session,
    now: datetime,
    *,
    client_id: str,
    user_id: str,
    session_id: str | None,
    scope: list[Any],
    audience: str | None,
    organization_id: str | None,
    auth_time: datetime,
) -> IssuedRefreshToken:
    """Start a new family with one token."""
    return _store(
        session,
        now,
        family_id=ids.random_id(24),
        expires_at=now + REFRESH_TOKEN_LIFETIME,
        client_id=client_id,
        user_id=user_id,
        session_id=session_id,
        scope=scope,
        audience=audience,
        organization_id=organization_id,
        auth_time=auth_time,
    )


def find_for_exchange(session: Session, token: str) -> RefreshTokenRow | None:
    """The row of ``token``, locked until the transaction ends so that two concurrent
    exchanges of one token are serialised and the second sees the first one's rotation."""
    return session.scalars(
        select(RefreshTokenRow)
        .where(RefreshTokenRow.token_hash == hashing.hash_token(token))
        .with_for_update()
    ).first()


def is_active(row: RefreshTokenRow, now: datetime) -> bool:
    return row.revoked_at is None and row.used_at is None and row.expires_at > now


def rotate(session: Session, now: datetime, row: RefreshTokenRow) -> IssuedRefreshToken:
    """Mark ``row`` used and answer its successor: same family, same grant, same expiry."""
    row.used_at = now
    return _store(
        session,
        now,
        family_id=row.family_id,
        expires_at=row.expires_at,
        client_id=row.client_id,
        user_id=row.user_id,
        session_id=row.session_id,
        scope=list(row.scope),
        audience=row.audience,
        organization_id=row.organization_id,
        auth_time=row.auth_time,
    )


def revoke_family(session: Session, now: datetime, family_id: str) -> int:
    """Revoke every token of the family; answer how many were still unrevoked."""
    return _revoke(session, now, RefreshTokenRow.family_id == family_id)


def revoke_user_refresh_tokens(session: Session, now: datetime, user_id: str) -> int:
    """Revoke every refresh token of the user (blocked, deprovisioned, logged out everywhere)."""
    return _revoke(session, now, RefreshTokenRow.user_id == user_id)


def revoke_session_refresh_tokens(session: Session, now: datetime, session_id: str) -> int:
    """Revoke the refresh tokens issued from one login session (at logout)."""
    return _revoke(session, now, RefreshTokenRow.session_id == session_id)


def _revoke(session: Session, now: datetime, which: ColumnElement[bool]) -> int:
    result = session.execute(
        update(RefreshTokenRow)
        .where(which, RefreshTokenRow.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session="fetch")
    )
    count: int = getattr(result, "rowcount", 0)
    return count


def _store(
    session: Session,
    now: datetime,
    *,
    family_id: str,
    expires_at: datetime,
    client_id: str,
    user_id: str,
    session_id: str | None,
    scope: list[Any],
    audience: str | None,
    organization_id: str | None,
    auth_time: datetime,
) -> IssuedRefreshToken:
    token = secrets.token_urlsafe(48)
    row = RefreshTokenRow(
        id=ids.random_id(24),
        token_hash=hashing.hash_token(token),
        family_id=family_id,
        client_id=client_id,
        user_id=user_id,
        session_id=session_id,
        scope=scope,
        audience=audience,
        organization_id=organization_id,
        auth_time=auth_time,
        created_at=now,
        expires_at=expires_at,
    )
    session.add(row)
    session.flush()
    return IssuedRefreshToken(token=token, row=row)
