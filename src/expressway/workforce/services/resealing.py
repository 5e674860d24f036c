"""Where the workforce IdP keeps sealed values, for ``expressway workforce reseal``
(:mod:`expressway.storage.resealing`)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from expressway.storage.resealing import SealedColumn, sealed_attribute
from expressway.workforce.rows import (
    AppRow,
    ExpressConfigureFlowRow,
    OinSubmissionRow,
    OrgSigningKeyRow,
)
from expressway.workforce.runtime import WorkforceRuntime

#: Where Express Configure SCIM leaves an app instance's SCIM token, sealed, in the instance's
#: ``express_configuration`` (:mod:`expressway.workforce.provisioning.targets`).
_SCIM, _TOKEN = "scim", "token_sealed"


def sealed_columns(runtime: WorkforceRuntime) -> list[SealedColumn[Any]]:
    """Every column of the workforce's database that holds a sealed value."""
    return [
        sealed_attribute(
            "org signing keys",
            runtime.key_sealer,
            select(OrgSigningKeyRow).order_by(OrgSigningKeyRow.org_id, OrgSigningKeyRow.kid),
            "private_pem_sealed",
            lambda row: f"org {row.org_id} signing key {row.kid} ({row.state})",
        ),
        sealed_attribute(
            "OIN integration keys",
            runtime.key_sealer,
            select(OinSubmissionRow)
            .where(OinSubmissionRow.key_private_pem_sealed.is_not(None))
            .order_by(OinSubmissionRow.id),
            "key_private_pem_sealed",
            lambda row: f"OIN submission {row.id} ({row.name}) key {row.key_id}",
        ),
        sealed_attribute(
            "app instance client secrets",
            runtime.secret_sealer,
            select(AppRow).where(AppRow.client_secret_sealed.is_not(None)).order_by(AppRow.id),
            "client_secret_sealed",
            lambda row: f"app instance {row.id} ({row.label}) client secret",
        ),
        SealedColumn[AppRow](
            kind="app instance SCIM tokens",
            sealer=runtime.secret_sealer,
            rows=select(AppRow).order_by(AppRow.id),
            read=_scim_token,
            write=_replace_scim_token,
            name=lambda row: f"app instance {row.id} ({row.label}) SCIM token",
        ),
        sealed_attribute(
            "Express Configure flows (PKCE verifiers)",
            runtime.secret_sealer,
            select(ExpressConfigureFlowRow).order_by(ExpressConfigureFlowRow.id),
            "code_verifier_sealed",
            lambda row: f"Express Configure flow {row.id}",
        ),
    ]


def _scim_token(row: AppRow) -> str | None:
    scim = (row.express_configuration or {}).get(_SCIM)
    token = scim.get(_TOKEN) if isinstance(scim, dict) else None
    return token if isinstance(token, str) else None


def _replace_scim_token(row: AppRow, sealed: str) -> None:
    # A new mapping, not one changed in place: the JSON column sees only assignment.
    configuration = dict(row.express_configuration)
    configuration[_SCIM] = {**configuration[_SCIM], _TOKEN: sealed}
    row.express_configuration = configuration
