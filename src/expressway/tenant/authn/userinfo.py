"""``/userinfo`` (OpenID Connect Core §5.3): the claims about the user that the token's scopes
release, for a bearer access token (RFC 6750 §2.1) issued by us for ``{issuer}userinfo``.

The token is refused (401, ``WWW-Authenticate: Bearer error="invalid_token"``) unless it is an
access token (``typ`` ``at+jwt``, so an ID token is never taken for one) signed by our key, from
our issuer, unexpired, with ``{issuer}userinfo`` among its audiences, for a user who still
exists and is not blocked. A valid token without the ``openid`` scope is 403
``insufficient_scope``: it was not obtained through an OpenID Connect request.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from expressway import jose
from expressway.tenant.authn.id_tokens import user_claims
from expressway.tenant.authn.tokens import userinfo_audience
from expressway.tenant.management.context import get_runtime
from expressway.tenant.rows import UserRow
from expressway.tenant.runtime import TenantRuntime

router = APIRouter(tags=["Authentication API"])

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


class _Refused(Exception):
    def __init__(self, status: int, error: str, description: str, challenge: str) -> None:
        super().__init__(description)
        self.status = status
        self.error = error
        self.description = description
        self.challenge = challenge

    def response(self) -> JSONResponse:
        return JSONResponse(
            {"error": self.error, "error_description": self.description},
            status_code=self.status,
            headers={**_NO_STORE, "WWW-Authenticate": self.challenge},
        )


def _invalid_token(description: str) -> _Refused:
    return _Refused(401, "invalid_token", description, 'Bearer error="invalid_token"')


def _bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        # RFC 6750 §3.1: a request without credentials gets a challenge and no error code.
        raise _Refused(401, "invalid_request", "a bearer access token is required", "Bearer")
    return token.strip()


def _verified_claims(runtime: TenantRuntime, token: str) -> dict[str, Any]:
    try:
        header = jose.peek_header(token)
        if header.get("typ") != "at+jwt":
            raise jose.JoseFailure("the token is not an access token")
        _, claims = jose.verify_jwt(
            token, runtime.signing_keys.verification_keys(header.get("kid")), algorithms=("RS256",)
        )
        jose.check_claims(
            claims,
            now=runtime.clock.timestamp(),
            issuer=runtime.settings.tenant_issuer,
            audience=userinfo_audience(runtime),
        )
    except jose.JoseFailure as exc:
        raise _invalid_token(f"the access token is not acceptable: {exc}") from exc
    return claims


def _userinfo(request: Request) -> JSONResponse:
    runtime = get_runtime(request)
    try:
        claims = _verified_claims(runtime, _bearer_token(request))
        scope = claims.get("scope")
        scopes = scope.split() if isinstance(scope, str) else []
        if "openid" not in scopes:
            raise _Refused(
                403,
                "insufficient_scope",
                "the access token was not granted the openid scope",
                'Bearer error="insufficient_scope", scope="openid"',
            )
        subject = claims.get("sub")
        with runtime.read_only_sessions() as session:
            user = session.get(UserRow, subject) if isinstance(subject, str) else None
            if user is None or user.blocked:
                raise _invalid_token("the user of the access token is blocked or gone")
            body = {"sub": user.user_id, **user_claims(user, scopes)}
    except _Refused as refused:
        return refused.response()
    return JSONResponse(body, headers=_NO_STORE)


@router.get("/userinfo")
def userinfo(request: Request) -> JSONResponse:
    return _userinfo(request)


@router.post("/userinfo")
def userinfo_by_post(request: Request) -> JSONResponse:
    return _userinfo(request)
