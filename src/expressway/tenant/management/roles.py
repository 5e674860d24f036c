"""``/api/v2/roles``: roles, their permissions and their users."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from expressway.tenant.errors import InvalidInput
from expressway.tenant.management.context import (
    Checkpoint,
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
from expressway.tenant.rows import RoleRow, UserRow
from expressway.tenant.services import roles as service
from expressway.tenant.services import users as users_service
from expressway.web.json_bodies import JsonBodyRoute

router = APIRouter(prefix="/roles", tags=["Roles"], route_class=JsonBodyRoute)

RoleName = Annotated[str, Field(min_length=1, max_length=50)]
RoleDescription = Annotated[str, Field(max_length=140)]
UserId = Annotated[str, Field(min_length=1, max_length=255)]


class CreateRole(RequestBody):
    name: RoleName
    description: RoleDescription | None = None


class UpdateRole(RequestBody):
    name: RoleName | None = None
    description: RoleDescription | None = None


class PermissionIn(RequestBody):
    resource_server_identifier: Annotated[str, Field(min_length=1, max_length=600)]
    permission_name: Annotated[str, Field(min_length=1, max_length=280)]


class PermissionsBody(RequestBody):
    permissions: Annotated[list[PermissionIn], Field(min_length=1, max_length=1000)]

    def refs(self) -> list[service.PermissionRef]:
        return [
            service.PermissionRef(p.resource_server_identifier, p.permission_name)
            for p in self.permissions
        ]


class RoleUsersBody(RequestBody):
    users: Annotated[list[UserId], Field(min_length=1, max_length=1000)]


class RoleOut(BaseModel):
    id: str
    name: str
    description: str | None

    @classmethod
    def of(cls, row: RoleRow) -> RoleOut:
        return cls(id=row.id, name=row.name, description=row.description)


class PermissionOut(BaseModel):
    resource_server_identifier: str
    permission_name: str
    resource_server_name: str
    description: str

    @classmethod
    def of(cls, permission: service.Permission) -> PermissionOut:
        return cls(
            resource_server_identifier=permission.resource_server_identifier,
            permission_name=permission.permission_name,
            resource_server_name=permission.resource_server_name,
            description=permission.description,
        )


class RoleUserOut(BaseModel):
    user_id: str
    email: str | None = None
    picture: str | None = None
    name: str | None = None

    @classmethod
    def of(cls, row: UserRow) -> RoleUserOut:
        return cls(user_id=row.user_id, email=row.email, picture=row.picture, name=row.name)


# As in Auth0, the ``next`` of a role's users is opaque (an encoded ``user_id``), so a ``from``
# this API did not hand out is told apart and refused.


def encode_checkpoint(user_id: str) -> str:
    return base64.urlsafe_b64encode(user_id.encode()).decode().rstrip("=")


def decode_checkpoint(checkpoint: Checkpoint) -> Checkpoint:
    """``checkpoint`` starting at the ``user_id`` its ``from`` stands for; a ``from`` we did not
    hand out is a 400."""
    if checkpoint.start is None:
        return checkpoint
    try:
        padded = checkpoint.start + "=" * (-len(checkpoint.start) % 4)
        user_id = base64.b64decode(padded, altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInput(
            "Query validation error: 'from' is not a checkpoint this API returned.",
            code="invalid_query_string",
        ) from exc
    return Checkpoint(start=user_id, take=checkpoint.take)


@router.get("", summary="Get roles")
def list_roles(
    paging: Paging,
    ctx: Management = uses("read:roles"),
    name_filter: Annotated[str | None, Query(max_length=50)] = None,
) -> Any:
    rows, total = fetch_page(ctx.session, service.listing(name_filter), paging)
    return paged([RoleOut.of(r).model_dump() for r in rows], total, paging, "roles")


@router.post("", summary="Create a role")
def create_role(body: CreateRole, ctx: Management = uses("create:roles")) -> RoleOut:
    row = service.create(ctx.session, ctx.runtime.clock.now(), body.name, body.description)
    ctx.log("Create a role", details={"role_id": row.id})
    return RoleOut.of(row)


@router.get("/{id}", summary="Get a role")
def get_role(id: str, ctx: Management = uses("read:roles")) -> RoleOut:
    return RoleOut.of(service.find(ctx.session, id))


@router.patch("/{id}", summary="Update a role")
def update_role(id: str, body: UpdateRole, ctx: Management = uses("update:roles")) -> RoleOut:
    row = service.find(ctx.session, id)
    service.update(ctx.session, row, name=body.name, description=body.description)
    ctx.log("Update a role", details={"role_id": row.id})
    return RoleOut.of(row)


@router.delete("/{id}", summary="Delete a role")
def delete_role(id: str, ctx: Management = uses("delete:roles")) -> dict[str, Any]:
    row = service.find(ctx.session, id)
    service.remove(ctx.session, row)
    ctx.log("Delete a role", details={"role_id": id})
    return {}


@router.get("/{id}/permissions", summary="Get the permissions of a role")
def list_role_permissions(id: str, paging: Paging, ctx: Management = uses("read:roles")) -> Any:
    service.find(ctx.session, id)
    rows, total = fetch_page(ctx.session, service.permissions_listing(id), paging)
    refs = [service.PermissionRef(r.resource_server_identifier, r.permission_name) for r in rows]
    items = [PermissionOut.of(p).model_dump() for p in service.describe(ctx.session, refs)]
    return paged(items, total, paging, "permissions")


@router.post("/{id}/permissions", status_code=201, summary="Add permissions to a role")
def add_role_permissions(
    id: str, body: PermissionsBody, ctx: Management = uses("update:roles")
) -> dict[str, Any]:
    row = service.find(ctx.session, id)
    service.add_permissions(ctx.session, row, body.refs())
    ctx.log("Add permissions to a role", details={"role_id": row.id})
    return {}


@router.delete("/{id}/permissions", status_code=204, summary="Remove permissions from a role")
def remove_role_permissions(
    id: str, body: PermissionsBody, ctx: Management = uses("update:roles")
) -> Response:
    row = service.find(ctx.session, id)
    service.remove_permissions(ctx.session, row, body.refs())
    ctx.log("Remove permissions from a role", details={"role_id": row.id})
    return Response(status_code=204)


@router.get("/{id}/users", summary="Get the users of a role")
def list_role_users(
    id: str,
    paging: Paging,
    checkpoint: CheckpointPaging,
    ctx: Management = uses("read:role_members", "read:users"),
) -> Any:
    service.find(ctx.session, id)
    if checkpoint is not None:
        rows, following = fetch_checkpoint(
            ctx.session, service.users_listing(id), UserRow.user_id, decode_checkpoint(checkpoint)
        )
        items = [RoleUserOut.of(r).model_dump(exclude_none=True) for r in rows]
        return checkpointed(items, encode_checkpoint(following) if following else None, "users")
    rows, total = fetch_page(ctx.session, service.users_listing(id), paging)
    return paged(
        [RoleUserOut.of(r).model_dump(exclude_none=True) for r in rows], total, paging, "users"
    )


@router.post("/{id}/users", summary="Assign users to a role")
def assign_role_users(
    id: str,
    body: RoleUsersBody,
    ctx: Management = uses("create:role_members", "update:users"),
) -> dict[str, Any]:
    row = service.find(ctx.session, id)
    users = users_service.find_all(ctx.session, body.users)
    service.assign(ctx.session, [row], users)
    ctx.log("Assign users to a role", details={"role_id": row.id, "users": body.users})
    return {}
