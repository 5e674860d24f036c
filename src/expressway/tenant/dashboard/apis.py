"""APIs (resource servers) and their permissions."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select
from starlette.responses import Response

from expressway.tenant.dashboard.context import Changing, Dashboard, Viewing, redirect
from expressway.tenant.dashboard.forms import FormError
from expressway.tenant.rows import ResourceServerRow
from expressway.tenant.services import resource_servers as service

router = APIRouter()

#: The dialect whose access tokens carry the ``permissions`` claim.
AUTHZ_DIALECT = "access_token_authz"


def _list_page(ctx: Dashboard, errors: dict[str, str] | None = None, status: int = 200) -> Response:
    rows = list(
        ctx.session.scalars(
            select(ResourceServerRow).order_by(ResourceServerRow.created_at, ResourceServerRow.id)
        )
    )
    return ctx.render(
        "apis.html",
        section="apis",
        status_code=status,
        title="APIs",
        apis=rows,
        errors=errors or {},
        values={
            "name": ctx.form.raw("name") or "",
            "identifier": ctx.form.raw("identifier") or "",
        },
    )


@router.get("/apis")
def list_apis(ctx: Viewing) -> Response:
    return _list_page(ctx)


@router.post("/apis")
def create_api(ctx: Changing) -> Response:
    def create() -> Response:
        enforce = ctx.form.flag("enforce_policies")
        row = service.create(
            ctx.session,
            ctx.now,
            service.ResourceServerSpec(
                identifier=ctx.form.required("identifier", max_length=600),
                name=ctx.form.required("name", max_length=200),
                enforce_policies=enforce,
                token_dialect=AUTHZ_DIALECT if enforce else None,
            ),
        )
        ctx.log("Create a resource server", details={"resource_server_id": row.id})
        return redirect(f"/apis/{row.id}", "created")

    return ctx.attempt(create, lambda errors, status: _list_page(ctx, errors, status))


def _api_page(
    ctx: Dashboard, api: ResourceServerRow, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    return ctx.render(
        "api.html",
        section="apis",
        status_code=status,
        title=api.name,
        api=api,
        errors=errors or {},
    )


@router.get("/apis/{api_id}")
def show_api(api_id: str, ctx: Viewing) -> Response:
    return _api_page(ctx, service.find(ctx.session, api_id))


@router.post("/apis/{api_id}/settings")
def save_api(api_id: str, ctx: Changing) -> Response:
    api = service.find(ctx.session, api_id)

    def save() -> Response:
        enforce = ctx.form.flag("enforce_policies")
        service.update(
            ctx.session,
            api,
            service.ResourceServerSpec(
                name=ctx.form.required("name", max_length=200),
                enforce_policies=enforce,
                token_dialect=AUTHZ_DIALECT
                if ctx.form.flag("permissions_in_token")
                else "access_token",
            ),
        )
        ctx.log("Update a resource server", details={"resource_server_id": api.id})
        return redirect(f"/apis/{api.id}", "saved")

    return ctx.attempt(save, lambda errors, status: _api_page(ctx, api, errors, status))


@router.post("/apis/{api_id}/permissions")
def add_permission(api_id: str, ctx: Changing) -> Response:
    api = service.find(ctx.session, api_id)

    def add() -> Response:
        value = ctx.form.required("value", max_length=280)
        if any(ch.isspace() for ch in value):
            raise FormError("value", "a permission has no spaces")
        description = ctx.form.text("description", max_length=500) or ""
        if any(scope["value"] == value for scope in api.scopes):
            raise FormError("value", f"the API already defines {value}")
        service.update(
            ctx.session,
            api,
            service.ResourceServerSpec(
                scopes=[*api.scopes, {"value": value, "description": description}]
            ),
        )
        ctx.log("Update a resource server", details={"resource_server_id": api.id})
        return redirect(f"/apis/{api.id}", "added")

    return ctx.attempt(add, lambda errors, status: _api_page(ctx, api, errors, status))


@router.post("/apis/{api_id}/permissions/remove")
def remove_permission(api_id: str, ctx: Changing) -> Response:
    api = service.find(ctx.session, api_id)

    def remove() -> Response:
        value = ctx.form.required("value", max_length=280)
        kept = [scope for scope in api.scopes if scope["value"] != value]
        service.update(ctx.session, api, service.ResourceServerSpec(scopes=kept))
        ctx.log("Update a resource server", details={"resource_server_id": api.id})
        return redirect(f"/apis/{api.id}", "removed")

    return ctx.attempt(remove, lambda errors, status: _api_page(ctx, api, errors, status))
