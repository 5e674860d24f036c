"""``/api/v2/client-grants``: which client may get tokens for which API, with which scopes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import false, select

from expressway.tenant.management.context import (
    CheckpointPaging,
    Management,
    Paging,
    checkpointed,
    fetch_checkpoint,
    fetch_page,
    paged,
    uses,
)
from expressway.tenant.management.schema import RequestBody
from expressway.tenant.rows import ClientGrantRow
from expressway.tenant.services import client_grants as service
from expressway.web.json_bodies import JsonBodyRoute

router = APIRouter(prefix="/client-grants", tags=["Client grants"], route_class=JsonBodyRoute)

OrganizationUsage = Literal["deny", "allow", "require"]
ScopeList = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=280)]], Field(max_length=1000)
]


class CreateClientGrant(RequestBody):
    client_id: Annotated[str, Field(min_length=1, max_length=64)]
    audience: Annotated[str, Field(min_length=1, max_length=600)]
    scope: ScopeList | None = None
    organization_usage: OrganizationUsage | None = None
    allow_any_organization: bool | None = None
    # Grants act for the client itself; Auth0's user-delegated kinds do not exist here.
    subject_type: Literal["client"] | None = None

    def spec(self) -> service.ClientGrantSpec:
        return service.ClientGrantSpec(
            given=frozenset(self.model_fields_set),
            client_id=self.client_id,
            audience=self.audience,
            scope=self.scope,
            organization_usage=self.organization_usage,
            allow_any_organization=self.allow_any_organization,
        )


class UpdateClientGrant(RequestBody):
    scope: ScopeList | None = None
    organization_usage: OrganizationUsage | None = None
    allow_any_organization: bool | None = None

    @field_validator("scope", "allow_any_organization")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("null is not allowed")
        return value

    def spec(self) -> service.ClientGrantSpec:
        return service.ClientGrantSpec(
            given=frozenset(self.model_fields_set),
            scope=self.scope,
            organization_usage=self.organization_usage,
            allow_any_organization=self.allow_any_organization,
        )


class ClientGrantOut(BaseModel):
    id: str
    client_id: str
    audience: str
    scope: list[str]
    organization_usage: str | None
    allow_any_organization: bool
    subject_type: str

    @classmethod
    def of(cls, row: ClientGrantRow) -> ClientGrantOut:
        return cls(
            id=row.id,
            client_id=row.client_id,
            audience=row.audience,
            scope=[str(s) for s in row.scope],
            organization_usage=row.organization_usage,
            allow_any_organization=row.allow_any_organization,
            subject_type="client",
        )


@router.get("", summary="Get client grants")
def list_client_grants(
    paging: Paging,
    checkpoint: CheckpointPaging,
    ctx: Management = uses("read:client_grants"),
    audience: Annotated[str | None, Query(max_length=600)] = None,
    client_id: Annotated[str | None, Query(max_length=64)] = None,
    allow_any_organization: bool | None = None,
    subject_type: Annotated[str | None, Query(max_length=32)] = None,
) -> Any:
    statement = select(ClientGrantRow)
    if audience is not None:
        statement = statement.where(ClientGrantRow.audience == audience)
    if client_id is not None:
        statement = statement.where(ClientGrantRow.client_id == client_id)
    if allow_any_organization is not None:
        statement = statement.where(
            ClientGrantRow.allow_any_organization.is_(allow_any_organization)
        )
    if subject_type not in (None, "client"):
        # Every grant here is a client grant: a filter on another kind matches none.
        statement = statement.where(false())
    if checkpoint is not None:
        rows, following = fetch_checkpoint(ctx.session, statement, ClientGrantRow.id, checkpoint)
        return checkpointed(
            [ClientGrantOut.of(r).model_dump() for r in rows], following, "client_grants"
        )
    rows, total = fetch_page(
        ctx.session, statement.order_by(ClientGrantRow.created_at, ClientGrantRow.id), paging
    )
    return paged([ClientGrantOut.of(r).model_dump() for r in rows], total, paging, "client_grants")


@router.post("", status_code=201, summary="Create a client grant")
def create_client_grant(
    body: CreateClientGrant, ctx: Management = uses("create:client_grants")
) -> ClientGrantOut:
    row = service.create(ctx.session, ctx.runtime.clock.now(), body.spec())
    ctx.log(
        "Create a client grant",
        details={"client_grant_id": row.id, "client_id": row.client_id, "audience": row.audience},
    )
    return ClientGrantOut.of(row)


@router.get("/{id}", summary="Get a client grant")
def get_client_grant(id: str, ctx: Management = uses("read:client_grants")) -> ClientGrantOut:
    return ClientGrantOut.of(service.find(ctx.session, id))


@router.patch("/{id}", summary="Update a client grant")
def update_client_grant(
    id: str, body: UpdateClientGrant, ctx: Management = uses("update:client_grants")
) -> ClientGrantOut:
    row = service.update(ctx.session, service.find(ctx.session, id), body.spec())
    ctx.log("Update a client grant", details={"client_grant_id": row.id})
    return ClientGrantOut.of(row)


@router.delete("/{id}", status_code=204, summary="Delete a client grant")
def delete_client_grant(id: str, ctx: Management = uses("delete:client_grants")) -> Response:
    service.remove(ctx.session, service.find(ctx.session, id))
    ctx.log("Delete a client grant", details={"client_grant_id": id})
    return Response(status_code=204)
