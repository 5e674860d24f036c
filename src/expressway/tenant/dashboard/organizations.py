"""Organizations: their e-mail domains, members, member roles and connections."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from starlette.responses import Response

from expressway.tenant.dashboard.context import PREFIX, Changing, Dashboard, Viewing, redirect
from expressway.tenant.dashboard.forms import FormError
from expressway.tenant.dashboard.listing import listing
from expressway.tenant.dashboard.roles import find_user
from expressway.tenant.rows import (
    ConnectionRow,
    OrganizationConnectionRow,
    OrganizationMemberRoleRow,
    OrganizationMemberRow,
    OrganizationRow,
    RoleRow,
    UserRow,
)
from expressway.tenant.services import organizations as service

router = APIRouter()

#: The most connections the organization page offers in a list; past that, one is typed by name.
CONNECTIONS_LISTED = 100


def _log(
    ctx: Dashboard,
    description: str,
    organization: OrganizationRow,
    *,
    connection: ConnectionRow | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """As the Management API logs organization writes: naming the organization (and the
    connection), so that a log search by either finds the change."""
    named: dict[str, Any] = {
        "organization_id": organization.id,
        "organization_name": organization.name,
    }
    ids = {"organization_id": organization.id}
    if connection is not None:
        ids["connection_id"] = connection.id
        named |= {"connection": connection.name, "connection_id": connection.id}
    ctx.log(description, details={**ids, **(details or {})}, **named)


def _list_page(ctx: Dashboard, errors: dict[str, str] | None = None, status: int = 200) -> Response:
    page = listing(
        ctx.session,
        ctx.request,
        f"{PREFIX}/organizations",
        select(OrganizationRow).order_by(OrganizationRow.name),
        [OrganizationRow.name, OrganizationRow.display_name],
    )
    return ctx.render(
        "organizations.html",
        section="organizations",
        status_code=status,
        title="Organizations",
        listing=page,
        domains={row.id: ", ".join(service.organization_domains(row)) for row in page.rows},
        errors=errors or {},
        values={
            "name": ctx.form.raw("name") or "",
            "display_name": ctx.form.raw("display_name") or "",
            "domains": ctx.form.raw("domains") or "",
        },
    )


@router.get("/organizations")
def list_organizations(ctx: Viewing) -> Response:
    return _list_page(ctx)


def _domains(ctx: Dashboard) -> dict[str, str | None]:
    given = ctx.form.text("domains", max_length=255)
    return {"domains": service.normalise_domains(given) if given else None}


@router.post("/organizations")
def create_organization(ctx: Changing) -> Response:
    def create() -> Response:
        row = service.create(
            ctx.session,
            ctx.now,
            service.OrganizationSpec(
                name=ctx.form.required("name", max_length=50),
                display_name=ctx.form.text("display_name", max_length=255),
                metadata=_domains(ctx),
            ),
        )
        _log(ctx, "Create an organization", row)
        return redirect(f"/organizations/{row.id}", "created")

    return ctx.attempt(create, lambda errors, status: _list_page(ctx, errors, status))


def _organization_page(
    ctx: Dashboard, row: OrganizationRow, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    session = ctx.session
    # SCIM brings a customer's employees in as members: thousands of them.
    members = listing(
        session,
        ctx.request,
        f"{PREFIX}/organizations/{row.id}",
        select(UserRow)
        .join(OrganizationMemberRow, OrganizationMemberRow.user_id == UserRow.user_id)
        .where(OrganizationMemberRow.organization_id == row.id)
        .order_by(UserRow.email, UserRow.user_id),
        [UserRow.email, UserRow.name, UserRow.user_id],
        fragment="members",
    )
    member_roles: dict[str, list[RoleRow]] = {member.user_id: [] for member in members.rows}
    for user_id, role in session.execute(
        select(OrganizationMemberRoleRow.user_id, RoleRow)
        .join(RoleRow, RoleRow.id == OrganizationMemberRoleRow.role_id)
        .where(
            OrganizationMemberRoleRow.organization_id == row.id,
            OrganizationMemberRoleRow.user_id.in_(list(member_roles)),
        )
        .order_by(RoleRow.name)
    ):
        member_roles.setdefault(user_id, []).append(role)
    enabled = [
        (link, connection)
        for link, connection in session.execute(
            select(OrganizationConnectionRow, ConnectionRow)
            .join(ConnectionRow, ConnectionRow.id == OrganizationConnectionRow.connection_id)
            .where(OrganizationConnectionRow.organization_id == row.id)
            .order_by(ConnectionRow.name)
        )
    ]
    # Offered in a list while there are few; past that, typed by name (a tenant holds a
    # connection for each customer that ran Express Configuration).
    available = list(
        session.scalars(
            select(ConnectionRow)
            .where(
                ConnectionRow.id.not_in(
                    select(OrganizationConnectionRow.connection_id).where(
                        OrganizationConnectionRow.organization_id == row.id
                    )
                )
            )
            .order_by(ConnectionRow.name)
            .limit(CONNECTIONS_LISTED + 1)
        )
    )
    return ctx.render(
        "organization.html",
        section="organizations",
        status_code=status,
        title=row.display_name or row.name,
        organization=row,
        domains=", ".join(service.organization_domains(row)),
        members=members,
        member_roles=member_roles,
        roles=list(session.scalars(select(RoleRow).order_by(RoleRow.name))),
        enabled=enabled,
        available=available if len(available) <= CONNECTIONS_LISTED else None,
        errors=errors or {},
    )


@router.get("/organizations/{organization_id}")
def show_organization(organization_id: str, ctx: Viewing) -> Response:
    return _organization_page(ctx, service.find(ctx.session, organization_id))


def _change(ctx: Dashboard, organization_id: str, work: Any) -> Response:
    row = service.find(ctx.session, organization_id)

    def act() -> Response:
        notice = work(row)
        return redirect(f"/organizations/{row.id}", notice)

    return ctx.attempt(act, lambda errors, status: _organization_page(ctx, row, errors, status))


@router.post("/organizations/{organization_id}/settings")
def save_organization(organization_id: str, ctx: Changing) -> Response:
    def work(row: OrganizationRow) -> str:
        service.update(
            ctx.session,
            row,
            service.OrganizationSpec(
                display_name=ctx.form.text("display_name", max_length=255),
                metadata=_domains(ctx),
            ),
        )
        _log(ctx, "Update an organization", row)
        return "saved"

    return _change(ctx, organization_id, work)


@router.post("/organizations/{organization_id}/members")
def add_member(organization_id: str, ctx: Changing) -> Response:
    def work(row: OrganizationRow) -> str:
        user = find_user(ctx, "user")
        added = service.add_members(ctx.session, ctx.now, row, [user.user_id])
        _log(
            ctx,
            "Add members to an organization",
            row,
            details={"members": [user.user_id], "added": added},
        )
        return "added"

    return _change(ctx, organization_id, work)


@router.post("/organizations/{organization_id}/members/remove")
def remove_member(organization_id: str, ctx: Changing) -> Response:
    def work(row: OrganizationRow) -> str:
        user_id = ctx.form.required("user_id", max_length=255)
        service.remove_members(ctx.session, row, [user_id])
        _log(ctx, "Remove members from an organization", row, details={"members": [user_id]})
        return "removed"

    return _change(ctx, organization_id, work)


@router.post("/organizations/{organization_id}/members/roles")
def assign_member_role(organization_id: str, ctx: Changing) -> Response:
    def work(row: OrganizationRow) -> str:
        user_id = ctx.form.required("user_id", max_length=255)
        role_id = ctx.form.required("role_id", max_length=64)
        service.assign_member_roles(ctx.session, row, user_id, [role_id])
        _log(
            ctx,
            "Assign roles to an organization member",
            row,
            details={"user_id": user_id, "roles": [role_id]},
        )
        return "added"

    return _change(ctx, organization_id, work)


@router.post("/organizations/{organization_id}/members/roles/remove")
def remove_member_role(organization_id: str, ctx: Changing) -> Response:
    def work(row: OrganizationRow) -> str:
        user_id = ctx.form.required("user_id", max_length=255)
        role_id = ctx.form.required("role_id", max_length=64)
        service.remove_member_roles(ctx.session, row, user_id, [role_id])
        _log(
            ctx,
            "Remove roles from an organization member",
            row,
            details={"user_id": user_id, "roles": [role_id]},
        )
        return "removed"

    return _change(ctx, organization_id, work)


def _connection_id(ctx: Dashboard) -> str:
    """The connection the form names: chosen from the list (``connection_id``), or typed by
    name (``connection``) when there are too many to list."""
    if ctx.form.raw("connection_id") is not None:
        return ctx.form.required("connection_id", max_length=64)
    name = ctx.form.required("connection", max_length=128)
    found = ctx.session.scalars(select(ConnectionRow.id).where(ConnectionRow.name == name)).first()
    if found is None:
        raise FormError("connection", f"no connection is named {name}")
    return found


@router.post("/organizations/{organization_id}/connections")
def enable_connection(organization_id: str, ctx: Changing) -> Response:
    def work(row: OrganizationRow) -> str:
        _, connection = service.enable_connection(
            ctx.session,
            row,
            _connection_id(ctx),
            service.EnabledConnectionSpec(
                assign_membership_on_login=ctx.form.flag("assign_membership_on_login"),
                show_as_button=ctx.form.flag("show_as_button"),
            ),
        )
        _log(ctx, "Add a connection to an organization", row, connection=connection)
        return "added"

    return _change(ctx, organization_id, work)


@router.post("/organizations/{organization_id}/connections/remove")
def disable_connection(organization_id: str, ctx: Changing) -> Response:
    def work(row: OrganizationRow) -> str:
        link, connection = service.find_enabled_connection(
            ctx.session, row, ctx.form.required("connection_id", max_length=64)
        )
        service.disable_connection(ctx.session, link)
        _log(ctx, "Remove a connection from an organization", row, connection=connection)
        return "removed"

    return _change(ctx, organization_id, work)
