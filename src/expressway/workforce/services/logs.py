"""Reading an org's System Log: a time window, Okta's ``filter`` and keyword ``q``."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, Text, cast, func, select

from expressway.workforce.errors import WorkforceError
from expressway.workforce.rows import LogEventRow
from expressway.workforce.services import queries
from expressway.workforce.services.queries import Attribute, Kind

#: Without ``since``, the log starts this long ago, as Okta's does.
DEFAULT_WINDOW = timedelta(days=7)
MAX_KEYWORDS = 10

FILTER_ATTRIBUTES: dict[str, Attribute] = {
    "eventType": Attribute(LogEventRow.event_type, Kind.EXACT),
    "severity": Attribute(LogEventRow.severity, Kind.CODE),
    "outcome.result": Attribute(LogEventRow.outcome_result, Kind.CODE),
    "actor.id": Attribute(LogEventRow.actor_id, Kind.EXACT),
    "target.id": Attribute(LogEventRow.target_ids, Kind.MEMBER),
    "uuid": Attribute(LogEventRow.uuid, Kind.EXACT),
    "published": Attribute(LogEventRow.published, Kind.DATE),
}


class InvalidDate(WorkforceError):
    code = "E0000030"

    def __init__(self, parameter: str, problem: str) -> None:
        super().__init__(
            "Bad request. Invalid date. Dates must be of the form yyyy-MM-dd'T'HH:mm:ss.SSSZZ, "
            "e.g. 2013-01-01T12:00:00.000-07:00.",
            causes=[f"{parameter}: {problem}"],
        )


def parse_bound(parameter: str, text: str | None) -> datetime | None:
    if text is None:
        return None
    try:
        return queries.parse_date(text)
    except ValueError as exc:
        raise InvalidDate(parameter, str(exc)) from exc


def list_statement(
    org_id: str,
    now: datetime,
    *,
    since: datetime | None = None,
    until: datetime | None = None,
    filter: str | None = None,
    q: str | None = None,
) -> Select[LogEventRow]:
    start = since if since is not None else now - DEFAULT_WINDOW
    conditions: list[ColumnElement[bool]] = [
        LogEventRow.org_id == org_id,
        LogEventRow.published >= start,
    ]
    if until is not None:
        if until < start:
            raise InvalidDate("until", "until is earlier than since")
        conditions.append(LogEventRow.published < until)
    if filter is not None:
        conditions.append(queries.condition("filter", filter, FILTER_ATTRIBUTES))
    if q is not None:
        keywords = q.split()
        if len(keywords) > MAX_KEYWORDS:
            raise queries.InvalidSearch("q", f"at most {MAX_KEYWORDS} keywords")
        searched = (
            func.lower(LogEventRow.display_message)
            + " "
            + func.lower(LogEventRow.event_type)
            + " "
            + func.lower(cast(LogEventRow.actor, Text))
            + " "
            + func.lower(cast(LogEventRow.targets, Text))
        )
        for keyword in keywords:
            conditions.append(searched.contains(keyword.lower(), autoescape=True))
    return select(LogEventRow).where(*conditions)
