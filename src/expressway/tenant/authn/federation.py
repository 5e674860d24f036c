"""Federation: logins through an upstream IdP (``okta`` and ``oidc`` connections).

``/authorize`` hands a transaction to :func:`start_upstream_login`, which remembers the redirect
(state digest, nonce, sealed PKCE verifier) and answers the upstream's authorization URL. The
upstream sends the browser back to ``/login/callback``, which, in order:

1. finds the upstream login by the digest of ``state``; unknown, expired or used → an error
   page (400), and no redirect anywhere, since nothing says where the browser came from;
2. marks it used, in its own committed transaction, so a replay fails even if this one does;
3. answers an upstream ``error`` to the application as ``access_denied``;
4. checks the RFC 9207 ``iss`` parameter when the upstream sends one (mix-up defence);
5. exchanges the code and validates the ID token strictly (:mod:`.upstream`), outside any
   database transaction, since it waits on the network;
6. creates or updates the user just in time (:mod:`..services.federated_users`), refuses a
   blocked one;
7. continues the login with ``complete_authentication`` (organization membership, consent,
   the code).

Every refusal after step 1 is logged as ``f`` with its reason and answered to the application
with ``access_denied``; the reason stays in the log, since it may describe the upstream's setup.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import delete, update
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from expressway import hashing
from expressway.oauth.errors import AccessDenied, OAuthError
from expressway.sealing import SealError
from expressway.tenant import logs
from expressway.tenant.authn import login_flow
from expressway.tenant.authn.authorize import complete_authentication
from expressway.tenant.authn.login_rendering import error_page
from expressway.tenant.authn.upstream import (
    ProviderMetadata,
    RelyingParty,
    UpstreamError,
    UpstreamIdentity,
    discovery_url_for,
)
from expressway.tenant.errors import TenantError
from expressway.tenant.management.context import get_runtime
from expressway.tenant.rows import (
    AuthorizationRequestRow,
    ClientRow,
    ConnectionRow,
    UpstreamLoginRow,
)
from expressway.tenant.runtime import TenantRuntime
from expressway.tenant.services import connections as connection_service
from expressway.tenant.services import federated_users

router = APIRouter(tags=["Authentication API"])

#: How long the browser may take at the upstream's login page.
UPSTREAM_LOGIN_LIFETIME = timedelta(minutes=10)
UPSTREAM_STRATEGIES = ("okta", "oidc")
_ENDPOINT_OPTIONS = ("authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri")
#: Longest callback parameter read; upstream codes and states are far shorter.
_MAX_PARAMETER = 4096


class UpstreamUnavailable(OAuthError):
    """The upstream of a connection cannot be used right now (discovery failed, bad setup).

    Raised by :func:`start_upstream_login`; ``/authorize`` answers it to the application like
    any other OAuth error of the authorization request.
    """

    error = "temporarily_unavailable"
    status = 503


def callback_url(runtime: TenantRuntime) -> str:
    return f"{runtime.settings.tenant_issuer}login/callback"


def relying_party(runtime: TenantRuntime, connection: ConnectionRow) -> RelyingParty:
    """What the connection says about its upstream: issuer, our client there, scope, PKCE."""
    options = connection.options
    if connection.strategy not in UPSTREAM_STRATEGIES:
        raise UpstreamError(f"the connection {connection.name} has no upstream IdP")
    issuer: str | None = options.get("issuer")
    if connection.strategy == "okta" and issuer is None:
        issuer = f"https://{options['domain']}"
    discovery_url = options.get("discovery_url") or discovery_url_for(str(issuer))
    try:
        secret = connection_service.read_client_secret(runtime, connection)
    except SealError as exc:
        raise UpstreamError(f"the client secret of {connection.name} cannot be unsealed") from exc
    pkce = (options.get("connection_settings") or {}).get("pkce", "auto")
    return RelyingParty(
        discovery_url=discovery_url,
        client_id=options["client_id"],
        client_secret=secret,
        scope=options.get("scope") or connection_service.DEFAULT_SCOPE,
        pkce=pkce != "disabled",
        issuer=issuer,
        endpoint_overrides={k: options[k] for k in _ENDPOINT_OPTIONS if k in options},
    )


def upstream_of(
    runtime: TenantRuntime, connection: ConnectionRow
) -> tuple[RelyingParty, ProviderMetadata]:
    """The connection's relying-party settings and its upstream's metadata; raises
    :class:`UpstreamError`."""
    rp = relying_party(runtime, connection)
    return rp, runtime.upstream.provider(rp, runtime.clock.timestamp())


def start_upstream_login(
    runtime: TenantRuntime,
    session: Session,
    txn: AuthorizationRequestRow,
    connection: ConnectionRow,
) -> str:
    """Remember a redirect to the connection's upstream IdP; answer the URL to send the browser
    to. Raises :class:`UpstreamUnavailable` when the upstream cannot be used."""
    try:
        rp, metadata = upstream_of(runtime, connection)
    except UpstreamError as exc:
        # The reason names only the upstream's public endpoints, and is what the application's
        # developer needs to fix the connection.
        raise UpstreamUnavailable(
            f"the identity provider of the connection {connection.name} cannot be used: {exc}"
        ) from exc
    now = runtime.clock.now()
    # Expired redirects can no longer complete; sweep them now and then.
    if secrets.randbelow(64) == 0:
        session.execute(delete(UpstreamLoginRow).where(UpstreamLoginRow.expires_at < now))
    state = secrets.token_urlsafe(32)
    nonce = secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(48)
    session.add(
        UpstreamLoginRow(
            state_hash=hashing.hash_token(state),
            authorization_request_id=txn.id,
            connection_id=connection.id,
            nonce=nonce,
            code_verifier_sealed=runtime.secret_sealer.seal(verifier.encode()),
            created_at=now,
            expires_at=now + UPSTREAM_LOGIN_LIFETIME,
            used_at=None,
        )
    )
    session.flush()
    login_hint = txn.params.get("login_hint")
    return runtime.upstream.authorization_url(
        rp,
        metadata,
        redirect_uri=callback_url(runtime),
        state=state,
        nonce=nonce,
        code_verifier=verifier if rp.pkce else None,
        login_hint=login_hint if isinstance(login_hint, str) else None,
    )


# --- /login/callback ---


@dataclass(frozen=True)
class _Claimed:
    """What the callback needs from its transaction once the upstream login is marked used."""

    authorization_request_id: str
    client_id: str
    redirect_uri: str
    client_state: str | None
    connection_id: str
    connection_name: str
    nonce: str
    code_verifier: str


@dataclass
class _Context:
    ip: str | None
    user_agent: str | None


class _Refused(Exception):
    """A callback refused after its transaction was found: logged, then sent to the client."""

    def __init__(
        self,
        reason: str,
        description: str,
        details: dict[str, Any] | None = None,
        user_id: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.description = description
        self.details = details or {}
        self.user_id = user_id


def _redirect_to_client(runtime: TenantRuntime, claimed: _Claimed, description: str) -> Response:
    url = login_flow.error_redirect_url(
        runtime.settings.tenant_issuer,
        claimed.redirect_uri,
        claimed.client_state,
        AccessDenied(description),
        None,
    )
    return RedirectResponse(url, status_code=303)


def _log_failure(
    session: Session,
    runtime: TenantRuntime,
    context: _Context,
    reason: str,
    *,
    claimed: _Claimed | None = None,
    refused: _Refused | None = None,
) -> None:
    client = session.get(ClientRow, claimed.client_id) if claimed else None
    logs.record(
        session,
        at=runtime.clock.now(),
        type="f",
        description=reason,
        client_id=claimed.client_id if claimed else None,
        client_name=client.name if client else None,
        user_id=refused.user_id if refused else None,
        connection=claimed.connection_name if claimed else None,
        connection_id=claimed.connection_id if claimed else None,
        ip=context.ip,
        user_agent=context.user_agent,
        details={"reason": reason, **(refused.details if refused else {})},
    )


def _refuse(
    runtime: TenantRuntime, context: _Context, claimed: _Claimed, refused: _Refused
) -> Response:
    """End the login, log why in a transaction of its own, and tell the application: access
    denied."""
    with runtime.sessions() as session:
        txn = session.get(AuthorizationRequestRow, claimed.authorization_request_id)
        if txn is not None:
            txn.completed_at = runtime.clock.now()
        _log_failure(session, runtime, context, refused.reason, claimed=claimed, refused=refused)
        session.commit()
    return _redirect_to_client(runtime, claimed, refused.description)


def _claim(
    runtime: TenantRuntime, session: Session, request: Request, state: str
) -> _Claimed | str:
    """Mark the upstream login of ``state`` used; answer what it leads to, or why it cannot."""
    now = runtime.clock.now()
    state_hash = hashing.hash_token(state)
    login = session.get(UpstreamLoginRow, state_hash)
    if login is None:
        return "unknown state at /login/callback"
    if login.used_at is not None:
        return "state at /login/callback was already used"
    if login.expires_at <= now:
        return "state at /login/callback has expired"
    # The conditional update is the check that holds when two callbacks race on one state.
    claimed = session.execute(
        update(UpstreamLoginRow)
        .where(UpstreamLoginRow.state_hash == state_hash, UpstreamLoginRow.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session="fetch")
    )
    if not getattr(claimed, "rowcount", 0):
        return "state at /login/callback was already used"
    txn = session.get(AuthorizationRequestRow, login.authorization_request_id)
    connection = session.get(ConnectionRow, login.connection_id)
    if txn is None or connection is None:
        return "the login transaction of this state no longer exists"
    if txn.completed_at is not None or txn.expires_at <= now:
        return "the login transaction of this state has expired or completed"
    if not login_flow.is_bound_to(request, txn):
        # Login CSRF: this upstream answer belongs to a login another browser started.
        return "the login of this state was started in another browser"
    try:
        verifier = runtime.secret_sealer.open(login.code_verifier_sealed).decode()
    except SealError:
        return "the PKCE verifier of this state cannot be unsealed"
    client_state = txn.params.get("state")
    return _Claimed(
        authorization_request_id=txn.id,
        client_id=txn.client_id,
        redirect_uri=txn.redirect_uri,
        client_state=client_state if isinstance(client_state, str) else None,
        connection_id=connection.id,
        connection_name=connection.name,
        nonce=login.nonce,
        code_verifier=verifier,
    )


def _redeem(
    runtime: TenantRuntime, claimed: _Claimed, params: dict[str, str]
) -> tuple[UpstreamIdentity, dict[str, Any] | None]:
    """Steps 3 to 5: the upstream's answer, verified; raises :class:`_Refused`.

    No read-write transaction is open here: the exchange waits on the upstream, and on SQLite a
    write transaction would hold every other writer for that long.
    """
    if "error" in params:
        upstream_description = (params.get("error_description") or params["error"])[:500]
        raise _Refused(
            f"the upstream identity provider answered {params['error'][:100]}",
            upstream_description,
            {"upstream_error": params["error"][:100], "upstream_description": upstream_description},
        )
    code = params.get("code")
    if not code:
        raise _Refused(
            "the upstream identity provider sent no code", "the identity provider sent no code"
        )
    with runtime.read_only_sessions() as session:
        connection = session.get(ConnectionRow, claimed.connection_id)
    if connection is None:
        raise _Refused("the connection was deleted during the login", "the connection is gone")
    try:
        rp, metadata = upstream_of(runtime, connection)
        # RFC 9207 §2.4: an authorization response naming another issuer is a mix-up attack.
        if "iss" in params and params["iss"] != metadata.issuer:
            raise UpstreamError(f"the callback's iss {params['iss']!r} is not {metadata.issuer!r}")
        identity = runtime.upstream.redeem_code(
            rp,
            metadata,
            code=code,
            redirect_uri=callback_url(runtime),
            code_verifier=claimed.code_verifier if rp.pkce else None,
            nonce=claimed.nonce,
            now=runtime.clock.timestamp(),
        )
    except UpstreamError as exc:
        raise _Refused(str(exc), "the identity provider's answer could not be verified") from exc
    return identity, connection.options.get("attribute_map")


def _finish(
    runtime: TenantRuntime,
    request: Request,
    context: _Context,
    claimed: _Claimed,
    identity: UpstreamIdentity,
    attribute_map: dict[str, Any] | None,
) -> Response:
    """Steps 6 and 7, in one transaction."""
    with runtime.sessions() as session:
        txn = session.get(AuthorizationRequestRow, claimed.authorization_request_id)
        connection = session.get(ConnectionRow, claimed.connection_id)
        try:
            if txn is None or connection is None:
                raise _Refused("the login transaction or connection was deleted", "login expired")
            profile = federated_users.map_profile(
                attribute_map, identity.id_token_claims, identity.userinfo
            )
            try:
                user = federated_users.provision(
                    session, runtime.clock.now(), connection, identity.subject, profile
                )
            except TenantError as exc:
                raise _Refused(exc.message, "the user cannot be signed in") from exc
            if user.blocked:
                raise _Refused("user is blocked", "user is blocked", user_id=user.user_id)
        except _Refused as refused:
            session.rollback()
            return _refuse(runtime, context, claimed, refused)
        response = complete_authentication(runtime, session, request, txn, user, connection.name)
        session.commit()
        return response


def _callback(runtime: TenantRuntime, request: Request, params: dict[str, str]) -> Response:
    context = _Context(
        ip=request.client.host if request.client else None,
        user_agent=(request.headers.get("user-agent") or "")[:512] or None,
    )
    state = params.get("state")
    with runtime.sessions() as session:
        outcome = (
            _claim(runtime, session, request, state) if state else "no state at /login/callback"
        )
        if isinstance(outcome, str):
            # Committed with the log: a state refused for its transaction stays used.
            _log_failure(session, runtime, context, outcome)
        session.commit()
    if isinstance(outcome, str):
        return error_page(
            "This sign-in link is invalid, expired or was already used. "
            "Go back to the application and sign in again."
        )
    try:
        identity, attribute_map = _redeem(runtime, outcome, params)
    except _Refused as refused:
        return _refuse(runtime, context, outcome, refused)
    return _finish(runtime, request, context, outcome, identity, attribute_map)


def _single_values(pairs: list[tuple[str, Any]]) -> dict[str, str] | None:
    """The parameters, or ``None`` when one is repeated, not text, absurdly long, or holds a NUL
    (which PostgreSQL cannot store, and the log would)."""
    params: dict[str, str] = {}
    for key, value in pairs:
        if (
            key in params
            or not isinstance(value, str)
            or len(value) > _MAX_PARAMETER
            or "\x00" in value
        ):
            return None
        params[key] = value
    return params


@router.get("/login/callback")
async def login_callback(request: Request) -> Response:
    """Where upstream IdPs send the browser back (``response_mode=query``)."""
    return await _respond(request, list(request.query_params.multi_items()))


@router.post("/login/callback")
async def login_callback_form_post(request: Request) -> Response:
    """The same, for an upstream that answers with ``response_mode=form_post``."""
    form = await request.form()
    return await _respond(request, list(form.multi_items()))


async def _respond(request: Request, pairs: list[tuple[str, Any]]) -> Response:
    params = _single_values(pairs)
    if params is None:
        return error_page("The sign-in response is malformed.")
    runtime = get_runtime(request)
    return await run_in_threadpool(_callback, runtime, request, params)
