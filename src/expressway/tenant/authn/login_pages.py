"""Universal Login's pages, under ``/u/`` as Auth0's: organization prompt, identifier (with Home
Realm Discovery), password, organization picker and consent.

Each page belongs to a transaction, named by ``state`` in its URL and its form. Every POST must
carry the transaction's anti-CSRF token (:mod:`expressway.web.csrf`), and a transaction that is
over or older than an hour opens no page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import bindparam, select
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from expressway import hashing
from expressway.oauth.errors import AccessDenied, InvalidRequest
from expressway.tenant.authn.login_flow import (
    Login,
    TransactionGone,
    advance,
    complete_authentication,
    connection_buttons,
    consent_audience,
    database_connection,
    discover_connection,
    fail,
    find_connection,
    load_transaction,
    page_redirect,
    record,
    start_upstream,
)
from expressway.tenant.authn.login_rendering import error_page, pages, transaction_gone_page
from expressway.tenant.management.context import get_runtime
from expressway.tenant.rows import OrganizationRow, UserRow
from expressway.tenant.runtime import TenantRuntime
from expressway.tenant.services import consents, resource_servers, throttling, users
from expressway.tenant.services import express_configuration_causes as causes
from expressway.web.csrf import FIELD_NAME, csrf_tokens_match
from expressway.web.throttling import describe_wait, request_ip

router = APIRouter(tags=["Universal Login"], include_in_schema=False)

MAX_EMAIL_LENGTH = 320
#: Argon2 takes any length, but hashing megabytes per attempt would be a cheap denial of service.
MAX_PASSWORD_LENGTH = 1024
MAX_ORGANIZATION_NAME_LENGTH = 64
#: What the OpenID Connect scopes give the application, for the consent page.
OIDC_SCOPE_DESCRIPTIONS = {
    "openid": "Know who you are",
    "profile": "Read your profile: name, nickname and picture",
    "email": "Read your e-mail address",
    "offline_access": "Keep access while you are not using the application",
}

Step = Callable[[Login, dict[str, str]], Response]


async def read_form_pairs(request: Request) -> list[tuple[str, Any]]:
    """The fields of a form body; nothing for a body that is no form."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type not in ("application/x-www-form-urlencoded", "multipart/form-data"):
        return []
    form = await request.form()
    return list(form.multi_items())


async def _read_form(request: Request) -> dict[str, str]:
    fields: dict[str, str] = {}
    for name, value in await read_form_pairs(request):
        if isinstance(value, str):
            fields.setdefault(name, value)
    return fields


def _run(
    runtime: TenantRuntime,
    request: Request,
    state: str | None,
    form: dict[str, str] | None,
    step: Step,
    *,
    writes: bool = True,
) -> Response:
    """Run one step of the transaction ``state`` in one unit of work; ``form`` is None for a GET,
    else the posted fields, which must carry the transaction's anti-CSRF token.

    A step that only shows a page (``writes=False``) runs in a read-only transaction: on SQLite
    a read-write one takes the database's one write lock at its start, so every page shown
    would wait for the sign-ins writing at that moment, and make them wait.
    """
    sessions = runtime.sessions if writes else runtime.read_only_sessions
    with sessions() as session:
        # Kept pending rather than flushed by a query, a change is seen below.
        session.autoflush = writes
        try:
            txn = load_transaction(session, runtime.clock.now(), state)
            login = Login.of(runtime, session, request, txn)
        except TransactionGone:
            return transaction_gone_page()
        if form is not None and not csrf_tokens_match(txn.csrf_token, form.get(FIELD_NAME)):
            return error_page(
                "This form was not sent from this sign-in page. Go back to the application and "
                "sign in again.",
                status_code=403,
            )
        response = step(login, form or {})
        if not writes and (session.new or session.dirty or session.deleted):
            raise RuntimeError(f"showing {request.url.path} changed the login's rows")
        session.commit()
        return response


def _get(request: Request, step: Step, *, writes: bool = True) -> Response:
    """A page of the login; ``writes=False`` when showing it never changes the login."""
    return _run(
        get_runtime(request),
        request,
        request.query_params.get("state"),
        None,
        step,
        writes=writes,
    )


async def _post(request: Request, step: Step) -> Response:
    form = await _read_form(request)
    return await run_in_threadpool(
        _run, get_runtime(request), request, form.get("state"), form, step
    )


def _render(
    login: Login, template: str, title: str, *, status_code: int = 200, **extra: Any
) -> Response:
    organization = (
        login.session.get(OrganizationRow, login.txn.organization_id)
        if login.txn.organization_id
        else None
    )
    return pages.render(
        template,
        status_code=status_code,
        title=title,
        client_name=login.client.name,
        organization_name=(organization.display_name or organization.name) if organization else "",
        state=login.txn.id,
        csrf_token=login.txn.csrf_token,
        error=extra.pop("error", ""),
        **extra,
    )


def _remembered_email(login: Login) -> str:
    for key in ("identifier", "login_hint"):
        value = login.params.get(key)
        if isinstance(value, str):
            return value
    return ""


def _user(login: Login) -> UserRow | None:
    return login.session.get(UserRow, login.txn.user_id) if login.txn.user_id else None


# --- /u/login: wherever the login stands ---


@router.get("/u/login")
def login_page(request: Request) -> Response:
    return _get(request, lambda login, _form: advance(login))


# --- Organization prompt (pre_login_prompt) ---


def _organization_page(
    login: Login, *, name: str = "", error: str = "", status_code: int = 200
) -> Response:
    return _render(
        login,
        "organization.html",
        "Enter your organization",
        status_code=status_code,
        entered_name=name,
        error=error,
    )


@router.get("/u/organization")
def organization_page(request: Request) -> Response:
    return _get(request, lambda login, _form: _organization_page(login), writes=False)


#: The pages' lookups by value, built once (building a ``select`` costs more than SQLite running
#: it): the organization a user names, and the user of an e-mail, whom the password's step reads
#: twice (the check before the hash, the sign-in after it).
_ORGANIZATION_BY_NAME = select(OrganizationRow).where(OrganizationRow.name == bindparam("name"))
_USER_BY_EMAIL = select(UserRow).where(
    UserRow.connection == bindparam("connection"), UserRow.email_key == bindparam("email_key")
)


def _choose_organization(login: Login, form: dict[str, str]) -> Response:
    name = form.get("organization_name", "").strip().lower()
    if not name or len(name) > MAX_ORGANIZATION_NAME_LENGTH:
        return _organization_page(
            login,
            name=name[:MAX_ORGANIZATION_NAME_LENGTH],
            error="Enter your organization's name.",
            status_code=400,
        )
    organization = login.session.scalars(_ORGANIZATION_BY_NAME, {"name": name}).first()
    if organization is None:
        return _organization_page(
            login, name=name, error=f"No organization is named {name}.", status_code=400
        )
    login.txn.organization_id = organization.id
    return advance(login)


@router.post("/u/organization")
async def organization_submit(request: Request) -> Response:
    return await _post(request, _choose_organization)


# --- Identifier, with Home Realm Discovery ---


def _identifier_page(login: Login, *, error: str = "", status_code: int = 200) -> Response:
    return _render(
        login,
        "identifier.html",
        "Sign in",
        status_code=status_code,
        email=_remembered_email(login),
        buttons=connection_buttons(login),
        error=error,
    )


@router.get("/u/login/identifier")
def identifier_page(request: Request) -> Response:
    return _get(request, lambda login, _form: _identifier_page(login), writes=False)


def _identify(login: Login, form: dict[str, str]) -> Response:
    email = form.get("email", "").strip()
    if "@" not in email or len(email) > MAX_EMAIL_LENGTH:
        return _identifier_page(login, error="Enter your e-mail address.", status_code=400)
    login.remember(identifier=email)
    connection = discover_connection(login, email)
    if connection is not None:
        return start_upstream(login, connection)
    return page_redirect("/u/login/password", login.txn)


@router.post("/u/login/identifier")
async def identifier_submit(request: Request) -> Response:
    return await _post(request, _identify)


def _use_connection(login: Login, form: dict[str, str]) -> Response:
    name = form.get("connection", "")
    connection = find_connection(login.session, name) if name else None
    if connection is None or connection not in connection_buttons(login):
        return _identifier_page(
            login, error="That way of signing in is not available here.", status_code=400
        )
    return start_upstream(login, connection)


@router.post("/u/login/connection")
async def connection_submit(request: Request) -> Response:
    return await _post(request, _use_connection)


# --- Password ---


def _password_page(login: Login, *, error: str = "", status_code: int = 200) -> Response:
    return _render(
        login,
        "password.html",
        "Enter your password",
        status_code=status_code,
        email=_remembered_email(login),
        error=error,
    )


@router.get("/u/login/password")
def password_page(request: Request) -> Response:
    return _get(request, lambda login, _form: _password_page(login), writes=False)


def _credentials(form: dict[str, str]) -> tuple[str, str, str | None]:
    """The e-mail and password of the form, and what is wrong with them, if anything."""
    email = form.get("email", "").strip()
    password = form.get("password", "")
    if not email or not password or len(email) > MAX_EMAIL_LENGTH:
        return email, password, "Enter your e-mail address and password."
    if len(password) > MAX_PASSWORD_LENGTH:
        return email, password, "Wrong e-mail or password."
    return email, password, None


def _find_user(login: Login, connection: str, email: str) -> UserRow | None:
    found = {"connection": connection, "email_key": email.lower()}
    return login.session.scalars(_USER_BY_EMAIL, found).first()


def _check_password_first(
    runtime: TenantRuntime, request: Request, form: dict[str, str]
) -> hashing.PasswordCheck | None:
    """The Argon2 check of a posted password, made with no transaction open.

    On SQLite the step's transaction holds the database's one write lock from its start, so a
    check inside it would make every other sign-in wait for this one's hash. What it needs (the
    user's hash, and whether the sign-in is blocked) is read in a short read-only transaction;
    :func:`_sign_in` then decides in its own, with what it reads there. None when there is
    nothing to check: a form that will be refused, or a sign-in that is blocked.
    """
    email, password, error = _credentials(form)
    if error is not None:
        return None
    with runtime.read_only_sessions() as session:
        try:
            txn = load_transaction(session, runtime.clock.now(), form.get("state"))
            login = Login.of(runtime, session, request, txn)
        except TransactionGone:
            return None
        if not csrf_tokens_match(txn.csrf_token, form.get(FIELD_NAME)):
            return None
        connection = database_connection(login)
        if connection is None:
            return None
        limits, ip = _limits_and_ip(login)
        standing = throttling.login_standing(
            session, limits, login.now, connection=connection.name, identifier=email, ip=ip
        )
        if standing.block is not None:
            return None
        user = _find_user(login, connection.name, email)
        stored_hash = user.password_hash if user is not None else None
    return hashing.check_password(stored_hash, password)


def _sign_in(
    login: Login, form: dict[str, str], checked: hashing.PasswordCheck | None = None
) -> Response:
    """The password step, deciding with what its transaction reads. ``checked`` is the check
    made before it; when the user or their hash changed since, the check is made again here."""
    email, password, error = _credentials(form)
    if error is not None:
        return _password_page(login, error=error, status_code=400)
    login.remember(identifier=email)
    connection = database_connection(login)
    if connection is None:
        return fail(login, InvalidRequest("the tenant has no database connection to sign in with"))
    # Checked before the password: a blocked guesser learns nothing, right password or not.
    # Checked again here, after the check made outside: failures counted meanwhile by sign-ins
    # in parallel apply to this one as if it came after them.
    limits, ip = _limits_and_ip(login)
    standing = throttling.login_standing(
        login.session, limits, login.now, connection=connection.name, identifier=email, ip=ip
    )
    if standing.block is not None:
        return _blocked_page(login, standing.block, connection.name, email, ip)
    user = _find_user(login, connection.name, email)
    stored_hash = user.password_hash if user is not None else None
    if checked is None or checked.stored_hash != stored_hash:
        checked = hashing.check_password(stored_hash, password)
    if user is None or user.password_hash is None:
        record(login, "fu", "Wrong email or password.", connection=connection.name, user_name=email)
        return _wrong_password(login, connection.name, email, ip)
    if not checked.matches:
        record(login, "fp", "Wrong email or password.", user=user, connection=connection.name)
        return _wrong_password(login, connection.name, email, ip)
    if user.blocked:
        # Said only after the right password, so that it reveals nothing to a guesser.
        record(login, "f", "user is blocked", user=user, connection=connection.name)
        return _password_page(
            login,
            error="Your account is blocked. Contact your administrator.",
            status_code=400,
        )
    if checked.rehashed is not None:
        user.password_hash = checked.rehashed
    if standing.failures_on_record:
        throttling.forget_login_failures(
            login.session, limits, connection=connection.name, identifier=email, ip=ip
        )
    return complete_authentication(
        login.runtime, login.session, login.request, login.txn, user, connection.name
    )


def _limits_and_ip(login: Login) -> tuple[throttling.Limits, str | None]:
    settings = login.runtime.settings
    return throttling.Limits.of(settings), request_ip(login.request)


def _wrong_password(login: Login, connection: str, email: str, ip: str | None) -> Response:
    limits, _ = _limits_and_ip(login)
    block = throttling.count_login_failure(
        login.session, limits, login.now, connection=connection, identifier=email, ip=ip
    )
    if block is not None:
        return _blocked_page(login, block, connection, email, ip)
    return _password_page(login, error="Wrong e-mail or password.", status_code=400)


def _blocked_page(
    login: Login, block: throttling.Block, connection: str, email: str, ip: str | None
) -> Response:
    """The sign-in refused by brute-force protection: what happened and what to do, a 429
    with ``Retry-After`` (RFC 6585 §4), and Auth0's ``limit_wc`` or ``limit_mu`` event."""
    if block.is_per_address:
        description = "Too many failed sign-ins from this IP address; it is throttled."
        message = (
            "Too many failed sign-in attempts came from your network, so signing in from it is "
            f"paused. Try again in {describe_wait(block.retry_after)}."
        )
    else:
        description = "Too many failed sign-ins to this account from this IP address."
        message = (
            "Your account is blocked on this network after too many failed sign-in attempts. "
            "To sign in again, have your password reset or ask your administrator to unblock "
            "your account."
        )
    record(
        login,
        block.log_type,
        description,
        connection=connection,
        user_name=email,
        details={"ip": ip, "retry_after": block.retry_after},
    )
    response = _password_page(login, error=message, status_code=429)
    response.headers["Retry-After"] = str(block.retry_after)
    return response


def _password_step(runtime: TenantRuntime, request: Request, form: dict[str, str]) -> Response:
    checked = _check_password_first(runtime, request, form)
    return _run(
        runtime,
        request,
        form.get("state"),
        form,
        lambda login, fields: _sign_in(login, fields, checked),
    )


@router.post("/u/login/password")
async def password_submit(request: Request) -> Response:
    form = await _read_form(request)
    return await run_in_threadpool(_password_step, get_runtime(request), request, form)


# --- Organization picker (post_login_prompt) ---


def _select_organization_page(login: Login, *, error: str = "", status_code: int = 200) -> Response:
    user = _user(login)
    if user is None:
        return advance(login)
    return _render(
        login,
        "select_organization.html",
        "Choose an organization",
        status_code=status_code,
        organizations=list(login.session.scalars(users.organizations_of(user.user_id))),
        error=error,
    )


@router.get("/u/organization/select")
def select_organization_page(request: Request) -> Response:
    return _get(request, lambda login, _form: _select_organization_page(login))


def _select_organization(login: Login, form: dict[str, str]) -> Response:
    user = _user(login)
    if user is None:
        return advance(login)
    chosen = form.get("organization", "")
    memberships = {o.id for o in login.session.scalars(users.organizations_of(user.user_id))}
    if chosen not in memberships:
        return _select_organization_page(
            login, error="Choose one of your organizations.", status_code=400
        )
    login.txn.organization_id = chosen
    return advance(login)


@router.post("/u/organization/select")
async def select_organization_submit(request: Request) -> Response:
    return await _post(request, _select_organization)


# --- Consent ---


def _scope_descriptions(login: Login) -> list[dict[str, str]]:
    api = (
        resource_servers.find_by_identifier(login.session, login.audience)
        if login.audience
        else None
    )
    described = {
        s["value"]: s.get("description") or s["value"]
        for s in (api.scopes if api else [])
        if isinstance(s, dict) and isinstance(s.get("value"), str)
    }
    return [
        {
            "value": scope,
            "description": OIDC_SCOPE_DESCRIPTIONS.get(scope) or described.get(scope, scope),
        }
        for scope in login.scopes
    ]


def _consent_page(login: Login, _form: dict[str, str]) -> Response:
    user = _user(login)
    if user is None:
        return advance(login)
    api = (
        resource_servers.find_by_identifier(login.session, login.audience)
        if login.audience
        else None
    )
    return _render(
        login,
        "consent.html",
        f"Authorize {login.client.name}",
        user_name=user.email or user.name or "",
        api_name=api.name if api else "",
        scopes=_scope_descriptions(login),
    )


@router.get("/u/consent")
def consent_page(request: Request) -> Response:
    return _get(request, _consent_page)


def _consent(login: Login, form: dict[str, str]) -> Response:
    user = _user(login)
    if user is None:
        return advance(login)
    action = form.get("action")
    if action == "deny":
        return fail(
            login,
            AccessDenied("the user declined the consent", cause=causes.CONSENT_DENIED),
        )
    if action != "accept":
        return _consent_page(login, form)
    consents.record_consent(
        login.session,
        login.now,
        user_id=user.user_id,
        client_id=login.client.client_id,
        audience=consent_audience(login),
        scopes=login.scopes,
    )
    login.remember(consent_given=True)
    # Through every check again: accepting consent is no way around the organization steps.
    return advance(login)


@router.post("/u/consent")
async def consent_submit(request: Request) -> Response:
    return await _post(request, _consent)
