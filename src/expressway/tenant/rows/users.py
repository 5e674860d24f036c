from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from expressway.tenant.rows.base import TenantBase, Timestamps


class UserRow(Timestamps, TenantBase):
    """A user of the tenant; ``user_id`` is ``{provider}|{id}`` as in Auth0."""

    __tablename__ = "users"

    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    #: Looked up through the unique index on (connection, email_key), whose first column it is.
    connection: Mapped[str] = mapped_column(String(128))
    provider: Mapped[str] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(320))
    #: ``email`` lower-cased: one account per e-mail per connection, whatever its case.
    email_key: Mapped[str | None] = mapped_column(String(320), index=True)
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    username: Mapped[str | None] = mapped_column(String(128))
    name: Mapped[str | None] = mapped_column(String(300))
    given_name: Mapped[str | None] = mapped_column(String(150))
    family_name: Mapped[str | None] = mapped_column(String(150))
    nickname: Mapped[str | None] = mapped_column(String(300))
    picture: Mapped[str | None] = mapped_column(String(2048))
    #: Argon2id hash, for database-connection users only.
    password_hash: Mapped[str | None] = mapped_column()
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    app_metadata: Mapped[dict[str, Any]] = mapped_column()
    user_metadata: Mapped[dict[str, Any]] = mapped_column()
    last_login: Mapped[datetime | None] = mapped_column()
    logins_count: Mapped[int] = mapped_column(default=0)

    __table_args__ = (UniqueConstraint("connection", "email_key"),)
