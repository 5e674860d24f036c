from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from expressway.workforce.rows.base import WorkforceBase, org_fk


class OrgRow(WorkforceBase):
    """An org (an Okta tenant): everything else belongs to exactly one."""

    __tablename__ = "orgs"

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    #: The slug in ``/orgs/{name}``, so in the issuer: lower-case, never renamed.
    name: Mapped[str] = mapped_column(String(63), unique=True)
    created_at: Mapped[datetime] = mapped_column()


class OrgSigningKeyRow(WorkforceBase):
    """One of an org's token-signing keys; the private half is sealed at rest."""

    __tablename__ = "org_signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(20), org_fk(), index=True)
    alg: Mapped[str] = mapped_column(String(16))
    #: ``current`` signs, ``next`` is published ahead of rotation, ``previous`` still verifies.
    state: Mapped[str] = mapped_column(String(16))
    private_pem_sealed: Mapped[str] = mapped_column()
    public_jwk: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column()
