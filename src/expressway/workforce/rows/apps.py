from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from expressway.workforce.rows.base import WorkforceBase, org_fk


class AppRow(WorkforceBase):
    """An app instance of an org; an ``OPENID_CONNECT`` one is an OIDC client of the org."""

    __tablename__ = "apps"

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(20), org_fk(), index=True)
    #: The app's key: ``oidc_client`` for a custom OIDC app, the catalog key for an OIN app.
    name: Mapped[str] = mapped_column(String(255))
    label: Mapped[str] = mapped_column(String(100))
    #: ACTIVE or INACTIVE.
    status: Mapped[str] = mapped_column(String(16))
    sign_on_mode: Mapped[str] = mapped_column(String(32))
    #: Okta's ``settings`` object (``app``, ``notifications``, ``oauthClient``…), as given.
    settings: Mapped[dict[str, Any]] = mapped_column()
    accessibility: Mapped[dict[str, Any]] = mapped_column()
    visibility: Mapped[dict[str, Any]] = mapped_column()
    features: Mapped[list[Any]] = mapped_column()
    user_name_template: Mapped[dict[str, Any]] = mapped_column()
    client_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    #: SHA-256 of the client secret, which is shown once, in the answer that made it.
    client_secret_hash: Mapped[str | None] = mapped_column(String(64))
    #: The client secret of an OIN instance, sealed: Express Configure SSO hands it to the
    #: tenant, whose connection signs in with it, so unlike other secrets it must be readable.
    client_secret_sealed: Mapped[str | None] = mapped_column(Text)
    token_endpoint_auth_method: Mapped[str | None] = mapped_column(String(32))
    pkce_required: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The OIN submission this instance was added from, for catalog apps.
    oin_submission_id: Mapped[str | None] = mapped_column(String(64), index=True)
    #: What Express Configuration set up for this instance (SSO, Universal Logout, SCIM).
    express_configuration: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()


class AppUserRow(WorkforceBase):
    """A user's assignment to an app: directly, through an assigned group, or both."""

    __tablename__ = "app_users"

    app_id: Mapped[str] = mapped_column(
        String(20), ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        String(20), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    #: Assigned directly (Okta's scope ``USER``); otherwise only through a group (``GROUP``).
    direct: Mapped[bool] = mapped_column(Boolean)
    user_name: Mapped[str] = mapped_column(String(100))
    profile: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()
    status_changed_at: Mapped[datetime] = mapped_column()


class AppGroupRow(WorkforceBase):
    """A group's assignment to an app: every member is assigned through it."""

    __tablename__ = "app_groups"

    app_id: Mapped[str] = mapped_column(
        String(20), ForeignKey("apps.id", ondelete="CASCADE"), primary_key=True
    )
    group_id: Mapped[str] = mapped_column(
        String(20), ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    priority: Mapped[int] = mapped_column()
    profile: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()
