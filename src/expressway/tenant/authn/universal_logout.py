"""The Universal Logout receiver: Okta's Universal Logout API, which is Global Token Revocation
(draft-parecki-oauth-global-token-revocation) authenticated by a JWT the upstream IdP signs.

``POST /oauth/global-token-revocation/connection/{connection_name}`` with
``Authorization: Bearer <JWT>`` and ``{"sub_id": {"format": "iss_sub", "iss": …, "sub": …}}``
(or ``{"format": "email", "email": …}``) ends every session and refresh token of that user of the
connection. The checks, in order, each with its answer:

1. the connection exists and federates to an upstream IdP — else 404;
2. a bearer token is present, is a JWT of ``typ`` ``global-token-revocation+jwt``, verifies
   with the connection's upstream keys, its ``iss`` is the upstream issuer, it carries ``exp``
   (not passed, and at most five minutes ahead), ``iat`` and ``jti`` — else 401 (503 when the
   upstream's keys cannot be fetched);
3. its ``aud`` is this endpoint's URL — else 403: the token is genuine but meant for another
   receiver;
4. the body is a JSON object with a usable ``sub_id`` — else 400;
5. the ``sub_id``'s ``iss`` is the connection's upstream issuer — else 403;
6. the token's ``jti`` was never seen for this connection — else 401 (a replay);
7. the subject is a user of the connection — else 422.

Then the sessions and refresh tokens go, the event is logged (``slo``), and the answer is 204.
The applications the sessions gave tokens to get an OIDC Back-Channel Logout (initiator
``idp-logout``) from the outbox.
Refusals are logged as ``flo``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from expressway import jose, json_text
from expressway.oauth.assertions import MAX_ASSERTION_LIFETIME
from expressway.oauth.errors import OAuthError
from expressway.tenant import logs
from expressway.tenant.authn.client_authentication import remember_assertion
from expressway.tenant.authn.federation import UPSTREAM_STRATEGIES, upstream_of
from expressway.tenant.authn.upstream import CLOCK_SKEW, UpstreamError
from expressway.tenant.management.context import get_runtime
from expressway.tenant.rows import ConnectionRow, UserRow
from expressway.tenant.runtime import TenantRuntime
from expressway.tenant.services import connections as connection_service
from expressway.tenant.services import federated_users
from expressway.tenant.services.backchannel_logout import IDP_LOGOUT
from expressway.tenant.services.login_sessions import revoke_user_sessions
from expressway.tenant.services.refresh_tokens import revoke_user_refresh_tokens

router = APIRouter(tags=["Authentication API"])

PATH = "/oauth/global-token-revocation/connection/{connection_name}"
#: The JWT ``typ`` of the request's token, bare or as the full media type (RFC 7515 §4.1.9).
TOKEN_TYPES = ("global-token-revocation+jwt", "application/global-token-revocation+jwt")
MAX_BODY_BYTES = 4096
MAX_TOKEN_BYTES = 8192
_MAX_JTI = 255
#: How far ahead a token's ``exp`` may be, in seconds (beyond the clock skew): as for a client
#: assertion (:data:`~expressway.oauth.assertions.MAX_ASSERTION_LIFETIME`). A logout request is
#: sent at once (Okta's live a minute or so); a longer-lived token would stay usable long after
#: it leaked, and its ``jti`` would be kept that long to refuse its replay.
MAX_TOKEN_LIFETIME = MAX_ASSERTION_LIFETIME


class _Refusal(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description

    def response(self) -> Response:
        headers = {"Cache-Control": "no-store"}
        if self.status == 401:
            headers["WWW-Authenticate"] = f'Bearer error="{self.error}"'
        return JSONResponse(
            {"error": self.error, "error_description": self.description},
            status_code=self.status,
            headers=headers,
        )


def _unauthorized(description: str) -> _Refusal:
    return _Refusal(401, "invalid_token", description)


def _forbidden(description: str) -> _Refusal:
    return _Refusal(403, "access_denied", description)


def _bad_request(description: str) -> _Refusal:
    return _Refusal(400, "invalid_request", description)


@dataclass(frozen=True)
class _Subject:
    format: str
    iss: str | None = None
    sub: str | None = None
    email: str | None = None

    def describe(self) -> dict[str, str]:
        return {k: v for k, v in vars(self).items() if v is not None}


def endpoint_url(runtime: TenantRuntime, connection_name: str) -> str:
    """The endpoint's full URL: the audience its tokens must carry."""
    issuer = runtime.settings.tenant_issuer
    return f"{issuer}oauth/global-token-revocation/connection/{connection_name}"


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise _unauthorized("an Authorization: Bearer token is required")
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("the Authorization header must be Bearer <signed JWT>")
    if len(token) > MAX_TOKEN_BYTES:
        raise _unauthorized("the bearer token is too long")
    return token


def _string(value: object, name: str, max_length: int) -> str:
    if not isinstance(value, str) or not value:
        raise _bad_request(f"sub_id.{name} must be a non-empty string")
    if len(value) > max_length or "\x00" in value:
        raise _bad_request(f"sub_id.{name} is too long or holds a NUL character")
    return value


def _read_subject(body: bytes) -> _Subject:
    """Step 4: the ``sub_id`` of the request (RFC 9493 subject identifier formats)."""
    if len(body) > MAX_BODY_BYTES:
        raise _bad_request(f"the body must be at most {MAX_BODY_BYTES} bytes")
    try:
        document = json_text.parse(body)
    except json.JSONDecodeError as exc:
        raise _bad_request(f"the body is not valid JSON: {exc.msg}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("sub_id"), dict):
        raise _bad_request("the body must be a JSON object with a sub_id object")
    sub_id: dict[str, Any] = document["sub_id"]
    if sub_id.get("format") == "iss_sub":
        return _Subject(
            format="iss_sub",
            iss=_string(sub_id.get("iss"), "iss", 2048),
            sub=_string(sub_id.get("sub"), "sub", 255),
        )
    if sub_id.get("format") == "email":
        return _Subject(format="email", email=_string(sub_id.get("email"), "email", 320))
    raise _bad_request("sub_id.format must be iss_sub or email")


def _verify_token(
    runtime: TenantRuntime, connection: ConnectionRow, token: str
) -> tuple[str, dict[str, Any]]:
    """Steps 2 and 3: the token's claims, verified; answers the upstream issuer with them."""
    try:
        rp, metadata = upstream_of(runtime, connection)
    except UpstreamError as exc:
        raise _Refusal(
            503,
            "temporarily_unavailable",
            "the signing keys of the connection's identity provider cannot be fetched",
        ) from exc
    now = runtime.clock.timestamp()
    try:
        header, claims = runtime.upstream.verify_signature(rp, metadata, token, now)
    except UpstreamError as exc:
        raise _unauthorized(f"the token does not verify: {exc}") from exc
    # RFC 8725 §3.11: the type keeps an ID token or access token of the same IdP from being
    # replayed here as a logout request.
    if header.get("typ") not in TOKEN_TYPES:
        raise _unauthorized("the token's typ must be global-token-revocation+jwt")
    try:
        jose.check_claims(claims, now=now, issuer=metadata.issuer, leeway=CLOCK_SKEW)
    except jose.JoseFailure as exc:
        raise _unauthorized(str(exc)) from exc
    if claims["exp"] - now > MAX_TOKEN_LIFETIME + CLOCK_SKEW:
        raise _unauthorized(f"exp is more than {MAX_TOKEN_LIFETIME} seconds ahead")
    iat = claims.get("iat")
    if isinstance(iat, bool) or not isinstance(iat, int | float) or iat - CLOCK_SKEW > now:
        raise _unauthorized("iat is missing or in the future")
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > _MAX_JTI:
        raise _unauthorized("jti is missing or longer than 255 characters")
    try:
        jose.check_claims(
            claims,
            now=now,
            audience=endpoint_url(runtime, connection.name),
            leeway=CLOCK_SKEW,
        )
    except jose.JoseFailure as exc:
        raise _forbidden("the token's aud is not this connection's logout endpoint") from exc
    return metadata.issuer, claims


def _find_subject(session: Session, connection: ConnectionRow, subject: _Subject) -> UserRow | None:
    if subject.sub is not None:
        return federated_users.find_by_subject(session, connection, subject.sub)
    return federated_users.find_by_email(session, connection, subject.email or "")


def _log(
    session: Session,
    runtime: TenantRuntime,
    caller: _Caller,
    *,
    type: str,
    description: str,
    connection: ConnectionRow | None,
    user_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    logs.record(
        session,
        at=runtime.clock.now(),
        type=type,
        description=description,
        user_id=user_id,
        connection=connection.name if connection else None,
        connection_id=connection.id if connection else None,
        ip=caller.ip,
        user_agent=caller.user_agent,
        details=details,
    )


@dataclass(frozen=True)
class _Caller:
    ip: str | None
    user_agent: str | None
    authorization: str | None
    body: bytes


def _revoke(runtime: TenantRuntime, connection_name: str, caller: _Caller) -> Response:
    with runtime.read_only_sessions() as session:
        connection = connection_service.find_by_name(session, connection_name)
    try:
        if connection is None or connection.strategy not in UPSTREAM_STRATEGIES:
            connection = None
            raise _Refusal(
                404, "invalid_request", f"no enterprise connection is named {connection_name}"
            )
        token = _bearer(caller.authorization)
        issuer, claims = _verify_token(runtime, connection, token)
        subject = _read_subject(caller.body)
        if subject.iss is not None and subject.iss != issuer:
            raise _forbidden("sub_id.iss is not the issuer of this connection's identity provider")
        with runtime.sessions() as session:
            try:
                remember_assertion(
                    runtime, session, f"ul:{connection.id}", str(claims["jti"]), int(claims["exp"])
                )
            except OAuthError as exc:
                raise _unauthorized("the token was already used (jti replayed)") from exc
            user = _find_subject(session, connection, subject)
            if user is None:
                session.commit()
                raise _Refusal(
                    422, "invalid_request", "the subject is not a user of this connection"
                )
            now = runtime.clock.now()
            sessions = revoke_user_sessions(session, now, user.user_id, initiator=IDP_LOGOUT)
            refresh_tokens = revoke_user_refresh_tokens(session, now, user.user_id)
            _log(
                session,
                runtime,
                caller,
                type="slo",
                description="Universal Logout: the user's sessions and refresh tokens were revoked",
                connection=connection,
                user_id=user.user_id,
                details={
                    "sub_id": subject.describe(),
                    "jti": claims["jti"],
                    "sessions_revoked": sessions,
                    "refresh_tokens_revoked": refresh_tokens,
                },
            )
            session.commit()
    except _Refusal as refusal:
        with runtime.sessions() as session:
            _log(
                session,
                runtime,
                caller,
                type="flo",
                description=f"Universal Logout refused: {refusal.description}",
                connection=connection,
                details={"status": refusal.status, "error": refusal.error},
            )
            session.commit()
        return refusal.response()
    return Response(status_code=204, headers={"Cache-Control": "no-store"})


@router.post(PATH, status_code=204)
async def global_token_revocation(connection_name: str, request: Request) -> Response:
    """Okta's Universal Logout: end the subject's sessions and refresh tokens at this tenant."""
    caller = _Caller(
        ip=request.client.host if request.client else None,
        user_agent=(request.headers.get("user-agent") or "")[:512] or None,
        authorization=request.headers.get("authorization"),
        body=await request.body(),
    )
    return await run_in_threadpool(_revoke, get_runtime(request), connection_name, caller)
