"""The tenant's ASGI application."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from expressway import __version__
from expressway.tenant.authn import endpoints as authn_endpoints
from expressway.tenant.errors import TenantError
from expressway.tenant.management import errors as mgmt_errors
from expressway.tenant.management.routes import management_router
from expressway.tenant.runtime import TenantRuntime
from expressway.web.security import install_security_headers


def create_app(runtime: TenantRuntime) -> FastAPI:
    app = FastAPI(
        title="Expressway tenant",
        version=__version__,
        description="The SaaS vendor's identity platform: Management API and Authentication API.",
    )
    app.state.runtime = runtime
    app.add_exception_handler(RequestValidationError, mgmt_errors.handle_validation_error)
    app.add_exception_handler(mgmt_errors.ManagementApiError, mgmt_errors.handle_management_error)
    app.add_exception_handler(TenantError, mgmt_errors.handle_tenant_error)
    install_security_headers(app)
    app.include_router(authn_endpoints.router)
    app.include_router(management_router, prefix="/api/v2")
    return app
