"""``/api/v2/connections``: connections, their enabled clients, SCIM configuration and tokens."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Body, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from expressway.tenant.management.context import (
    CheckpointOnlyPaging,
    CheckpointPaging,
    Management,
    Paging,
    checkpointed,
    fetch_checkpoint,
    fetch_page,
    paged,
    uses,
)
from expressway.tenant.management.schema import RequestBody, format_date
from expressway.tenant.rows import (
    ConnectionClientRow,
    ConnectionRow,
    ScimConfigurationRow,
    ScimTokenRow,
)
from expressway.tenant.services import connections as service
from expressway.web.json_bodies import JsonBodyRoute

router = APIRouter(prefix="/connections", tags=["Connections"], route_class=JsonBodyRoute)

Text = Annotated[str, Field(max_length=255)]


def log_connection_write(
    ctx: Management,
    description: str,
    connection: ConnectionRow,
    *,
    details: dict[str, Any] | None = None,
) -> None:
    """Record a write on ``connection``; the event names it, so a log search by connection finds
    every change made to it."""
    ctx.log(
        description,
        details={"connection_id": connection.id, **(details or {})},
        connection=connection.name,
        connection_id=connection.id,
    )


# --- Connections ---


class ConnectionFields(RequestBody):
    display_name: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    options: dict[str, Any] | None = None
    realms: Annotated[list[Text], Field(max_length=10)] | None = None
    is_domain_connection: bool | None = None
    show_as_button: bool | None = None
    metadata: Annotated[dict[Text, Text | None], Field(max_length=100)] | None = None
    enabled_clients: (
        Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=100)] | None
    ) = None

    def spec(self) -> service.ConnectionSpec:
        return service.ConnectionSpec(
            name=getattr(self, "name", None),
            strategy=getattr(self, "strategy", None),
            display_name=self.display_name,
            options=self.options,
            realms=self.realms,
            is_domain_connection=self.is_domain_connection,
            show_as_button=self.show_as_button,
            metadata=self.metadata,
            enabled_clients=self.enabled_clients,
        )


class CreateConnection(ConnectionFields):
    name: Annotated[str, Field(min_length=1, max_length=128)]
    strategy: Annotated[str, Field(min_length=1, max_length=64)]


class UpdateConnection(ConnectionFields):
    # Declared so that trying to change them is refused with a message saying why, not as an
    # unknown property.
    name: Annotated[str, Field(max_length=128)] | None = None
    strategy: Annotated[str, Field(max_length=64)] | None = None


class ConnectionForListOut(BaseModel):
    id: str
    name: str
    display_name: str | None
    strategy: str
    #: Auth0 answers with ``options.client_secret``; Expressway never does. The secret is sealed
    #: at rest and only the federation code unseals it: a Management API token (held by scripts,
    #: CI and dashboards) must not be a way to read the credentials of every upstream IdP.
    options: dict[str, Any]
    realms: list[str]
    is_domain_connection: bool
    show_as_button: bool | None
    metadata: dict[str, Any]

    @classmethod
    def fields_of(cls, row: ConnectionRow) -> dict[str, Any]:
        return {
            "id": row.id,
            "name": row.name,
            "display_name": row.display_name,
            "strategy": row.strategy,
            "options": {k: v for k, v in row.options.items() if k != "client_secret"},
            "realms": list(row.realms),
            "is_domain_connection": row.is_domain_connection,
            "show_as_button": row.show_as_button,
            "metadata": dict(row.connection_metadata),
        }

    @classmethod
    def of(cls, row: ConnectionRow) -> ConnectionForListOut:
        return cls(**cls.fields_of(row))


class ConnectionOut(ConnectionForListOut):
    #: Deprecated by Auth0 in favour of ``GET /connections/{id}/clients``; still answered.
    enabled_clients: list[str]

    @classmethod
    def with_clients(cls, session: Session, row: ConnectionRow) -> ConnectionOut:
        return cls(**cls.fields_of(row), enabled_clients=service.enabled_client_ids(session, row))


@router.get("", summary="Get all connections")
def list_connections(
    paging: Paging,
    checkpoint: CheckpointPaging,
    ctx: Management = uses("read:connections"),
    strategy: Annotated[
        list[Annotated[str, Field(max_length=64)]] | None, Query(max_length=10)
    ] = None,
    name: Annotated[str | None, Query(max_length=128)] = None,
) -> Any:
    statement = select(ConnectionRow)
    if strategy:
        statement = statement.where(ConnectionRow.strategy.in_(strategy))
    if name is not None:
        statement = statement.where(ConnectionRow.name == name)
    if checkpoint is not None:
        rows, following = fetch_checkpoint(ctx.session, statement, ConnectionRow.id, checkpoint)
        items = [ConnectionForListOut.of(r).model_dump() for r in rows]
        return checkpointed(items, following, "connections")
    ordered = statement.order_by(ConnectionRow.created_at, ConnectionRow.id)
    rows, total = fetch_page(ctx.session, ordered, paging)
    items = [ConnectionForListOut.of(r).model_dump() for r in rows]
    return paged(items, total, paging, "connections")


@router.post("", status_code=201, summary="Create a connection")
def create_connection(
    body: CreateConnection, ctx: Management = uses("create:connections")
) -> ConnectionOut:
    row = service.create(
        ctx.session, ctx.runtime.clock.now(), ctx.runtime.secret_sealer, body.spec()
    )
    log_connection_write(ctx, "Create a connection", row)
    return ConnectionOut.with_clients(ctx.session, row)


@router.get("/{id}", summary="Get a connection")
def get_connection(id: str, ctx: Management = uses("read:connections")) -> ConnectionOut:
    return ConnectionOut.with_clients(ctx.session, service.find(ctx.session, id))


@router.patch("/{id}", summary="Update a connection")
def update_connection(
    id: str, body: UpdateConnection, ctx: Management = uses("update:connections")
) -> ConnectionOut:
    row = service.update(
        ctx.session, ctx.runtime.secret_sealer, service.find(ctx.session, id), body.spec()
    )
    log_connection_write(ctx, "Update a connection", row)
    return ConnectionOut.with_clients(ctx.session, row)


@router.delete("/{id}", status_code=204, summary="Delete a connection")
def delete_connection(id: str, ctx: Management = uses("delete:connections")) -> Response:
    row = service.find(ctx.session, id)
    service.remove(ctx.session, ctx.runtime.clock.now(), row)
    log_connection_write(ctx, "Delete a connection", row)
    return Response(status_code=204)


# --- Enabled clients ---


class EnabledClientChange(RequestBody):
    client_id: Annotated[str, Field(min_length=1, max_length=64)]
    status: bool


@router.get("/{id}/clients", summary="Get enabled clients for a connection")
def list_enabled_clients(
    id: str, checkpoint: CheckpointOnlyPaging, ctx: Management = uses("read:connections")
) -> Any:
    row = service.find(ctx.session, id)
    links, following = fetch_checkpoint(
        ctx.session,
        select(ConnectionClientRow).where(ConnectionClientRow.connection_id == row.id),
        ConnectionClientRow.client_id,
        checkpoint,
    )
    return checkpointed([{"client_id": link.client_id} for link in links], following, "clients")


@router.patch("/{id}/clients", status_code=204, summary="Update enabled clients for a connection")
def update_enabled_clients(
    id: str,
    body: Annotated[list[EnabledClientChange], Body(max_length=50)],
    ctx: Management = uses("update:connections"),
) -> Response:
    row = service.find(ctx.session, id)
    service.change_enabled_clients(ctx.session, row, [(c.client_id, c.status) for c in body])
    log_connection_write(
        ctx,
        "Update enabled clients for a connection",
        row,
        details={
            "enabled": [c.client_id for c in body if c.status],
            "disabled": [c.client_id for c in body if not c.status],
        },
    )
    return Response(status_code=204)


# --- SCIM configuration ---

ScimPath = Annotated[str, Field(min_length=1, max_length=255)]


class ScimMappingItem(RequestBody):
    auth0: ScimPath
    scim: ScimPath


class CreateScimConfiguration(RequestBody):
    user_id_attribute: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    mapping: Annotated[list[ScimMappingItem], Field(max_length=200)] | None = None


class UpdateScimConfiguration(RequestBody):
    user_id_attribute: Annotated[str, Field(min_length=1, max_length=128)]
    mapping: Annotated[list[ScimMappingItem], Field(max_length=200)]


class ScimMappingOut(BaseModel):
    auth0: str
    scim: str


class ScimConfigurationOut(BaseModel):
    connection_id: str
    connection_name: str
    strategy: str
    tenant_name: str
    user_id_attribute: str
    mapping: list[ScimMappingOut]
    created_at: str
    updated_on: str

    @classmethod
    def of(
        cls, ctx: Management, row: ConnectionRow, config: ScimConfigurationRow
    ) -> ScimConfigurationOut:
        return cls(
            connection_id=row.id,
            connection_name=row.name,
            strategy=row.strategy,
            tenant_name=urlsplit(ctx.runtime.settings.tenant_public_url).hostname or "",
            user_id_attribute=config.user_id_attribute,
            mapping=[ScimMappingOut(auth0=m["auth0"], scim=m["scim"]) for m in config.mapping],
            created_at=format_date(config.created_at),
            updated_on=format_date(config.updated_at),
        )


class DefaultMappingOut(BaseModel):
    mapping: list[ScimMappingOut]


def _mapping(items: list[ScimMappingItem] | None) -> list[dict[str, str]] | None:
    return None if items is None else [{"auth0": i.auth0, "scim": i.scim} for i in items]


@router.get("/{id}/scim-configuration", summary="Get a connection's SCIM configuration")
def get_scim_configuration(
    id: str, ctx: Management = uses("read:scim_config")
) -> ScimConfigurationOut:
    row = service.find(ctx.session, id)
    return ScimConfigurationOut.of(ctx, row, service.find_scim_configuration(ctx.session, row))


@router.post(
    "/{id}/scim-configuration", status_code=201, summary="Create a connection's SCIM configuration"
)
def create_scim_configuration(
    id: str,
    ctx: Management = uses("create:scim_config"),
    body: CreateScimConfiguration | None = None,
) -> ScimConfigurationOut:
    row = service.find(ctx.session, id)
    config = service.create_scim_configuration(
        ctx.session,
        ctx.runtime.clock.now(),
        row,
        user_id_attribute=body.user_id_attribute if body else None,
        mapping=_mapping(body.mapping) if body else None,
    )
    log_connection_write(ctx, "Create a SCIM configuration", row)
    return ScimConfigurationOut.of(ctx, row, config)


@router.patch("/{id}/scim-configuration", summary="Update a connection's SCIM configuration")
def update_scim_configuration(
    id: str, body: UpdateScimConfiguration, ctx: Management = uses("update:scim_config")
) -> ScimConfigurationOut:
    row = service.find(ctx.session, id)
    config = service.update_scim_configuration(
        ctx.session,
        ctx.runtime.clock.now(),
        service.find_scim_configuration(ctx.session, row),
        body.user_id_attribute,
        _mapping(body.mapping) or [],
    )
    log_connection_write(ctx, "Update a SCIM configuration", row)
    return ScimConfigurationOut.of(ctx, row, config)


@router.delete(
    "/{id}/scim-configuration", status_code=204, summary="Delete a connection's SCIM configuration"
)
def delete_scim_configuration(id: str, ctx: Management = uses("delete:scim_config")) -> Response:
    row = service.find(ctx.session, id)
    service.remove_scim_configuration(
        ctx.session, service.find_scim_configuration(ctx.session, row)
    )
    log_connection_write(ctx, "Delete a SCIM configuration", row)
    return Response(status_code=204)


@router.get(
    "/{id}/scim-configuration/default-mapping", summary="Get a connection's default SCIM mapping"
)
def get_default_scim_mapping(
    id: str, ctx: Management = uses("read:scim_config")
) -> DefaultMappingOut:
    service.find(ctx.session, id)
    return DefaultMappingOut(
        mapping=[
            ScimMappingOut(auth0=m["auth0"], scim=m["scim"]) for m in service.DEFAULT_SCIM_MAPPING
        ]
    )


# --- SCIM tokens ---


class CreateScimToken(RequestBody):
    scopes: Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=20)] | None = (
        None
    )
    token_lifetime: Annotated[int, Field(ge=1, le=10 * 365 * 86400)] | None = None


class ScimTokenOut(BaseModel):
    token_id: str
    scopes: list[str]
    created_at: str
    valid_until: str | None
    last_used_at: str | None

    @classmethod
    def of(cls, row: ScimTokenRow) -> ScimTokenOut:
        return cls(
            token_id=row.token_id,
            scopes=list(row.scopes),
            created_at=format_date(row.created_at),
            valid_until=format_date(row.valid_until) if row.valid_until else None,
            last_used_at=format_date(row.last_used_at) if row.last_used_at else None,
        )


class CreatedScimTokenOut(BaseModel):
    token_id: str
    token: str
    scopes: list[str]
    created_at: str
    valid_until: str | None


@router.get("/{id}/scim-configuration/tokens", summary="Get a connection's SCIM tokens")
def list_scim_tokens(id: str, ctx: Management = uses("read:scim_token")) -> list[ScimTokenOut]:
    row = service.find(ctx.session, id)
    return [ScimTokenOut.of(t) for t in service.scim_tokens(ctx.session, row)]


@router.post("/{id}/scim-configuration/tokens", status_code=201, summary="Create a SCIM token")
def create_scim_token(
    id: str,
    ctx: Management = uses("create:scim_token"),
    body: CreateScimToken | None = None,
) -> CreatedScimTokenOut:
    row = service.find(ctx.session, id)
    body = body or CreateScimToken()
    token_row, token = service.create_scim_token(
        ctx.session, ctx.runtime.clock.now(), row, body.scopes, body.token_lifetime
    )
    log_connection_write(ctx, "Create a SCIM token", row, details={"token_id": token_row.token_id})
    return CreatedScimTokenOut(
        token_id=token_row.token_id,
        token=token,
        scopes=list(token_row.scopes),
        created_at=format_date(token_row.created_at),
        valid_until=format_date(token_row.valid_until) if token_row.valid_until else None,
    )


@router.delete(
    "/{id}/scim-configuration/tokens/{token_id}", status_code=204, summary="Delete a SCIM token"
)
def delete_scim_token(
    id: str, token_id: str, ctx: Management = uses("delete:scim_token")
) -> Response:
    row = service.find(ctx.session, id)
    service.remove_scim_token(ctx.session, service.find_scim_token(ctx.session, row, token_id))
    log_connection_write(ctx, "Delete a SCIM token", row, details={"token_id": token_id})
    return Response(status_code=204)
