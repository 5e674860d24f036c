"""Discovery (``/.well-known/*``) and the token endpoint, which authenticates the client and hands
the request to the module of its grant (:mod:`expressway.tenant.authn.grants`)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from functools import lru_cache
from typing import Any
from urllib.parse import unquote_plus

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from expressway import json_text
from expressway.oauth.assertions import ASSERTION_ALGORITHMS, unverified_client_id
from expressway.oauth.client_auth import read_client_credentials
from expressway.oauth.errors import InvalidRequest, OAuthError, UnsupportedGrantType
from expressway.oauth.scopes import OIDC_SCOPES
from expressway.tenant import logs
from expressway.tenant.authn.authorize_params import PROMPTS
from expressway.tenant.authn.client_authentication import authenticate_client
from expressway.tenant.authn.grants import GRANTS, Grant
from expressway.tenant.authn.grants.common import (
    RequestOrigin,
    ReuseDetected,
    set_request_origin,
)
from expressway.tenant.management.context import get_runtime
from expressway.tenant.runtime import TenantRuntime
from expressway.web.throttling import request_ip

router = APIRouter(tags=["Authentication API"])

TOKEN_ENDPOINT_AUTH_METHODS = (
    "client_secret_basic",
    "client_secret_post",
    "private_key_jwt",
    "none",
)
CLAIMS_SUPPORTED = (
    "sub",
    "iss",
    "aud",
    "exp",
    "iat",
    "auth_time",
    "nonce",
    "sid",
    "azp",
    "at_hash",
    "name",
    "given_name",
    "family_name",
    "nickname",
    "picture",
    "updated_at",
    "email",
    "email_verified",
    "org_id",
    "org_name",
)
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@router.get("/.well-known/openid-configuration")
def openid_configuration(request: Request) -> dict[str, Any]:
    """OpenID Connect Discovery 1.0 §3 (and RFC 8414, RFC 9207): only what the tenant does."""
    issuer = get_runtime(request).settings.tenant_issuer
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}authorize",
        "token_endpoint": f"{issuer}oauth/token",
        "userinfo_endpoint": f"{issuer}userinfo",
        "jwks_uri": f"{issuer}.well-known/jwks.json",
        "revocation_endpoint": f"{issuer}oauth/revoke",
        "end_session_endpoint": f"{issuer}oidc/logout",
        "scopes_supported": list(OIDC_SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "prompt_values_supported": list(PROMPTS),
        "grant_types_supported": list(GRANTS),
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": list(TOKEN_ENDPOINT_AUTH_METHODS),
        "token_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        "revocation_endpoint_auth_methods_supported": list(TOKEN_ENDPOINT_AUTH_METHODS),
        "revocation_endpoint_auth_signing_alg_values_supported": list(ASSERTION_ALGORITHMS),
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": list(CLAIMS_SUPPORTED),
        "claim_types_supported": ["normal"],
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "require_request_uri_registration": False,
        "authorization_response_iss_parameter_supported": True,
        "frontchannel_logout_supported": False,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
    }


@router.get("/.well-known/jwks.json")
def jwks(request: Request) -> dict[str, Any]:
    return {"keys": get_runtime(request).signing_keys.jwks()}


def oauth_error_response(error: OAuthError) -> JSONResponse:
    return JSONResponse(error.body(), status_code=error.status, headers=error.headers())


def request_origin(request: Request) -> RequestOrigin:
    return RequestOrigin.of(request_ip(request), request.headers.get("user-agent"))


#: The largest body a token, revocation or logout request may have. A client assertion is at most
#: 2 KB and an ID token hint a few, but a longer one is read, so that it is refused for what it
#: is (``invalid_client``, naming the limit it broke); past this, the body is not even read.
MAX_PARAMETERS_BYTES = 1_048_576


async def read_parameters(request: Request) -> dict[str, str]:
    """The request's parameters: a form as RFC 6749 requires, or JSON as Auth0 accepts."""
    content_type = parameters_type(request.headers.get("content-type", ""))
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_PARAMETERS_BYTES:
            raise InvalidRequest(f"the request body is larger than {MAX_PARAMETERS_BYTES} bytes")
    return parse_parameters(content_type, bytes(body))


def parameters_type(content_type_header: str) -> str:
    """The media type of a request's parameters; ``invalid_request`` unless form or JSON."""
    content_type = content_type_header.split(";")[0].strip().lower()
    if content_type not in ("application/json", "application/x-www-form-urlencoded"):
        raise InvalidRequest("the request must be application/x-www-form-urlencoded")
    return content_type


def form_pairs(text: str) -> list[tuple[str, str]]:
    """The fields of a form, as the standard library's ``parse_qsl(text,
    keep_blank_values=True)`` reads them, and in a third less time on a token request, whose
    names and assertion need no unquoting (``tests/tenant/test_token_endpoint.py`` compares
    the two on generated forms). The standard library's parser was already twice as fast as
    the multipart package's on such small, flat forms.
    """
    pairs = []
    for field in text.split("&"):
        if not field:
            continue
        name, _, value = field.partition("=")
        if "%" in name or "+" in name:
            name = _unquoted(name)
        if "%" in value or "+" in value:
            value = _unquoted(value)
        pairs.append((name, value))
    return pairs


#: The longest escaped field remembered by :func:`_unquoted`.
_REMEMBERED_FIELD = 256


def _unquoted(field: str) -> str:
    """``unquote_plus(field)``, remembered for short fields: a machine client sends the same
    escaped ``client_assertion_type``, ``audience`` and ``scope`` with every request (the
    assertion needs no unquoting), and :func:`form_pairs` of a token request took 8.5 µs
    unquoting them each time, 2.1 µs so."""
    if len(field) > _REMEMBERED_FIELD:
        return unquote_plus(field)
    return _unquoted_short(field)


@lru_cache(maxsize=512)
def _unquoted_short(field: str) -> str:
    return unquote_plus(field)


def parse_parameters(content_type: str, body: bytes) -> dict[str, str]:
    """The parameters in ``body``, of the media type :func:`parameters_type` answered."""
    pairs: Sequence[tuple[str, object]]
    if content_type == "application/json":
        try:
            data = json_text.parse(body)
        except json.JSONDecodeError as exc:
            raise InvalidRequest(f"the request body is not valid JSON: {exc.msg}") from exc
        if not isinstance(data, dict):
            raise InvalidRequest("the request body must be a JSON object")
        pairs = list(data.items())
    else:
        # Decoded as Starlette decodes a form: percent-escapes as UTF-8, anything else byte for
        # byte.
        pairs = form_pairs(body.decode("latin-1"))
    params: dict[str, str] = {}
    for key, value in pairs:
        if value is None and content_type == "application/json":
            # A JSON null is a parameter not sent: Auth0's SDKs send "organization": null
            # with every client-credentials request, and Auth0 takes it so.
            continue
        if not isinstance(value, str):
            raise InvalidRequest(f"parameter {key} must be a string")
        if key in params:
            # RFC 6749 §3.2: request parameters must not be included more than once.
            raise InvalidRequest(f"parameter {key} is repeated")
        params[key] = value
    return params


@router.post("/oauth/token")
async def token(request: Request) -> JSONResponse:
    try:
        params = await read_parameters(request)
    except OAuthError as error:
        return oauth_error_response(error)
    runtime = get_runtime(request)
    origin = request_origin(request)
    authorization = request.headers.get("authorization")
    # A machine-to-machine token whose client and API are cached never gets here: the token
    # fast path (token_fast_path, in front of the application) issues it, with its writes
    # committed together with those of the requests around it. Any other request reads and
    # writes the database in a transaction of its own: off the event loop, as every blocking
    # handler is. On the loop, a request waiting for SQLite's
    # write lock would stall the loop that the lock's holder (a handler whose session commits
    # when its dependency exits) needs to finish: both would wait out the busy timeout, and
    # every other request with them.
    return await run_in_threadpool(_token, runtime, origin, authorization, params)


def _token(
    runtime: TenantRuntime,
    origin: RequestOrigin,
    authorization: str | None,
    params: dict[str, str],
) -> JSONResponse:
    client_id: str | None = None
    grant: Grant | None = None
    try:
        presented = read_client_credentials(authorization, params)
        # Only for the log: who the request claims to be, before anything is verified.
        client_id = presented.client_id or (
            unverified_client_id(presented.assertion) if presented.assertion else None
        )
        grant_type = params.get("grant_type")
        if not grant_type:
            raise InvalidRequest("grant_type is required")
        grant = GRANTS.get(grant_type)
        if grant is None:
            raise UnsupportedGrantType(f"grant_type {grant_type} is not supported")
        with runtime.sessions() as session:
            set_request_origin(session, origin)
            try:
                client = authenticate_client(runtime, session, presented, ip=origin.ip)
                body = grant.handle(runtime, session, client, params)
            except ReuseDetected:
                # The revocation of what the reused code or token gave stands.
                session.commit()
                raise
            session.commit()
    except OAuthError as error:
        if grant is not None:
            with runtime.sessions() as session:
                logs.record(
                    session,
                    at=runtime.clock.now(),
                    type=grant.FAILURE_LOG,
                    description=error.description[:500],
                    client_id=client_id if client_id and len(client_id) <= 64 else None,
                    ip=origin.ip,
                    user_agent=origin.user_agent,
                    details={"error": error.error, "error_cause": error.cause},
                )
                session.commit()
        return oauth_error_response(error)
    return JSONResponse(body, headers=NO_STORE)
