"""``/Groups`` (RFC 7644 §3.3 to §3.6): groups of the connection's users."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from scim2_models import Context

from expressway.scim.patch import read_patch
from expressway.scim.resources import GroupResource, read_resource
from expressway.tenant.scim.context import ScimAccess, json_body, uses
from expressway.tenant.scim.endpoints import ResourceEndpoints, add_read_routes
from expressway.tenant.services import scim_groups

router = APIRouter(prefix="/connections/{connection_id}/Groups")
endpoints = ResourceEndpoints(scim_groups.GROUPS)
add_read_routes(router, endpoints, "groups", "group")


@router.post("", status_code=201, summary="Create a group")
def create_group(
    body: Any = Depends(json_body), access: ScimAccess = uses("post:groups")
) -> Response:
    with access.open() as ctx:
        resource = read_resource(GroupResource, body, Context.RESOURCE_CREATION_REQUEST)
        row = scim_groups.create(ctx.session, ctx.now, ctx.connection.id, resource)
        ctx.log(f"SCIM create Group {row.display_name}", details={"scim_id": row.id})
        return endpoints.answer(ctx, row, Context.RESOURCE_CREATION_RESPONSE, 201)


@router.put("/{scim_id}", summary="Replace a group")
def replace_group(
    scim_id: str,
    request: Request,
    body: Any = Depends(json_body),
    access: ScimAccess = uses("put:groups"),
) -> Response:
    with access.open() as ctx:
        row = endpoints.to_write(ctx, request, scim_id)
        resource = read_resource(GroupResource, body, Context.RESOURCE_REPLACEMENT_REQUEST)
        scim_groups.replace(ctx.session, ctx.now, row, resource)
        ctx.log(f"SCIM replace Group {row.display_name}", details={"scim_id": row.id})
        return endpoints.answer(ctx, row, Context.RESOURCE_REPLACEMENT_RESPONSE)


@router.patch("/{scim_id}", summary="Modify a group")
def patch_group(
    scim_id: str,
    request: Request,
    body: Any = Depends(json_body),
    access: ScimAccess = uses("patch:groups"),
) -> Response:
    with access.open() as ctx:
        row = endpoints.to_write(ctx, request, scim_id)
        operations = read_patch(GroupResource, body, f"{ctx.base_url}/Users")
        if scim_groups.patch(ctx.session, ctx.now, row, operations, ctx.base_url):
            ctx.log(f"SCIM modify Group {row.display_name}", details={"scim_id": row.id})
        return endpoints.answer(ctx, row, Context.RESOURCE_PATCH_RESPONSE)


@router.delete("/{scim_id}", status_code=204, summary="Delete a group")
def delete_group(
    scim_id: str, request: Request, access: ScimAccess = uses("delete:groups")
) -> Response:
    with access.open() as ctx:
        row = endpoints.to_write(ctx, request, scim_id)
        display_name = row.display_name
        scim_groups.remove(ctx.session, row)
        ctx.log(f"SCIM delete Group {display_name}", details={"scim_id": scim_id})
        return Response(status_code=204)
