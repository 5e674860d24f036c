"""What every SCIM resource endpoint shares: paging parameters, list answers, ETags."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from scim2_models import ListResponse

from expressway.scim.errors import invalid_value, precondition_failed
from expressway.scim.resources import DEFAULT_COUNT, MAX_RESULTS, etag
from expressway.tenant.scim.context import ScimResponse
from expressway.tenant.services.scim_queries import Page

LIST_RESPONSE_URN = str(ListResponse.__schema__)
#: Past this ``startIndex`` no page holds anything; it also keeps the offset storable.
MAX_START_INDEX = 1_000_000_000


def _integer(value: str | int | None, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, int):
        return value
    try:
        return int(value.strip())
    except ValueError:
        raise invalid_value(f"{name} must be an integer") from None


def page(start_index: str | int | None, count: str | int | None) -> Page:
    """RFC 7644 §3.4.2.4: a ``startIndex`` below 1 is 1, a negative ``count`` is 0, and
    ``count`` is capped to the server's ``maxResults``."""
    start = min(max(1, _integer(start_index, "startIndex", 1)), MAX_START_INDEX)
    wanted = min(max(0, _integer(count, "count", DEFAULT_COUNT)), MAX_RESULTS)
    return Page(start_index=start, count=wanted)


def list_response(resources: list[dict[str, Any]], total: int, paging: Page) -> ScimResponse:
    return ScimResponse(
        {
            "schemas": [LIST_RESPONSE_URN],
            "totalResults": total,
            "startIndex": paging.start_index,
            "itemsPerPage": len(resources),
            "Resources": resources,
        }
    )


def resource_response(
    body: dict[str, Any], version: int, status: int = 200, location: str | None = None
) -> ScimResponse:
    headers = {"ETag": etag(version)}
    if location is not None:
        headers["Location"] = location
    return ScimResponse(body, status_code=status, headers=headers)


def check_if_match(request: Request, version: int) -> None:
    """RFC 7644 §3.14: a write with ``If-Match`` applies only to the version it names."""
    wanted = request.headers.get("if-match")
    if wanted is None:
        return
    tags = {tag.strip() for tag in wanted.split(",")}
    if "*" not in tags and etag(version) not in tags and etag(version)[2:] not in tags:
        raise precondition_failed("the resource changed since the version If-Match names")


def not_modified(request: Request, version: int) -> bool:
    """RFC 7644 §3.14: a read whose ``If-None-Match`` names the current version."""
    wanted = request.headers.get("if-none-match")
    if wanted is None:
        return False
    tags = {tag.strip() for tag in wanted.split(",")}
    return "*" in tags or etag(version) in tags
