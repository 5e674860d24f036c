"""Rows of the SCIM server: the users and groups a connection's IdP provisions.

A SCIM user is a tenant user of that connection (``user_id``) plus the SCIM resource as the IdP
sent it (``resource``, without ``id``, ``meta`` and write-only attributes such as ``password``,
which is never stored). The columns next to it hold what queries look up through an index: the
lower-cased ``userName`` (unique per connection, RFC 7643 §4.1.1), ``externalId``, ``active``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from expressway.tenant.rows.base import TenantBase


class ScimUserRow(TenantBase):
    __tablename__ = "scim_users"

    #: The SCIM ``id``: opaque, assigned by the tenant.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    connection_id: Mapped[str] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.user_id", ondelete="CASCADE"), unique=True
    )
    user_name: Mapped[str] = mapped_column(String(512))
    #: ``user_name`` NFC-normalised and lower-cased: the form filters compare.
    user_name_key: Mapped[str] = mapped_column(String(512))
    external_id: Mapped[str | None] = mapped_column(String(512))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    resource: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()
    #: Incremented on every change: ``meta.version`` and the ETag.
    version: Mapped[int] = mapped_column(default=1)

    __table_args__ = (
        UniqueConstraint("connection_id", "user_name_key"),
        Index("ix_scim_users_connection_external_id", "connection_id", "external_id"),
        Index("ix_scim_users_connection_created", "connection_id", "created_at", "id"),
    )


class ScimGroupRow(TenantBase):
    __tablename__ = "scim_groups"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    connection_id: Mapped[str] = mapped_column(ForeignKey("connections.id", ondelete="CASCADE"))
    display_name: Mapped[str] = mapped_column(String(512))
    #: ``display_name`` NFC-normalised and lower-cased: unique per connection.
    display_name_key: Mapped[str] = mapped_column(String(512))
    external_id: Mapped[str | None] = mapped_column(String(512))
    resource: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()
    version: Mapped[int] = mapped_column(default=1)

    __table_args__ = (
        UniqueConstraint("connection_id", "display_name_key"),
        Index("ix_scim_groups_connection_external_id", "connection_id", "external_id"),
        Index("ix_scim_groups_connection_created", "connection_id", "created_at", "id"),
    )


class ScimGroupMemberRow(TenantBase):
    """A SCIM user of the group's connection in a group."""

    __tablename__ = "scim_group_members"

    group_id: Mapped[str] = mapped_column(
        ForeignKey("scim_groups.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[str] = mapped_column(
        ForeignKey("scim_users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    #: ``display`` as the IdP sent it, echoed back.
    display: Mapped[str | None] = mapped_column(String(512))
