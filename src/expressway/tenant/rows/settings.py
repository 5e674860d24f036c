from __future__ import annotations

from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from expressway.tenant.rows.base import TenantBase


class TenantSettingsRow(TenantBase):
    """The tenant's settings document (``/api/v2/tenants/settings``); a single row."""

    __tablename__ = "tenant_settings"

    id: Mapped[str] = mapped_column(String(16), primary_key=True, default="tenant")
    settings: Mapped[dict[str, Any]] = mapped_column()
