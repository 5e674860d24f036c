from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from expressway.tenant.rows.base import TenantBase


class ResourceServerRow(TenantBase):
    """An API: an audience that access tokens can be issued for, with its permissions."""

    __tablename__ = "resource_servers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    identifier: Mapped[str] = mapped_column(String(600), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    #: ``[{"value": "...", "description": "..."}]``
    scopes: Mapped[list[Any]] = mapped_column()
    signing_alg: Mapped[str] = mapped_column(String(16))
    token_lifetime: Mapped[int] = mapped_column()
    token_lifetime_for_web: Mapped[int] = mapped_column()
    token_dialect: Mapped[str] = mapped_column(String(32))
    enforce_policies: Mapped[bool] = mapped_column(Boolean, default=False)
    allow_offline_access: Mapped[bool] = mapped_column(Boolean, default=False)
    skip_consent_for_verifiable_first_party_clients: Mapped[bool] = mapped_column(
        Boolean, default=False
    )
    is_system: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column()
