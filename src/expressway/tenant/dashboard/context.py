"""Per-request plumbing of the dashboard: the signed-in admin, CSRF, the unit of work, pages.

Every page needs a live dashboard session; a POST also needs the session's CSRF token in its
form (synchronizer token pattern, :mod:`expressway.web.csrf`). The unit of work is the Management
API's: it commits when the handler returns and rolls back when it raises, and a handler that
shows a form error rolls back itself before rendering.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import HTMLResponse, RedirectResponse, Response

from expressway.tenant import logs
from expressway.tenant.dashboard import accounts
from expressway.tenant.dashboard.forms import Form, FormError, read_form
from expressway.tenant.errors import NotFound, TenantError
from expressway.tenant.management.context import get_runtime
from expressway.tenant.rows import DashboardAdminRow, DashboardSessionRow
from expressway.tenant.runtime import TenantRuntime
from expressway.web.csrf import FIELD_NAME, csrf_tokens_match
from expressway.web.templates import Pages

PREFIX = "/dashboard"
STATIC_PATH = f"{PREFIX}/static"

#: Scripts and styles from our own origin only, no inline script; no framing by anyone.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)

#: What a redirect may announce on the next page: fixed sentences, so a link cannot make the
#: dashboard say anything else.
NOTICES = {
    "created": "Created.",
    "saved": "Saved.",
    "deleted": "Deleted.",
    "added": "Added.",
    "removed": "Removed.",
    "uploaded": "The key is uploaded.",
    "activated": "The key is active for private_key_jwt.",
    "signed-out": "You are signed out.",
    "expired": "Your session has ended; sign in again.",
    "password": "Your password is changed; your other sessions have ended.",
}

pages = Pages("expressway.tenant.dashboard")


class LoginRequired(Exception):
    """No live dashboard session: the browser goes to the sign-in page."""


class CsrfRefused(Exception):
    """A POST without the session's CSRF token."""


class PageProblem(Exception):
    """A page that cannot be shown (an object that does not exist): an error page."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def render_page(
    request: Request, template: str, *, status_code: int = 200, **context: Any
) -> HTMLResponse:
    notice = NOTICES.get(request.query_params.get("notice", ""))
    response = pages.render(
        template,
        status_code=status_code,
        static=STATIC_PATH,
        prefix=PREFIX,
        notice=notice,
        csrf_field=FIELD_NAME,
        **context,
    )
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    return response


def redirect(path: str, notice: str | None = None) -> RedirectResponse:
    """303 See Other: the browser follows with a GET, so a reload does not post again."""
    target = f"{PREFIX}{path}"
    if notice is not None:
        target += ("&" if "?" in target else "?") + f"notice={quote(notice)}"
    return RedirectResponse(target, status_code=303)


@dataclass
class Dashboard:
    """What a dashboard handler works with."""

    session: Session
    runtime: TenantRuntime
    request: Request
    admin: DashboardAdminRow
    login: DashboardSessionRow
    form: Form = field(default_factory=Form)

    @property
    def now(self) -> datetime:
        return self.runtime.clock.now()

    def render(
        self, template: str, *, section: str, status_code: int = 200, **context: Any
    ) -> HTMLResponse:
        return render_page(
            self.request,
            template,
            status_code=status_code,
            admin_email=self.admin.email,
            csrf_token=self.login.csrf_token,
            section=section,
            **context,
        )

    def log(
        self, description: str, *, details: dict[str, Any] | None = None, **fields: Any
    ) -> None:
        """Record a change as the Management API does (a ``sapi`` event in this transaction),
        naming the dashboard and the admin who made it."""
        logs.record(
            self.session,
            at=self.runtime.clock.now(),
            type="sapi",
            description=description,
            client_name=accounts.DASHBOARD_CLIENT_NAME,
            user_id=f"dashboard|{self.admin.id}",
            user_name=self.admin.email,
            ip=self.request.client.host if self.request.client else None,
            user_agent=self.request.headers.get("user-agent"),
            details={
                "request": {"method": self.request.method, "path": self.request.url.path},
                **(details or {}),
            },
            **fields,
        )

    def attempt(
        self, action: Callable[[], Response], show: Callable[[dict[str, str], int], Response]
    ) -> Response:
        """Run a change; when the form or a service refuses it, undo it and show the form again
        with the message next to its field (never a 500)."""
        try:
            return action()
        except (FormError, TenantError) as exc:
            self.session.rollback()
            return show(form_errors(exc), getattr(exc, "status", 400))


def form_errors(exc: FormError | TenantError) -> dict[str, str]:
    """``{field: message}``; a service's message names its field before a colon
    (``callbacks[0]: …``), which becomes the field's key, else ``""`` (the whole form)."""
    if isinstance(exc, FormError):
        return {exc.field: exc.message}
    head, sep, rest = exc.message.partition(": ")
    if sep and " " not in head:
        return {head.split("[", 1)[0].rsplit(".", 1)[-1]: rest, "": exc.message}
    return {"": exc.message}


def _open(request: Request, form: Form | None) -> Iterator[Dashboard]:
    runtime = get_runtime(request)
    session = runtime.sessions()
    try:
        found = accounts.find_live_session(
            session, runtime.clock.now(), request.cookies.get(accounts.COOKIE_NAME)
        )
        if found is None:
            raise LoginRequired
        login, admin = found
        if form is not None and not csrf_tokens_match(login.csrf_token, form.raw(FIELD_NAME)):
            raise CsrfRefused
        # The activity is kept even when the handler's change is rolled back, and no write lock
        # is held while the handler runs (the Readiness panel calls this very tenant).
        session.commit()
        yield Dashboard(session, runtime, request, admin, login, form or Form())
        session.commit()
    except NotFound as exc:
        session.rollback()
        raise PageProblem(404, exc.message) from exc
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _viewing(request: Request) -> Iterator[Dashboard]:
    yield from _open(request, None)


def _changing(request: Request, form: Annotated[Form, Depends(read_form)]) -> Iterator[Dashboard]:
    yield from _open(request, form)


#: ``ctx: Viewing`` in a GET handler.
Viewing = Annotated[Dashboard, Depends(_viewing, scope="function")]
#: ``ctx: Changing`` in a POST handler: the form is read and its CSRF token checked before the
#: handler runs.
Changing = Annotated[Dashboard, Depends(_changing, scope="function")]
