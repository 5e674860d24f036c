"""Signing in to the console with the org's password, signing out, and the dashboard.

The sign-in page checks the password as the org's own login page does (a dummy hash for an
unknown user, so the answer takes as long) and starts an ordinary session of the org. Its form
is protected against login CSRF by a short-lived cookie whose value the form must echo.
"""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from expressway import hashing
from expressway.web.csrf import csrf_tokens_match
from expressway.workforce import system_log
from expressway.workforce.console.context import (
    CheckedForm,
    ConsolePage,
    Form,
    PageError,
    console_path,
    read_form,
    runtime_of,
    signed_in_admin,
)
from expressway.workforce.console.rendering import Layout, notice_of
from expressway.workforce.oidc.web import SESSION_COOKIE, clear_cookie, set_cookie
from expressway.workforce.rows import AppRow, GroupRow, OrgRow, UserRow
from expressway.workforce.runtime import WorkforceRuntime
from expressway.workforce.services import orgs, sessions, users

router = APIRouter(prefix="/orgs/{org}/admin", include_in_schema=False)

LOGIN_COOKIE = "expressway_workforce_console_login"
LOGIN_COOKIE_LIFETIME = 600
SIGN_IN_FAILED = "Unable to sign in. Check your username and password."
NOT_AN_ADMIN = "This account has no administrator role in this org."


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})


def _org(session: Session, name: str) -> OrgRow:
    org = orgs.find_by_name(session, name)
    if org is None:
        raise PageError(404, "Not found", "There is no such org.")
    return org


def _login_page(
    runtime: WorkforceRuntime,
    org: str,
    *,
    username: str = "",
    error: str | None = None,
    notice: str | None = None,
) -> Response:
    token = secrets.token_urlsafe(32)
    response = Layout(org_name=org).render(
        "login.html",
        title="Sign in to the Admin Console",
        section="",
        status=401 if error else 200,
        login_token=token,
        username=username,
        error=error,
        notice=notice,
    )
    set_cookie(runtime, response, org, LOGIN_COOKIE, token, LOGIN_COOKIE_LIFETIME)
    return response


@router.get("/login")
def login_page(org: str, request: Request, notice: str | None = None) -> Response:
    runtime = runtime_of(request)
    with runtime.sessions() as session:
        found = _org(session, org)
        signed_in = signed_in_admin(session, found, request, runtime.clock.now())
        if signed_in is not None and users.is_super_admin(session, signed_in[0]):
            return _redirect(console_path(found.name))
    return _login_page(runtime, found.name, notice=notice_of(notice))


def _log_failure(
    session: Session,
    org: OrgRow,
    now: datetime,
    client: system_log.Client,
    user: UserRow | None,
    username: str,
    reason: str,
    event_type: str = "user.session.start",
) -> None:
    actor = (
        system_log.Party.of_user(user)
        if user is not None
        else system_log.Party("unknown", "User", username, "Unknown")
    )
    system_log.record(
        session,
        org.id,
        now,
        system_log.Event(
            event_type,
            "User login to Okta"
            if event_type == "user.session.start"
            else "User accessing Okta admin app",
            actor,
            outcome=system_log.Outcome("FAILURE", reason),
            severity="WARN",
            client=client,
        ),
    )


def _client(request: Request) -> system_log.Client:
    agent = request.headers.get("user-agent")
    return system_log.Client(
        ip=request.client.host if request.client else None,
        user_agent=agent[:512] if agent else None,
        request_uri=request.url.path,
    )


@router.post("/login")
def sign_in(org: str, request: Request, form: Annotated[Form, Depends(read_form)]) -> Response:
    runtime = runtime_of(request)
    now = runtime.clock.now()
    client = _client(request)
    username = (form.first("username") or "").strip()[:100]
    password = (form.first("password") or "")[:256]
    # The password is checked first with no transaction open: on SQLite a write transaction
    # holds the database's one write lock, which the hash would keep for its whole time.
    with runtime.read_only_sessions() as reading:
        found = _org(reading, org)
        # Login CSRF: the form must echo the cookie its page set, which another site cannot.
        if (
            not csrf_tokens_match(request.cookies.get(LOGIN_COOKIE, ""), form.first("login_token"))
            or "\x00" in username + password
        ):
            return _login_page(
                runtime, found.name, username="", error="The sign-in form expired. Try again."
            )
        stored = users.stored_password_hash(reading, found.id, username)
    checked = hashing.check_password(stored, password)
    with runtime.sessions() as session:
        found = _org(session, org)
        user, failure = users.authenticate(
            users.find_by_login(session, found.id, username), password, checked
        )
        if failure is not None or user is None:
            _log_failure(session, found, now, client, user, username, failure or "")
            session.commit()
            return _login_page(runtime, found.name, username=username, error=SIGN_IN_FAILED)
        if not users.is_super_admin(session, user):
            _log_failure(
                session,
                found,
                now,
                client,
                user,
                username,
                "Not an administrator",
                "user.session.access_admin_app",
            )
            session.commit()
            return _login_page(runtime, found.name, username=username, error=NOT_AN_ADMIN)
        previous = sessions.find_active(session, now, found.id, request.cookies.get(SESSION_COOKIE))
        if previous is not None:
            sessions.end(previous, now)
        _, cookie = sessions.start(session, now, user)
        user.last_login_at = now
        for event_type, message in (
            ("user.session.start", "User login to Okta"),
            ("user.session.access_admin_app", "User accessing Okta admin app"),
        ):
            system_log.record(
                session,
                found.id,
                now,
                system_log.Event(
                    event_type, message, system_log.Party.of_user(user), client=client
                ),
            )
        session.commit()
    response = _redirect(console_path(found.name))
    set_cookie(
        runtime,
        response,
        found.name,
        SESSION_COOKIE,
        cookie,
        int(sessions.SESSION_LIFETIME.total_seconds()),
    )
    clear_cookie(runtime, response, found.name, LOGIN_COOKIE)
    return response


@router.post("/logout")
def sign_out(ctx: ConsolePage, form: CheckedForm) -> Response:
    sessions.end(ctx.user_session, ctx.now)
    ctx.log("user.session.end", "User logout from Okta", system_log.Party.of_user(ctx.actor))
    response = ctx.redirect("/login", "signed-out")
    clear_cookie(ctx.runtime, response, ctx.org.name, SESSION_COOKIE)
    return response


@router.get("")
def dashboard(ctx: ConsolePage) -> Response:
    session = ctx.session
    org_id = ctx.org.id
    counts = {
        "people": session.scalar(
            select(func.count(UserRow.id)).where(
                UserRow.org_id == org_id, UserRow.status != users.DEPROVISIONED
            )
        ),
        "groups": session.scalar(select(func.count(GroupRow.id)).where(GroupRow.org_id == org_id)),
        "apps": session.scalar(select(func.count(AppRow.id)).where(AppRow.org_id == org_id)),
    }
    return ctx.page("dashboard.html", title="Dashboard", section="dashboard", counts=counts)
