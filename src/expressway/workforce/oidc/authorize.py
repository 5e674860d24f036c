"""``/orgs/{org}/oauth2/v1/authorize`` and its login page (OIDC Core §3.1.2, RFC 6749 §4.1).

Until the client and its redirect URI are known to be the org's, a fault is shown as a page and
never redirected (RFC 6749 §4.1.2.1: no open redirector). After that, faults go back to the
client with ``error``, ``state`` and ``iss`` (RFC 9207).

A sign-in in progress is a transaction row bound to the browser by a cookie, and its login form
carries an anti-CSRF token; both are kept as SHA-256 digests.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import Response

from expressway import hashing
from expressway.oauth import pkce
from expressway.oauth.errors import (
    AccessDenied,
    InvalidRequest,
    InvalidScope,
    OAuthError,
    UnauthorizedClient,
)
from expressway.oauth.redirect_uris import is_registered_redirect_uri
from expressway.oauth.scopes import OIDC_SCOPES, format_scope, parse_scope
from expressway.web.csrf import new_csrf_token
from expressway.web.throttling import describe_wait, request_ip
from expressway.workforce.oidc import clients, grants
from expressway.workforce.oidc.web import (
    SESSION_COOKIE,
    TRANSACTION_COOKIE,
    ErrorPage,
    LoginRequired,
    RequestNotSupported,
    UnsupportedResponseType,
    clear_cookie,
    error_page,
    log_client,
    pages,
    redirect_with,
    runtime_of,
    set_cookie,
    single_values,
)
from expressway.workforce.rows import (
    AppRow,
    AuthorizationTransactionRow,
    OrgRow,
    UserRow,
    UserSessionRow,
)
from expressway.workforce.runtime import WorkforceRuntime
from expressway.workforce.services import orgs, sessions, throttling
from expressway.workforce.services import users as users_service
from expressway.workforce.system_log import Event, Outcome, Party, record

router = APIRouter(prefix="/orgs/{org}/oauth2/v1", tags=["OpenID Connect"])

TRANSACTION_LIFETIME = timedelta(minutes=10)
PROMPTS = ("none", "login", "consent")
NOT_ASSIGNED = "User is not assigned to the client application."
SIGN_IN_FAILED = "Unable to sign in. Check your username and password."
LOCKED = (
    "Your account is locked after too many failed sign-in attempts. "
    "Contact your administrator to unlock it."
)
THROTTLED = "Too many failed sign-in attempts came from your network. Try again in {wait}."
STALE_FORM = ErrorPage(
    "Sign-in expired",
    "This sign-in form has expired or was opened in another browser. "
    "Go back to the application and sign in again.",
)
_ANONYMOUS = "unknown"


@dataclass(frozen=True)
class AuthorizationRequest:
    """A checked authorization request, kept with its transaction while the user signs in."""

    redirect_uri: str
    scope: str
    state: str | None
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    prompt: list[str]
    max_age: int | None
    login_hint: str | None

    @classmethod
    def of_json(cls, data: dict[str, Any]) -> AuthorizationRequest:
        return cls(**data)

    def code_request(self) -> grants.CodeRequest:
        return grants.CodeRequest(
            self.redirect_uri,
            self.scope,
            self.nonce,
            self.code_challenge,
            self.code_challenge_method,
        )


def _client_and_redirect(
    session: Session, org: OrgRow, params: dict[str, str]
) -> tuple[AppRow, str]:
    app = clients.find_client(session, org.id, params.get("client_id"))
    if app is None:
        raise ErrorPage(
            "Unknown application",
            "The 'client_id' parameter does not name an active OpenID Connect app of this org.",
        )
    redirect_uri = params.get("redirect_uri")
    if redirect_uri is None or not is_registered_redirect_uri(
        redirect_uri, clients.redirect_uris(app)
    ):
        raise ErrorPage(
            "Redirect URI not allowed",
            "The 'redirect_uri' parameter must be a Login redirect URI in the client app settings.",
        )
    return app, redirect_uri


def _check_request(app: AppRow, params: dict[str, str], redirect_uri: str) -> AuthorizationRequest:
    if "request" in params or "request_uri" in params:
        raise RequestNotSupported("Request objects are not supported.")
    if params.get("response_type") != "code":
        raise UnsupportedResponseType("The response type must be 'code'.")
    if params.get("response_mode", "query") != "query":
        raise InvalidRequest("The response mode must be 'query'.")
    if "authorization_code" not in clients.grant_types(app):
        raise UnauthorizedClient("The client is not allowed the authorization_code grant.")
    scopes = parse_scope(params.get("scope", ""))
    if "openid" not in scopes:
        raise InvalidScope("The 'openid' scope is required.")
    unknown = [s for s in scopes if s not in OIDC_SCOPES]
    if unknown:
        raise InvalidScope(f"The requested scopes are not supported: {' '.join(unknown)}")
    pkce.check_challenge_format(
        params.get("code_challenge"),
        params.get("code_challenge_method"),
        required=app.pkce_required or app.token_endpoint_auth_method == "none",
    )
    prompt = parse_scope(params.get("prompt", "")) if "prompt" in params else []
    if any(p not in PROMPTS for p in prompt):
        raise InvalidRequest(f"The 'prompt' parameter must be among: {', '.join(PROMPTS)}.")
    if "none" in prompt and len(prompt) > 1:
        raise InvalidRequest("The 'prompt' value 'none' cannot be combined with another.")
    max_age = params.get("max_age")
    if max_age is not None and not (max_age.isascii() and max_age.isdigit() and len(max_age) < 10):
        raise InvalidRequest("The 'max_age' parameter must be a non-negative number of seconds.")
    return AuthorizationRequest(
        redirect_uri=redirect_uri,
        scope=format_scope(scopes),
        state=params.get("state"),
        nonce=params.get("nonce"),
        code_challenge=params.get("code_challenge"),
        code_challenge_method=params.get("code_challenge_method"),
        prompt=prompt,
        max_age=int(max_age) if max_age is not None else None,
        login_hint=params.get("login_hint"),
    )


def _error_redirect(
    issuer: str, redirect_uri: str, state: str | None, failure: OAuthError, status: int = 302
) -> Response:
    return redirect_with(
        redirect_uri,
        {
            "error": failure.error,
            "error_description": failure.description,
            "state": state,
            "iss": issuer,
        },
        status=status,
    )


def _needs_login(user_session: UserSessionRow, auth: AuthorizationRequest, now: datetime) -> bool:
    if "login" in auth.prompt:
        return True
    if auth.max_age is None:
        return False
    elapsed: float = (now - user_session.authenticated_at).total_seconds()
    return elapsed > auth.max_age


def _complete(
    runtime: WorkforceRuntime,
    session: Session,
    request: Request,
    org: OrgRow,
    app: AppRow,
    user: UserRow,
    user_session: UserSessionRow,
    auth: AuthorizationRequest,
    now: datetime,
    status: int,
) -> Response:
    """Send the signed-in user back to the client with a code, if they may use it."""
    if not clients.is_assigned(session, app, user.id):
        raise AccessDenied(NOT_ASSIGNED)
    code = grants.issue_code(
        session,
        now,
        app,
        user,
        user_session.id,
        user_session.authenticated_at,
        auth.code_request(),
    )
    record(
        session,
        org.id,
        now,
        Event(
            "user.authentication.sso",
            "User single sign on to app",
            Party.of_user(user),
            [Party.of_app(app)],
            client=log_client(request),
        ),
    )
    return redirect_with(
        auth.redirect_uri,
        {"code": code, "state": auth.state, "iss": runtime.org_url(org.name)},
        status=status,
    )


def _login_page(
    org: OrgRow,
    app: AppRow,
    transaction_id: str,
    csrf_token: str,
    *,
    username: str,
    error: str | None = None,
) -> Response:
    return pages.render(
        "login.html",
        status_code=401 if error else 200,
        title="Sign in",
        org_name=org.name,
        app_label=app.label,
        action=f"/orgs/{org.name}/oauth2/v1/authorize/login",
        transaction=transaction_id,
        csrf_token=csrf_token,
        username=username,
        error=error,
    )


def _start_transaction(
    runtime: WorkforceRuntime,
    session: Session,
    org: OrgRow,
    app: AppRow,
    auth: AuthorizationRequest,
    now: datetime,
) -> Response:
    browser_token = secrets.token_urlsafe(32)
    csrf_token = new_csrf_token()
    transaction = AuthorizationTransactionRow(
        id=secrets.token_urlsafe(24),
        org_id=org.id,
        app_id=app.id,
        browser_digest=hashing.hash_token(browser_token),
        csrf_digest=hashing.hash_token(csrf_token),
        request=asdict(auth),
        expires_at=now + TRANSACTION_LIFETIME,
    )
    session.add(transaction)
    response = _login_page(org, app, transaction.id, csrf_token, username=auth.login_hint or "")
    set_cookie(
        runtime,
        response,
        org.name,
        TRANSACTION_COOKIE,
        browser_token,
        int(TRANSACTION_LIFETIME.total_seconds()),
    )
    return response


def _authorize(runtime: WorkforceRuntime, request: Request, org_name: str) -> Response:
    now = runtime.clock.now()
    with runtime.sessions() as session:
        org = orgs.get_by_name(session, org_name)
        try:
            params = single_values(list(request.query_params.multi_items()))
        except InvalidRequest as exc:
            return error_page(org.name, ErrorPage("Bad request", exc.description))
        try:
            app, redirect_uri = _client_and_redirect(session, org, params)
        except ErrorPage as failure:
            return error_page(org.name, failure)
        try:
            auth = _check_request(app, params, redirect_uri)
            user_session = sessions.find_active(
                session, now, org.id, request.cookies.get(SESSION_COOKIE)
            )
            user = session.get(UserRow, user_session.user_id) if user_session else None
            if (
                user_session is not None
                and user is not None
                and user.status == users_service.ACTIVE
                and not _needs_login(user_session, auth, now)
            ):
                response = _complete(
                    runtime, session, request, org, app, user, user_session, auth, now, 302
                )
            elif "none" in auth.prompt:
                raise LoginRequired("The user is not signed in.")
            else:
                response = _start_transaction(runtime, session, org, app, auth, now)
        except OAuthError as failure:
            return _error_redirect(
                runtime.org_url(org.name), redirect_uri, params.get("state"), failure
            )
        session.commit()
        return response


@router.get("/authorize", summary="Start an OpenID Connect sign-in (authorization code flow)")
def authorize(org: str, request: Request) -> Response:
    return _authorize(runtime_of(request), request, org)


def _form_text(form: dict[str, Any], name: str, limit: int) -> str:
    value = form.get(name)
    # A NUL cannot be stored by PostgreSQL and is in no login, token or password we issue.
    return value[:limit] if isinstance(value, str) and "\x00" not in value else ""


def _log_sign_in_failure(
    session: Session,
    request: Request,
    org: OrgRow,
    user: UserRow | None,
    username: str,
    reason: str,
    now: datetime,
) -> None:
    actor = Party.of_user(user) if user else Party(_ANONYMOUS, "User", username, "Unknown")
    record(
        session,
        org.id,
        now,
        Event(
            "user.session.start",
            "User login to Okta",
            actor,
            outcome=Outcome("FAILURE", reason),
            severity="WARN",
            client=log_client(request),
        ),
    )


def _live_transaction(
    session: Session, org: OrgRow, request: Request, form: dict[str, Any], now: datetime
) -> AuthorizationTransactionRow | None:
    """The sign-in the form continues, when it is this org's, unexpired, started in this
    browser, and the form carries its anti-CSRF token."""
    transaction = session.get(AuthorizationTransactionRow, _form_text(form, "transaction", 64))
    browser = request.cookies.get(TRANSACTION_COOKIE, "")
    if (
        transaction is None
        or transaction.org_id != org.id
        or transaction.expires_at <= now
        or not hashing.verify_token(transaction.browser_digest, browser)
        or not hashing.verify_token(transaction.csrf_digest, _form_text(form, "csrf_token", 128))
    ):
        return None
    return transaction


def _check_password_first(
    runtime: WorkforceRuntime, request: Request, org_name: str, form: dict[str, Any]
) -> hashing.PasswordCheck | None:
    """The Argon2 check of a posted password, made with no transaction open.

    On SQLite a read-write transaction holds the database's one write lock from its start, so
    a check inside it would make every other sign-in wait for this one's hash. What it needs
    (the user's hash, and whether the address is throttled) is read in a short read-only
    transaction; :func:`_sign_in` then decides in its own, with what it reads there. None when
    there is nothing to check: a stale form, or a throttled address.
    """
    now = runtime.clock.now()
    with runtime.read_only_sessions() as session:
        org = orgs.find_by_name(session, org_name)
        if org is None or _live_transaction(session, org, request, form, now) is None:
            return None
        policy = throttling.Policy.of(runtime.settings)
        ip = request_ip(request)
        if throttling.address_throttled(session, policy, now, ip) is not None:
            return None
        username = _form_text(form, "username", 100).strip()
        stored_hash = users_service.stored_password_hash(session, org.id, username)
    return hashing.check_password(stored_hash, _form_text(form, "password", 256))


def _refuse(
    session: Session,
    org: OrgRow,
    app: AppRow,
    transaction: AuthorizationTransactionRow,
    username: str,
    error: str,
    *,
    status: int = 401,
) -> Response:
    """The login page again with ``error``, a new anti-CSRF token, and what failed committed."""
    csrf_token = new_csrf_token()
    transaction.csrf_digest = hashing.hash_token(csrf_token)
    session.commit()
    page = _login_page(org, app, transaction.id, csrf_token, username=username, error=error)
    page.status_code = status
    return page


def _sign_in(
    runtime: WorkforceRuntime, request: Request, org_name: str, form: dict[str, Any]
) -> Response:
    checked = _check_password_first(runtime, request, org_name, form)
    now = runtime.clock.now()
    with runtime.sessions() as session:
        org = orgs.get_by_name(session, org_name)
        transaction = _live_transaction(session, org, request, form, now)
        if transaction is None:
            return error_page(org.name, STALE_FORM)
        app = session.get(AppRow, transaction.app_id)
        if app is None or clients.find_client(session, org.id, app.client_id) is None:
            return error_page(org.name, STALE_FORM)
        auth = AuthorizationRequest.of_json(transaction.request)
        username = _form_text(form, "username", 100).strip()
        policy = throttling.Policy.of(runtime.settings)
        ip = request_ip(request)
        client = replace(log_client(request), ip=ip)
        # Checked before the password: a throttled guesser learns nothing, right password or not.
        # Checked here again, with the user's status below, after the password check made outside
        # the transaction: failures counted meanwhile by sign-ins in parallel apply to this one
        # as if it came after them.
        retry_after = throttling.address_throttled(session, policy, now, ip)
        if retry_after is not None:
            throttling.record_throttled(session, org.id, now, client)
            message = THROTTLED.format(wait=describe_wait(retry_after))
            page = _refuse(session, org, app, transaction, username, message, status=429)
            page.headers["Retry-After"] = str(retry_after)
            return page
        found = users_service.find_by_login(session, org.id, username)
        throttling.unlock_if_due(session, policy, found, now, client)
        user, failure = users_service.authenticate(
            found, _form_text(form, "password", 256), checked
        )
        if failure is not None or user is None:
            _log_sign_in_failure(session, request, org, user, username, failure or "", now)
            throttling.count_failure(session, policy, now, user=user, ip=ip, client=client)
            if user is not None and user.status == throttling.LOCKED_OUT:
                return _refuse(session, org, app, transaction, username, LOCKED, status=403)
            return _refuse(session, org, app, transaction, username, SIGN_IN_FAILED)
        throttling.forget_failures(session, user)
        previous = sessions.find_active(session, now, org.id, request.cookies.get(SESSION_COOKIE))
        if previous is not None:
            sessions.end(previous, now)
        user_session, cookie = sessions.start(session, now, user)
        user.last_login_at = now
        record(
            session,
            org.id,
            now,
            Event(
                "user.session.start",
                "User login to Okta",
                Party.of_user(user),
                client=log_client(request),
            ),
        )
        session.delete(transaction)
        try:
            response = _complete(
                runtime, session, request, org, app, user, user_session, auth, now, 303
            )
        except OAuthError as denied:
            response = _error_redirect(
                runtime.org_url(org.name), auth.redirect_uri, auth.state, denied, 303
            )
        set_cookie(
            runtime,
            response,
            org.name,
            SESSION_COOKIE,
            cookie,
            int(sessions.SESSION_LIFETIME.total_seconds()),
        )
        clear_cookie(runtime, response, org.name, TRANSACTION_COOKIE)
        session.commit()
        return response


@router.post(
    "/authorize/login",
    summary="The login form of a sign-in in progress",
    include_in_schema=False,
)
async def sign_in(org: str, request: Request) -> Response:
    raw = await request.form(max_files=0, max_fields=16)
    form = {k: v for k, v in raw.multi_items() if not isinstance(v, UploadFile)}
    return await run_in_threadpool(_sign_in, runtime_of(request), request, org, form)
