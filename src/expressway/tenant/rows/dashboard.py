"""Rows of the tenant's dashboard: its own admin accounts and their browser sessions.

Dashboard admins are not users of the tenant: they sign in to ``/dashboard`` only, never through
Universal Login, and hold no role. Their passwords are Argon2id hashes; a session cookie is
stored as its SHA-256 digest, so a copy of the database opens no dashboard.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from expressway.tenant.rows.base import TenantBase


class DashboardAdminRow(TenantBase):
    """An account of the dashboard, made by ``expressway tenant init``."""

    __tablename__ = "dashboard_admins"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: Lower-cased: one account per address, whatever its case.
    email: Mapped[str] = mapped_column(String(320), unique=True)
    #: Argon2id.
    password_hash: Mapped[str] = mapped_column()
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()
    last_login_at: Mapped[datetime | None] = mapped_column()


class DashboardSessionRow(TenantBase):
    """A signed-in dashboard browser (cookie ``expressway_tenant_dashboard``)."""

    __tablename__ = "dashboard_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: SHA-256 of the cookie value.
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    admin_id: Mapped[str] = mapped_column(
        ForeignKey("dashboard_admins.id", ondelete="CASCADE"), index=True
    )
    #: The synchronizer token every form of this session carries.
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column()
    last_active_at: Mapped[datetime] = mapped_column()
    #: The absolute end; the idle end is ``last_active_at`` plus the idle lifetime.
    expires_at: Mapped[datetime] = mapped_column(index=True)
    revoked_at: Mapped[datetime | None] = mapped_column()
