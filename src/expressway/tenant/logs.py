"""The tenant's log: Auth0-style events for everything security-relevant.

Type codes follow Auth0's (``sapi`` a Management API write, ``fapi`` a refused one, ``seccft`` a
client-credentials exchange, ``feccft`` a failed one, ``s``/``f`` logins…). Events are written in
the same transaction as the change they describe, so a rolled-back change leaves no event; refusals
are written in a transaction of their own.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Required, TypedDict, Unpack

from sqlalchemy import Table
from sqlalchemy.orm import Session

from expressway.storage.sqlite_driver import SessionStatement
from expressway.tenant.rows import LogEventRow

#: The log's table, for Core inserts of events (:func:`insert`).
LOG_EVENTS: Table = LogEventRow.__table__  # type: ignore[assignment]
#: One insert of events, built once (a statement built per call costs more than its execution).
INSERT_EVENTS = LOG_EVENTS.insert()
#: :data:`INSERT_EVENTS` in a session's transaction, on SQLite's cursor (:func:`insert`).
_INSERT_EVENT = SessionStatement(INSERT_EVENTS)

DESCRIPTIONS = {
    "sapi": "Success API Operation",
    "fapi": "Failed API Operation",
    "seccft": "Success Exchange",
    "feccft": "Failed Exchange",
    "s": "Success Login",
    "f": "Failed Login",
}


def new_log_id(at: datetime) -> str:
    """A log id that sorts by time: microseconds since the epoch, then randomness."""
    micros = int(at.timestamp() * 1_000_000)
    # 64 random bits cut to 16 digits: one read of the system's randomness, where
    # secrets.randbelow(10**16) takes 1.8 on average (it draws 54 bits, again while above
    # 10**16). The cut favours some values by 1 in 1,844, which does not matter for an id.
    return f"900{micros:017d}{int.from_bytes(os.urandom(8)) % 10**16:016d}"


class EventFields(TypedDict, total=False):
    """An event's fields: when, its Auth0 type code, and what it is about."""

    at: Required[datetime]
    type: Required[str]
    description: str | None
    client_id: str | None
    client_name: str | None
    user_id: str | None
    user_name: str | None
    connection: str | None
    connection_id: str | None
    organization_id: str | None
    organization_name: str | None
    ip: str | None
    user_agent: str | None
    details: dict[str, Any] | None


#: The text columns an event's fields fill.
_TEXT_FIELDS = (
    "description",
    "client_id",
    "client_name",
    "user_id",
    "user_name",
    "connection",
    "connection_id",
    "organization_id",
    "organization_name",
    "ip",
    "user_agent",
)
#: Each text column's length, looked up once: every event cuts each of its fields to it.
_LENGTHS: dict[str, int | None] = {
    name: getattr(LOG_EVENTS.c[name].type, "length", None) for name in _TEXT_FIELDS
}


def record(session: Session, **fields: Unpack[EventFields]) -> LogEventRow:
    """Add an event to ``session`` (see :func:`event_row`)."""
    row = event_row(**fields)
    session.add(row)
    return row


def insert(session: Session, **fields: Unpack[EventFields]) -> None:
    """Write an event at once, by one Core insert in ``session``'s transaction, rather than by
    the unit of work at the next flush: on a path every request takes, the flush's bookkeeping
    costs more than the insert. Nothing reads the event back through ``session``."""
    _INSERT_EVENT.run(session, event_columns(**fields))


def event_row(**fields: Unpack[EventFields]) -> LogEventRow:
    """An event, in no session yet (see :func:`event_columns`)."""
    return LogEventRow(**event_columns(**fields))


def event_columns(**fields: Unpack[EventFields]) -> dict[str, Any]:
    """An event's column values. Its fields often quote the request (a name, a path, a user
    agent), so every string is made storable: NUL characters, which PostgreSQL refuses, become
    U+FFFD, and each field is cut to its column's length. Logging a refusal never fails."""
    at, type = fields["at"], fields["type"]
    columns: dict[str, Any] = {
        "log_id": new_log_id(at),
        "date": at,
        "type": type,
        "details": _storable(fields.get("details") or {}),
    }
    # One pass over the text columns, a field left out or None stored as NULL: the token
    # endpoint logs every token it issues (4.7 µs so, 6.2 with a comprehension and a call per
    # column, of the 105-130 µs of a token's own work).
    # Read as a plain mapping: the text fields' values by a name the loop holds are str or None
    # (EventFields), and typing.cast is a call of its own for each of them.
    text: Mapping[str, str | None] = fields  # type: ignore[assignment]
    for name, length in _LENGTHS.items():
        value = text.get(name)
        if name == "description" and not value:
            value = DESCRIPTIONS.get(type)
        if value is None:
            columns[name] = None
            continue
        if "\x00" in value:
            value = value.replace("\x00", "\ufffd")
        columns[name] = value[:length] if length and len(value) > length else value
    return columns


def _storable(value: Any) -> Any:
    """``value`` (a JSON document) with no NUL character in any string or key."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_storable(str(key)): _storable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(item) for item in value]
    return value
