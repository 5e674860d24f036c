"""Authentication > Enterprise connections: the customers' IdPs, their SCIM configuration and
SCIM tokens (shown once, stored as digests)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from starlette.responses import Response

from expressway.tenant.dashboard.context import PREFIX, Changing, Dashboard, Viewing, redirect
from expressway.tenant.dashboard.listing import listing
from expressway.tenant.rows import ConnectionRow, ScimConfigurationRow
from expressway.tenant.services import connections as service

router = APIRouter()


def _log(ctx: Dashboard, description: str, connection: ConnectionRow, **details: Any) -> None:
    ctx.log(
        description,
        details={"connection_id": connection.id, **details},
        connection=connection.name,
        connection_id=connection.id,
    )


@router.get("/connections")
def list_connections(ctx: Viewing) -> Response:
    page = listing(
        ctx.session,
        ctx.request,
        f"{PREFIX}/connections",
        select(ConnectionRow)
        .where(ConnectionRow.strategy.in_(service.ENTERPRISE_STRATEGIES))
        .order_by(ConnectionRow.name),
        [ConnectionRow.name, ConnectionRow.display_name],
    )
    scim = set(
        ctx.session.scalars(
            select(ScimConfigurationRow.connection_id).where(
                ScimConfigurationRow.connection_id.in_([row.id for row in page.rows])
            )
        )
    )
    return ctx.render(
        "connections.html",
        section="connections",
        title="Enterprise connections",
        listing=page,
        scim=scim,
    )


def _connection_page(
    ctx: Dashboard,
    row: ConnectionRow,
    errors: dict[str, str] | None = None,
    status: int = 200,
    new_token: str | None = None,
) -> Response:
    return ctx.render(
        "connection.html",
        section="connections",
        status_code=status,
        title=row.name,
        connection=row,
        options={k: v for k, v in row.options.items() if k != "client_secret"},
        scim=ctx.session.get(ScimConfigurationRow, row.id),
        tokens=service.scim_tokens(ctx.session, row),
        scim_base_url=(
            f"{ctx.runtime.settings.tenant_public_url.rstrip('/')}/scim/v2/connections/{row.id}"
        ),
        new_token=new_token,
        enabled_clients=service.enabled_client_ids(ctx.session, row),
        errors=errors or {},
    )


@router.get("/connections/{connection_id}")
def show_connection(connection_id: str, ctx: Viewing) -> Response:
    return _connection_page(ctx, service.find(ctx.session, connection_id))


@router.post("/connections/{connection_id}/scim")
def enable_scim(connection_id: str, ctx: Changing) -> Response:
    row = service.find(ctx.session, connection_id)

    def enable() -> Response:
        service.create_scim_configuration(ctx.session, ctx.now, row)
        _log(ctx, "Create a SCIM configuration", row)
        return redirect(f"/connections/{row.id}", "saved")

    return ctx.attempt(enable, lambda errors, status: _connection_page(ctx, row, errors, status))


@router.post("/connections/{connection_id}/scim/tokens")
def create_scim_token(connection_id: str, ctx: Changing) -> Response:
    row = service.find(ctx.session, connection_id)

    def create() -> Response:
        token_row, token = service.create_scim_token(ctx.session, ctx.now, row)
        _log(ctx, "Create a SCIM token", row, token_id=token_row.token_id)
        # The token is shown in this answer only; the tenant keeps its SHA-256 digest.
        return _connection_page(ctx, row, status=201, new_token=token)

    return ctx.attempt(create, lambda errors, status: _connection_page(ctx, row, errors, status))


@router.post("/connections/{connection_id}/scim/tokens/delete")
def delete_scim_token(connection_id: str, ctx: Changing) -> Response:
    row = service.find(ctx.session, connection_id)

    def delete() -> Response:
        token_id = ctx.form.required("token_id", max_length=64)
        service.remove_scim_token(ctx.session, service.find_scim_token(ctx.session, row, token_id))
        _log(ctx, "Delete a SCIM token", row, token_id=token_id)
        return redirect(f"/connections/{row.id}", "deleted")

    return ctx.attempt(delete, lambda errors, status: _connection_page(ctx, row, errors, status))
