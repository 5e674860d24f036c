"""Base classes for the Management API's request schemas."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class RequestBody(BaseModel):
    """A request body: unknown properties are refused and no type is coerced, as in Auth0."""

    model_config = ConfigDict(extra="forbid", strict=True)
