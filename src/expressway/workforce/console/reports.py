"""Reports: the org's System Log, newest first, narrowed by keywords or an Okta filter
expression (``eventType eq "user.session.start"``), as ``/api/v1/logs`` narrows it."""

from __future__ import annotations

import json

from fastapi import APIRouter
from starlette.responses import Response

from expressway.workforce.console.context import ConsolePage
from expressway.workforce.rows import LogEventRow
from expressway.workforce.services import logs

router = APIRouter(prefix="/orgs/{org}/admin", include_in_schema=False)

EVENT_LIMIT = 100
MAX_QUERY = 256
MAX_FILTER = 1024


def _given(value: str | None, limit: int) -> str | None:
    text = (value or "").strip()[:limit]
    return text or None


@router.get("/logs")
def system_log(ctx: ConsolePage, q: str | None = None, filter: str | None = None) -> Response:
    keywords = _given(q, MAX_QUERY)
    expression = _given(filter, MAX_FILTER)
    statement = logs.list_statement(ctx.org.id, ctx.now, q=keywords, filter=expression)
    events = ctx.session.scalars(
        statement.order_by(None).order_by(LogEventRow.sort_key.desc()).limit(EVENT_LIMIT)
    ).all()
    return ctx.page(
        "logs.html",
        title="System Log",
        section="logs",
        events=[
            (event, json.dumps(event.debug_data, indent=2, sort_keys=True)) for event in events
        ],
        q=keywords or "",
        filter=expression or "",
        window_days=logs.DEFAULT_WINDOW.days,
    )
