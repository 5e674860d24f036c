"""Rows of OpenID Connect Back-Channel Logout: which applications each login session gave tokens
to, and the outbox of Logout Tokens still to deliver.

The outbox keeps what a Logout Token states (audience, subject, session), never a signed token:
each attempt signs a fresh one, so a retry an hour later is not an expired token, and a copy of
the database holds nothing a receiver would accept.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from expressway.tenant.rows.base import TenantBase


class LoginSessionClientRow(TenantBase):
    """An application that received tokens through a login session: it gets a Logout Token
    when the session ends."""

    __tablename__ = "login_session_clients"

    session_id: Mapped[str] = mapped_column(
        ForeignKey("login_sessions.id", ondelete="CASCADE"), primary_key=True
    )
    client_id: Mapped[str] = mapped_column(
        ForeignKey("clients.client_id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column()


class BackchannelLogoutRow(TenantBase):
    """A Logout Token to deliver to one application's back-channel logout URL."""

    __tablename__ = "backchannel_logouts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.client_id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(String(2048))
    #: The token's ``sub`` (the tenant user id) and ``sid`` (the ended login session).
    subject: Mapped[str] = mapped_column(String(255))
    session_id: Mapped[str | None] = mapped_column(String(64))
    #: What ended the session, in Auth0's initiator names (``rp-logout``, ``idp-logout``, …).
    initiator: Mapped[str] = mapped_column(String(32))
    #: ``pending`` until delivered (``delivered``) or given up on (``failed``).
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column()
    #: When the next attempt is due; while an attempt runs, when its claim lapses.
    next_attempt_at: Mapped[datetime] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (Index("ix_backchannel_logouts_due", "state", "next_attempt_at"),)
