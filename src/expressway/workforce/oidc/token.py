"""``/orgs/{org}/oauth2/v1/token``: the authorization code and refresh token grants (RFC 6749 §3.2,
§4.1.3, §6), with RFC 6749 §5.2 error bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from expressway.oauth import pkce
from expressway.oauth.client_auth import read_client_credentials
from expressway.oauth.errors import (
    InvalidClient,
    InvalidGrant,
    InvalidRequest,
    OAuthError,
    UnauthorizedClient,
    UnsupportedGrantType,
)
from expressway.oauth.scopes import check_narrowing, format_scope, parse_scope
from expressway.workforce.oidc import clients, grants, tokens
from expressway.workforce.oidc.web import runtime_of, single_values
from expressway.workforce.rows import AppRow, UserRow
from expressway.workforce.runtime import WorkforceRuntime
from expressway.workforce.services import orgs
from expressway.workforce.services import users as users_service

router = APIRouter(prefix="/orgs/{org}/oauth2/v1", tags=["OpenID Connect"])

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _required(fields: dict[str, str], name: str) -> str:
    value = fields.get(name)
    if value is None:
        raise InvalidRequest(f"The '{name}' parameter is required.")
    return value


def _signed_in_user(session: Session, app: AppRow, user_id: str) -> UserRow:
    user = session.get(UserRow, user_id)
    if (
        user is None
        or user.org_id != app.org_id
        or user.status != users_service.ACTIVE
        or not clients.is_assigned(session, app, user.id)
    ):
        raise InvalidGrant("The user is no longer active or assigned to the client application.")
    return user


def _answer(
    runtime: WorkforceRuntime,
    grant: tokens.Grant,
    *,
    nonce: str | None,
    refresh_token: str | None,
) -> dict[str, Any]:
    now = runtime.clock.timestamp()
    access = tokens.access_token(runtime, grant, now)
    body: dict[str, Any] = {
        "token_type": "Bearer",
        "expires_in": tokens.ACCESS_TOKEN_LIFETIME,
        "access_token": access,
        "scope": format_scope(grant.scopes),
    }
    if "openid" in grant.scopes:
        body["id_token"] = tokens.id_token(runtime, grant, now, nonce=nonce, access=access)
    if refresh_token is not None:
        body["refresh_token"] = refresh_token
    return body


def _may_refresh(app: AppRow, scopes: list[str]) -> bool:
    return "offline_access" in scopes and "refresh_token" in clients.grant_types(app)


def _authorization_code(
    runtime: WorkforceRuntime,
    session: Session,
    issuer: str,
    app: AppRow,
    fields: dict[str, str],
    now: datetime,
) -> dict[str, Any]:
    if "authorization_code" not in clients.grant_types(app):
        raise UnauthorizedClient("The client is not allowed the authorization_code grant.")
    code = _required(fields, "code")
    redirect_uri = _required(fields, "redirect_uri")
    row = grants.redeem_code(session, now, app, code)
    if row.redirect_uri != redirect_uri:
        raise InvalidGrant("The redirect_uri does not match the one of the authorization request.")
    verifier = fields.get("code_verifier")
    if row.code_challenge is not None and row.code_challenge_method is not None:
        if verifier is None or not pkce.verify_code_verifier(
            verifier, row.code_challenge, row.code_challenge_method
        ):
            raise InvalidGrant("PKCE verification failed.")
    elif verifier is not None:
        raise InvalidGrant("A code_verifier was sent, but the authorization had no challenge.")
    user = _signed_in_user(session, app, row.user_id)
    scopes = row.scope.split()
    refresh = (
        grants.issue_refresh_token(
            session, now, app, user.id, row.grant_id, row.scope, row.authenticated_at
        )
        if _may_refresh(app, scopes)
        else None
    )
    grant = tokens.Grant(issuer, app, user, scopes, row.authenticated_at, row.session_id)
    return _answer(runtime, grant, nonce=row.nonce, refresh_token=refresh)


def _refresh_token(
    runtime: WorkforceRuntime,
    session: Session,
    issuer: str,
    app: AppRow,
    fields: dict[str, str],
    now: datetime,
) -> dict[str, Any]:
    if "refresh_token" not in clients.grant_types(app):
        raise UnauthorizedClient("The client is not allowed the refresh_token grant.")
    row = grants.rotate_refresh_token(session, now, app, _required(fields, "refresh_token"))
    granted = row.scope.split()
    scopes = granted
    if "scope" in fields:
        scopes = parse_scope(fields["scope"])
        check_narrowing(scopes, granted)
    user = _signed_in_user(session, app, row.user_id)
    # RFC 6749 §6: the successor carries the original grant's scope, whatever this call narrowed.
    successor = grants.issue_refresh_token(
        session, now, app, user.id, row.grant_id, row.scope, row.authenticated_at
    )
    grant = tokens.Grant(issuer, app, user, scopes, row.authenticated_at, None)
    return _answer(runtime, grant, nonce=None, refresh_token=successor)


def _token(
    runtime: WorkforceRuntime, org_name: str, authorization: str | None, fields: dict[str, str]
) -> JSONResponse:
    now = runtime.clock.now()
    with runtime.sessions() as session:
        org = orgs.get_by_name(session, org_name)
        issuer = runtime.org_url(org.name)
        try:
            presented = read_client_credentials(authorization, fields)
            app = clients.authenticate(session, org.id, presented)
            grant_type = _required(fields, "grant_type")
            if grant_type == "authorization_code":
                body = _authorization_code(runtime, session, issuer, app, fields, now)
            elif grant_type == "refresh_token":
                body = _refresh_token(runtime, session, issuer, app, fields, now)
            else:
                raise UnsupportedGrantType(f"The grant type {grant_type} is not supported.")
        except OAuthError as failure:
            # A replayed code or refresh token has revoked its grant: that must hold.
            session.commit()
            status = 401 if isinstance(failure, InvalidClient) else 400
            return JSONResponse(failure.body(), status_code=status, headers=failure.headers())
        session.commit()
        return JSONResponse(body, headers=_NO_STORE)


@router.post("/token", summary="Exchange a code or a refresh token for tokens")
async def token(org: str, request: Request) -> JSONResponse:
    raw = await request.form(max_files=0, max_fields=32)
    try:
        fields = single_values(
            [(k, v) for k, v in raw.multi_items() if not isinstance(v, UploadFile)]
        )
    except InvalidRequest as failure:
        return JSONResponse(failure.body(), status_code=400, headers=failure.headers())
    return await run_in_threadpool(
        _token, runtime_of(request), org, request.headers.get("authorization"), fields
    )
