"""The tenant's log: Auth0-style events for everything security-relevant.

Type codes follow Auth0's (``sapi`` a Management API write, ``fapi`` a refused one, ``seccft`` a
client-credentials exchange, ``feccft`` a failed one, ``s``/``f`` logins…). Events are written in
the same transaction as the change they describe, so a rolled-back change leaves no event; refusals
are written in a transaction of their own.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from expressway.tenant.rows import LogEventRow

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
    return f"900{micros:017d}{secrets.randbelow(10**16):016d}"


def record(
    session: Session,
    *,
    at: datetime,
    type: str,
    description: str | None = None,
    client_id: str | None = None,
    client_name: str | None = None,
    user_id: str | None = None,
    user_name: str | None = None,
    connection: str | None = None,
    connection_id: str | None = None,
    organization_id: str | None = None,
    organization_name: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    details: dict[str, Any] | None = None,
) -> LogEventRow:
    """Add an event to ``session``. Its fields often quote the request (a name, a path, a user
    agent), so every string is made storable: NUL characters, which PostgreSQL refuses, become
    U+FFFD, and each field is cut to its column's length. Logging a refusal never fails."""
    fields = {
        "description": description or DESCRIPTIONS.get(type),
        "client_id": client_id,
        "client_name": client_name,
        "user_id": user_id,
        "user_name": user_name,
        "connection": connection,
        "connection_id": connection_id,
        "organization_id": organization_id,
        "organization_name": organization_name,
        "ip": ip,
        "user_agent": user_agent,
    }
    row = LogEventRow(
        log_id=new_log_id(at),
        date=at,
        type=type,
        details=_storable(details or {}),
        **{name: _fitted(name, value) for name, value in fields.items()},
    )
    session.add(row)
    return row


def _fitted(column: str, value: str | None) -> str | None:
    if value is None:
        return None
    length = getattr(LogEventRow.__table__.c[column].type, "length", None)
    text = value.replace("\x00", "\ufffd")
    return text[:length] if length else text


def _storable(value: Any) -> Any:
    """``value`` (a JSON document) with no NUL character in any string or key."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, dict):
        return {_storable(str(key)): _storable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_storable(item) for item in value]
    return value
