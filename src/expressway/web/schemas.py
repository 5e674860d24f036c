"""What the request schemas of both systems share: bodies that refuse what they do not know."""

from __future__ import annotations

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


class StrictBody(BaseModel):
    """A request body: unknown properties are refused, no type is coerced, and no string may
    hold a NUL character."""

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
