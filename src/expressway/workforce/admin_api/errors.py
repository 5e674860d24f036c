"""Okta's error shape: ``{"errorCode", "errorSummary", "errorLink", "errorId", "errorCauses"}``.

Every failure of the workforce IdP's API surface answers in it: domain errors from the services,
request validation (naming the property at fault in ``errorCauses``), routing errors, and the last
resort for the unexpected, which says nothing about the failure beyond its ``errorId``.
"""

from __future__ import annotations

import logging
from typing import Any, cast

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.responses import Response

from expressway.web.json_bodies import refusal_reason
from expressway.web.slashes import slash_redirect
from expressway.workforce import ids
from expressway.workforce.errors import WorkforceError

logger = logging.getLogger("expressway.workforce")

#: What an HTTP status means when the router, not a service, refused the request.
_ROUTING_ERRORS = {
    401: ("E0000011", "Invalid token provided"),
    403: ("E0000006", "You do not have permission to perform the requested action"),
    404: ("E0000007", "Not found: Resource not found: {path} (PathResource)"),
    405: ("E0000022", "The endpoint does not support the provided HTTP method"),
    415: ("E0000003", "The request body was not well-formed."),
}


class InvalidToken(WorkforceError):
    status = 401
    code = "E0000011"

    def __init__(self) -> None:
        super().__init__("Invalid token provided")


def error_body(code: str, summary: str, causes: list[str] | None = None) -> dict[str, Any]:
    return {
        "errorCode": code,
        "errorSummary": summary,
        "errorLink": code,
        "errorId": ids.error_id(),
        "errorCauses": [{"errorSummary": cause} for cause in causes or []],
    }


def error_response(
    status: int, code: str, summary: str, causes: list[str] | None = None
) -> JSONResponse:
    return JSONResponse(error_body(code, summary, causes), status_code=status)


def _field(loc: tuple[Any, ...]) -> str:
    """The dotted name of the property at ``loc`` (without ``body``/``query``/``path``)."""
    name = ""
    for part in loc[1:]:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += ("." if name else "") + str(part)
    return name


def _cause(error: dict[str, Any]) -> str:
    loc = tuple(error.get("loc", ()))
    name = _field(loc) or (str(loc[0]) if loc else "body")
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        return f"{name}: Property name '{name.rsplit('.', 1)[-1]}' is not recognized"
    if kind == "missing":
        return f"{name}: The field cannot be left blank"
    message = str(error.get("msg", "invalid value")).removeprefix("Value error, ")
    return f"{name}: {message}"


def describe_validation_error(exc: RequestValidationError) -> tuple[str, str, list[str]]:
    """Okta's code, summary and causes for what pydantic refused."""
    errors = list(exc.errors())
    # Not JSON (the cause says what the reader refused: NaN, a missing comma…), no body, or JSON
    # that is not an object: nothing to name a property of.
    for e in errors:
        if e.get("type") == "json_invalid":
            return "E0000003", "The request body was not well-formed.", [refusal_reason(e)]
    if any(tuple(e.get("loc", ())) == ("body",) and e.get("type") != "value_error" for e in errors):
        return "E0000003", "The request body was not well-formed.", []
    causes = [_cause(e) for e in errors]
    first = causes[0].split(":", 1)[0] if causes else "request"
    return "E0000001", f"Api validation failed: {first}", causes


async def handle_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    code, summary, causes = describe_validation_error(cast(RequestValidationError, exc))
    return error_response(400, code, summary, causes)


async def handle_workforce_error(_request: Request, exc: Exception) -> JSONResponse:
    error = cast(WorkforceError, exc)
    return error_response(error.status, error.code, error.summary, error.causes)


async def handle_http_exception(request: Request, exc: Exception) -> Response:
    """Routing errors (unknown path, wrong method) in Okta's shape rather than FastAPI's; a path
    with a stray trailing slash redirected to the one without (:mod:`expressway.web.slashes`)."""
    error = cast(HTTPException, exc)
    if error.status_code == 404 and (redirect := slash_redirect(request)) is not None:
        return redirect
    code, summary = _ROUTING_ERRORS.get(error.status_code, ("E0000001", str(error.detail)))
    response = error_response(error.status_code, code, summary.format(path=request.url.path), None)
    if error.headers:
        response.headers.update(error.headers)
    return response


async def handle_data_error(_request: Request, exc: Exception) -> JSONResponse:
    """A value the database refused (out of range, not storable): the request's fault."""
    logger.info("database refused a value: %s", type(exc).__name__)
    return error_response(
        400, "E0000001", "Api validation failed: the request holds a value that cannot be stored"
    )


async def handle_integrity_error(_request: Request, exc: Exception) -> JSONResponse:
    """Two requests raced to make the same unique object: the loser is told as if it came
    second."""
    logger.info("integrity error: %s", type(exc).__name__)
    return error_response(
        400,
        "E0000001",
        "Api validation failed: an object with the same unique property already exists",
    )


async def handle_unexpected_error(_request: Request, exc: Exception) -> JSONResponse:
    """The last resort: Okta's shape, and only an ``errorId`` to find the failure in the log."""
    body = error_body("E0000009", "Internal Server Error")
    logger.exception("unhandled error %s", body["errorId"], exc_info=exc)
    return JSONResponse(body, status_code=500)
