"""The dashboard's place in the tenant's app: its routes, its static files, its error pages."""

from __future__ import annotations

from typing import cast
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, Request
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from expressway.tenant.dashboard import (
    apis,
    applications,
    connections,
    organizations,
    readiness,
    roles,
    settings,
    signin,
    users,
)
from expressway.tenant.dashboard.accounts import COOKIE_NAME
from expressway.tenant.dashboard.context import (
    PREFIX,
    STATIC_PATH,
    CsrfRefused,
    LoginRequired,
    PageProblem,
    render_page,
)
from expressway.tenant.dashboard.forms import FormError
from expressway.web.cookies import clear_cookie


def _problem(request: Request, status: int, title: str, message: str) -> Response:
    return render_page(
        request, "plain_error.html", status_code=status, title=title, message=message
    )


async def _login_required(request: Request, _exc: Exception) -> Response:
    target = f"{PREFIX}/login"
    had_session = COOKIE_NAME in request.cookies
    if request.method == "GET":
        target += f"?next={quote(request.url.path)}"
        if had_session:
            target += "&notice=expired"
    elif had_session:
        target += "?notice=expired"
    response = RedirectResponse(target, status_code=303)
    if had_session:
        clear_cookie(
            response,
            COOKIE_NAME,
            secure=request.app.state.runtime.settings.tenant_issuer.startswith("https://"),
        )
    return response


async def _csrf_refused(request: Request, _exc: Exception) -> Response:
    return _problem(
        request,
        403,
        "Request refused",
        "The form was not sent by a dashboard page of this session (its CSRF token is missing or"
        " wrong). Reload the page and try again.",
    )


async def _page_problem(request: Request, exc: Exception) -> Response:
    problem = cast(PageProblem, exc)
    return _problem(request, problem.status, "Not found", problem.message)


async def _form_unreadable(request: Request, exc: Exception) -> Response:
    return _problem(request, 400, "Bad request", cast(FormError, exc).message)


def dashboard_router() -> APIRouter:
    router = APIRouter(prefix=PREFIX, include_in_schema=False)
    for module in (
        signin,
        applications,
        readiness,
        apis,
        users,
        roles,
        organizations,
        connections,
        settings,
    ):
        router.include_router(module.router)
    return router


def install_dashboard(app: FastAPI) -> None:
    """Serve the dashboard from ``app`` under ``/dashboard``."""
    app.include_router(dashboard_router())
    app.add_api_route(PREFIX, signin.home, include_in_schema=False)
    app.mount(
        STATIC_PATH,
        StaticFiles(packages=[("expressway.tenant.dashboard", "static")]),
        name="dashboard-static",
    )
    app.add_exception_handler(LoginRequired, _login_required)
    app.add_exception_handler(CsrfRefused, _csrf_refused)
    app.add_exception_handler(PageProblem, _page_problem)
    app.add_exception_handler(FormError, _form_unreadable)
