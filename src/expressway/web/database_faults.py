"""Answering a request that met a fault of the database (down, full, read-only).

Both systems install :func:`install_database_fault_handler` with a renderer of their own, so that
each API keeps its error shape (Auth0's, Okta's, RFC 6749's, SCIM's, an HTML page) while the rule
is one: 503, ``Retry-After``, the cause named, one line in the log, and no traceback, since
nothing in the code is wrong. A driver error that is not a fault of the database goes on to the
app's last-resort handler.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from html import escape

from fastapi import FastAPI, Request
from sqlalchemy import exc as sa_exc
from starlette.responses import HTMLResponse, JSONResponse, Response

from expressway.storage.faults import DatabaseFault, database_fault
from expressway.web.templates import PAGE_CONTENT_SECURITY_POLICY

logger = logging.getLogger("expressway.database")

#: The status of every answer to a fault of the database: the service cannot serve the request
#: now and the client may retry (RFC 9110 §15.6.4).
STATUS = 503

Render = Callable[[Request, DatabaseFault], Response]
Fallback = Callable[[Request, Exception], Awaitable[Response]]

#: What SQLAlchemy raises when the database (or the pool in front of it) fails.
DATABASE_ERRORS: tuple[type[Exception], ...] = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.InternalError,
    sa_exc.TimeoutError,
)


def retry_headers(fault: DatabaseFault) -> dict[str, str]:
    return {"Retry-After": str(fault.retry_after), "Cache-Control": "no-store"}


def oauth_error(fault: DatabaseFault) -> JSONResponse:
    """RFC 6749 §4.1.2.1's ``temporarily_unavailable``, for endpoints that answer OAuth errors."""
    return JSONResponse(
        {"error": "temporarily_unavailable", "error_description": fault.message},
        status_code=STATUS,
        headers=retry_headers(fault),
    )


def html_page(fault: DatabaseFault) -> HTMLResponse:
    """A plain page for a person at a browser."""
    message = escape(fault.message)
    html = (
        "<!doctype html><html lang=en><meta charset=utf-8>"
        "<title>Service unavailable</title>"
        f"<h1>Service unavailable</h1><p>{message}.</p>"
        f"<p>Try again in {fault.retry_after} seconds.</p></html>"
    )
    return HTMLResponse(
        html,
        status_code=STATUS,
        headers={**retry_headers(fault), "Content-Security-Policy": PAGE_CONTENT_SECURITY_POLICY},
    )


def wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def log_fault(request: Request, fault: DatabaseFault) -> None:
    """One line per refused request: enough to see the outage and its cause, without a
    traceback (the driver's words never carry a password: psycopg leaves it out)."""
    logger.error(
        "database %s: %s %s answered %d (%s)",
        fault.kind.replace("_", "-"),
        request.method,
        request.url.path,
        STATUS,
        fault.detail,
    )


def install_database_fault_handler(app: FastAPI, render: Render, fallback: Fallback) -> None:
    """Answer faults of the database with ``render``; other driver errors with ``fallback``."""

    async def handle(request: Request, exc: Exception) -> Response:
        fault = database_fault(exc)
        if fault is None:
            return await fallback(request, exc)
        log_fault(request, fault)
        return render(request, fault)

    for error in DATABASE_ERRORS:
        app.add_exception_handler(error, handle)
