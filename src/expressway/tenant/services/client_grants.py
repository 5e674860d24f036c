"""Client grants: which client may obtain tokens for which API with ``client_credentials``, and
with which of the API's permissions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from expressway import ids
from expressway.tenant.errors import Conflict, InvalidInput, NotFound, OperationNotSupported
from expressway.tenant.rows import ClientGrantRow, ClientRow, ResourceServerRow
from expressway.tenant.services import resource_servers

ORGANIZATION_USAGES = ("deny", "allow", "require")


@dataclass
class ClientGrantSpec:
    """The writable fields of a grant. ``given`` names the fields the request carried; a given
    ``organization_usage`` of ``None`` clears it."""

    given: frozenset[str] = frozenset()
    client_id: str | None = None
    audience: str | None = None
    scope: list[str] | None = None
    organization_usage: str | None = None
    allow_any_organization: bool | None = None


def find(session: Session, grant_id: str) -> ClientGrantRow:
    row = session.get(ClientGrantRow, grant_id)
    if row is None:
        raise NotFound(
            f"The client grant {grant_id} does not exist", code="inexistent_client_grant"
        )
    return row


def create(session: Session, now: datetime, spec: ClientGrantSpec) -> ClientGrantRow:
    if spec.client_id is None or spec.audience is None:
        raise InvalidInput("client_id and audience are required")
    if session.get(ClientRow, spec.client_id) is None:
        raise NotFound(
            f"client_id: the client {spec.client_id} does not exist", code="inexistent_client"
        )
    api = _api(session, spec.audience)
    existing = session.scalars(
        select(ClientGrantRow).where(
            ClientGrantRow.client_id == spec.client_id, ClientGrantRow.audience == spec.audience
        )
    ).first()
    if existing is not None:
        raise Conflict(_duplicate(spec.client_id, spec.audience, existing.id))
    row = ClientGrantRow(
        id=ids.prefixed_id("cgr"),
        client_id=spec.client_id,
        audience=spec.audience,
        scope=_check_scope(api, spec.scope or []),
        organization_usage=spec.organization_usage,
        allow_any_organization=bool(spec.allow_any_organization),
        created_at=now,
    )
    _check_organizations(row)
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        # Another request made the same grant between our check and our insert.
        raise Conflict(_duplicate(spec.client_id, spec.audience, None)) from exc
    return row


def update(session: Session, row: ClientGrantRow, spec: ClientGrantSpec) -> ClientGrantRow:
    if spec.scope is not None:
        row.scope = _check_scope(_api(session, row.audience), spec.scope)
    if "organization_usage" in spec.given:
        row.organization_usage = spec.organization_usage
    if spec.allow_any_organization is not None:
        row.allow_any_organization = spec.allow_any_organization
    _check_organizations(row)
    session.flush()
    return row


def remove(session: Session, row: ClientGrantRow) -> None:
    client = session.get(ClientRow, row.client_id)
    api = resource_servers.find_by_identifier(session, row.audience)
    if client is not None and client.is_system and api is not None and api.is_system:
        raise OperationNotSupported(
            "The admin client's grant for the Management API cannot be deleted: without it, "
            "nothing could call the Management API"
        )
    session.delete(row)
    session.flush()


def _api(session: Session, audience: str) -> ResourceServerRow:
    api = resource_servers.find_by_identifier(session, audience)
    if api is None:
        raise NotFound(
            f"audience: no API has the identifier {audience}", code="inexistent_resource_server"
        )
    return api


def _check_scope(api: ResourceServerRow, scope: list[str]) -> list[str]:
    permissions = {s["value"] for s in api.scopes}
    for index, value in enumerate(scope):
        if value not in permissions:
            raise InvalidInput(
                f"scope[{index}]: {value!r} is not a permission of the API {api.identifier}"
            )
    return list(dict.fromkeys(scope))


def _check_organizations(row: ClientGrantRow) -> None:
    if row.allow_any_organization and row.organization_usage not in ("allow", "require"):
        raise InvalidInput("allow_any_organization: needs organization_usage allow or require")


def _duplicate(client_id: str, audience: str, grant_id: str | None) -> str:
    existing = f" ({grant_id})" if grant_id else ""
    return f"The client {client_id} already has a grant for {audience}{existing}"
