"""What the admin API's schemas share: request bodies that refuse what they do not know, and
Okta's date format in answers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, model_validator


def find_nul(value: Any, path: str = "") -> str | None:
    """The dotted path of the first string holding U+0000 in a JSON value, or None."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return where
            found = find_nul(item, where)
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = find_nul(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


class RequestBody(BaseModel):
    """A request body: unknown properties are refused and no type is coerced.

    Okta's read-only properties (``id``, ``created``, ``_links``…) are declared where a client
    sends them back (the SDKs send a fetched object back on update) and then ignored.
    """

    model_config = ConfigDict(extra="forbid", strict=True)

    @model_validator(mode="before")
    @classmethod
    def _refuse_nul_characters(cls, data: Any) -> Any:
        # PostgreSQL cannot store U+0000 in text; refuse it here, naming the property, rather
        # than fail in the database.
        where = find_nul(data)
        if where is not None:
            raise ValueError(f"property {where or '(body)'} contains a NUL character")
        return data


class ResponseBody(BaseModel):
    """An answer: fields in snake case in Python, in Okta's camel case on the wire."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


def okta_date(at: datetime) -> str:
    """ISO 8601 in UTC with milliseconds and ``Z``, as Okta writes dates."""
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def okta_date_or_none(at: datetime | None) -> str | None:
    return okta_date(at) if at is not None else None
