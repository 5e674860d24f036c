"""Auth0's error shape: ``{"statusCode", "error", "message", "errorCode"}``."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any, cast

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.responses import Response

from expressway.tenant.errors import TenantError
from expressway.web.json_bodies import refusal_reason
from expressway.web.slashes import slash_redirect

logger = logging.getLogger("expressway.tenant")


class ManagementApiError(Exception):
    def __init__(
        self, status: int, message: str, error_code: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.error_code = error_code
        self.headers = headers


def error_body(status: int, message: str, error_code: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "statusCode": status,
        "error": HTTPStatus(status).phrase,
        "message": message,
    }
    if error_code:
        body["errorCode"] = error_code
    return body


def error_response(
    status: int, message: str, error_code: str | None, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(
        error_body(status, message, error_code), status_code=status, headers=headers
    )


def _location(loc: tuple[Any, ...]) -> tuple[str, str]:
    """Where a validation error is (``body``/``query``/``path``) and the dotted field name."""
    where = str(loc[0]) if loc else "body"
    field = ""
    for part in loc[1:]:
        if isinstance(part, int):
            field += f"[{part}]"
        else:
            field += ("." if field else "") + str(part)
    return where, field


def describe_validation_error(exc: RequestValidationError) -> tuple[str, str]:
    """Turn pydantic's errors into one Auth0-style message naming the field, and its code."""
    errors = exc.errors()
    if not errors:
        return "Invalid request", "invalid_body"
    first = errors[0]
    where, field = _location(tuple(first.get("loc", ())))
    kind = first.get("type", "")
    if kind == "json_invalid":
        # Auth0's message, then what the reader refused (NaN, a missing comma…).
        return f"Invalid request payload JSON format: {refusal_reason(first)}", "invalid_body"
    if where == "query":
        return (
            f"Query validation error: '{first.get('msg')}' on property {field}.",
            "invalid_query_string",
        )
    if where == "path":
        return f"Path validation error: '{first.get('msg')}' on property {field}.", "invalid_uri"
    if kind == "extra_forbidden":
        return f"Payload validation error: 'Additional properties not allowed: {field}'.", (
            "invalid_body"
        )
    if kind == "missing" and not field:
        return "Payload validation error: 'Missing request body'.", "invalid_body"
    if kind == "missing":
        return (
            f"Payload validation error: 'Missing required property: {field.rsplit('.', 1)[-1]}'"
            f" on property {field}.",
            "invalid_body",
        )
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ")
    if not field:
        return f"Payload validation error: '{message}'.", "invalid_body"
    return f"Payload validation error: '{message}' on property {field}.", "invalid_body"


async def handle_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    message, code = describe_validation_error(cast(RequestValidationError, exc))
    return error_response(400, message, code)


async def handle_management_error(_request: Request, exc: Exception) -> JSONResponse:
    error = cast(ManagementApiError, exc)
    return error_response(error.status, error.message, error.error_code, error.headers)


async def handle_tenant_error(_request: Request, exc: Exception) -> JSONResponse:
    error = cast(TenantError, exc)
    return error_response(error.status, error.message, error.code)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    """Routing errors (unknown path, wrong method) in Auth0's shape rather than FastAPI's; a path
    with a stray trailing slash redirected to the one without (:mod:`expressway.web.slashes`)."""
    error = cast(HTTPException, exc)
    if error.status_code == 404 and (redirect := slash_redirect(request)) is not None:
        return redirect
    headers = dict(error.headers) if error.headers else None
    return error_response(error.status_code, str(error.detail), None, headers)


async def handle_data_error(_request: Request, exc: Exception) -> JSONResponse:
    """A value the database refused (out of range, not storable): the request's fault, a 400."""
    logger.info("database refused a value: %s", type(exc).__name__)
    return error_response(400, "The request holds a value that cannot be stored", "invalid_body")


async def handle_unexpected_error(_request: Request, exc: Exception) -> JSONResponse:
    """The last resort: Auth0's shape, and nothing about the failure in the answer."""
    logger.exception("unhandled error", exc_info=exc)
    return error_response(500, "Internal error; the tenant's log has the details", None)
