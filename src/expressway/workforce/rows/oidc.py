"""What each org's OpenID provider keeps: browser sessions, sign-ins in progress, authorization
codes and refresh tokens.

Every bearer secret (session cookie, transaction cookie, CSRF token, code, refresh token) is
stored as its SHA-256 digest, so a copy of the database signs no one in.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from expressway.workforce.rows.base import WorkforceBase, org_fk


def _user_fk() -> ForeignKey:
    return ForeignKey("users.id", ondelete="CASCADE")


def _app_fk() -> ForeignKey:
    return ForeignKey("apps.id", ondelete="CASCADE")


class UserSessionRow(WorkforceBase):
    """A user's browser session in one org (the ``expressway_workforce_session`` cookie)."""

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(20), org_fk(), index=True)
    user_id: Mapped[str] = mapped_column(String(20), _user_fk(), index=True)
    #: SHA-256 of the cookie's value.
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    #: When the user last proved who they are (OIDC ``auth_time``).
    authenticated_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    ended_at: Mapped[datetime | None] = mapped_column()


class AuthorizationTransactionRow(WorkforceBase):
    """An authorization request waiting for its user to sign in on the login page."""

    __tablename__ = "authorization_transactions"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(20), org_fk(), index=True)
    app_id: Mapped[str] = mapped_column(String(20), _app_fk(), index=True)
    #: SHA-256 of the cookie that binds the transaction to the browser that started it.
    browser_digest: Mapped[str] = mapped_column(String(64))
    #: SHA-256 of the login form's anti-CSRF token.
    csrf_digest: Mapped[str] = mapped_column(String(64))
    #: The checked authorization request (redirect_uri, scope, state, nonce, PKCE, hints).
    request: Mapped[dict[str, Any]] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()


class AuthorizationCodeRow(WorkforceBase):
    """A code issued to a client; redeemed once, within a minute."""

    __tablename__ = "authorization_codes"

    code_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(20), org_fk(), index=True)
    app_id: Mapped[str] = mapped_column(String(20), _app_fk(), index=True)
    user_id: Mapped[str] = mapped_column(String(20), _user_fk(), index=True)
    session_id: Mapped[str | None] = mapped_column(String(20))
    #: Every token issued for this code carries it, so a replayed code can revoke them.
    grant_id: Mapped[str] = mapped_column(String(32), index=True)
    redirect_uri: Mapped[str] = mapped_column()
    scope: Mapped[str] = mapped_column()
    nonce: Mapped[str | None] = mapped_column()
    code_challenge: Mapped[str | None] = mapped_column(String(64))
    code_challenge_method: Mapped[str | None] = mapped_column(String(8))
    authenticated_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    redeemed_at: Mapped[datetime | None] = mapped_column()


class RefreshTokenRow(WorkforceBase):
    """A refresh token; rotated on each use, and the whole grant revoked when a used one returns."""

    __tablename__ = "refresh_tokens"

    token_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(20), org_fk(), index=True)
    app_id: Mapped[str] = mapped_column(String(20), _app_fk(), index=True)
    user_id: Mapped[str] = mapped_column(String(20), _user_fk(), index=True)
    grant_id: Mapped[str] = mapped_column(String(32), index=True)
    scope: Mapped[str] = mapped_column()
    authenticated_at: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    #: Set when the token was exchanged for its successor.
    rotated_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()
