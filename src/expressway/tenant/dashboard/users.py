"""User Management > Users: the tenant's users, and new database users."""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select
from starlette.responses import Response

from expressway.tenant.dashboard.context import PREFIX, Changing, Dashboard, Viewing, redirect
from expressway.tenant.dashboard.listing import listing
from expressway.tenant.rows import ConnectionRow, UserRow
from expressway.tenant.services import users as service

router = APIRouter()


def _list_page(ctx: Dashboard, errors: dict[str, str] | None = None, status: int = 200) -> Response:
    page = listing(
        ctx.session,
        ctx.request,
        f"{PREFIX}/users",
        select(UserRow).order_by(UserRow.created_at.desc(), UserRow.user_id),
        [UserRow.email, UserRow.name, UserRow.user_id],
    )
    databases = list(
        ctx.session.scalars(
            select(ConnectionRow.name)
            .where(ConnectionRow.strategy == service.DATABASE_STRATEGY)
            .order_by(ConnectionRow.name)
        )
    )
    return ctx.render(
        "users.html",
        section="users",
        status_code=status,
        title="Users",
        listing=page,
        databases=[(name, name) for name in databases],
        errors=errors or {},
        values={
            "email": ctx.form.raw("email") or "",
            "name": ctx.form.raw("name") or "",
            "connection": ctx.form.raw("connection") or "",
        },
    )


@router.get("/users")
def list_users(ctx: Viewing) -> Response:
    return _list_page(ctx)


@router.post("/users")
def create_user(ctx: Changing) -> Response:
    def create() -> Response:
        row = service.create(
            ctx.session,
            ctx.now,
            service.NewUser(
                connection=ctx.form.required("connection", max_length=128),
                email=ctx.form.required("email", max_length=320),
                password=ctx.form.required("password", max_length=128),
                name=ctx.form.text("name", max_length=300),
            ),
        )
        ctx.log("Create a User", details={"user_id": row.user_id})
        return redirect("/users", "created")

    return ctx.attempt(create, lambda errors, status: _list_page(ctx, errors, status))
