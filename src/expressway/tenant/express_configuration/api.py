"""The Express Configuration API (SPEC §2.2) and the Management API call that feeds the OIN Wizard.

``POST /express-configure/v1/sso`` and ``/scim`` take the admin's access token for
``urn:auth0:express-configure``. Answers: 401 ``invalid_token`` for a token that is not ours,
400 ``invalid_request`` for a bad body, 403 with SPEC §4.1's body naming every missing
prerequisite, 200 with what the OIN stores. Every attempt leaves tenant log events (``sapi`` per
step taken, ``fapi`` with the causes of a refusal), so that support can follow it.

``GET /api/v2/clients/{id}/express-configuration-information`` gives the JSON that the vendor
pastes into the OIN Wizard (SPEC §3).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError, field_validator
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from expressway import jose, json_text
from expressway.oauth.express_configuration import error_body
from expressway.tenant import logs
from expressway.tenant.errors import InvalidInput, TenantError
from expressway.tenant.express_configuration import service
from expressway.tenant.management.context import Management, get_runtime, uses
from expressway.tenant.rows import ClientRow
from expressway.tenant.runtime import TenantRuntime
from expressway.tenant.services import clients as clients_service
from expressway.tenant.services import express_configuration_causes as causes
from expressway.web.schemas import StrictBody

router = APIRouter(tags=["Express Configuration"])

ResultT = TypeVar("ResultT")

_LOOPBACK_HOSTS = ("localhost", "127.0.0.1")
#: The body may be empty (``/scim``) but never large.
MAX_BODY_BYTES = 16_384
#: The admin's token carries two permissions and an organization; a longer one is refused unread.
MAX_TOKEN_LENGTH = 16_384


class _Body(StrictBody):
    """Unknown properties refused, no coercion, and no NUL character (which PostgreSQL cannot
    store: without this check it surfaced as a database error in the wrong error shape)."""


class SsoBody(_Body):
    """The workforce app instance's OIDC client, which the connection federates to."""

    issuer: Annotated[str, Field(min_length=1, max_length=255)]
    client_id: Annotated[str, Field(min_length=1, max_length=255)]
    client_secret: Annotated[str, Field(min_length=1, max_length=1024)]
    universal_logout: bool = False

    @field_validator("issuer")
    @classmethod
    def _issuer_is_https(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("must be an absolute https URL")
        if parts.scheme == "http" and parts.hostname not in _LOOPBACK_HOSTS:
            raise ValueError("must be an https URL (http only for localhost or 127.0.0.1)")
        if parts.query or parts.fragment or parts.username or parts.password:
            raise ValueError("must have no query, fragment or credentials")
        return value


class ScimBody(_Body):
    """Optional: the IdP whose connection gets SCIM, when an organization configured several."""

    issuer: Annotated[str, Field(min_length=1, max_length=255)] | None = None


# --- The answers, as the OpenAPI document describes them (the handlers build them by hand) ---


class _Reference(BaseModel):
    id: str
    name: str


class SsoAnswer(BaseModel):
    connection: _Reference
    organization: _Reference
    redirect_uri: str
    initiate_login_uri: str
    global_token_revocation_endpoint: str
    domain_aliases: list[str]


class ScimAnswer(BaseModel):
    scim_base_url: str
    token: str
    token_id: str
    valid_until: str | None


class OAuthErrorAnswer(BaseModel):
    """RFC 6750 §3.1 / RFC 6749 §5.2: a bad token, a bad body, or a missing object."""

    error: str
    error_description: str


class _Cause(BaseModel):
    error_summary: str = Field(alias="errorSummary")
    reason: str
    remediation: str


class RefusalAnswer(BaseModel):
    """SPEC §4.1: every missing prerequisite, by cause code."""

    error_code: str = Field(alias="errorCode")
    error_summary: str = Field(alias="errorSummary")
    error_causes: list[_Cause] = Field(alias="errorCauses")


def _documented(body: type[BaseModel], answer: type[BaseModel]) -> dict[str, Any]:
    """The route arguments that put the request body and every answer in the OpenAPI document."""
    return {
        "response_model": None,
        "responses": {
            200: {"model": answer},
            400: {"model": OAuthErrorAnswer},
            401: {"model": OAuthErrorAnswer},
            403: {"model": RefusalAnswer | OAuthErrorAnswer},
            404: {"model": OAuthErrorAnswer},
            409: {"model": OAuthErrorAnswer},
        },
        "openapi_extra": {
            "requestBody": {
                "required": body is SsoBody,
                "content": {"application/json": {"schema": body.model_json_schema()}},
            }
        },
    }


class _Failure(Exception):
    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
        super().__init__(str(body))
        self.status = status
        self.body = body
        self.headers = headers or {}


def _invalid_request(description: str) -> _Failure:
    return _Failure(400, {"error": "invalid_request", "error_description": description})


def _authenticate(request: Request, runtime: TenantRuntime) -> service.Admin:
    """The admin's access token: our signature and issuer, the Express Configuration audience."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _Failure(
            401,
            {"error": "invalid_token", "error_description": "Missing bearer access token"},
            {"WWW-Authenticate": "Bearer"},
        )
    try:
        token = token.strip()
        kid = jose.peek_header(token).get("kid")
        _, claims = jose.verify_jwt(
            token,
            runtime.signing_keys.verification_keys(kid),
            algorithms=("RS256",),
            max_length=MAX_TOKEN_LENGTH,
        )
        jose.check_claims(
            claims,
            now=runtime.clock.timestamp(),
            issuer=runtime.settings.tenant_issuer,
            audience=causes.EXPRESS_CONFIGURE_AUDIENCE,
        )
    except jose.JoseFailure as exc:
        raise _Failure(
            401,
            {"error": "invalid_token", "error_description": f"Invalid token: {exc}"},
            {"WWW-Authenticate": 'Bearer error="invalid_token"'},
        ) from exc
    subject = claims.get("sub")
    client_id = claims.get("azp") or claims.get("client_id")
    if not isinstance(subject, str) or not isinstance(client_id, str):
        raise _Failure(
            401,
            {"error": "invalid_token", "error_description": "The token names no user or client"},
            {"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    organization_id = claims.get("org_id")
    if not isinstance(organization_id, str) or not organization_id:
        raise _invalid_request(
            "The token carries no organization (org_id); sign in to the customer's organization"
        )
    permissions = claims.get("permissions")
    return service.Admin(
        subject=subject,
        client_id=client_id,
        organization_id=organization_id,
        permissions=frozenset(
            p for p in (permissions if isinstance(permissions, list) else []) if isinstance(p, str)
        ),
    )


BodyT = TypeVar("BodyT", bound=_Body)


def _parse(raw: bytes, model: type[BodyT], *, optional: bool) -> BodyT:
    if len(raw) > MAX_BODY_BYTES:
        raise _invalid_request(f"The body is larger than {MAX_BODY_BYTES} bytes")
    if not raw.strip() and optional:
        return model.model_validate({})
    try:
        document = json_text.parse(raw)
    except json.JSONDecodeError as exc:
        raise _invalid_request(f"The body is not JSON: {exc.msg}") from exc
    if not isinstance(document, dict):
        raise _invalid_request("The body must be a JSON object")
    try:
        return model.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "body"
        if first["type"] == "extra_forbidden":
            raise _invalid_request(f"{where}: is not a known property") from exc
        raise _invalid_request(f"{where}: {first['msg']}") from exc


def _log(
    session: Session,
    runtime: TenantRuntime,
    request: Request,
    admin: service.Admin | None,
    *,
    type: str,
    description: str,
    details: dict[str, Any],
    **fields: Any,
) -> None:
    logs.record(
        session,
        at=runtime.clock.now(),
        type=type,
        description=description[:500],
        client_id=admin.client_id if admin else None,
        user_id=admin.subject if admin else None,
        organization_id=admin.organization_id if admin else fields.pop("organization_id", None),
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
        details={"request": {"method": request.method, "path": request.url.path}, **details},
        **fields,
    )


def _refusal(failure: _Failure) -> tuple[str, dict[str, Any]]:
    if failure.status == 403:
        reasons = [cause["reason"] for cause in failure.body["errorCauses"]]
        return "refused: " + ", ".join(reasons), {"causes": reasons}
    return str(failure.body.get("error_description")), {"error": failure.body.get("error")}


async def _run(
    request: Request,
    action: str,
    work: Callable[[Session, TenantRuntime, service.Admin, bytes], tuple[ResultT, list[str]]],
    answer: Callable[[ResultT], dict[str, Any]],
) -> JSONResponse:
    """Authenticate, then do ``work`` in one unit of work: committed with its ``sapi`` events
    when it succeeds, rolled back when it fails, the failure then logged (``fapi``) on its own."""
    runtime = get_runtime(request)
    raw = await request.body()
    admin: service.Admin | None = None

    def attempt() -> JSONResponse:
        nonlocal admin
        session = runtime.sessions()
        try:
            admin = _authenticate(request, runtime)
            result, steps = work(session, runtime, admin, raw)
            for step in steps:
                _log(
                    session,
                    runtime,
                    request,
                    admin,
                    type="sapi",
                    description=f"Express Configuration: {step}",
                    details={"action": action},
                )
            body = answer(result)
            _log(
                session,
                runtime,
                request,
                admin,
                type="sapi",
                description=f"Express Configuration: {action} configured",
                details={"action": action, "changed": bool(steps), "response": _public(body)},
            )
            session.commit()
            return JSONResponse(body, headers={"Cache-Control": "no-store"})
        except service.Refused as exc:
            failure = _Failure(403, error_body(exc.causes))
        except TenantError as exc:
            body = {"error": "invalid_request" if exc.status == 400 else exc.code}
            failure = _Failure(exc.status, {**body, "error_description": exc.message})
        except _Failure as exc:
            failure = exc
        finally:
            session.rollback()
            session.close()
        description, details = _refusal(failure)
        with runtime.sessions() as failed:
            _log(
                failed,
                runtime,
                request,
                admin,
                type="fapi",
                description=f"Express Configuration: {action} {description}",
                details={"action": action, **details},
            )
            failed.commit()
        return JSONResponse(failure.body, status_code=failure.status, headers=failure.headers)

    return await run_in_threadpool(attempt)


def _public(body: dict[str, Any]) -> dict[str, Any]:
    """The answer as logged: without the SCIM token."""
    return {key: value for key, value in body.items() if key != "token"}


def _endpoint(runtime: TenantRuntime, path: str) -> str:
    return runtime.settings.tenant_issuer + path


@router.post(
    "/express-configure/v1/sso",
    summary="Express Configure SSO and Universal Logout",
    **_documented(SsoBody, SsoAnswer),
)
async def express_configure_sso(request: Request) -> JSONResponse:
    def work(
        session: Session, runtime: TenantRuntime, admin: service.Admin, raw: bytes
    ) -> tuple[service.SsoResult, list[str]]:
        body = _parse(raw, SsoBody, optional=False)
        result = service.configure_sso(
            session,
            runtime.clock.now(),
            runtime.secret_sealer,
            admin,
            service.SsoRequest(
                issuer=body.issuer,
                client_id=body.client_id,
                client_secret=body.client_secret,
                universal_logout=body.universal_logout,
            ),
        )
        return result, result.steps

    def answer(result: service.SsoResult) -> dict[str, Any]:
        runtime = get_runtime(request)
        name = result.connection.name
        return {
            "connection": {"id": result.connection.id, "name": name},
            "organization": {"id": result.organization.id, "name": result.organization.name},
            "redirect_uri": _endpoint(runtime, "login/callback"),
            "initiate_login_uri": result.initiate_login_uri,
            "global_token_revocation_endpoint": _endpoint(
                runtime, f"oauth/global-token-revocation/connection/{name}"
            ),
            "domain_aliases": result.domain_aliases,
        }

    return await _run(request, "SSO", work, answer)


@router.post(
    "/express-configure/v1/scim",
    summary="Express Configure SCIM",
    **_documented(ScimBody, ScimAnswer),
)
async def express_configure_scim(request: Request) -> JSONResponse:
    def work(
        session: Session, runtime: TenantRuntime, admin: service.Admin, raw: bytes
    ) -> tuple[service.ScimResult, list[str]]:
        body = _parse(raw, ScimBody, optional=True)
        result = service.configure_scim(session, runtime.clock.now(), admin, body.issuer)
        return result, result.steps

    def answer(result: service.ScimResult) -> dict[str, Any]:
        runtime = get_runtime(request)
        valid_until = result.token.valid_until
        return {
            "scim_base_url": _endpoint(runtime, f"scim/v2/connections/{result.connection.id}"),
            "token": result.secret,
            "token_id": result.token.token_id,
            "valid_until": valid_until.isoformat() if valid_until else None,
        }

    return await _run(request, "SCIM", work, answer)


# --- The Management API's Express Configuration information (SPEC §3) ---


def _tenant_origin(runtime: TenantRuntime) -> str:
    return runtime.settings.tenant_issuer.rstrip("/")


def _login_domain(runtime: TenantRuntime, admin_login_domain: str) -> str:
    """The admin login domain as the OIN Wizard reads it: a bare host means https, so the
    tenant's own host is given with the tenant's scheme (plain http for a local tenant)."""
    tenant = urlsplit(runtime.settings.tenant_issuer)
    if admin_login_domain.lower() == tenant.netloc.lower():
        return _tenant_origin(runtime)
    return admin_login_domain


def information(runtime: TenantRuntime, session: Session, application: ClientRow) -> dict[str, str]:
    config = application.express_configuration
    if not config:
        raise InvalidInput(
            f"The client {application.client_id} has no express_configuration; set it with "
            f"PATCH /api/v2/clients/{application.client_id}"
        )
    missing = [
        name
        for name in ("initiate_login_uri_template", "okta_oin_client_id", "admin_login_domain")
        if not isinstance(config.get(name), str) or not config.get(name)
    ]
    if missing:
        raise InvalidInput(
            f"The client {application.client_id}'s express_configuration lacks "
            + ", ".join(missing)
        )
    oin = session.get(ClientRow, config["okta_oin_client_id"])
    if oin is None or not causes.is_oin_client(oin):
        raise InvalidInput(
            f"express_configuration.okta_oin_client_id: {config['okta_oin_client_id']} is not a "
            f"client with app_type {causes.OIN_APP_TYPE}"
        )
    return {
        "display_name": application.name,
        "initiate_login_uri_template": config["initiate_login_uri_template"],
        "oin_client_id": oin.client_id,
        "application_client_id": application.client_id,
        "tenant_domain": _tenant_origin(runtime),
        "login_domain": _login_domain(runtime, config["admin_login_domain"]),
    }


@router.get(
    "/api/v2/clients/{id}/express-configuration-information",
    summary="Get the Express Configuration information for the OIN Wizard",
)
def get_express_configuration_information(
    id: str, ctx: Management = uses("read:clients")
) -> dict[str, str]:
    return information(ctx.runtime, ctx.session, clients_service.find(ctx.session, id))
