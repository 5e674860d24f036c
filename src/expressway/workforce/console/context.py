"""Per-request dependencies of the console: the org in the path, the signed-in super admin, the
unit of work, anti-CSRF checks and the System Log entry of every change.

The console is an app of the org, signed in to through the org itself: its sign-in page starts an
ordinary session of the org (``services/sessions.py``, the ``expressway_workforce_session``
cookie, path ``/orgs/{org}/``), so one session, one lifetime and one *Clear user sessions* cover
both the org's single sign-on and its console, as in Okta. Only a super admin gets past it.

Every state change carries an anti-CSRF token: a form field, or the ``X-CSRF-Token`` header of the
console's scripts. The token is an HMAC of the session cookie, so it is bound to that session,
needs no storage, and a page on another site can neither read the cookie (HttpOnly) nor the token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile
from starlette.responses import HTMLResponse, RedirectResponse, Response

from expressway.web.csrf import FIELD_NAME, csrf_tokens_match
from expressway.workforce import system_log
from expressway.workforce.console.rendering import Layout, error_page
from expressway.workforce.errors import Forbidden, WorkforceError
from expressway.workforce.oidc.web import SESSION_COOKIE
from expressway.workforce.rows import OrgRow, UserRow, UserSessionRow
from expressway.workforce.runtime import WorkforceRuntime
from expressway.workforce.services import orgs, sessions, users

CSRF_HEADER = "X-CSRF-Token"
_CSRF_PURPOSE = b"expressway workforce console csrf"
#: Most fields a console form has (the biggest, the wizard's, has a dozen).
MAX_FORM_FIELDS = 64
#: The longest value taken from any field (the Express Configuration paste is the longest).
MAX_FIELD_LENGTH = 16_384
STALE_FORM = (
    "This form has expired or did not come from this console. Reload the page and try again."
)


def console_path(org: str, path: str = "") -> str:
    return f"/orgs/{org}/admin{path}"


def csrf_token_for(session_token: str) -> str:
    """The anti-CSRF token of the session whose cookie carries ``session_token``."""
    digest = hmac.new(session_token.encode(), _CSRF_PURPOSE, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class SignInRequired(Exception):
    """No live session of a super admin of the org: the page sends the browser to sign in."""

    def __init__(self, org: str) -> None:
        super().__init__(org)
        self.org = org


class PageError(Exception):
    """A failure shown as a console page (an unknown object, a refused form…)."""

    def __init__(
        self,
        status: int,
        title: str,
        message: str,
        *,
        causes: list[str] | None = None,
        layout: Layout | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.title = title
        self.message = message
        self.causes = causes or []
        self.layout = layout


class InvalidSession(WorkforceError):
    """Okta's E0000005, for the console's scripts: no session of an admin of this org."""

    status = 401
    code = "E0000005"

    def __init__(self) -> None:
        super().__init__("Invalid session")


@dataclass
class Console:
    """What a console handler works with: the org, the admin signed in, the unit of work."""

    session: Session
    runtime: WorkforceRuntime
    org: OrgRow
    actor: UserRow
    user_session: UserSessionRow
    csrf_token: str
    request: Request
    now: datetime
    layout: Layout = field(init=False)

    def __post_init__(self) -> None:
        self.layout = Layout(
            org_name=self.org.name,
            actor_name=f"{self.actor.first_name} {self.actor.last_name}".strip(),
            actor_login=self.actor.login,
            csrf_token=self.csrf_token,
        )

    def path(self, path: str = "") -> str:
        return console_path(self.org.name, path)

    def client(self) -> system_log.Client:
        agent = self.request.headers.get("user-agent")
        return system_log.Client(
            ip=self.request.client.host if self.request.client else None,
            user_agent=agent[:512] if agent else None,
            request_uri=self.request.url.path,
        )

    def log(
        self,
        event_type: str,
        display_message: str,
        *targets: system_log.Party,
        debug: dict[str, Any] | None = None,
    ) -> None:
        """Record a successful change in this request's transaction."""
        system_log.record(
            self.session,
            self.org.id,
            self.now,
            system_log.Event(
                event_type=event_type,
                display_message=display_message,
                actor=system_log.Party.of_user(self.actor),
                targets=list(targets),
                client=self.client(),
                debug_data=debug or {},
            ),
        )

    def page(
        self, template: str, *, title: str, section: str, status: int = 200, **context: Any
    ) -> HTMLResponse:
        return self.layout.render(template, title=title, section=section, status=status, **context)

    def redirect(self, path: str, notice: str | None = None) -> RedirectResponse:
        """Post/Redirect/Get: back to a console page, with one of the known notices."""
        target = self.path(path)
        if notice is not None:
            target += f"?notice={notice}"
        return RedirectResponse(target, status_code=303, headers={"Cache-Control": "no-store"})


def runtime_of(request: Request) -> WorkforceRuntime:
    runtime: WorkforceRuntime = request.app.state.runtime
    return runtime


def signed_in_admin(
    session: Session, org: OrgRow, request: Request, now: datetime
) -> tuple[UserRow, UserSessionRow, str] | None:
    """The org's active user whose live session the request's cookie carries, with the
    session and its cookie; ``None`` when there is none (a session of another org is none)."""
    token = request.cookies.get(SESSION_COOKIE)
    user_session = sessions.find_active(session, now, org.id, token)
    if user_session is None or token is None:
        return None
    user = session.get(UserRow, user_session.user_id)
    if user is None or user.status != users.ACTIVE:
        return None
    return user, user_session, token


def _console(
    session: Session, runtime: WorkforceRuntime, org: OrgRow, request: Request, now: datetime
) -> Console | None:
    found = signed_in_admin(session, org, request, now)
    if found is None:
        return None
    user, user_session, token = found
    return Console(session, runtime, org, user, user_session, csrf_token_for(token), request, now)


def _unit_of_work(request: Request, org: str, *, page: bool) -> Iterator[Console]:
    """The request's unit of work: committed when the handler returns, rolled back when it
    raises, so a refused change changes nothing."""
    runtime = runtime_of(request)
    session = runtime.sessions()
    try:
        found = orgs.find_by_name(session, org)
        if found is None:
            if page:
                raise PageError(404, "Not found", "There is no such org.")
            raise InvalidSession()
        ctx = _console(session, runtime, found, request, runtime.clock.now())
        if ctx is None:
            if page:
                raise SignInRequired(found.name)
            raise InvalidSession()
        if not users.is_super_admin(session, ctx.actor):
            if page:
                raise PageError(
                    403,
                    "Not an administrator",
                    "Your account has no administrator role in this org.",
                )
            raise Forbidden()
        try:
            yield ctx
        except WorkforceError as exc:
            if not page:
                raise
            # Pages show a service's refusal in their own shape rather than the API's JSON.
            raise PageError(
                exc.status, _title(exc.status), exc.summary, causes=exc.causes, layout=ctx.layout
            ) from exc
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _title(status: int) -> str:
    return {404: "Not found", 403: "Not allowed"}.get(status, "Request refused")


def page_context(request: Request, org: str) -> Iterator[Console]:
    yield from _unit_of_work(request, org, page=True)


def api_context(request: Request, org: str) -> Iterator[Console]:
    yield from _unit_of_work(request, org, page=False)


#: ``ctx: ConsolePage`` in a page handler's signature.
ConsolePage = Annotated[Console, Depends(page_context, scope="function")]
#: ``ctx: ConsoleApi`` in a JSON handler's signature (errors in Okta's shape).
ConsoleApi = Annotated[Console, Depends(api_context, scope="function")]


class Form:
    """A submitted form's text fields; files are refused when the form is read."""

    def __init__(self, values: list[tuple[str, str]]) -> None:
        self._values = values

    def all(self, name: str) -> list[str]:
        return [value for key, value in self._values if key == name]

    def first(self, name: str) -> str | None:
        found = self.all(name)
        return found[0] if found else None

    def text(self, name: str, limit: int, *, label: str | None = None) -> str:
        """The field's value, trimmed; refused (as a 400 page) if longer than ``limit`` or
        holding a NUL, which no name, login or paste of ours may hold."""
        value = (self.first(name) or "").strip()
        if len(value) > limit or "\x00" in value:
            raise WorkforceError(
                f"Api validation failed: {name}",
                causes=[f"{label or name}: at most {limit} characters, and no NUL character"],
            )
        return value

    def flag(self, name: str) -> bool:
        return self.first(name) in ("on", "true", "1")


async def read_form(request: Request) -> Form:
    raw = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
    values = [
        (key, value[: MAX_FIELD_LENGTH + 1])
        for key, value in raw.multi_items()
        if not isinstance(value, UploadFile)
    ]
    return Form(values)


def checked_form(ctx: ConsolePage, form: Annotated[Form, Depends(read_form)]) -> Form:
    """The form, once its anti-CSRF field matches the session's token (constant time)."""
    if not csrf_tokens_match(ctx.csrf_token, form.first(FIELD_NAME)):
        raise PageError(403, "Form expired", STALE_FORM, layout=ctx.layout)
    return form


#: ``form: CheckedForm`` in the signature of a handler that changes something.
CheckedForm = Annotated[Form, Depends(checked_form)]


def check_csrf_header(ctx: ConsoleApi) -> Console:
    """The console's scripts send the token in a header; compared in constant time."""
    if not csrf_tokens_match(ctx.csrf_token, ctx.request.headers.get(CSRF_HEADER)):
        raise Forbidden(causes=[f"{CSRF_HEADER}: {STALE_FORM}"])
    return ctx


#: ``ctx: ConsoleApiWrite`` for a JSON handler that changes something.
ConsoleApiWrite = Annotated[Console, Depends(check_csrf_header)]


async def handle_sign_in_required(request: Request, exc: Exception) -> Response:
    org = exc.org if isinstance(exc, SignInRequired) else ""
    return RedirectResponse(
        console_path(org, "/login"), status_code=303, headers={"Cache-Control": "no-store"}
    )


async def handle_page_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageError)  # noqa: S101 - registered for PageError only
    org = request.path_params.get("org", "")
    return error_page(
        exc.layout or Layout(org_name=str(org)),
        status=exc.status,
        title=exc.title,
        message=exc.message,
        causes=exc.causes,
    )
