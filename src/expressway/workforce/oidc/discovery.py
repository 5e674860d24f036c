"""``/orgs/{org}/.well-known/openid-configuration`` and ``/orgs/{org}/oauth2/v1/keys``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from expressway.workforce.oidc.metadata import provider_metadata
from expressway.workforce.runtime import WorkforceRuntime
from expressway.workforce.services import orgs

router = APIRouter(prefix="/orgs/{org}", tags=["OpenID Connect"])

#: Clients may cache what rarely changes; a rotation publishes the next key a period ahead.
_CACHE = {"Cache-Control": "public, max-age=3600"}


def _org_id(runtime: WorkforceRuntime, name: str) -> str:
    with runtime.read_only_sessions() as session:
        return orgs.get_by_name(session, name).id


@router.get("/.well-known/openid-configuration", summary="OpenID provider metadata")
def openid_configuration(org: str, request: Request) -> JSONResponse:
    runtime: WorkforceRuntime = request.app.state.runtime
    _org_id(runtime, org)
    return JSONResponse(provider_metadata(runtime.org_url(org)), headers=_CACHE)


@router.get("/oauth2/v1/keys", summary="The org's JSON Web Key Set")
def keys(org: str, request: Request) -> JSONResponse:
    runtime: WorkforceRuntime = request.app.state.runtime
    body: dict[str, Any] = {"keys": runtime.signing_keys.jwks(_org_id(runtime, org))}
    return JSONResponse(body, headers=_CACHE)
