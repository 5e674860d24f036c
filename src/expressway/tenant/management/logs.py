"""``/api/v2/logs``: the tenant's log events, newest first, by search or from a checkpoint."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from sqlalchemy import Select, select
from sqlalchemy.orm import InstrumentedAttribute

from expressway.tenant.errors import InvalidInput, NotFound
from expressway.tenant.management.context import Management, Paging, fetch_page, paged, uses
from expressway.tenant.management.schema import format_date
from expressway.tenant.rows import LogEventRow

router = APIRouter(prefix="/logs", tags=["Logs"])

#: The fields ``q`` can search, each matched exactly (case-sensitively, as ids are).
SEARCHABLE: dict[str, InstrumentedAttribute[str | None]] = {
    "type": LogEventRow.type,
    "user_id": LogEventRow.user_id,
    "client_id": LogEventRow.client_id,
    "connection": LogEventRow.connection,
    "connection_id": LogEventRow.connection_id,
    "organization_id": LogEventRow.organization_id,
}
# ``field:value`` or ``field:"value"``; clauses are joined by spaces or AND.
_CLAUSE = re.compile(r'\s*([a-z_]+):(?:"([^"]*)"|([^\s"]+))\s*')


def search(statement: Select[Any], query: str) -> Select[Any]:
    """``statement`` narrowed by a simple Auth0 log query: ``type:sapi user_id:"auth0|1"``."""
    position = 0
    while position < len(query):
        if query.startswith("AND ", position):
            position += 4
            continue
        clause = _CLAUSE.match(query, position)
        if clause is None:
            raise InvalidInput(
                f"q: cannot read {query[position:]!r}; use field:value clauses such as "
                'type:sapi or user_id:"auth0|123", joined by spaces or AND',
                code="invalid_query_string",
            )
        field, quoted, bare = clause.groups()
        if field not in SEARCHABLE:
            raise InvalidInput(
                f"q: {field} is not searchable; use one of " + ", ".join(SEARCHABLE),
                code="invalid_query_string",
            )
        statement = statement.where(SEARCHABLE[field] == (quoted if quoted is not None else bare))
        position = clause.end()
    return statement


def log_out(row: LogEventRow) -> dict[str, Any]:
    """A log event in Auth0's shape; fields an event does not have are left out, as Auth0 does."""
    event: dict[str, Any] = {
        "log_id": row.log_id,
        "date": format_date(row.date),
        "type": row.type,
        "description": row.description,
        "client_id": row.client_id,
        "client_name": row.client_name,
        "ip": row.ip,
        "user_agent": row.user_agent,
        "user_id": row.user_id,
        "user_name": row.user_name,
        "connection": row.connection,
        "connection_id": row.connection_id,
        "organization_id": row.organization_id,
        "organization_name": row.organization_name,
        "details": dict(row.details),
    }
    return {key: value for key, value in event.items() if value is not None}


@router.get("", summary="Search log events")
def list_logs(
    paging: Paging,
    response: Response,
    ctx: Management = uses("read:logs"),
    q: Annotated[str | None, Query(max_length=500, description="Search criteria.")] = None,
    search_: Annotated[str | None, Query(alias="search", max_length=500)] = None,
    sort: Annotated[str, Query(pattern=r"^date:(1|-1)$", description="date:-1 or date:1.")] = (
        "date:-1"
    ),
    start: Annotated[str | None, Query(alias="from", max_length=64)] = None,
    take: Annotated[int, Query(ge=1, le=100, description="Events to read after from.")] = 50,
) -> Any:
    if start is not None:
        # Checkpoint paging: the events after ``from`` in log id order, as a log exporter reads
        # them; every other parameter is ignored, as in Auth0.
        rows = list(
            ctx.session.scalars(
                select(LogEventRow)
                .where(LogEventRow.log_id > start)
                .order_by(LogEventRow.log_id)
                .limit(take)
            )
        )
        last = rows[-1].log_id if rows else start
        # From the public URL, as the tenant's other absolute URLs are: behind a proxy, the
        # request's own host can be the name the proxy reached this replica by.
        page = ctx.request.url.include_query_params(**{"from": last, "take": take})
        public_url = ctx.runtime.settings.tenant_public_url.rstrip("/")
        response.headers["Link"] = f'<{public_url}{page.path}?{page.query}>; rel="next"'
        return [log_out(r) for r in rows]
    statement = select(LogEventRow)
    criteria = q if q is not None else search_
    if criteria:
        statement = search(statement, criteria.strip())
    if sort == "date:1":
        statement = statement.order_by(LogEventRow.date, LogEventRow.log_id)
    else:
        statement = statement.order_by(LogEventRow.date.desc(), LogEventRow.log_id.desc())
    rows, total = fetch_page(ctx.session, statement, paging)
    return paged([log_out(r) for r in rows], total, paging, "logs")


@router.get("/{id}", summary="Get a log event by id")
def get_log(id: str, ctx: Management = uses("read:logs")) -> dict[str, Any]:
    row = ctx.session.get(LogEventRow, id)
    if row is None:
        raise NotFound(f"No log event found by that id: {id}", code="inexistent_log")
    return log_out(row)
