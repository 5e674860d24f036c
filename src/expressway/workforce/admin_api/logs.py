"""``/api/v1/logs``: the org's System Log."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request, Response

from expressway.workforce.admin_api.context import AdminContext
from expressway.workforce.admin_api.paging import Page, fetch_page, link_headers, paging
from expressway.workforce.admin_api.shapes import LogEventOut
from expressway.workforce.rows import LogEventRow
from expressway.workforce.services import logs as service

router = APIRouter(prefix="/logs", tags=["System Log"])

LogPaging = Annotated[Page, Depends(paging(default=100, maximum=1000))]
Date = Annotated[str | None, Query(max_length=64)]


@router.get("", summary="List all System Log events")
def list_log_events(
    ctx: AdminContext,
    request: Request,
    response: Response,
    page: LogPaging,
    since: Date = None,
    until: Date = None,
    filter: Annotated[str | None, Query(max_length=2048)] = None,
    q: Annotated[str | None, Query(max_length=256)] = None,
    sort_order: Annotated[Literal["ASCENDING", "DESCENDING"], Query(alias="sortOrder")] = (
        "ASCENDING"
    ),
) -> list[LogEventOut]:
    statement = service.list_statement(
        ctx.org.id,
        ctx.now,
        since=service.parse_bound("since", since),
        until=service.parse_bound("until", until),
        filter=filter,
        q=q,
    )
    rows, after = fetch_page(
        ctx.session,
        statement,
        LogEventRow.sort_key,
        page,
        descending=sort_order == "DESCENDING",
    )
    link_headers(request, response, ctx.runtime.base_url, page, after)
    return [LogEventOut.of(row) for row in rows]
