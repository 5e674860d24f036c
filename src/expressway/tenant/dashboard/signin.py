"""Signing in to and out of the dashboard.

The sign-in form is protected against login CSRF by a double-submit token: a random value in a
cookie of its own and in the form; a page on another site can post the form but cannot read or
set our cookie, so it cannot make the browser sign in to an account of the attacker's.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.responses import RedirectResponse, Response

from expressway import hashing
from expressway.tenant.dashboard import accounts
from expressway.tenant.dashboard.context import (
    PREFIX,
    Changing,
    redirect,
    render_page,
)
from expressway.tenant.dashboard.forms import Form, read_form
from expressway.tenant.management.context import get_runtime
from expressway.tenant.services import throttling
from expressway.web.cookies import clear_cookie, set_session_cookie
from expressway.web.csrf import FIELD_NAME, csrf_tokens_match, new_csrf_token
from expressway.web.throttling import describe_wait, request_ip

router = APIRouter()

LOGIN_COOKIE = "expressway_tenant_dashboard_login"
LOGIN_COOKIE_SECONDS = 3600
#: The name dashboard sign-ins are counted under by brute-force protection (never a connection's).
THROTTLE_REALM = "expressway-dashboard"


def _secure(request: Request) -> bool:
    return get_runtime(request).settings.tenant_issuer.startswith("https://")


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a dashboard path only, never another site."""
    if (
        value
        and value.startswith(f"{PREFIX}/")
        and not any(bad in value for bad in ("//", "\\", "\n", "\r"))
    ):
        return value
    return f"{PREFIX}/applications"


def _login_page(
    request: Request, *, next: str, email: str = "", error: str = "", status_code: int = 200
) -> Response:
    token = new_csrf_token()
    response = render_page(
        request,
        "login.html",
        status_code=status_code,
        login_csrf=token,
        next=next,
        email=email,
        error=error,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=LOGIN_COOKIE_SECONDS,
        path=f"{PREFIX}/login",
        secure=_secure(request),
        httponly=True,
        samesite="strict",
    )
    return response


def _blocked(request: Request, next: str, email: str, block: throttling.Block) -> Response:
    """Too many failed sign-ins: a 429 with ``Retry-After`` (RFC 6585 §4), untried."""
    response = _login_page(
        request,
        next=next,
        email=email,
        error=f"Too many failed sign-ins. Try again in {describe_wait(block.retry_after)}.",
        status_code=429,
    )
    response.headers["Retry-After"] = str(block.retry_after)
    return response


@router.get("/", include_in_schema=False)
def home() -> Response:
    return redirect("/applications")


@router.get("/login", include_in_schema=False)
def login_page(request: Request) -> Response:
    runtime = get_runtime(request)
    with runtime.sessions() as session:
        found = accounts.find_live_session(
            session, runtime.clock.now(), request.cookies.get(accounts.COOKIE_NAME)
        )
        session.rollback()
    if found is not None:
        return RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    return _login_page(request, next=safe_next(request.query_params.get("next")))


@router.post("/login", include_in_schema=False)
def login(request: Request, form: Form = Depends(read_form)) -> Response:
    runtime = get_runtime(request)
    next = safe_next(form.raw("next"))
    email = (form.text("email", max_length=320) or "").lower()
    password = form.raw("password") or ""
    if not csrf_tokens_match(request.cookies.get(LOGIN_COOKIE, ""), form.raw(FIELD_NAME)):
        return _login_page(
            request,
            next=next,
            email=email,
            error="This sign-in form has expired; sign in again.",
            status_code=403,
        )
    limits = throttling.Limits.of(runtime.settings)
    ip = request_ip(request)
    password = password[:256]
    # The password is checked first with no transaction open: on SQLite a write transaction
    # holds the database's one write lock, which the hash would keep for its whole time.
    with runtime.read_only_sessions() as reading:
        blocked_before = throttling.login_standing(
            reading, limits, runtime.clock.now(), connection=THROTTLE_REALM, identifier=email, ip=ip
        ).block
        stored = accounts.password_hash_of(reading, email) if blocked_before is None else None
    checked = hashing.check_password(stored, password) if blocked_before is None else None
    # Dashboard admins get the tenant's brute-force protection, counted apart from its users.
    with runtime.sessions() as session:
        now = runtime.clock.now()
        # Checked again in the transaction: failures counted meanwhile apply to this sign-in.
        standing = throttling.login_standing(
            session, limits, now, connection=THROTTLE_REALM, identifier=email, ip=ip
        )
        if standing.block is not None:
            session.rollback()
            return _blocked(request, next, email, standing.block)
        admin = accounts.authenticate(session, email, password, checked)
        if admin is None:
            block = throttling.count_login_failure(
                session, limits, now, connection=THROTTLE_REALM, identifier=email, ip=ip
            )
            session.commit()
            if block is not None:
                return _blocked(request, next, email, block)
            return _login_page(
                request,
                next=next,
                email=email,
                error="Wrong e-mail or password.",
                status_code=401,
            )
        if standing.failures_on_record:
            throttling.forget_login_failures(
                session, limits, connection=THROTTLE_REALM, identifier=email, ip=ip
            )
        started = accounts.start_session(session, now, admin)
        session.commit()
    response = RedirectResponse(next, status_code=303)
    set_session_cookie(
        response,
        accounts.COOKIE_NAME,
        started.secret,
        secure=_secure(request),
        max_age=int(accounts.ABSOLUTE_LIFETIME.total_seconds()),
    )
    response.delete_cookie(LOGIN_COOKIE, path=f"{PREFIX}/login")
    return response


@router.post("/logout", include_in_schema=False)
def logout(ctx: Changing) -> Response:
    accounts.end_session(ctx.login, ctx.now)
    response = redirect("/login", "signed-out")
    clear_cookie(response, accounts.COOKIE_NAME, secure=_secure(ctx.request))
    return response
