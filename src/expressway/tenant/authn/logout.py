"""Logout: Auth0's ``/v2/logout`` and OpenID Connect RP-Initiated Logout 1.0 at ``/oidc/logout``.

Both end the browser's login session (the ``LoginSessionRow`` is revoked, the cookie cleared, and
the refresh tokens issued from that session revoked; the applications the session gave tokens to
get an OIDC Back-Channel Logout, initiator ``rp-logout``) and then send the browser back to the
application, but only to a URL the application registered in ``allowed_logout_urls``, compared
exactly: an open redirect on a trusted domain is a phishing tool. Any refusal is an error page
naming what is wrong and what to fix, and ends nothing.

``/v2/logout``: ``client_id``, ``returnTo`` (which needs ``client_id``: Expressway keeps no
tenant-wide list of logout URLs); without ``returnTo``, the client's first allowed logout URL.

``/oidc/logout`` (GET or POST): ``id_token_hint`` (an ID token we issued, accepted even expired;
its audience names the client), ``client_id`` (must agree with the hint), ``logout_hint``,
``post_logout_redirect_uri`` (needs a client from either), ``state`` (returned with it),
``ui_locales``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from expressway import hashing, jose
from expressway.oauth.errors import OAuthError
from expressway.tenant import logs
from expressway.tenant.authn.endpoints import read_parameters, request_origin
from expressway.tenant.authn.grants.common import RequestOrigin
from expressway.tenant.management.context import get_runtime
from expressway.tenant.rows import ClientRow, LoginSessionRow
from expressway.tenant.runtime import TenantRuntime
from expressway.tenant.services import refresh_tokens
from expressway.tenant.services.backchannel_logout import RP_LOGOUT
from expressway.tenant.services.login_sessions import COOKIE_NAME, revoke_session
from expressway.web.cookies import clear_cookie
from expressway.web.templates import Pages

router = APIRouter(tags=["Authentication API"])
pages = Pages("expressway.tenant.authn")

SUCCESS_LOG = "slo"
FAILURE_LOG = "flo"
#: Longest accepted value of each parameter; an ID token is the longest of them.
MAX_LENGTHS = {
    "id_token_hint": 8192,
    "client_id": 64,
    "returnTo": 2048,
    "post_logout_redirect_uri": 2048,
    "state": 2048,
    "logout_hint": 512,
    "ui_locales": 256,
    "federated": 16,
}


class LogoutRefused(Exception):
    def __init__(self, message: str, fix: str | None = None, client: ClientRow | None = None):
        super().__init__(message)
        self.message = message
        self.fix = fix
        self.client = client


def _checked(pairs: list[tuple[str, str]]) -> dict[str, str]:
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise LogoutRefused(f"The parameter {name} is repeated.")
        limit = MAX_LENGTHS.get(name)
        if limit is not None and len(value) > limit:
            raise LogoutRefused(f"The parameter {name} is longer than {limit} characters.")
        params[name] = value
    return params


async def _parameters(request: Request) -> dict[str, str]:
    if request.method == "POST":
        try:
            return _checked(list((await read_parameters(request)).items()))
        except OAuthError as error:
            raise LogoutRefused(error.description) from error
    return _checked(list(request.query_params.multi_items()))


def _client(session: Session, client_id: str | None) -> ClientRow | None:
    if not client_id:
        return None
    client = session.get(ClientRow, client_id)
    if client is None:
        raise LogoutRefused(f"No application has the client_id {client_id}.")
    return client


def _check_allowed(client: ClientRow, url: str, parameter: str) -> None:
    if url not in client.allowed_logout_urls:
        raise LogoutRefused(
            f"The {parameter} {url} is not an allowed logout URL of the application {client.name}.",
            fix="Add it to the application's Allowed Logout URLs (allowed_logout_urls).",
            client=client,
        )


def _hint_client_id(runtime: TenantRuntime, hint: str) -> str:
    """The client an ``id_token_hint`` was issued to, once it verifies as our ID token."""
    try:
        header = jose.peek_header(hint)
        _, claims = jose.verify_jwt(
            hint, runtime.signing_keys.verification_keys(header.get("kid")), algorithms=("RS256",)
        )
    except jose.JoseFailure as exc:
        raise LogoutRefused("The id_token_hint is not an ID token issued here.") from exc
    # An expired hint is still a good hint (RP-Initiated Logout 1.0 §2): only where it comes
    # from and whom it was for matter.
    if header.get("typ") == "at+jwt" or claims.get("iss") != runtime.settings.tenant_issuer:
        raise LogoutRefused("The id_token_hint is not an ID token issued here.")
    audience = claims.get("aud")
    client_id = claims.get("azp") or (
        audience if isinstance(audience, str) else audience[0] if audience else None
    )
    if not isinstance(client_id, str):
        raise LogoutRefused("The id_token_hint names no application.")
    return client_id


def _end_browser_session(
    session: Session, request: Request, now: datetime
) -> LoginSessionRow | None:
    """Revoke the cookie's login session and the refresh tokens issued from it."""
    secret = request.cookies.get(COOKIE_NAME)
    if not secret or len(secret) > 128:
        return None
    row = session.scalars(
        select(LoginSessionRow).where(LoginSessionRow.secret_hash == hashing.hash_token(secret))
    ).first()
    if row is None:
        return None
    revoke_session(session, now, row.id, initiator=RP_LOGOUT)
    refresh_tokens.revoke_session_refresh_tokens(session, now, row.id)
    return row


def _with_state(url: str, state: str | None) -> str:
    if state is None:
        return url
    parts = urlsplit(url)
    query = [*parse_qsl(parts.query, keep_blank_values=True), ("state", state)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def _signed_out(runtime: TenantRuntime, target: str | None) -> Response:
    response: Response
    if target is None:
        response = pages.render(
            "logout.html",
            title="You are signed out",
            message="You have been signed out. You can close this window.",
            fix=None,
        )
    else:
        response = RedirectResponse(target, status_code=302)
        response.headers["Cache-Control"] = "no-store"
    clear_cookie(
        response, COOKIE_NAME, secure=runtime.settings.tenant_issuer.startswith("https://")
    )
    return response


def _auth0_target(
    session: Session, params: Mapping[str, str]
) -> tuple[ClientRow | None, str | None]:
    client = _client(session, params.get("client_id"))
    return_to = params.get("returnTo")
    if return_to is not None:
        if client is None:
            raise LogoutRefused(
                "The returnTo URL needs a client_id: it must be one of that application's "
                "allowed logout URLs.",
                fix="Add client_id to the logout request.",
            )
        _check_allowed(client, return_to, "returnTo")
        return client, return_to
    if client is not None and client.allowed_logout_urls:
        first = client.allowed_logout_urls[0]
        return client, first if isinstance(first, str) else None
    return client, None


def _oidc_target(
    runtime: TenantRuntime, session: Session, params: Mapping[str, str]
) -> tuple[ClientRow | None, str | None]:
    client_id = params.get("client_id") or None
    hint = params.get("id_token_hint")
    if hint:
        hinted = _hint_client_id(runtime, hint)
        if client_id is not None and client_id != hinted:
            raise LogoutRefused("The client_id differs from the audience of the id_token_hint.")
        client_id = hinted
    client = _client(session, client_id)
    redirect_uri = params.get("post_logout_redirect_uri")
    if redirect_uri is None:
        return client, None
    if client is None:
        raise LogoutRefused(
            "A post_logout_redirect_uri needs an id_token_hint or a client_id naming the "
            "application it belongs to.",
            fix="Send id_token_hint (or client_id) with the logout request.",
        )
    _check_allowed(client, redirect_uri, "post_logout_redirect_uri")
    return client, _with_state(redirect_uri, params.get("state"))


def _refusal(
    runtime: TenantRuntime, session: Session, origin: RequestOrigin, refused: LogoutRefused
) -> Response:
    """Record the refusal in a transaction of its own and render the error page."""
    client_id = refused.client.client_id if refused.client else None
    client_name = refused.client.name if refused.client else None
    session.rollback()
    logs.record(
        session,
        at=runtime.clock.now(),
        type=FAILURE_LOG,
        description=refused.message[:500],
        client_id=client_id,
        client_name=client_name,
        ip=origin.ip,
        user_agent=origin.user_agent,
    )
    session.commit()
    return pages.render(
        "logout.html",
        status_code=400,
        title="The logout request is not valid",
        message=refused.message,
        fix=refused.fix,
    )


async def _logout(request: Request, *, oidc: bool) -> Response:
    try:
        params: dict[str, str] | LogoutRefused = await _parameters(request)
    except LogoutRefused as error:
        params = error
    # The database work runs off the event loop (see the token endpoint for why).
    return await run_in_threadpool(_log_out, request, params, oidc=oidc)


def _log_out(request: Request, params: dict[str, str] | LogoutRefused, *, oidc: bool) -> Response:
    runtime = get_runtime(request)
    origin = request_origin(request)
    if isinstance(params, LogoutRefused):
        with runtime.sessions() as session:
            return _refusal(runtime, session, origin, params)
    with runtime.sessions() as session:
        now = runtime.clock.now()
        try:
            if oidc:
                client, target = _oidc_target(runtime, session, params)
            else:
                client, target = _auth0_target(session, params)
        except LogoutRefused as error:
            return _refusal(runtime, session, origin, error)
        ended = _end_browser_session(session, request, now)
        details: dict[str, Any] = {"return_to": target}
        if ended is not None:
            details["session_id"] = ended.id
        logs.record(
            session,
            at=now,
            type=SUCCESS_LOG,
            description="Success Logout",
            client_id=client.client_id if client else None,
            client_name=client.name if client else None,
            user_id=ended.user_id if ended else None,
            ip=origin.ip,
            user_agent=origin.user_agent,
            details=details,
        )
        session.commit()
    return _signed_out(runtime, target)


@router.get("/v2/logout")
async def auth0_logout(request: Request) -> Response:
    return await _logout(request, oidc=False)


@router.get("/oidc/logout")
async def oidc_logout(request: Request) -> Response:
    return await _logout(request, oidc=True)


@router.post("/oidc/logout")
async def oidc_logout_by_post(request: Request) -> Response:
    return await _logout(request, oidc=True)
