from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, ForeignKeyConstraint, String
from sqlalchemy.orm import Mapped, mapped_column

from expressway.tenant.rows.base import TenantBase


class OrganizationRow(TenantBase):
    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(50), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(255))
    #: Auth0's organization metadata: string values only; ``domains`` is comma-separated.
    org_metadata: Mapped[dict[str, Any]] = mapped_column("metadata")
    branding: Mapped[dict[str, Any] | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column()


class OrganizationMemberRow(TenantBase):
    __tablename__ = "organization_members"

    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.user_id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column()


class OrganizationMemberRoleRow(TenantBase):
    """A role a member holds within one organization."""

    __tablename__ = "organization_member_roles"

    organization_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    role_id: Mapped[str] = mapped_column(
        ForeignKey("roles.id", ondelete="CASCADE"), primary_key=True, index=True
    )

    __table_args__ = (
        ForeignKeyConstraint(
            ["organization_id", "user_id"],
            ["organization_members.organization_id", "organization_members.user_id"],
            ondelete="CASCADE",
        ),
    )


class OrganizationConnectionRow(TenantBase):
    """A connection enabled on an organization."""

    __tablename__ = "organization_connections"

    organization_id: Mapped[str] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), primary_key=True
    )
    connection_id: Mapped[str] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    assign_membership_on_login: Mapped[bool] = mapped_column(Boolean, default=False)
    show_as_button: Mapped[bool] = mapped_column(Boolean, default=True)
    is_signup_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
