"""``/api/v2/resource-servers``: APIs and their permissions."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from expressway.tenant.management.context import Management, Paging, fetch_page, paged, uses
from expressway.tenant.management.schema import RequestBody
from expressway.tenant.rows import ResourceServerRow
from expressway.tenant.services import resource_servers as service
from expressway.web.json_bodies import JsonBodyRoute

router = APIRouter(prefix="/resource-servers", tags=["Resource servers"], route_class=JsonBodyRoute)

Lifetime = Annotated[int, Field(ge=1, le=2_592_000)]


class ScopeIn(RequestBody):
    value: Annotated[str, Field(min_length=1, max_length=280, pattern=r"^[^\s]+$")]
    description: Annotated[str, Field(max_length=500)] = ""


class ResourceServerFields(RequestBody):
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    scopes: Annotated[list[ScopeIn], Field(max_length=1000)] | None = None
    signing_alg: Literal["RS256", "PS256", "HS256", "RS512", "PS384"] | None = None
    token_lifetime: Lifetime | None = None
    token_lifetime_for_web: Lifetime | None = None
    token_dialect: (
        Literal["access_token", "access_token_authz", "rfc9068_profile", "rfc9068_profile_authz"]
        | None
    ) = None
    enforce_policies: bool | None = None
    allow_offline_access: bool | None = None
    skip_consent_for_verifiable_first_party_clients: bool | None = None

    def spec(self) -> service.ResourceServerSpec:
        return service.ResourceServerSpec(
            identifier=getattr(self, "identifier", None),
            name=self.name,
            scopes=[s.model_dump() for s in self.scopes] if self.scopes is not None else None,
            signing_alg=self.signing_alg,
            token_lifetime=self.token_lifetime,
            token_lifetime_for_web=self.token_lifetime_for_web,
            token_dialect=self.token_dialect,
            enforce_policies=self.enforce_policies,
            allow_offline_access=self.allow_offline_access,
            skip_consent_for_verifiable_first_party_clients=(
                self.skip_consent_for_verifiable_first_party_clients
            ),
        )


class CreateResourceServer(ResourceServerFields):
    identifier: Annotated[str, Field(min_length=1, max_length=600)]


class UpdateResourceServer(ResourceServerFields):
    pass


class ScopeOut(BaseModel):
    value: str
    description: str


class ResourceServerOut(BaseModel):
    id: str
    name: str
    identifier: str
    is_system: bool
    scopes: list[ScopeOut]
    signing_alg: str
    token_lifetime: int
    token_lifetime_for_web: int
    token_dialect: str
    enforce_policies: bool
    allow_offline_access: bool
    skip_consent_for_verifiable_first_party_clients: bool

    @classmethod
    def of(cls, row: ResourceServerRow) -> ResourceServerOut:
        return cls(
            id=row.id,
            name=row.name,
            identifier=row.identifier,
            is_system=row.is_system,
            scopes=[
                ScopeOut(value=s["value"], description=s.get("description", "")) for s in row.scopes
            ],
            signing_alg=row.signing_alg,
            token_lifetime=row.token_lifetime,
            token_lifetime_for_web=row.token_lifetime_for_web,
            token_dialect=row.token_dialect,
            enforce_policies=row.enforce_policies,
            allow_offline_access=row.allow_offline_access,
            skip_consent_for_verifiable_first_party_clients=(
                row.skip_consent_for_verifiable_first_party_clients
            ),
        )


@router.get("", summary="Get resource servers")
def list_resource_servers(
    paging: Paging,
    ctx: Management = uses("read:resource_servers"),
    identifiers: Annotated[list[str] | None, Query(max_length=100)] = None,
) -> Any:
    statement = select(ResourceServerRow).order_by(
        ResourceServerRow.created_at, ResourceServerRow.id
    )
    if identifiers:
        statement = statement.where(ResourceServerRow.identifier.in_(identifiers))
    rows, total = fetch_page(ctx.session, statement, paging)
    items = [ResourceServerOut.of(r).model_dump() for r in rows]
    return paged(items, total, paging, "resource_servers")


@router.post("", status_code=201, summary="Create a resource server")
def create_resource_server(
    body: CreateResourceServer, ctx: Management = uses("create:resource_servers")
) -> ResourceServerOut:
    row = service.create(ctx.session, ctx.runtime.clock.now(), body.spec())
    ctx.log("Create a resource server", details={"resource_server_id": row.id})
    return ResourceServerOut.of(row)


@router.get("/{id:path}", summary="Get a resource server")
def get_resource_server(
    id: str, ctx: Management = uses("read:resource_servers")
) -> ResourceServerOut:
    return ResourceServerOut.of(service.find(ctx.session, id))


@router.patch("/{id:path}", summary="Update a resource server")
def update_resource_server(
    id: str,
    body: UpdateResourceServer,
    ctx: Management = uses("update:resource_servers"),
) -> ResourceServerOut:
    row = service.update(ctx.session, service.find(ctx.session, id), body.spec())
    ctx.log("Update a resource server", details={"resource_server_id": row.id})
    return ResourceServerOut.of(row)


@router.delete("/{id:path}", status_code=204, summary="Delete a resource server")
def delete_resource_server(id: str, ctx: Management = uses("delete:resource_servers")) -> Response:
    row = service.find(ctx.session, id)
    service.remove(ctx.session, row)
    ctx.log("Delete a resource server", details={"resource_server_id": row.id})
    return Response(status_code=204)
