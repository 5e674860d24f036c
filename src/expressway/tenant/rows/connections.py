from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, validates

from expressway.tenant.rows.base import TenantBase

#: The connection metadata key that marks a connection as made by Express Configuration, and for
#: which organization (:mod:`expressway.tenant.express_configuration.service`).
EXPRESS_CONFIGURATION_ORGANIZATION_KEY = "express_configuration_organization_id"


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
    #: Indexed: a sign-in page without an organization shows these, among thousands of others.
    show_as_button: Mapped[bool | None] = mapped_column(Boolean, index=True)
    connection_metadata: Mapped[dict[str, Any]] = mapped_column("metadata")
    #: The metadata's :data:`EXPRESS_CONFIGURATION_ORGANIZATION_KEY`, kept in a column of its own
    #: by :meth:`_metadata_written` so that an organization's connections are found through an
    #: index: Express Configuration looks them up at every call, and a tenant holds one such
    #: connection for each customer that ran it, thousands of them. As long as a metadata value
    #: may be (the Management API's 255 characters).
    express_configuration_organization_id: Mapped[str | None] = mapped_column(
        String(255), index=True
    )
    created_at: Mapped[datetime] = mapped_column()

    @validates("connection_metadata")
    def _metadata_written(self, _key: str, metadata: dict[str, Any]) -> dict[str, Any]:
        # Every write of the metadata passes here (a JSON column is only ever replaced whole:
        # changes made inside the dictionary are not tracked, so not stored, whatever the column).
        marked = metadata.get(EXPRESS_CONFIGURATION_ORGANIZATION_KEY)
        self.express_configuration_organization_id = marked if isinstance(marked, str) else None
        return metadata


class ConnectionDomainAliasRow(TenantBase):
    """An e-mail domain an enterprise connection claims (one of its ``options.domain_aliases``),
    in a table of its own so that Home Realm Discovery finds the connection through an index:
    every customer that ran Express Configuration adds a connection that claims its domains."""

    __tablename__ = "connection_domain_aliases"

    #: Lower-cased, as the connections service normalises the options.
    domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    connection_id: Mapped[str] = mapped_column(
        ForeignKey("connections.id", ondelete="CASCADE"), primary_key=True, index=True
    )


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
