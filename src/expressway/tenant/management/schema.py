"""What the Management API's schemas share: request bodies that refuse what Auth0 refuses, and
Auth0's date format in answers."""

from __future__ import annotations

from datetime import UTC, datetime

from expressway.web.schemas import StrictBody


class RequestBody(StrictBody):
    """A request body: unknown properties are refused and no type is coerced, as in Auth0."""


def format_date(at: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and ``Z``, as Auth0 writes dates."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
