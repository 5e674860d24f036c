"""Roles: their permissions (chosen from an API's) and the users they are assigned to."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select
from starlette.responses import Response

from expressway.tenant.dashboard.context import Changing, Dashboard, Viewing, redirect
from expressway.tenant.dashboard.forms import FormError
from expressway.tenant.rows import ResourceServerRow, RoleRow, UserRow
from expressway.tenant.services import resource_servers
from expressway.tenant.services import roles as service
from expressway.tenant.services import users as users_service

router = APIRouter()


def find_user(ctx: Dashboard, field: str) -> UserRow:
    """The user a form names by ``user_id`` or e-mail address (which must be unambiguous)."""
    given = ctx.form.required(field, max_length=320)
    if "@" in given and "|" not in given:
        found = users_service.find_by_email(ctx.session, given)
        if not found:
            raise FormError(field, f"no user has the e-mail address {given}")
        if len(found) > 1:
            raise FormError(field, f"several users have {given}; give the user ID instead")
        return found[0]
    row = ctx.session.get(UserRow, given)
    if row is None:
        raise FormError(field, f"no user has the ID {given}")
    return row


def _list_page(ctx: Dashboard, errors: dict[str, str] | None = None, status: int = 200) -> Response:
    return ctx.render(
        "roles.html",
        section="roles",
        status_code=status,
        title="Roles",
        roles=list(ctx.session.scalars(service.listing())),
        errors=errors or {},
        values={
            "name": ctx.form.raw("name") or "",
            "description": ctx.form.raw("description") or "",
        },
    )


@router.get("/roles")
def list_roles(ctx: Viewing) -> Response:
    return _list_page(ctx)


@router.post("/roles")
def create_role(ctx: Changing) -> Response:
    def create() -> Response:
        row = service.create(
            ctx.session,
            ctx.now,
            ctx.form.required("name", max_length=50),
            ctx.form.text("description", max_length=140),
        )
        ctx.log("Create a role", details={"role_id": row.id})
        return redirect(f"/roles/{row.id}", "created")

    return ctx.attempt(create, lambda errors, status: _list_page(ctx, errors, status))


def _role_page(
    ctx: Dashboard,
    role: RoleRow,
    errors: dict[str, str] | None = None,
    status: int = 200,
    api_id: str | None = None,
) -> Response:
    held_rows = list(ctx.session.scalars(service.permissions_listing(role.id)))
    held = service.describe(
        ctx.session,
        [service.PermissionRef(r.resource_server_identifier, r.permission_name) for r in held_rows],
    )
    apis = list(
        ctx.session.scalars(
            select(ResourceServerRow)
            .where(ResourceServerRow.is_system.is_(False))
            .order_by(ResourceServerRow.name)
        )
    )
    chosen = next((api for api in apis if api.id == api_id), apis[0] if len(apis) == 1 else None)
    held_keys = {(p.resource_server_identifier, p.permission_name) for p in held}
    return ctx.render(
        "role.html",
        section="roles",
        status_code=status,
        title=role.name,
        role=role,
        permissions=held,
        apis=apis,
        chosen=chosen,
        held_keys=held_keys,
        users=list(ctx.session.scalars(service.users_listing(role.id))),
        errors=errors or {},
    )


@router.get("/roles/{role_id}")
def show_role(role_id: str, ctx: Viewing) -> Response:
    return _role_page(
        ctx, service.find(ctx.session, role_id), api_id=ctx.request.query_params.get("api")
    )


@router.post("/roles/{role_id}/permissions")
def add_permissions(role_id: str, ctx: Changing) -> Response:
    role = service.find(ctx.session, role_id)

    def add() -> Response:
        api = resource_servers.find(ctx.session, ctx.form.required("api", max_length=600))
        names = ctx.form.every("permissions", max_items=1000)
        if not names:
            raise FormError("permissions", "choose at least one permission")
        service.add_permissions(
            ctx.session, role, [service.PermissionRef(api.identifier, name) for name in names]
        )
        ctx.log("Add permissions to a role", details={"role_id": role.id})
        return redirect(f"/roles/{role.id}", "added")

    return ctx.attempt(
        add,
        lambda errors, status: _role_page(ctx, role, errors, status, ctx.form.raw("api")),
    )


@router.post("/roles/{role_id}/permissions/remove")
def remove_permission(role_id: str, ctx: Changing) -> Response:
    role = service.find(ctx.session, role_id)

    def remove() -> Response:
        ref = service.PermissionRef(
            ctx.form.required("resource_server_identifier", max_length=600),
            ctx.form.required("permission_name", max_length=280),
        )
        service.remove_permissions(ctx.session, role, [ref])
        ctx.log("Remove permissions from a role", details={"role_id": role.id})
        return redirect(f"/roles/{role.id}", "removed")

    return ctx.attempt(remove, lambda errors, status: _role_page(ctx, role, errors, status))


@router.post("/roles/{role_id}/users")
def assign_user(role_id: str, ctx: Changing) -> Response:
    role = service.find(ctx.session, role_id)

    def assign() -> Response:
        user = find_user(ctx, "user")
        service.assign(ctx.session, [role], [user])
        ctx.log("Assign users to a role", details={"role_id": role.id, "users": [user.user_id]})
        return redirect(f"/roles/{role.id}", "added")

    return ctx.attempt(assign, lambda errors, status: _role_page(ctx, role, errors, status))


@router.post("/roles/{role_id}/users/remove")
def unassign_user(role_id: str, ctx: Changing) -> Response:
    role = service.find(ctx.session, role_id)

    def unassign() -> Response:
        user = users_service.find(ctx.session, ctx.form.required("user_id", max_length=255))
        service.unassign(ctx.session, [role], user)
        ctx.log("Remove roles from a user", details={"role_id": role.id, "user_id": user.user_id})
        return redirect(f"/roles/{role.id}", "removed")

    return ctx.attempt(unassign, lambda errors, status: _role_page(ctx, role, errors, status))


@router.post("/roles/{role_id}/delete")
def delete_role(role_id: str, ctx: Changing) -> Response:
    role = service.find(ctx.session, role_id)

    def delete() -> Response:
        service.remove(ctx.session, role)
        ctx.log("Delete a role", details={"role_id": role_id})
        return redirect("/roles", "deleted")

    return ctx.attempt(delete, lambda errors, status: _role_page(ctx, role, errors, status))
