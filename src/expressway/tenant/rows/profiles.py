from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from expressway.tenant.rows.base import TenantBase


class ConnectionProfileRow(TenantBase):
    """How Express Configuration shapes the connections it makes (``cop_…``)."""

    __tablename__ = "connection_profiles"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    #: ``{"show_as_button": "none|optional|required", "assign_membership_on_login": ...}``
    organization: Mapped[dict[str, Any]] = mapped_column()
    connection_name_prefix_template: Mapped[str] = mapped_column(String(128))
    enabled_features: Mapped[list[Any]] = mapped_column()
    connection_config: Mapped[dict[str, Any]] = mapped_column()
    strategy_overrides: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()


class UserAttributeProfileRow(TenantBase):
    """How upstream user attributes map onto tenant users (``uap_…``)."""

    __tablename__ = "user_attribute_profiles"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    user_id: Mapped[dict[str, Any]] = mapped_column()
    user_attributes: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()
