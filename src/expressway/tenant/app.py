"""The tenant's ASGI application."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DataError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from expressway import __version__
from expressway.storage.checkpoints import checkpointing
from expressway.storage.faults import DatabaseFault
from expressway.tenant.authn import (
    authorize,
    backchannel_logout,
    batched_exchanges,
    federation,
    logout,
    revocation,
    universal_logout,
    userinfo,
)
from expressway.tenant.authn import endpoints as authn_endpoints
from expressway.tenant.authn.token_fast_path import TokenFastPath
from expressway.tenant.dashboard.app import install_dashboard
from expressway.tenant.errors import TenantError
from expressway.tenant.express_configuration.api import router as express_configuration_router
from expressway.tenant.management import errors as mgmt_errors
from expressway.tenant.management.routes import management_router
from expressway.tenant.runtime import TenantRuntime
from expressway.tenant.scim.app import create_scim_app
from expressway.tenant.scim.fast_path import ScimFastPath
from expressway.web import database_faults
from expressway.web.health import health_router
from expressway.web.input_guard import InputGuardMiddleware
from expressway.web.proxies import TrustedProxyHeaders
from expressway.web.security import install_security_headers


def _refuse_nul(part: str) -> Response:
    code = "invalid_query_string" if part == "query" else "invalid_uri"
    return mgmt_errors.error_response(400, f"The {part} contains a NUL character", code)


#: Paths whose clients read RFC 6749 error bodies.
_OAUTH_PATHS = ("/oauth/", "/userinfo", "/express-configure/")


def _database_fault(request: Request, fault: DatabaseFault) -> Response:
    """503 in the shape of the API asked: OAuth's, a page for a browser, else Auth0's."""
    path = request.url.path
    if path.startswith(_OAUTH_PATHS):
        return database_faults.oauth_error(fault)
    if not path.startswith("/api/") and database_faults.wants_html(request):
        return database_faults.html_page(fault)
    headers = database_faults.retry_headers(fault)
    return mgmt_errors.error_response(503, fault.message, fault.code, headers)


class TenantApp(FastAPI):
    """The tenant's application, whose most frequent requests (machine-to-machine tokens, SCIM
    lookups and creates) are answered in front of every layer, FastAPI's own included.

    Through FastAPI's entry, its error and body-limit layers and their send wrappers, a token
    request paid about 8 µs of CPU before its fast path saw it. The fast paths answer only what
    succeeds, with the headers every tenant response carries, and catch their own faults
    (answered as the application's handlers would); everything else goes through the whole
    application as before.
    """

    def __init__(self, runtime: TenantRuntime, scim: Starlette, **options: Any) -> None:
        super().__init__(**options)
        through_layers = functools.partial(FastAPI.__call__, self)
        # The client address and scheme are settled before the fast paths read them.
        self.answer_first: ASGIApp = TrustedProxyHeaders(
            TokenFastPath(
                ScimFastPath(through_layers, runtime=runtime, scim=scim), runtime=runtime
            ),
            runtime.settings.trusted_proxy_networks,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.answer_first(scope, receive, send)


def _lifespan(
    runtime: TenantRuntime,
) -> Callable[[Any], contextlib.AbstractAsyncContextManager[None]]:
    """The back-channel logout worker's lifespan, with the database's WAL checkpointed in the
    background; once they have stopped, the token batches' connection is given back."""
    worker = backchannel_logout.lifespan(runtime)

    @contextlib.asynccontextmanager
    async def run(app: Any) -> AsyncIterator[None]:
        try:
            async with checkpointing(runtime.engine), worker(app):
                yield
        finally:
            batched_exchanges.release(runtime)

    return run


def create_app(runtime: TenantRuntime) -> FastAPI:
    scim = create_scim_app(runtime)
    app = TenantApp(
        runtime,
        scim,
        title="Expressway tenant",
        version=__version__,
        description="The SaaS vendor's identity platform: Management API and Authentication API.",
        lifespan=_lifespan(runtime),
        # Answered by the 404 handler, with a relative Location (expressway.web.slashes).
        redirect_slashes=False,
    )
    app.state.runtime = runtime
    app.add_exception_handler(RequestValidationError, mgmt_errors.handle_validation_error)
    app.add_exception_handler(mgmt_errors.ManagementApiError, mgmt_errors.handle_management_error)
    app.add_exception_handler(TenantError, mgmt_errors.handle_tenant_error)
    app.add_exception_handler(HTTPException, mgmt_errors.handle_http_exception)
    app.add_exception_handler(DataError, mgmt_errors.handle_data_error)
    app.add_exception_handler(Exception, mgmt_errors.handle_unexpected_error)
    database_faults.install_database_fault_handler(
        app, _database_fault, mgmt_errors.handle_unexpected_error
    )
    app.add_middleware(InputGuardMiddleware, render=_refuse_nul)
    install_security_headers(app)
    app.include_router(health_router(runtime.engine))
    # Routes are matched in order: the two that machines call most (the token endpoint and
    # SCIM, which has no path in common with any other route) come first, before the hundred
    # or so of the Management API and the dashboard.
    app.include_router(authn_endpoints.router)
    app.mount("/scim/v2", scim)
    app.include_router(authorize.router)
    app.include_router(federation.router)
    app.include_router(universal_logout.router)
    app.include_router(userinfo.router)
    app.include_router(revocation.router)
    app.include_router(logout.router)
    # The Express Configuration API before the Management API's hundred routes, which it has no
    # path in common with: matched after them, it took 0.34 ms a request; before, 0.14 ms.
    app.include_router(express_configuration_router)
    app.include_router(management_router, prefix="/api/v2")
    install_dashboard(app)
    return app
