"""``/.well-known/*`` and ``/oauth/token`` (``client_credentials`` for now)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from expressway.oauth.assertions import ASSERTION_ALGORITHMS, unverified_client_id
from expressway.oauth.client_auth import read_client_credentials
from expressway.oauth.errors import (
    InvalidRequest,
    InvalidScope,
    OAuthError,
    UnauthorizedClient,
    UnsupportedGrantType,
)
from expressway.tenant import logs
from expressway.tenant.authn.client_authentication import authenticate_client
from expressway.tenant.authn.tokens import issue_access_token
from expressway.tenant.management.context import get_runtime
from expressway.tenant.rows import ClientGrantRow, ClientRow, ResourceServerRow
from expressway.tenant.runtime import TenantRuntime

router = APIRouter(tags=["Authentication API"])

GRANT_TYPES_SUPPORTED = ("client_credentials",)


@router.get("/.well-known/openid-configuration")
def openid_configuration(request: Request) -> dict[str, Any]:
    issuer = get_runtime(request).settings.tenant_issuer
    return {
        "issuer": issuer,
        "jwks_uri": f"{issuer}.well-known/jwks.json",
        "token_endpoint": f"{issuer}oauth/token",
        "grant_types_supported": list(GRANT_TYPES_SUPPORTED),
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
        ],
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
    }


@router.get("/.well-known/jwks.json")
def jwks(request: Request) -> dict[str, Any]:
    return {"keys": get_runtime(request).signing_keys.jwks()}


def _oauth_error_response(error: OAuthError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers())


async def _read_form(request: Request) -> dict[str, str]:
    """The token request's parameters: a form as RFC 6749 requires, or JSON as Auth0 accepts."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "application/json":
        try:
            data = await request.json()
        except ValueError as exc:
            raise InvalidRequest("the request body is not valid JSON") from exc
        if not isinstance(data, dict):
            raise InvalidRequest("the request body must be a JSON object")
        pairs: list[tuple[str, object]] = list(data.items())
    elif content_type == "application/x-www-form-urlencoded":
        form = await request.form()
        pairs = list(form.multi_items())
    else:
        raise InvalidRequest("the request must be application/x-www-form-urlencoded")
    params: dict[str, str] = {}
    for key, value in pairs:
        if not isinstance(value, str):
            raise InvalidRequest(f"parameter {key} must be a string")
        if key in params:
            # RFC 6749 §3.2: request parameters must not be included more than once.
            raise InvalidRequest(f"parameter {key} is repeated")
        params[key] = value
    return params


def _client_credentials(
    runtime: TenantRuntime, session: Session, client: ClientRow, params: dict[str, str]
) -> dict[str, Any]:
    if "client_credentials" not in client.grant_types:
        raise UnauthorizedClient("the client is not allowed the client_credentials grant")
    audience = params.get("audience")
    if not audience:
        raise InvalidRequest("audience is required for client_credentials")
    api = session.scalars(
        select(ResourceServerRow).where(ResourceServerRow.identifier == audience)
    ).first()
    if api is None:
        raise InvalidRequest(f"no API has the identifier {audience}")
    grant = session.scalars(
        select(ClientGrantRow).where(
            ClientGrantRow.client_id == client.client_id, ClientGrantRow.audience == audience
        )
    ).first()
    if grant is None:
        raise UnauthorizedClient(
            f"the client has no client grant for {audience}; "
            "create one with POST /api/v2/client-grants"
        )
    granted = [s for s in grant.scope if isinstance(s, str)]
    requested = params.get("scope")
    if requested is None:
        scopes = granted
    else:
        asked = requested.split()
        missing = [s for s in asked if s not in granted]
        if missing:
            raise InvalidScope(f"the client grant does not include: {' '.join(missing)}")
        scopes = [s for s in granted if s in asked]
    token = issue_access_token(
        runtime,
        subject=f"{client.client_id}@clients",
        client_id=client.client_id,
        audience=audience,
        scopes=scopes,
        lifetime=api.token_lifetime,
        extra_claims={"gty": "client-credentials"},
    )
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": api.token_lifetime,
        "scope": " ".join(scopes),
    }


@router.post("/oauth/token")
async def token(request: Request) -> JSONResponse:
    runtime = get_runtime(request)
    ip = request.client.host if request.client else None
    client_id: str | None = None
    try:
        params = await _read_form(request)
        presented = read_client_credentials(request.headers.get("authorization"), params)
        # Only for the log: who the request claims to be, before anything is verified.
        client_id = presented.client_id or (
            unverified_client_id(presented.assertion) if presented.assertion else None
        )
        grant_type = params.get("grant_type")
        if not grant_type:
            raise InvalidRequest("grant_type is required")
        if grant_type not in GRANT_TYPES_SUPPORTED:
            raise UnsupportedGrantType(f"grant_type {grant_type} is not supported")
        with runtime.sessions() as session:
            client = authenticate_client(runtime, session, presented)
            body = _client_credentials(runtime, session, client, params)
            logs.record(
                session,
                at=runtime.clock.now(),
                type="seccft",
                description="Client Credentials for Access Token",
                client_id=client.client_id,
                client_name=client.name,
                ip=ip,
                details={"audience": params.get("audience"), "scope": body["scope"]},
            )
            session.commit()
    except OAuthError as error:
        with runtime.sessions() as session:
            logs.record(
                session,
                at=runtime.clock.now(),
                type="feccft",
                description=error.description,
                client_id=client_id if client_id and len(client_id) <= 64 else None,
                ip=ip,
                details={"error": error.error, "error_cause": error.cause},
            )
            session.commit()
        return _oauth_error_response(error)
    return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})
