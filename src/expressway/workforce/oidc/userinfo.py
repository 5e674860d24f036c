"""``/orgs/{org}/oauth2/v1/userinfo`` (OIDC Core §5.3), with RFC 6750 bearer token errors."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.responses import Response

from expressway.jose import JoseFailure
from expressway.workforce.oidc import clients, tokens
from expressway.workforce.oidc.web import runtime_of
from expressway.workforce.rows import UserRow
from expressway.workforce.runtime import WorkforceRuntime
from expressway.workforce.services import orgs
from expressway.workforce.services import users as users_service

router = APIRouter(prefix="/orgs/{org}/oauth2/v1", tags=["OpenID Connect"])


def _refused(description: str | None) -> Response:
    challenge = 'Bearer realm="userinfo"'
    if description is not None:
        challenge += f', error="invalid_token", error_description="{description}"'
    return Response(
        status_code=401, headers={"WWW-Authenticate": challenge, "Cache-Control": "no-store"}
    )


def _userinfo(runtime: WorkforceRuntime, org_name: str, authorization: str | None) -> Response:
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _refused(None)
    with runtime.read_only_sessions() as session:
        org = orgs.get_by_name(session, org_name)
        issuer = runtime.org_url(org.name)
        try:
            claims = tokens.verify_own_token(
                runtime, org.id, issuer, token.strip(), now=runtime.clock.timestamp()
            )
        except JoseFailure:
            return _refused("The access token is invalid.")
        user_id, scopes, client_id = claims.get("uid"), claims.get("scp"), claims.get("cid")
        if (
            claims.get("aud") != issuer
            or not isinstance(user_id, str)
            or not isinstance(client_id, str)
            or not isinstance(scopes, list)
            or "openid" not in scopes
        ):
            return _refused("The access token is invalid.")
        user = session.get(UserRow, user_id)
        if (
            user is None
            or user.org_id != org.id
            or user.status != users_service.ACTIVE
            or clients.find_client(session, org.id, client_id) is None
        ):
            return _refused("The access token is invalid.")
        body = tokens.user_claims(user, [s for s in scopes if isinstance(s, str)])
    return JSONResponse(body, headers={"Cache-Control": "no-store"})


@router.get("/userinfo", summary="Claims about the signed-in user")
def userinfo(org: str, request: Request) -> Response:
    return _userinfo(runtime_of(request), org, request.headers.get("authorization"))


@router.post("/userinfo", summary="Claims about the signed-in user")
def userinfo_post(org: str, request: Request) -> Response:
    return _userinfo(runtime_of(request), org, request.headers.get("authorization"))
