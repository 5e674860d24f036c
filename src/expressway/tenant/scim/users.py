"""``/Users`` (RFC 7644 §3.3 to §3.6)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response
from scim2_models import Context

from expressway.scim import filters
from expressway.scim.errors import invalid_syntax
from expressway.scim.patch import read_patch
from expressway.scim.resources import (
    UserResource,
    complete_user_payload,
    etag,
    is_excluded,
    read_resource,
    render,
    response_parameters,
)
from expressway.tenant.rows import ScimUserRow
from expressway.tenant.scim import common
from expressway.tenant.scim.context import Scim, ScimResponse, json_body, uses
from expressway.tenant.services import scim_users

router = APIRouter(prefix="/connections/{connection_id}/Users")

FilterParam = Annotated[str | None, Query(alias="filter")]
StartIndexParam = Annotated[str | None, Query(alias="startIndex")]
CountParam = Annotated[str | None, Query(alias="count")]
AttributesParam = Annotated[str | None, Query(alias="attributes")]
ExcludedParam = Annotated[str | None, Query(alias="excludedAttributes")]


def _render_one(
    ctx: Scim,
    row: ScimUserRow,
    context: Context,
    attributes: str | None = None,
    excluded: str | None = None,
) -> dict[str, Any]:
    parameters = response_parameters(attributes, excluded)
    groups = (
        None
        if is_excluded(parameters, "groups")
        else scim_users.group_memberships(ctx.session, [row.id])[row.id]
    )
    return render(scim_users.to_resource(row, ctx.base_url, groups), context, parameters)


def _list(
    ctx: Scim,
    filter_text: str | None,
    start_index: str | int | None,
    count: str | int | None,
    attributes: str | None,
    excluded: str | None,
) -> ScimResponse:
    paging = common.page(start_index, count)
    parameters = response_parameters(attributes, excluded)
    scim_filter = filters.parse_filter(filter_text, UserResource) if filter_text else None
    rows, total = scim_users.search(
        ctx.session, ctx.connection.id, scim_filter, paging, ctx.base_url
    )
    memberships = (
        {}
        if is_excluded(parameters, "groups")
        else scim_users.group_memberships(ctx.session, [row.id for row in rows])
    )
    resources = [
        render(
            scim_users.to_resource(row, ctx.base_url, memberships.get(row.id)),
            Context.SEARCH_RESPONSE,
            parameters,
        )
        for row in rows
    ]
    return common.list_response(resources, total, paging)


@router.get("", summary="List or filter users")
def list_users(
    filter_text: FilterParam = None,
    start_index: StartIndexParam = None,
    count: CountParam = None,
    attributes: AttributesParam = None,
    excluded: ExcludedParam = None,
    ctx: Scim = uses("get:users"),
) -> Response:
    return _list(ctx, filter_text, start_index, count, attributes, excluded)


@router.post("/.search", summary="Search users (RFC 7644 §3.4.3)")
def search_users(body: Any = Depends(json_body), ctx: Scim = uses("get:users")) -> Response:
    if not isinstance(body, dict):
        raise invalid_syntax("the request body must be a SearchRequest object")

    def joined(name: str) -> str | None:
        value = body.get(name)
        if isinstance(value, list):
            return ",".join(str(v) for v in value)
        return value if isinstance(value, str) else None

    filter_text = body.get("filter")
    if filter_text is not None and not isinstance(filter_text, str):
        raise invalid_syntax("filter must be a string")
    return _list(
        ctx,
        filter_text,
        body.get("startIndex"),
        body.get("count"),
        joined("attributes"),
        joined("excludedAttributes"),
    )


@router.post("", status_code=201, summary="Provision a user")
def create_user(body: Any = Depends(json_body), ctx: Scim = uses("post:users")) -> Response:
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
    location = f"{ctx.base_url}/Users/{row.id}"
    body_out = _render_one(ctx, row, Context.RESOURCE_CREATION_RESPONSE)
    return common.resource_response(body_out, row.version, 201, location)


@router.get("/{scim_id}", summary="Read a user")
def get_user(
    scim_id: str,
    request: Request,
    attributes: AttributesParam = None,
    excluded: ExcludedParam = None,
    ctx: Scim = uses("get:users"),
) -> Response:
    row = scim_users.find(ctx.session, ctx.connection.id, scim_id)
    if common.not_modified(request, row.version):
        return Response(status_code=304, headers={"ETag": etag(row.version)})
    body = _render_one(ctx, row, Context.RESOURCE_QUERY_RESPONSE, attributes, excluded)
    return common.resource_response(body, row.version)


@router.put("/{scim_id}", summary="Replace a user")
def replace_user(
    scim_id: str, request: Request, body: Any = Depends(json_body), ctx: Scim = uses("put:users")
) -> Response:
    row = scim_users.find(ctx.session, ctx.connection.id, scim_id)
    common.check_if_match(request, row.version)
    resource = read_resource(
        UserResource,
        complete_user_payload(body, f"{ctx.base_url}/Users"),
        Context.RESOURCE_REPLACEMENT_REQUEST,
    )
    scim_users.replace(ctx.session, ctx.now, ctx.connection, ctx.config, row, resource)
    ctx.log(
        f"SCIM replace User {row.user_name}",
        user_id=row.user_id,
        user_name=row.user_name[:320],
        details={"scim_id": row.id, "active": row.active},
    )
    return common.resource_response(
        _render_one(ctx, row, Context.RESOURCE_REPLACEMENT_RESPONSE), row.version
    )


@router.patch("/{scim_id}", summary="Modify a user")
def patch_user(
    scim_id: str, request: Request, body: Any = Depends(json_body), ctx: Scim = uses("patch:users")
) -> Response:
    row = scim_users.find(ctx.session, ctx.connection.id, scim_id)
    common.check_if_match(request, row.version)
    operations = read_patch(UserResource, body, f"{ctx.base_url}/Users")
    changed = scim_users.patch(
        ctx.session, ctx.now, ctx.connection, ctx.config, row, operations, ctx.base_url
    )
    if changed:
        ctx.log(
            f"SCIM modify User {row.user_name}",
            user_id=row.user_id,
            user_name=row.user_name[:320],
            details={"scim_id": row.id, "active": row.active},
        )
    return common.resource_response(
        _render_one(ctx, row, Context.RESOURCE_PATCH_RESPONSE), row.version
    )


@router.delete("/{scim_id}", status_code=204, summary="Deprovision a user")
def delete_user(scim_id: str, request: Request, ctx: Scim = uses("delete:users")) -> Response:
    row = scim_users.find(ctx.session, ctx.connection.id, scim_id)
    common.check_if_match(request, row.version)
    user_id, user_name = row.user_id, row.user_name
    scim_users.remove(ctx.session, row)
    ctx.log(
        f"SCIM delete User {user_name}",
        user_id=user_id,
        user_name=user_name[:320],
        details={"scim_id": scim_id},
    )
    return Response(status_code=204)
