"""``/Groups`` (RFC 7644 §3.3 to §3.6): groups of the connection's users."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response
from scim2_models import Context

from expressway.scim import filters
from expressway.scim.errors import invalid_syntax
from expressway.scim.patch import read_patch
from expressway.scim.resources import (
    GroupResource,
    etag,
    is_excluded,
    read_resource,
    render,
    response_parameters,
)
from expressway.tenant.rows import ScimGroupRow
from expressway.tenant.scim import common
from expressway.tenant.scim.context import Scim, ScimResponse, json_body, uses
from expressway.tenant.scim.users import (
    AttributesParam,
    CountParam,
    ExcludedParam,
    FilterParam,
    StartIndexParam,
)
from expressway.tenant.services import scim_groups

router = APIRouter(prefix="/connections/{connection_id}/Groups")


def _render_one(
    ctx: Scim,
    row: ScimGroupRow,
    context: Context,
    attributes: str | None = None,
    excluded: str | None = None,
) -> dict[str, Any]:
    parameters = response_parameters(attributes, excluded)
    # Members are read only when they will be shown: a group of thousands costs nothing to
    # Entra's ``excludedAttributes=members`` lookups.
    members = (
        None
        if is_excluded(parameters, "members")
        else scim_groups.members_of(ctx.session, [row.id])[row.id]
    )
    return render(scim_groups.to_resource(row, ctx.base_url, members), context, parameters)


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
    scim_filter = filters.parse_filter(filter_text, GroupResource) if filter_text else None
    rows, total = scim_groups.search(
        ctx.session, ctx.connection.id, scim_filter, paging, ctx.base_url
    )
    members = (
        {}
        if is_excluded(parameters, "members")
        else scim_groups.members_of(ctx.session, [row.id for row in rows])
    )
    resources = [
        render(
            scim_groups.to_resource(row, ctx.base_url, members.get(row.id)),
            Context.SEARCH_RESPONSE,
            parameters,
        )
        for row in rows
    ]
    return common.list_response(resources, total, paging)


@router.get("", summary="List or filter groups")
def list_groups(
    filter_text: FilterParam = None,
    start_index: StartIndexParam = None,
    count: CountParam = None,
    attributes: AttributesParam = None,
    excluded: ExcludedParam = None,
    ctx: Scim = uses("get:groups"),
) -> Response:
    return _list(ctx, filter_text, start_index, count, attributes, excluded)


@router.post("/.search", summary="Search groups (RFC 7644 §3.4.3)")
def search_groups(body: Any = Depends(json_body), ctx: Scim = uses("get:groups")) -> Response:
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


@router.post("", status_code=201, summary="Create a group")
def create_group(body: Any = Depends(json_body), ctx: Scim = uses("post:groups")) -> Response:
    resource = read_resource(GroupResource, body, Context.RESOURCE_CREATION_REQUEST)
    row = scim_groups.create(ctx.session, ctx.now, ctx.connection.id, resource)
    ctx.log(f"SCIM create Group {row.display_name}", details={"scim_id": row.id})
    location = f"{ctx.base_url}/Groups/{row.id}"
    body_out = _render_one(ctx, row, Context.RESOURCE_CREATION_RESPONSE)
    return common.resource_response(body_out, row.version, 201, location)


@router.get("/{scim_id}", summary="Read a group")
def get_group(
    scim_id: str,
    request: Request,
    attributes: AttributesParam = None,
    excluded: ExcludedParam = None,
    ctx: Scim = uses("get:groups"),
) -> Response:
    row = scim_groups.find(ctx.session, ctx.connection.id, scim_id)
    if common.not_modified(request, row.version):
        return Response(status_code=304, headers={"ETag": etag(row.version)})
    body = _render_one(ctx, row, Context.RESOURCE_QUERY_RESPONSE, attributes, excluded)
    return common.resource_response(body, row.version)


@router.put("/{scim_id}", summary="Replace a group")
def replace_group(
    scim_id: str, request: Request, body: Any = Depends(json_body), ctx: Scim = uses("put:groups")
) -> Response:
    row = scim_groups.find(ctx.session, ctx.connection.id, scim_id)
    common.check_if_match(request, row.version)
    resource = read_resource(GroupResource, body, Context.RESOURCE_REPLACEMENT_REQUEST)
    scim_groups.replace(ctx.session, ctx.now, row, resource)
    ctx.log(f"SCIM replace Group {row.display_name}", details={"scim_id": row.id})
    return common.resource_response(
        _render_one(ctx, row, Context.RESOURCE_REPLACEMENT_RESPONSE), row.version
    )


@router.patch("/{scim_id}", summary="Modify a group")
def patch_group(
    scim_id: str,
    request: Request,
    body: Any = Depends(json_body),
    ctx: Scim = uses("patch:groups"),
) -> Response:
    row = scim_groups.find(ctx.session, ctx.connection.id, scim_id)
    common.check_if_match(request, row.version)
    operations = read_patch(GroupResource, body, f"{ctx.base_url}/Users")
    if scim_groups.patch(ctx.session, ctx.now, row, operations, ctx.base_url):
        ctx.log(f"SCIM modify Group {row.display_name}", details={"scim_id": row.id})
    return common.resource_response(
        _render_one(ctx, row, Context.RESOURCE_PATCH_RESPONSE), row.version
    )


@router.delete("/{scim_id}", status_code=204, summary="Delete a group")
def delete_group(scim_id: str, request: Request, ctx: Scim = uses("delete:groups")) -> Response:
    row = scim_groups.find(ctx.session, ctx.connection.id, scim_id)
    common.check_if_match(request, row.version)
    display_name = row.display_name
    scim_groups.remove(ctx.session, row)
    ctx.log(f"SCIM delete Group {display_name}", details={"scim_id": scim_id})
    return Response(status_code=204)
