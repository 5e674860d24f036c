"""Rows of the authorization server: login sessions, authorization transactions, codes, refresh
tokens, consents and upstream (federated) logins.

Every bearer secret among them (session cookie, code, refresh token, upstream state) is stored as
its SHA-256 digest: a copy of the database hands out no usable credential.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from expressway.tenant.rows.base import TenantBase


class LoginSessionRow(TenantBase):
    """A user's session at the tenant (cookie ``expressway_tenant_session``)."""

    __tablename__ = "login_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: SHA-256 of the cookie value.
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.user_id", ondelete="CASCADE"), index=True
    )
    #: The connection the user authenticated with (``Username-Password-Authentication``, …).
    connection: Mapped[str] = mapped_column(String(128))
    auth_time: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column()
    last_active_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column(index=True)
    revoked_at: Mapped[datetime | None] = mapped_column()


class AuthorizationRequestRow(TenantBase):
    """An ``/authorize`` request in progress: the parameters, and how far the login has come."""

    __tablename__ = "authorization_requests"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.client_id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(String(2048))
    response_mode: Mapped[str] = mapped_column(String(16))
    #: The validated request parameters: scope, audience, state, nonce, code_challenge,
    #: code_challenge_method, prompt, max_age, login_hint, organization, connection.
    params: Mapped[dict[str, Any]] = mapped_column()
    #: Anti-CSRF token of the login and consent forms of this transaction.
    csrf_token: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str | None] = mapped_column(String(255))
    session_id: Mapped[str | None] = mapped_column(String(64))
    organization_id: Mapped[str | None] = mapped_column(String(64))
    connection: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column(index=True)
    completed_at: Mapped[datetime | None] = mapped_column()


class AuthorizationCodeRow(TenantBase):
    """An authorization code (RFC 6749 §4.1.2): single use, short-lived, bound to its request."""

    __tablename__ = "authorization_codes"

    code_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.client_id", ondelete="CASCADE"))
    redirect_uri: Mapped[str] = mapped_column(String(2048))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.user_id", ondelete="CASCADE"))
    session_id: Mapped[str | None] = mapped_column(String(64))
    scope: Mapped[list[Any]] = mapped_column()
    audience: Mapped[str | None] = mapped_column(String(600))
    nonce: Mapped[str | None] = mapped_column(String(512))
    code_challenge: Mapped[str | None] = mapped_column(String(128))
    code_challenge_method: Mapped[str | None] = mapped_column(String(8))
    organization_id: Mapped[str | None] = mapped_column(String(64))
    auth_time: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column(index=True)
    #: Set on first use; a second use is refused and revokes what the first one issued.
    used_at: Mapped[datetime | None] = mapped_column()
    #: The refresh-token family the code's exchange started, to revoke on code reuse.
    refresh_family_id: Mapped[str | None] = mapped_column(String(64))


class RefreshTokenRow(TenantBase):
    """A refresh token. Rotation: each use answers a new one of the same family and marks this one
    used; presenting a used one again revokes the whole family (RFC 9700 §4.14.2)."""

    __tablename__ = "refresh_tokens"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    family_id: Mapped[str] = mapped_column(String(64), index=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.client_id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.user_id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[str | None] = mapped_column(String(64), index=True)
    scope: Mapped[list[Any]] = mapped_column()
    audience: Mapped[str | None] = mapped_column(String(600))
    organization_id: Mapped[str | None] = mapped_column(String(64))
    auth_time: Mapped[datetime] = mapped_column()
    created_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column()
    used_at: Mapped[datetime | None] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class ConsentRow(TenantBase):
    """Scopes a user has consented to give a client for an audience."""

    __tablename__ = "consents"

    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True
    )
    client_id: Mapped[str] = mapped_column(
        ForeignKey("clients.client_id", ondelete="CASCADE"), primary_key=True
    )
    audience: Mapped[str] = mapped_column(String(600), primary_key=True)
    scopes: Mapped[list[Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()


class UpstreamLoginRow(TenantBase):
    """A redirect to an upstream IdP (``okta``/``oidc`` connection) awaiting ``/login/callback``."""

    __tablename__ = "upstream_logins"

    #: SHA-256 of the ``state`` sent upstream.
    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    authorization_request_id: Mapped[str] = mapped_column(
        ForeignKey("authorization_requests.id", ondelete="CASCADE")
    )
    connection_id: Mapped[str] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    nonce: Mapped[str] = mapped_column(String(128))
    #: PKCE verifier for the upstream exchange, sealed at rest.
    code_verifier_sealed: Mapped[str] = mapped_column()
    created_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column(index=True)
    used_at: Mapped[datetime | None] = mapped_column()
