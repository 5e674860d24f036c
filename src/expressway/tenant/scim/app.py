"""The SCIM server as an application of its own, mounted at ``/scim/v2`` by the tenant, so that
every answer under it (an unknown path, a wrong method, a malformed body) is a SCIM error in the
RFC 7644 §3.12 schema with ``application/scim+json``, never the Management API's shape."""

from __future__ import annotations

import logging
from typing import cast

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from expressway.scim.errors import ScimError, invalid_value
from expressway.storage.faults import DatabaseFault
from expressway.tenant.errors import TenantError
from expressway.tenant.runtime import TenantRuntime
from expressway.tenant.scim import discovery, groups, users
from expressway.tenant.scim.context import ScimResponse, ScimUnauthorized, record_failure
from expressway.tenant.scim.credentials import CredentialsCache
from expressway.web.database_faults import install_database_fault_handler, retry_headers

logger = logging.getLogger("expressway.tenant.scim")

_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_SCIM_TYPES = {409: "uniqueness"}


def _answer(request: Request, error: ScimError) -> Response:
    is_search = request.url.path.endswith("/.search")
    if request.method in _WRITES and not is_search:
        try:
            record_failure(request, error)
        except Exception:
            logger.exception("could not record a failed SCIM write")
    headers = {}
    if isinstance(error, ScimUnauthorized):
        headers["WWW-Authenticate"] = error.challenge
    elif error.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return ScimResponse(error.body(), status_code=error.status, headers=headers)


async def _handle_scim_error(request: Request, exc: Exception) -> Response:
    return _answer(request, cast(ScimError, exc))


async def _handle_tenant_error(request: Request, exc: Exception) -> Response:
    error = cast(TenantError, exc)
    return _answer(request, ScimError(error.status, error.message, _SCIM_TYPES.get(error.status)))


async def _handle_validation_error(request: Request, exc: Exception) -> Response:
    errors = cast(RequestValidationError, exc).errors()
    detail = str(errors[0].get("msg", "invalid request")) if errors else "invalid request"
    return _answer(request, invalid_value(detail))


async def _handle_http_exception(request: Request, exc: Exception) -> Response:
    error = cast(HTTPException, exc)
    return _answer(request, ScimError(error.status_code, str(error.detail)))


async def _handle_data_error(request: Request, exc: Exception) -> Response:
    logger.info("database refused a value: %s", type(exc).__name__)
    return _answer(request, invalid_value("the request holds a value that cannot be stored"))


async def _handle_unexpected_error(request: Request, exc: Exception) -> Response:
    logger.exception("unhandled SCIM error", exc_info=exc)
    return _answer(request, ScimError(500, "internal error; the tenant's log has the details"))


def _database_fault(_request: Request, fault: DatabaseFault) -> Response:
    """503 in the SCIM error schema; not recorded as a failed write, as the database is away."""
    body = ScimError(503, fault.message).body()
    return ScimResponse(body, status_code=503, headers=retry_headers(fault))


def create_scim_app(runtime: TenantRuntime) -> FastAPI:
    app = FastAPI(
        title="Expressway tenant SCIM 2.0",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.runtime = runtime
    app.state.scim_credentials = CredentialsCache()
    app.add_exception_handler(ScimError, _handle_scim_error)
    app.add_exception_handler(TenantError, _handle_tenant_error)
    app.add_exception_handler(RequestValidationError, _handle_validation_error)
    app.add_exception_handler(HTTPException, _handle_http_exception)
    app.add_exception_handler(DataError, _handle_data_error)
    app.add_exception_handler(Exception, _handle_unexpected_error)
    install_database_fault_handler(app, _database_fault, _handle_unexpected_error)
    app.include_router(discovery.router)
    app.include_router(users.router)
    app.include_router(groups.router)
    return app
