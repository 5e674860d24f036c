"""``/authorize`` (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2): check the request, remember it,
and start Universal Login.

The checks, in order; the first that fails answers:

1. the client exists,                                              else an error page;
2. ``redirect_uri`` is exactly one of the client's callbacks,      else an error page, never a
   redirect (it would make the tenant an open redirector, RFC 9700 §4.11);
3. ``response_type`` is ``code`` and the client may use that grant; the other parameters are
   well formed;
4. PKCE: an S256 ``code_challenge``, required from public clients (RFC 9700 §2.1.1);
5. ``audience`` is an existing API (by default the tenant's ``default_audience``);
6. ``scope``: OpenID Connect scopes and the audience's own;
7. organization: the client's ``organization_usage``, the OIN client's rules, and the
   ``organization`` parameter names an existing one;
8. ``connection`` exists and, for an enterprise one, is enabled for the client.

From 3 on, errors go back to the ``redirect_uri`` (RFC 6749 §4.1.2.1). Then the request is stored
as a transaction, a live session is reused when the request allows it, and the login goes on in
:mod:`expressway.tenant.authn.login_flow`.

Federation continues logins through :func:`complete_authentication`, exported here.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from expressway.oauth.errors import (
    AccessDenied,
    InvalidRequest,
    InvalidScope,
    OAuthError,
    UnauthorizedClient,
)
from expressway.oauth.pkce import check_challenge_format
from expressway.oauth.redirect_uris import is_registered_redirect_uri
from expressway.oauth.scopes import OIDC_SCOPES
from expressway.tenant import logs
from expressway.tenant.authn import login_pages
from expressway.tenant.authn.authorize_params import (
    MAX_LENGTHS,
    AuthorizationParameters,
    RawParameters,
    parse_parameters,
    read_parameters,
)
from expressway.tenant.authn.login_flow import (
    DATABASE_STRATEGY,
    ENTERPRISE_STRATEGIES,
    TRANSACTION_LIFETIME,
    Login,
    advance,
    bind_to_browser,
    complete_authentication,
    error_redirect_url,
    express_configuration_error_cause,
    find_connection,
)
from expressway.tenant.authn.login_rendering import error_page
from expressway.tenant.management.context import get_runtime
from expressway.tenant.rows import (
    AuthorizationRequestRow,
    ClientRow,
    ConnectionClientRow,
    LoginSessionRow,
    OrganizationRow,
    ResourceServerRow,
)
from expressway.tenant.runtime import TenantRuntime
from expressway.tenant.services import express_configuration_causes as causes
from expressway.tenant.services import login_sessions, resource_servers, tenant_settings
from expressway.web.csrf import new_csrf_token

__all__ = ["complete_authentication", "router"]

router = APIRouter(tags=["Authentication API"])
router.include_router(login_pages.router)

#: Clients that cannot keep a secret, and so must prove possession of the code with PKCE.
PUBLIC_APP_TYPES = ("spa", "native")


class _NoRedirect(Exception):
    """The request cannot be answered at a redirect URI: the user gets an error page."""

    def __init__(self, message: str, client: ClientRow | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.client = client


# Two routes, not one with two methods: each then has its own OpenAPI operation id.
@router.get("/authorize", summary="Start a login")
@router.post("/authorize", summary="Start a login (form-serialized parameters)")
async def authorize(request: Request) -> Response:
    pairs: list[tuple[str, Any]] = list(request.query_params.multi_items())
    if request.method == "POST":
        # OpenID Connect Core §3.1.2.1: a POST carries the parameters form-serialized.
        pairs = await login_pages.read_form_pairs(request)
    raw = read_parameters(pairs)
    return await run_in_threadpool(_authorize, get_runtime(request), request, raw)


def _authorize(runtime: TenantRuntime, request: Request, raw: RawParameters) -> Response:
    with runtime.sessions() as session:
        try:
            client, redirect_uri = _client_and_redirect_uri(session, raw)
        except _NoRedirect as refused:
            _log_refusal(runtime, session, request, refused.client, refused.message)
            session.commit()
            return error_page(refused.message)
        try:
            params = parse_parameters(raw)
            if "authorization_code" not in client.grant_types:
                raise UnauthorizedClient(
                    "the client is not allowed the authorization_code grant (grant_types)"
                )
            check_challenge_format(
                params.code_challenge, params.code_challenge_method, required=_is_public(client)
            )
            audience, api = _audience(session, params.audience)
            _check_scopes(params.scope, api)
            organization = _organization(session, client, params)
            _check_connection(session, client, params.connection)
        except OAuthError as error:
            response = _refuse(runtime, session, request, client, redirect_uri, raw, error)
            session.commit()
            return response
        txn = _store_transaction(runtime, session, client, redirect_uri, params, audience)
        txn.organization_id = organization.id if organization else None
        login = Login(runtime, session, request, txn, client)
        reused = _reusable_session(login, params)
        if reused is not None:
            login_sessions.touch_session(reused, login.now)
            txn.user_id = reused.user_id
            txn.session_id = reused.id
            txn.connection = reused.connection
        response = advance(login)
        bind_to_browser(response, runtime, txn)
        session.commit()
        return response


# --- 1, 2: where errors can go ---


def _client_and_redirect_uri(session: Session, raw: RawParameters) -> tuple[ClientRow, str]:
    for name in ("client_id", "redirect_uri"):
        if name in raw.repeated:
            raise _NoRedirect(f"The parameter {name} is sent more than once.")
    client_id = raw.get("client_id")
    if client_id is None:
        raise _NoRedirect("The request has no client_id.")
    client = (
        session.get(ClientRow, client_id) if len(client_id) <= MAX_LENGTHS["client_id"] else None
    )
    if client is None:
        raise _NoRedirect(f"Unknown client: {client_id[: MAX_LENGTHS['client_id']]}.")
    redirect_uri = raw.get("redirect_uri")
    if redirect_uri is None:
        raise _NoRedirect("The request has no redirect_uri.", client)
    if not is_registered_redirect_uri(redirect_uri, client.callbacks):
        raise _NoRedirect(
            f"Callback URL mismatch: {redirect_uri[: MAX_LENGTHS['redirect_uri']]} is not one of "
            f"the Allowed Callback URLs of the application {client.name}. Add it, exactly as "
            "sent, to the application's callbacks.",
            client,
        )
    return client, redirect_uri


def _log_refusal(
    runtime: TenantRuntime,
    session: Session,
    request: Request,
    client: ClientRow | None,
    message: str,
) -> None:
    logs.record(
        session,
        at=runtime.clock.now(),
        type="f",
        description=message,
        client_id=client.client_id if client else None,
        client_name=client.name if client else None,
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )


def _refuse(
    runtime: TenantRuntime,
    session: Session,
    request: Request,
    client: ClientRow,
    redirect_uri: str,
    raw: RawParameters,
    error: OAuthError,
) -> Response:
    audience = raw.get("audience")
    error_cause = express_configuration_error_cause(
        session,
        error,
        client=client,
        audience=audience,
        scopes=(raw.get("scope") or "").split(),
        organization_given=raw.get("organization") is not None,
    )
    logs.record(
        session,
        at=runtime.clock.now(),
        type="f",
        description=error.description,
        client_id=client.client_id,
        client_name=client.name,
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
        details={"error": error.error, "error_cause": error_cause},
    )
    state = raw.get("state")
    if state is not None and len(state) > MAX_LENGTHS["state"]:
        state = None
    url = error_redirect_url(
        runtime.settings.tenant_issuer, redirect_uri, state, error, error_cause
    )
    return RedirectResponse(url, status_code=303)


# --- 3 to 8: what the request asks for ---


def _is_public(client: ClientRow) -> bool:
    return client.token_endpoint_auth_method == "none" or client.app_type in PUBLIC_APP_TYPES


def _audience(
    session: Session, requested: str | None
) -> tuple[str | None, ResourceServerRow | None]:
    audience = requested or tenant_settings.read(session).get("default_audience") or None
    if audience is None:
        return None, None
    api = resource_servers.find_by_identifier(session, audience)
    if api is None:
        raise AccessDenied(
            f"Service not found: {audience}",
            cause=(
                causes.EXPRESS_CONFIGURATION_API_MISSING
                if audience == causes.EXPRESS_CONFIGURE_AUDIENCE
                else None
            ),
        )
    return audience, api


def _check_scopes(scopes: tuple[str, ...], api: ResourceServerRow | None) -> None:
    defined = {s.get("value") for s in api.scopes if isinstance(s, dict)} if api else set()
    unknown = [s for s in scopes if s not in OIDC_SCOPES and s not in defined]
    if unknown:
        where = f"the API {api.identifier}" if api else "no API (the request has no audience)"
        raise InvalidScope(
            f"scope {' '.join(unknown)} is neither an OpenID Connect scope nor defined by {where}"
        )


def _organization(
    session: Session, client: ClientRow, params: AuthorizationParameters
) -> OrganizationRow | None:
    usage = client.organization_usage or "deny"
    if causes.is_oin_client(client) and causes.organization_prompt_disabled(
        client, organization_given=params.organization is not None
    ):
        raise InvalidRequest(
            "the OIN client must require an organization and prompt for it: set its "
            "organization_usage to require and organization_require_behavior to pre_login_prompt",
            cause=causes.ORGANIZATION_PROMPT_DISABLED,
        )
    if params.organization is None:
        if usage == "require" and client.organization_require_behavior == "no_prompt":
            raise InvalidRequest("parameter organization is required for this client")
        return None
    if usage == "deny":
        raise InvalidRequest(
            "parameter organization is not allowed for this client (its organization_usage is deny)"
        )
    column = OrganizationRow.id if params.organization.startswith("org_") else OrganizationRow.name
    value = params.organization if column is OrganizationRow.id else params.organization.lower()
    organization = session.scalars(select(OrganizationRow).where(column == value)).first()
    if organization is None:
        raise InvalidRequest(f"parameter organization is invalid: no organization {value}")
    return organization


def _check_connection(session: Session, client: ClientRow, name: str | None) -> None:
    if name is None:
        return
    connection = find_connection(session, name)
    if connection is None:
        raise InvalidRequest(f"the connection {name} does not exist")
    if connection.strategy in ENTERPRISE_STRATEGIES:
        if session.get(ConnectionClientRow, (connection.id, client.client_id)) is None:
            raise InvalidRequest(f"the connection {name} is not enabled for this application")
    elif connection.strategy != DATABASE_STRATEGY:
        raise InvalidRequest(f"the connection {name} cannot be used to sign in here")


# --- The transaction ---


def _store_transaction(
    runtime: TenantRuntime,
    session: Session,
    client: ClientRow,
    redirect_uri: str,
    params: AuthorizationParameters,
    audience: str | None,
) -> AuthorizationRequestRow:
    now = runtime.clock.now()
    txn = AuthorizationRequestRow(
        # The browser carries this id through the login pages; it is unguessable, so that no one
        # else can continue this login.
        id=secrets.token_urlsafe(32),
        client_id=client.client_id,
        redirect_uri=redirect_uri,
        response_mode="query",
        params={
            "scope": list(params.scope),
            "audience": audience,
            "state": params.state,
            "nonce": params.nonce,
            "code_challenge": params.code_challenge,
            "code_challenge_method": params.code_challenge_method,
            "prompt": sorted(params.prompt),
            "max_age": params.max_age,
            "login_hint": params.login_hint,
            "organization": params.organization,
            "connection": params.connection,
        },
        csrf_token=new_csrf_token(),
        user_id=None,
        session_id=None,
        organization_id=None,
        connection=None,
        created_at=now,
        expires_at=now + TRANSACTION_LIFETIME,
        completed_at=None,
    )
    session.add(txn)
    session.flush()
    return txn


def _reusable_session(login: Login, params: AuthorizationParameters) -> LoginSessionRow | None:
    """The browser's live session, if this request lets it stand for a new sign-in."""
    if "login" in params.prompt:
        return None
    live = login_sessions.find_live_session(
        login.session, login.now, login.request.cookies.get(login_sessions.COOKIE_NAME)
    )
    if live is None:
        return None
    # OpenID Connect Core §3.1.2.1: max_age asks for a sign-in no older than that.
    if (
        params.max_age is not None
        and live.auth_time + timedelta(seconds=params.max_age) <= login.now
    ):
        return None
    if params.connection is not None and params.connection != live.connection:
        return None
    return live
