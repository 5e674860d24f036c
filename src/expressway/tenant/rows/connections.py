from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from expressway.tenant.rows.base import TenantBase


class ConnectionRow(TenantBase):
    """An identity source: the database (``auth0``) or an upstream IdP (``okta``, ``oidc``)."""

    __tablename__ = "connections"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(128))
    strategy: Mapped[str] = mapped_column(String(32))
    #: Strategy options without secrets; ``client_secret`` lives sealed in the next column.
    options: Mapped[dict[str, Any]] = mapped_column()
    client_secret_sealed: Mapped[str | None] = mapped_column()
    realms: Mapped[list[Any]] = mapped_column()
    is_domain_connection: Mapped[bool] = mapped_column(Boolean, default=False)
    show_as_button: Mapped[bool | None] = mapped_column(Boolean)
    connection_metadata: Mapped[dict[str, Any]] = mapped_column("metadata")
    created_at: Mapped[datetime] = mapped_column()


class ConnectionClientRow(TenantBase):
    """A client for which a connection is enabled."""

    __tablename__ = "connection_clients"

    connection_id: Mapped[str] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    client_id: Mapped[str] = mapped_column(
        ForeignKey("clients.client_id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ScimConfigurationRow(TenantBase):
    __tablename__ = "scim_configurations"

    connection_id: Mapped[str] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True
    )
    user_id_attribute: Mapped[str] = mapped_column(String(128))
    #: ``[{"auth0": "...", "scim": "..."}]``
    mapping: Mapped[list[Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()


class ScimTokenRow(TenantBase):
    """A bearer token for a connection's SCIM endpoint; only its SHA-256 digest is stored."""

    __tablename__ = "scim_tokens"

    token_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    connection_id: Mapped[str] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column()
    valid_until: Mapped[datetime | None] = mapped_column()
    last_used_at: Mapped[datetime | None] = mapped_column()
