"""``/api/v2/organizations``: organizations, their members, member roles and enabled connections."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from expressway.tenant.management.context import (
    CheckpointPaging,
    Management,
    Paging,
    check_offset_window,
    checkpointed,
    fetch_checkpoint,
    fetch_page,
    paged,
    uses,
)
from expressway.tenant.management.roles import RoleOut
from expressway.tenant.management.schema import RequestBody
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
from expressway.web.json_bodies import JsonBodyRoute

router = APIRouter(prefix="/organizations", tags=["Organizations"], route_class=JsonBodyRoute)

UserId = Annotated[str, Field(min_length=1, max_length=255)]
RoleId = Annotated[str, Field(min_length=1, max_length=64)]
ConnectionId = Annotated[str, Field(min_length=1, max_length=64)]
HexColor = Annotated[str, Field(max_length=7, pattern=r"^#(?:[0-9a-fA-F]{3}){1,2}$")]
MetadataKey = Annotated[str, Field(min_length=1, max_length=255)]
MetadataValue = Annotated[str, Field(max_length=255)]


def log_organization_write(
    ctx: Management,
    description: str,
    organization: OrganizationRow,
    *,
    connection: ConnectionRow | None = None,
    details: dict[str, Any] | None = None,
    **fields: Any,
) -> None:
    """Record a write on ``organization`` (and on its ``connection``); the event names both, so
    a log search by organization or by connection finds every change made to it."""
    ids = {"organization_id": organization.id}
    named = {"organization_id": organization.id, "organization_name": organization.name}
    if connection is not None:
        ids["connection_id"] = connection.id
        named |= {"connection": connection.name, "connection_id": connection.id}
    ctx.log(description, details={**ids, **(details or {})}, **named, **fields)


# Organizations


class BrandingColorsIn(RequestBody):
    primary: HexColor
    page_background: HexColor


class BrandingIn(RequestBody):
    logo_url: Annotated[str, Field(max_length=2048, pattern=r"^https://\S+$")] | None = None
    colors: BrandingColorsIn | None = None


class EnabledConnectionSettings(RequestBody):
    assign_membership_on_login: bool | None = None
    show_as_button: bool | None = None
    is_signup_enabled: bool | None = None

    def spec(self) -> service.EnabledConnectionSpec:
        return service.EnabledConnectionSpec(
            assign_membership_on_login=self.assign_membership_on_login,
            show_as_button=self.show_as_button,
            is_signup_enabled=self.is_signup_enabled,
        )


class ConnectionForOrganizationIn(EnabledConnectionSettings):
    connection_id: ConnectionId


class OrganizationFields(RequestBody):
    display_name: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    metadata: (
        Annotated[
            dict[MetadataKey, MetadataValue | None],
            Field(max_length=service.MAX_METADATA_PROPERTIES),
        ]
        | None
    ) = None
    branding: BrandingIn | None = None

    def spec(self) -> service.OrganizationSpec:
        return service.OrganizationSpec(
            name=getattr(self, "name", None),
            display_name=self.display_name,
            metadata=self.metadata,
            branding=self.branding.model_dump(exclude_none=True) if self.branding else None,
        )


class CreateOrganization(OrganizationFields):
    name: Annotated[str, Field(min_length=1, max_length=50)]
    enabled_connections: (
        Annotated[list[ConnectionForOrganizationIn], Field(max_length=100)] | None
    ) = None


class UpdateOrganization(OrganizationFields):
    name: Annotated[str, Field(min_length=1, max_length=50)] | None = None


class BrandingColorsOut(BaseModel):
    primary: str
    page_background: str


class BrandingOut(BaseModel):
    logo_url: str | None = None
    colors: BrandingColorsOut | None = None


class OrganizationOut(BaseModel):
    id: str
    name: str
    display_name: str | None = None
    metadata: dict[str, str]
    branding: BrandingOut | None = None

    @classmethod
    def of(cls, row: OrganizationRow) -> OrganizationOut:
        branding = row.branding
        colors = branding.get("colors") if branding else None
        return cls(
            id=row.id,
            name=row.name,
            display_name=row.display_name,
            metadata={k: str(v) for k, v in row.org_metadata.items()},
            branding=(
                BrandingOut(
                    logo_url=branding.get("logo_url"),
                    colors=(
                        BrandingColorsOut(
                            primary=colors["primary"], page_background=colors["page_background"]
                        )
                        if colors
                        else None
                    ),
                )
                if branding
                else None
            ),
        )


class ConnectionInformationOut(BaseModel):
    name: str
    strategy: str


class EnabledConnectionOut(BaseModel):
    connection_id: str
    assign_membership_on_login: bool
    show_as_button: bool
    is_signup_enabled: bool
    connection: ConnectionInformationOut

    @classmethod
    def of(cls, link: OrganizationConnectionRow, connection: ConnectionRow) -> EnabledConnectionOut:
        return cls(
            connection_id=link.connection_id,
            assign_membership_on_login=link.assign_membership_on_login,
            show_as_button=link.show_as_button,
            is_signup_enabled=link.is_signup_enabled,
            connection=ConnectionInformationOut(name=connection.name, strategy=connection.strategy),
        )


class CreatedOrganizationOut(OrganizationOut):
    enabled_connections: list[EnabledConnectionOut]


@router.get("", summary="Get organizations")
def list_organizations(
    paging: Paging,
    checkpoint: CheckpointPaging,
    ctx: Management = uses("read:organizations"),
) -> Any:
    statement = select(OrganizationRow)
    if checkpoint is not None:
        rows, next_key = fetch_checkpoint(ctx.session, statement, OrganizationRow.id, checkpoint)
        items = [OrganizationOut.of(r).model_dump(exclude_none=True) for r in rows]
        return checkpointed(items, next_key, "organizations")
    check_offset_window(paging)
    rows, total = fetch_page(
        ctx.session, statement.order_by(OrganizationRow.created_at, OrganizationRow.id), paging
    )
    items = [OrganizationOut.of(r).model_dump(exclude_none=True) for r in rows]
    return paged(items, total, paging, "organizations")


@router.post(
    "",
    status_code=201,
    summary="Create an organization",
    response_model_exclude_none=True,
)
def create_organization(
    body: CreateOrganization, ctx: Management = uses("create:organizations")
) -> CreatedOrganizationOut:
    enabled = [(c.connection_id, c.spec()) for c in body.enabled_connections or []]
    row = service.create(ctx.session, ctx.runtime.clock.now(), body.spec(), enabled)
    links = [
        service.find_enabled_connection(ctx.session, row, connection_id)
        for connection_id, _ in enabled
    ]
    log_organization_write(ctx, "Create an organization", row)
    return CreatedOrganizationOut(
        **OrganizationOut.of(row).model_dump(),
        enabled_connections=[EnabledConnectionOut.of(link, c) for link, c in links],
    )


@router.get("/name/{name}", summary="Get an organization by name", response_model_exclude_none=True)
def get_organization_by_name(
    name: str, ctx: Management = uses("read:organizations")
) -> OrganizationOut:
    return OrganizationOut.of(service.find_by_name(ctx.session, name))


@router.get("/{id}", summary="Get an organization", response_model_exclude_none=True)
def get_organization(id: str, ctx: Management = uses("read:organizations")) -> OrganizationOut:
    return OrganizationOut.of(service.find(ctx.session, id))


@router.patch("/{id}", summary="Update an organization", response_model_exclude_none=True)
def update_organization(
    id: str, body: UpdateOrganization, ctx: Management = uses("update:organizations")
) -> OrganizationOut:
    row = service.update(ctx.session, service.find(ctx.session, id), body.spec())
    log_organization_write(ctx, "Update an organization", row)
    return OrganizationOut.of(row)


@router.delete("/{id}", status_code=204, summary="Delete an organization")
def delete_organization(id: str, ctx: Management = uses("delete:organizations")) -> Response:
    row = service.find(ctx.session, id)
    service.remove(ctx.session, row)
    log_organization_write(ctx, "Delete an organization", row)
    return Response(status_code=204)


# Members


class MembersIn(RequestBody):
    members: Annotated[list[UserId], Field(min_length=1, max_length=100)]


class MemberRoleOut(BaseModel):
    id: str
    name: str


class MemberOut(BaseModel):
    user_id: str
    email: str | None = None
    picture: str | None = None
    name: str | None = None
    roles: list[MemberRoleOut] | None = None

    @classmethod
    def of(cls, user: UserRow, roles: list[RoleRow] | None) -> MemberOut:
        return cls(
            user_id=user.user_id,
            email=user.email,
            picture=user.picture,
            name=user.name,
            roles=[MemberRoleOut(id=r.id, name=r.name) for r in roles]
            if roles is not None
            else None,
        )


MEMBER_DEFAULT_FIELDS = frozenset({"user_id", "email", "picture", "name"})


def member_fields(fields: str | None, include_fields: bool) -> frozenset[str]:
    """Auth0's ``fields``/``include_fields``: which properties each member carries.

    ``roles`` costs a query, so it comes only when asked for by name; ``user_id`` always comes,
    since a member without it cannot be told apart.
    """
    named = frozenset(f.strip() for f in (fields or "").split(",") if f.strip())
    if not named:
        return MEMBER_DEFAULT_FIELDS
    if include_fields:
        return named & (MEMBER_DEFAULT_FIELDS | {"roles"}) | {"user_id"}
    return MEMBER_DEFAULT_FIELDS - named | {"user_id"}


def member_roles(
    session: Session, organization: OrganizationRow, user_ids: list[str]
) -> dict[str, list[RoleRow]]:
    held: dict[str, list[RoleRow]] = {u: [] for u in user_ids}
    rows = session.execute(
        select(OrganizationMemberRoleRow.user_id, RoleRow)
        .join(RoleRow, RoleRow.id == OrganizationMemberRoleRow.role_id)
        .where(
            OrganizationMemberRoleRow.organization_id == organization.id,
            OrganizationMemberRoleRow.user_id.in_(user_ids),
        )
        .order_by(RoleRow.name, RoleRow.id)
    )
    for user_id, role in rows:
        held[user_id].append(role)
    return held


@router.get("/{id}/members", summary="Get the members of an organization")
def list_members(
    id: str,
    paging: Paging,
    checkpoint: CheckpointPaging,
    ctx: Management = uses("read:organization_members"),
    fields: Annotated[
        str | None, Query(max_length=200, description="Comma-separated properties.")
    ] = None,
    include_fields: Annotated[
        bool, Query(description="Whether `fields` includes (true) or excludes them.")
    ] = True,
) -> Any:
    organization = service.find(ctx.session, id)
    statement = (
        select(UserRow)
        .join(OrganizationMemberRow, OrganizationMemberRow.user_id == UserRow.user_id)
        .where(OrganizationMemberRow.organization_id == organization.id)
    )
    next_key: str | None = None
    total = 0
    if checkpoint is not None:
        users, next_key = fetch_checkpoint(ctx.session, statement, UserRow.user_id, checkpoint)
    else:
        check_offset_window(paging)
        users, total = fetch_page(
            ctx.session,
            statement.order_by(OrganizationMemberRow.created_at, UserRow.user_id),
            paging,
        )
    shown = member_fields(fields, include_fields)
    roles = (
        member_roles(ctx.session, organization, [u.user_id for u in users])
        if "roles" in shown
        else {}
    )
    items = [
        MemberOut.of(u, roles.get(u.user_id)).model_dump(include=set(shown), exclude_none=True)
        for u in users
    ]
    if checkpoint is not None:
        return checkpointed(items, next_key, "members")
    return paged(items, total, paging, "members")


@router.post("/{id}/members", status_code=204, summary="Add members to an organization")
def add_members(
    id: str, body: MembersIn, ctx: Management = uses("create:organization_members")
) -> Response:
    organization = service.find(ctx.session, id)
    added = service.add_members(ctx.session, ctx.runtime.clock.now(), organization, body.members)
    log_organization_write(
        ctx,
        "Add members to an organization",
        organization,
        details={"members": body.members, "added": added},
    )
    return Response(status_code=204)


@router.delete("/{id}/members", status_code=204, summary="Remove members from an organization")
def remove_members(
    id: str, body: MembersIn, ctx: Management = uses("delete:organization_members")
) -> Response:
    organization = service.find(ctx.session, id)
    service.remove_members(ctx.session, organization, body.members)
    log_organization_write(
        ctx, "Remove members from an organization", organization, details={"members": body.members}
    )
    return Response(status_code=204)


# Member roles


class RolesIn(RequestBody):
    roles: Annotated[list[RoleId], Field(min_length=1, max_length=100)]


@router.get(
    "/{id}/members/{user_id:path}/roles",
    summary="Get the roles a member holds in an organization",
)
def list_member_roles(
    id: str,
    user_id: str,
    paging: Paging,
    ctx: Management = uses("read:organization_member_roles"),
) -> Any:
    organization = service.find(ctx.session, id)
    service.check_member(ctx.session, organization, user_id)
    statement = (
        select(RoleRow)
        .join(OrganizationMemberRoleRow, OrganizationMemberRoleRow.role_id == RoleRow.id)
        .where(
            OrganizationMemberRoleRow.organization_id == organization.id,
            OrganizationMemberRoleRow.user_id == user_id,
        )
        .order_by(RoleRow.name, RoleRow.id)
    )
    rows, total = fetch_page(ctx.session, statement, paging)
    return paged(
        [RoleOut.of(r).model_dump(exclude_none=True) for r in rows], total, paging, "roles"
    )


@router.post(
    "/{id}/members/{user_id:path}/roles",
    status_code=204,
    summary="Assign roles to an organization member",
)
def assign_member_roles(
    id: str,
    user_id: str,
    body: RolesIn,
    ctx: Management = uses("create:organization_member_roles"),
) -> Response:
    organization = service.find(ctx.session, id)
    service.assign_member_roles(ctx.session, organization, user_id, body.roles)
    log_organization_write(
        ctx,
        "Assign roles to an organization member",
        organization,
        details={"roles": body.roles},
        user_id=user_id,
    )
    return Response(status_code=204)


@router.delete(
    "/{id}/members/{user_id:path}/roles",
    status_code=204,
    summary="Remove roles from an organization member",
)
def remove_member_roles(
    id: str,
    user_id: str,
    body: RolesIn,
    ctx: Management = uses("delete:organization_member_roles"),
) -> Response:
    organization = service.find(ctx.session, id)
    service.remove_member_roles(ctx.session, organization, user_id, body.roles)
    log_organization_write(
        ctx,
        "Remove roles from an organization member",
        organization,
        details={"roles": body.roles},
        user_id=user_id,
    )
    return Response(status_code=204)


# Enabled connections


@router.get("/{id}/enabled_connections", summary="Get the connections enabled for an organization")
def list_enabled_connections(
    id: str, paging: Paging, ctx: Management = uses("read:organization_connections")
) -> Any:
    organization = service.find(ctx.session, id)
    statement = (
        select(OrganizationConnectionRow)
        .where(OrganizationConnectionRow.organization_id == organization.id)
        .order_by(OrganizationConnectionRow.connection_id)
    )
    links, total = fetch_page(ctx.session, statement, paging)
    connections = {
        c.id: c
        for c in ctx.session.scalars(
            select(ConnectionRow).where(
                ConnectionRow.id.in_([link.connection_id for link in links])
            )
        )
    }
    items = [
        EnabledConnectionOut.of(link, connections[link.connection_id]).model_dump()
        for link in links
    ]
    return paged(items, total, paging, "enabled_connections")


@router.post(
    "/{id}/enabled_connections",
    status_code=201,
    summary="Enable a connection for an organization",
)
def add_enabled_connection(
    id: str,
    body: ConnectionForOrganizationIn,
    ctx: Management = uses("create:organization_connections"),
) -> EnabledConnectionOut:
    organization = service.find(ctx.session, id)
    link, connection = service.enable_connection(
        ctx.session, organization, body.connection_id, body.spec()
    )
    log_organization_write(
        ctx, "Add a connection to an organization", organization, connection=connection
    )
    return EnabledConnectionOut.of(link, connection)


@router.get(
    "/{id}/enabled_connections/{connection_id}",
    summary="Get a connection enabled for an organization",
)
def get_enabled_connection(
    id: str, connection_id: str, ctx: Management = uses("read:organization_connections")
) -> EnabledConnectionOut:
    organization = service.find(ctx.session, id)
    return EnabledConnectionOut.of(
        *service.find_enabled_connection(ctx.session, organization, connection_id)
    )


@router.patch(
    "/{id}/enabled_connections/{connection_id}",
    summary="Update a connection enabled for an organization",
)
def update_enabled_connection(
    id: str,
    connection_id: str,
    body: EnabledConnectionSettings,
    ctx: Management = uses("update:organization_connections"),
) -> EnabledConnectionOut:
    organization = service.find(ctx.session, id)
    link, connection = service.find_enabled_connection(ctx.session, organization, connection_id)
    service.update_enabled_connection(ctx.session, link, body.spec())
    log_organization_write(
        ctx, "Update an organization connection", organization, connection=connection
    )
    return EnabledConnectionOut.of(link, connection)


@router.delete(
    "/{id}/enabled_connections/{connection_id}",
    status_code=204,
    summary="Disable a connection for an organization",
)
def delete_enabled_connection(
    id: str, connection_id: str, ctx: Management = uses("delete:organization_connections")
) -> Response:
    organization = service.find(ctx.session, id)
    link, connection = service.find_enabled_connection(ctx.session, organization, connection_id)
    service.disable_connection(ctx.session, link)
    log_organization_write(
        ctx, "Remove a connection from an organization", organization, connection=connection
    )
    return Response(status_code=204)
