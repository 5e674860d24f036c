"""APIs (resource servers) and their permissions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, or_, select
from sqlalchemy.orm import Session

from expressway import ids
from expressway.tenant.errors import Conflict, InvalidInput, NotFound, OperationNotSupported
from expressway.tenant.rows import ClientGrantRow, ResourceServerRow, RolePermissionRow

SUPPORTED_SIGNING_ALGS = ("RS256", "PS256")


@dataclass
class ResourceServerSpec:
    """The writable fields of an API; ``None`` means "not given"."""

    identifier: str | None = None
    name: str | None = None
    scopes: list[dict[str, str]] | None = None
    signing_alg: str | None = None
    token_lifetime: int | None = None
    token_lifetime_for_web: int | None = None
    token_dialect: str | None = None
    enforce_policies: bool | None = None
    allow_offline_access: bool | None = None
    skip_consent_for_verifiable_first_party_clients: bool | None = None


def find(session: Session, id_or_identifier: str) -> ResourceServerRow:
    """An API by its id or by its identifier (Auth0 accepts either in the path)."""
    row = session.scalars(
        select(ResourceServerRow).where(
            or_(
                ResourceServerRow.id == id_or_identifier,
                ResourceServerRow.identifier == id_or_identifier,
            )
        )
    ).first()
    if row is None:
        raise NotFound("The resource server does not exist", code="inexistent_resource_server")
    return row


#: Built once: a sign-in reads its API twice (the authorization request, the consent check).
_BY_IDENTIFIER = select(ResourceServerRow).where(
    ResourceServerRow.identifier == bindparam("identifier")
)


def find_by_identifier(session: Session, identifier: str) -> ResourceServerRow | None:
    return session.scalars(_BY_IDENTIFIER, {"identifier": identifier}).first()


def _check_scopes(scopes: list[dict[str, str]]) -> list[dict[str, str]]:
    seen: set[str] = set()
    for scope in scopes:
        value = scope["value"]
        if value in seen:
            raise InvalidInput(f"scopes: the permission {value!r} is listed twice")
        seen.add(value)
    return [{"value": s["value"], "description": s.get("description", "")} for s in scopes]


def _apply(row: ResourceServerRow, spec: ResourceServerSpec) -> None:
    if spec.signing_alg is not None and spec.signing_alg not in SUPPORTED_SIGNING_ALGS:
        raise InvalidInput(
            f"signing_alg: {spec.signing_alg} is not supported; use one of "
            + ", ".join(SUPPORTED_SIGNING_ALGS)
        )
    for field in (
        "name",
        "signing_alg",
        "token_lifetime",
        "token_lifetime_for_web",
        "token_dialect",
        "enforce_policies",
        "allow_offline_access",
        "skip_consent_for_verifiable_first_party_clients",
    ):
        value: Any = getattr(spec, field)
        if value is not None:
            setattr(row, field, value)
    if spec.scopes is not None:
        row.scopes = _check_scopes(spec.scopes)


def create(session: Session, now: datetime, spec: ResourceServerSpec) -> ResourceServerRow:
    if spec.identifier is None:
        raise InvalidInput("identifier is required")
    if find_by_identifier(session, spec.identifier) is not None:
        raise Conflict(
            f"A resource server with the same identifier already exists: {spec.identifier}",
            code="operation_not_supported",
        )
    row = ResourceServerRow(
        id=ids.random_id(24).lower(),
        identifier=spec.identifier,
        name=spec.name or spec.identifier,
        scopes=[],
        signing_alg="RS256",
        token_lifetime=86400,
        token_lifetime_for_web=7200,
        token_dialect="access_token",
        enforce_policies=False,
        allow_offline_access=False,
        skip_consent_for_verifiable_first_party_clients=False,
        is_system=False,
        created_at=now,
    )
    _apply(row, spec)
    session.add(row)
    session.flush()
    return row


def update(session: Session, row: ResourceServerRow, spec: ResourceServerSpec) -> ResourceServerRow:
    if row.is_system:
        raise OperationNotSupported("The Management API is a system API and cannot be changed")
    removed: set[str] = set()
    if spec.scopes is not None:
        removed = {s["value"] for s in row.scopes} - {s["value"] for s in spec.scopes}
    _apply(row, spec)
    if removed:
        # A permission taken off the API is taken off every role that held it.
        session.execute(
            delete(RolePermissionRow).where(
                RolePermissionRow.resource_server_identifier == row.identifier,
                RolePermissionRow.permission_name.in_(removed),
            )
        )
    session.flush()
    return row


def remove(session: Session, row: ResourceServerRow) -> None:
    if row.is_system:
        raise OperationNotSupported("The Management API is a system API and cannot be deleted")
    session.execute(
        delete(RolePermissionRow).where(
            RolePermissionRow.resource_server_identifier == row.identifier
        )
    )
    session.execute(delete(ClientGrantRow).where(ClientGrantRow.audience == row.identifier))
    session.delete(row)
    session.flush()
