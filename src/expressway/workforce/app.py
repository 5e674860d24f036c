"""The workforce IdP's ASGI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from anyio import to_thread
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from expressway import __version__
from expressway.storage.checkpoints import checkpointing
from expressway.storage.faults import DatabaseFault
from expressway.web import database_faults
from expressway.web.health import health_router
from expressway.web.input_guard import InputGuardMiddleware
from expressway.web.proxies import TrustedProxyHeaders
from expressway.web.security import install_security_headers
from expressway.workforce.admin_api import errors as api_errors
from expressway.workforce.admin_api.routes import admin_router
from expressway.workforce.console import install as install_console
from expressway.workforce.errors import WorkforceError
from expressway.workforce.express_configure.api import callback_router as express_configure_router
from expressway.workforce.oidc.routes import oidc_router
from expressway.workforce.provisioning.worker import ProvisioningWorker
from expressway.workforce.runtime import WorkforceRuntime


def _refuse_nul(part: str) -> Response:
    return api_errors.error_response(
        400, "E0000001", f"Api validation failed: {part}", [f"{part}: contains a NUL character"]
    )


def _database_fault(request: Request, fault: DatabaseFault) -> Response:
    """503 in the shape of the API asked: OAuth's, a page for a browser, else Okta's."""
    path = request.url.path
    # The authorize and logout endpoints are pages; the others under /oauth2/ answer clients.
    if "/api/v1/" not in path and database_faults.wants_html(request):
        return database_faults.html_page(fault)
    if "/oauth2/" in path:
        return database_faults.oauth_error(fault)
    # Okta's code for a service that takes no writes, and its internal error for the rest.
    code = "E0000010" if fault.kind == "read_only" else "E0000009"
    response = api_errors.error_response(503, code, fault.message, [fault.code])
    response.headers.update(database_faults.retry_headers(fault))
    return response


def create_app(runtime: WorkforceRuntime) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        """The provisioning worker runs while the app serves, unless turned off; the database's
        WAL is checkpointed in the background."""
        worker = (
            ProvisioningWorker(runtime) if runtime.settings.workforce_provisioning_worker else None
        )
        app.state.provisioning_worker = worker
        async with checkpointing(runtime.engine):
            if worker is not None:
                worker.start()
            try:
                yield
            finally:
                if worker is not None:
                    await to_thread.run_sync(worker.stop)

    app = FastAPI(
        lifespan=lifespan,
        title="Expressway workforce IdP",
        version=__version__,
        description="The enterprise IdP (Okta-compatible): each org's admin API and OIDC provider.",
        # Answered by the 404 handler, with a relative Location (expressway.web.slashes).
        redirect_slashes=False,
    )
    app.state.runtime = runtime
    app.add_exception_handler(RequestValidationError, api_errors.handle_validation_error)
    app.add_exception_handler(WorkforceError, api_errors.handle_workforce_error)
    app.add_exception_handler(HTTPException, api_errors.handle_http_exception)
    app.add_exception_handler(DataError, api_errors.handle_data_error)
    app.add_exception_handler(IntegrityError, api_errors.handle_integrity_error)
    app.add_exception_handler(Exception, api_errors.handle_unexpected_error)
    database_faults.install_database_fault_handler(
        app, _database_fault, api_errors.handle_unexpected_error
    )
    app.add_middleware(InputGuardMiddleware, render=_refuse_nul)
    install_security_headers(app)
    # Added last, so it stands in front of every other layer.
    app.add_middleware(TrustedProxyHeaders, trusted=runtime.settings.trusted_proxy_networks)
    app.include_router(health_router(runtime.engine))
    app.include_router(oidc_router)
    app.include_router(express_configure_router)
    app.include_router(admin_router, prefix="/orgs/{org}/api/v1")
    install_console(app)
    return app
