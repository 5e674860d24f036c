from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from expressway.workforce.rows.base import WorkforceBase, org_fk


class UserRow(WorkforceBase):
    """A person in an org, with Okta's base profile and lifecycle status."""

    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(20), org_fk(), index=True)
    #: STAGED, PROVISIONED, ACTIVE, SUSPENDED or DEPROVISIONED.
    status: Mapped[str] = mapped_column(String(16))
    login: Mapped[str] = mapped_column(String(100))
    #: ``login`` lower-cased: Okta logins are unique in an org whatever their case.
    login_key: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(100))
    first_name: Mapped[str] = mapped_column(String(50))
    last_name: Mapped[str] = mapped_column(String(50))
    #: The other attributes of Okta's base profile that were given (``mobilePhone``, ``title``…).
    profile_extra: Mapped[dict[str, Any]] = mapped_column()
    #: Argon2id; ``None`` until the user has a password.
    password_hash: Mapped[str | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()
    activated_at: Mapped[datetime | None] = mapped_column()
    status_changed_at: Mapped[datetime | None] = mapped_column()
    last_login_at: Mapped[datetime | None] = mapped_column()
    password_changed_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (UniqueConstraint("org_id", "login_key"),)


class AdminRoleRow(WorkforceBase):
    """An administrator role held by a user in their org (only ``SUPER_ADMIN`` for now)."""

    __tablename__ = "admin_roles"

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(20), org_fk(), index=True)
    user_id: Mapped[str] = mapped_column(String(20), ForeignKey("users.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column()

    __table_args__ = (UniqueConstraint("user_id", "type"),)
