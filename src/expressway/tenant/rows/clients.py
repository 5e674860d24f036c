from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, validates

from expressway.tenant.rows.base import TenantBase, Timestamps


class ClientRow(Timestamps, TenantBase):
    """An application (OAuth client) of the tenant."""

    __tablename__ = "clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(140))
    app_type: Mapped[str | None] = mapped_column(String(32))
    is_first_party: Mapped[bool] = mapped_column(Boolean, default=True)
    callbacks: Mapped[list[Any]] = mapped_column()
    allowed_logout_urls: Mapped[list[Any]] = mapped_column()
    web_origins: Mapped[list[Any]] = mapped_column()
    allowed_origins: Mapped[list[Any]] = mapped_column()
    grant_types: Mapped[list[Any]] = mapped_column()
    token_endpoint_auth_method: Mapped[str] = mapped_column(String(32))
    #: SHA-256 digest of the client secret; the secret itself is shown once.
    client_secret_hash: Mapped[str | None] = mapped_column(String(64))
    organization_usage: Mapped[str | None] = mapped_column(String(16))
    organization_require_behavior: Mapped[str | None] = mapped_column(String(32))
    initiate_login_uri: Mapped[str | None] = mapped_column(String(2048))
    home_realm_discovery: Mapped[bool] = mapped_column(Boolean, default=False)
    express_configuration: Mapped[dict[str, Any] | None] = mapped_column()
    #: The OIN client that ``express_configuration`` names (``okta_oin_client_id``), kept in a
    #: column of its own by :meth:`_express_configuration_written` so that the SaaS application
    #: an OIN client configures is found through an index at every Express Configuration call,
    #: not by reading every client of the tenant.
    okta_oin_client_id: Mapped[str | None] = mapped_column(String(64), index=True)
    #: Auth0's ``oidc_logout``: ``backchannel_logout_urls`` and ``backchannel_logout_initiators``.
    oidc_logout: Mapped[dict[str, Any] | None] = mapped_column()
    jwt_configuration: Mapped[dict[str, Any]] = mapped_column()
    client_metadata: Mapped[dict[str, Any]] = mapped_column()
    logo_uri: Mapped[str | None] = mapped_column(String(2048))
    is_system: Mapped[bool] = mapped_column(Boolean, default=False)

    @validates("express_configuration")
    def _express_configuration_written(
        self, _key: str, config: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        # Every write of the document passes here (a JSON column is only ever replaced whole:
        # changes made inside the dictionary are not tracked, so not stored, whatever the column).
        oin = (config or {}).get("okta_oin_client_id")
        self.okta_oin_client_id = oin if isinstance(oin, str) else None
        return config


class ClientCredentialRow(Timestamps, TenantBase):
    """A public key uploaded for a client's ``private_key_jwt`` authentication."""

    __tablename__ = "client_credentials"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("clients.client_id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str | None] = mapped_column(String(128))
    credential_type: Mapped[str] = mapped_column(String(32))
    kid: Mapped[str] = mapped_column(String(64))
    alg: Mapped[str] = mapped_column(String(16))
    pem: Mapped[str] = mapped_column()
    jwk: Mapped[dict[str, Any]] = mapped_column()
    thumbprint: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime | None] = mapped_column()
    #: Position in ``client_authentication_methods.private_key_jwt.credentials``; None when the
    #: credential is uploaded but not activated.
    active_position: Mapped[int | None] = mapped_column()

    __table_args__ = (UniqueConstraint("client_id", "kid"),)


class ClientGrantRow(TenantBase):
    """Permission for a client to obtain tokens for an API with ``client_credentials``."""

    __tablename__ = "client_grants"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("clients.client_id", ondelete="CASCADE"), index=True
    )
    audience: Mapped[str] = mapped_column(String(600))
    scope: Mapped[list[Any]] = mapped_column()
    organization_usage: Mapped[str | None] = mapped_column(String(16))
    allow_any_organization: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column()

    __table_args__ = (UniqueConstraint("client_id", "audience"),)
