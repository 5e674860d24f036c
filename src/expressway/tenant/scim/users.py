"""``/Users`` (RFC 7644 §3.3 to §3.6)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from scim2_models import Context

from expressway.scim.patch import read_patch
from expressway.scim.resources import UserResource, complete_user_payload, read_resource
from expressway.tenant.rows import ScimUserRow
from expressway.tenant.scim.context import Scim, ScimAccess, ScimResponse, json_body, uses
from expressway.tenant.scim.endpoints import ResourceEndpoints, add_read_routes
from expressway.tenant.services import scim_users

router = APIRouter(prefix="/connections/{connection_id}/Users")
endpoints = ResourceEndpoints(scim_users.USERS)
add_read_routes(router, endpoints, "users", "user")


def _log_change(ctx: Scim, verb: str, row: ScimUserRow) -> None:
    ctx.log(
        f"SCIM {verb} User {row.user_name}",
        user_id=row.user_id,
        user_name=row.user_name[:320],
        details={"scim_id": row.id, "active": row.active},
    )


def provision(ctx: Scim, body: Any) -> ScimResponse:
    """``POST /Users``: the user made from ``body``, answered with its resource."""
    resource = read_resource(
        UserResource,
        complete_user_payload(body, f"{ctx.base_url}/Users"),
        Context.RESOURCE_CREATION_REQUEST,
    )
    row = scim_users.create(ctx.session, ctx.now, ctx.connection, ctx.config, resource)
    ctx.log(
        f"SCIM create User {row.user_name}",
        user_id=row.user_id,
        user_name=row.user_name[:320],
        details={"scim_id": row.id},
    )
    # No group names a user created by this request: its groups are known to be none.
    return endpoints.answer(ctx, row, Context.RESOURCE_CREATION_RESPONSE, 201, known=())


@router.post("", status_code=201, summary="Provision a user")
def create_user(
    body: Any = Depends(json_body), access: ScimAccess = uses("post:users")
) -> Response:
    with access.open() as ctx:
        return provision(ctx, body)


@router.put("/{scim_id}", summary="Replace a user")
def replace_user(
    scim_id: str,
    request: Request,
    body: Any = Depends(json_body),
    access: ScimAccess = uses("put:users"),
) -> Response:
    with access.open() as ctx:
        row = endpoints.to_write(ctx, request, scim_id)
        resource = read_resource(
            UserResource,
            complete_user_payload(body, f"{ctx.base_url}/Users"),
            Context.RESOURCE_REPLACEMENT_REQUEST,
        )
        scim_users.replace(ctx.session, ctx.now, ctx.connection, ctx.config, row, resource)
        _log_change(ctx, "replace", row)
        return endpoints.answer(ctx, row, Context.RESOURCE_REPLACEMENT_RESPONSE)


@router.patch("/{scim_id}", summary="Modify a user")
def patch_user(
    scim_id: str,
    request: Request,
    body: Any = Depends(json_body),
    access: ScimAccess = uses("patch:users"),
) -> Response:
    with access.open() as ctx:
        row = endpoints.to_write(ctx, request, scim_id)
        operations = read_patch(UserResource, body, f"{ctx.base_url}/Users")
        changed = scim_users.patch(
            ctx.session, ctx.now, ctx.connection, ctx.config, row, operations, ctx.base_url
        )
        if changed:
            _log_change(ctx, "modify", row)
        return endpoints.answer(ctx, row, Context.RESOURCE_PATCH_RESPONSE)


@router.delete("/{scim_id}", status_code=204, summary="Deprovision a user")
def delete_user(
    scim_id: str, request: Request, access: ScimAccess = uses("delete:users")
) -> Response:
    with access.open() as ctx:
        row = endpoints.to_write(ctx, request, scim_id)
        user_id, user_name = row.user_id, row.user_name
        scim_users.remove(ctx.session, ctx.now, row)
        ctx.log(
            f"SCIM delete User {user_name}",
            user_id=user_id,
            user_name=user_name[:320],
            details={"scim_id": scim_id},
        )
        return Response(status_code=204)
