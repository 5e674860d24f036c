from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from expressway.tenant.rows.base import TenantBase


class SigningKeyRow(TenantBase):
    """One of the tenant's token-signing keys; the private half is sealed at rest."""

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(16))
    #: ``current`` signs, ``next`` is published ahead of rotation, ``previous`` still verifies.
    state: Mapped[str] = mapped_column(String(16), index=True)
    private_pem_sealed: Mapped[str] = mapped_column()
    public_jwk: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column()
