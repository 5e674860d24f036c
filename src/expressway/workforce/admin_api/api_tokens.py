"""``/api/v1/api-tokens``: the org's ``SSWS`` tokens; listed and revoked here, made by
``expressway workforce init`` (and, later, the admin console)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from expressway.web.json_bodies import JsonBodyRoute
from expressway.workforce.admin_api.context import AdminContext
from expressway.workforce.admin_api.paging import Page, fetch_page, link_headers, paging
from expressway.workforce.admin_api.shapes import ApiTokenOut
from expressway.workforce.rows import ApiTokenRow
from expressway.workforce.services import api_tokens as service
from expressway.workforce.system_log import Party

router = APIRouter(prefix="/api-tokens", tags=["API tokens"], route_class=JsonBodyRoute)

TokenPaging = Annotated[Page, Depends(paging(default=20, maximum=200))]


@router.get("", summary="List all API token metadata")
def list_api_tokens(
    ctx: AdminContext, request: Request, response: Response, page: TokenPaging
) -> list[ApiTokenOut]:
    rows, after = fetch_page(ctx.session, service.list_statement(ctx.org.id), ApiTokenRow.id, page)
    link_headers(request, response, ctx.runtime.base_url, page, after)
    return [ApiTokenOut.of(row, ctx) for row in rows]


@router.delete("/current", status_code=204, summary="Revoke the current API token")
def revoke_current_api_token(ctx: AdminContext) -> Response:
    target = Party.of_token(ctx.token)
    service.revoke(ctx.session, ctx.token)
    ctx.log("system.api_token.revoke", "Revoke API token", target)
    return Response(status_code=204)


@router.get("/{token_id}", summary="Retrieve an API token's metadata")
def get_api_token(token_id: str, ctx: AdminContext) -> ApiTokenOut:
    return ApiTokenOut.of(service.find(ctx.session, ctx.org.id, token_id), ctx)


@router.delete("/{token_id}", status_code=204, summary="Revoke an API token")
def revoke_api_token(token_id: str, ctx: AdminContext) -> Response:
    row = service.find(ctx.session, ctx.org.id, token_id)
    target = Party.of_token(row)
    service.revoke(ctx.session, row)
    ctx.log("system.api_token.revoke", "Revoke API token", target)
    return Response(status_code=204)
