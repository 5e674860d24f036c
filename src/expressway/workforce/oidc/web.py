"""What the provider's browser endpoints share: the org, cookies, pages, redirects, log clients.

Cookies are scoped to the org's path (``/orgs/{org}/``), so a browser keeps one session per org
and a session of one org is never even sent to another.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from expressway.oauth.errors import InvalidRequest, OAuthError
from expressway.oauth.redirect_uris import with_query_parameters
from expressway.web.templates import Pages
from expressway.workforce.runtime import WorkforceRuntime
from expressway.workforce.system_log import Client

SESSION_COOKIE = "expressway_workforce_session"
TRANSACTION_COOKIE = "expressway_workforce_transaction"
#: Longest value taken for any single protocol parameter (a ``state``, a ``nonce``, a URI…).
MAX_PARAMETER_LENGTH = 2048

pages = Pages("expressway.workforce.oidc")


class LoginRequired(OAuthError):
    error = "login_required"


class UnsupportedResponseType(OAuthError):
    error = "unsupported_response_type"


class RequestNotSupported(OAuthError):
    error = "request_not_supported"


class ErrorPage(Exception):
    """A failure shown to the person, because there is no registered place to send it."""

    def __init__(self, title: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.title = title
        self.message = message
        self.status = status


def runtime_of(request: Request) -> WorkforceRuntime:
    runtime: WorkforceRuntime = request.app.state.runtime
    return runtime


def single_values(items: list[tuple[str, str]]) -> dict[str, str]:
    """The parameters of a request, each at most once (RFC 6749 §3.1) and of bounded length."""
    values: dict[str, str] = {}
    for name, value in items:
        if name in values:
            raise InvalidRequest(f"The '{name}' parameter was sent more than once.")
        if "\x00" in value:
            raise InvalidRequest(f"The '{name}' parameter contains a NUL character.")
        if len(value) > MAX_PARAMETER_LENGTH:
            raise InvalidRequest(
                f"The '{name}' parameter is longer than {MAX_PARAMETER_LENGTH} characters."
            )
        values[name] = value
    return {name: value for name, value in values.items() if value != ""}


def log_client(request: Request) -> Client:
    agent = request.headers.get("user-agent")
    return Client(
        ip=request.client.host if request.client else None,
        user_agent=agent[:512] if agent else None,
        request_uri=request.url.path,
    )


def cookie_path(org: str) -> str:
    return f"/orgs/{org}/"


def set_cookie(
    runtime: WorkforceRuntime, response: Response, org: str, name: str, value: str, max_age: int
) -> None:
    """HttpOnly, and SameSite=Lax so that an application's redirect to ``/authorize`` still
    carries the session while other sites' POSTs do not."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=cookie_path(org),
        secure=runtime.base_url.startswith("https://"),
        httponly=True,
        samesite="lax",
    )


def clear_cookie(runtime: WorkforceRuntime, response: Response, org: str, name: str) -> None:
    response.delete_cookie(
        name,
        path=cookie_path(org),
        secure=runtime.base_url.startswith("https://"),
        httponly=True,
        samesite="lax",
    )


def message_page(
    org: str, title: str, message: str, *, status: int = 200, alert: bool = False
) -> HTMLResponse:
    return pages.render(
        "message.html",
        status_code=status,
        title=title,
        message=message,
        org_name=org,
        alert=alert,
    )


def error_page(org: str, failure: ErrorPage) -> HTMLResponse:
    return message_page(org, failure.title, failure.message, status=failure.status, alert=True)


def redirect(url: str, *, status: int = 302) -> RedirectResponse:
    return RedirectResponse(url, status_code=status, headers={"Cache-Control": "no-store"})


def redirect_with(
    redirect_uri: str, parameters: Mapping[str, str | None], *, status: int = 302
) -> RedirectResponse:
    return redirect(with_query_parameters(redirect_uri, parameters), status=status)
