"""Authorization codes and refresh tokens: issued, redeemed once, rotated, revoked.

A code and every refresh token that descends from it share a ``grant_id``. A code redeemed twice
or a rotated-out refresh token presented again means one of the copies was stolen (RFC 6749
§4.1.2, RFC 9700 §4.14.2): the grant's refresh tokens are then all revoked.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlalchemy.orm import Session

from expressway import hashing
from expressway.oauth.errors import InvalidGrant
from expressway.workforce.rows import AppRow, AuthorizationCodeRow, RefreshTokenRow, UserRow

CODE_LIFETIME = timedelta(seconds=60)
#: Okta's default refresh token lifetime in its org authorization server's policy.
REFRESH_TOKEN_LIFETIME = timedelta(days=90)


@dataclass(frozen=True)
class CodeRequest:
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None


def issue_code(
    session: Session,
    now: datetime,
    app: AppRow,
    user: UserRow,
    session_id: str | None,
    authenticated_at: datetime,
    request: CodeRequest,
) -> str:
    code = secrets.token_urlsafe(32)
    session.add(
        AuthorizationCodeRow(
            code_digest=hashing.hash_token(code),
            org_id=app.org_id,
            app_id=app.id,
            user_id=user.id,
            session_id=session_id,
            grant_id=secrets.token_urlsafe(18),
            redirect_uri=request.redirect_uri,
            scope=request.scope,
            nonce=request.nonce,
            code_challenge=request.code_challenge,
            code_challenge_method=request.code_challenge_method,
            authenticated_at=authenticated_at,
            expires_at=now + CODE_LIFETIME,
            redeemed_at=None,
        )
    )
    session.flush()
    return code


def revoke_grant(session: Session, now: datetime, grant_id: str) -> None:
    session.execute(
        update(RefreshTokenRow)
        .where(RefreshTokenRow.grant_id == grant_id, RefreshTokenRow.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )


def redeem_code(session: Session, now: datetime, app: AppRow, code: str) -> AuthorizationCodeRow:
    """The code's row, marked redeemed; a second redemption revokes what the first issued.

    The caller must commit even when this raises, so that the revocation holds.
    """
    row = session.get(AuthorizationCodeRow, hashing.hash_token(code), with_for_update=True)
    if row is None or row.org_id != app.org_id or row.app_id != app.id:
        raise InvalidGrant("The authorization code is invalid or has expired.")
    if row.redeemed_at is not None:
        revoke_grant(session, now, row.grant_id)
        raise InvalidGrant("The authorization code has already been used.")
    row.redeemed_at = now
    session.flush()
    if row.expires_at <= now:
        raise InvalidGrant("The authorization code is invalid or has expired.")
    return row


def issue_refresh_token(
    session: Session,
    now: datetime,
    app: AppRow,
    user_id: str,
    grant_id: str,
    scope: str,
    authenticated_at: datetime,
) -> str:
    token = secrets.token_urlsafe(32)
    session.add(
        RefreshTokenRow(
            token_digest=hashing.hash_token(token),
            org_id=app.org_id,
            app_id=app.id,
            user_id=user_id,
            grant_id=grant_id,
            scope=scope,
            authenticated_at=authenticated_at,
            created_at=now,
            expires_at=now + REFRESH_TOKEN_LIFETIME,
            rotated_at=None,
            revoked_at=None,
        )
    )
    session.flush()
    return token


def rotate_refresh_token(
    session: Session, now: datetime, app: AppRow, token: str
) -> RefreshTokenRow:
    """The presented token's row, now rotated out; the caller issues its successor.

    The caller must commit even when this raises, so that a replay's revocation holds.
    """
    row = session.get(RefreshTokenRow, hashing.hash_token(token), with_for_update=True)
    if row is None or row.org_id != app.org_id or row.app_id != app.id:
        raise InvalidGrant("The refresh token is invalid or expired.")
    if row.rotated_at is not None:
        revoke_grant(session, now, row.grant_id)
        raise InvalidGrant("The refresh token is invalid or expired.")
    if row.revoked_at is not None or row.expires_at <= now:
        raise InvalidGrant("The refresh token is invalid or expired.")
    row.rotated_at = now
    session.flush()
    return row
