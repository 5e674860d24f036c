"""Where the tenant keeps sealed values, for ``expressway tenant reseal``
(:mod:`expressway.storage.resealing`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from expressway.storage.resealing import SealedColumn, sealed_attribute
from expressway.tenant.rows import ConnectionRow, SigningKeyRow, UpstreamLoginRow
from expressway.tenant.runtime import TenantRuntime


def sealed_columns(runtime: TenantRuntime) -> list[SealedColumn[Any]]:
    """Every column of the tenant's database that holds a sealed value."""
    return [
        sealed_attribute(
            "signing keys",
            runtime.key_sealer,
            select(SigningKeyRow).order_by(SigningKeyRow.kid),
            "private_pem_sealed",
            lambda row: f"signing key {row.kid} ({row.state})",
        ),
        sealed_attribute(
            "connection client secrets",
            runtime.secret_sealer,
            select(ConnectionRow)
            .where(ConnectionRow.client_secret_sealed.is_not(None))
            .order_by(ConnectionRow.name),
            "client_secret_sealed",
            lambda row: f"connection {row.name}",
        ),
        sealed_attribute(
            "upstream logins under way (PKCE verifiers)",
            runtime.secret_sealer,
            select(UpstreamLoginRow).order_by(UpstreamLoginRow.created_at),
            "code_verifier_sealed",
            lambda row: f"upstream login started {row.created_at:%Y-%m-%d %H:%M:%S}",
        ),
    ]
