"""What the admin API's schemas share: request bodies that refuse what they do not know, and
Okta's date format in answers."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict

from expressway.web.schemas import StrictBody


class RequestBody(StrictBody):
    """A request body: unknown properties are refused and no type is coerced.

    Okta's read-only properties (``id``, ``created``, ``_links``…) are declared where a client
    sends them back (the SDKs send a fetched object back on update) and then ignored.
    """


class ResponseBody(BaseModel):
    """An answer: fields in snake case in Python, in Okta's camel case on the wire."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


def okta_date(at: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and ``Z``, as Okta writes dates."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def okta_date_or_none(at: datetime | None) -> str | None:
    return okta_date(at) if at is not None else None
