"""The org's admin console at ``/orgs/{org}/admin``: server-rendered pages over the workforce's
services, with a little JavaScript of its own for the Express Configure buttons.

Directory (People, Groups), Applications (the catalog, and each app instance's General, Sign On,
Provisioning and Assignments tabs), Your OIN Integrations (the wizard) and Reports (System Log).
Every asset is served by the workforce itself, under ``/admin/static/``.
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.staticfiles import StaticFiles

from expressway.workforce.console.context import (
    PageError,
    SignInRequired,
    handle_page_error,
    handle_sign_in_required,
)
from expressway.workforce.console.routes import console_router

STATIC_PATH = "/admin/static"


def install(app: FastAPI) -> None:
    """Serve the console, its static files and its HTML error pages from ``app``."""
    app.add_exception_handler(SignInRequired, handle_sign_in_required)
    app.add_exception_handler(PageError, handle_page_error)
    app.mount(
        STATIC_PATH,
        StaticFiles(packages=[("expressway.workforce.console", "static")]),
        name="console-static",
    )
    app.include_router(console_router)
