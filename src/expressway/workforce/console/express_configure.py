"""The JSON endpoints behind the console's Express Configure buttons.

They start and read a flow exactly as ``POST /api/v1/apps/{id}/express-configure/{kind}`` and
``GET …/express-configure/flows/{flowId}`` do, with the console's session instead of an
``SSWS`` token: ``{"flowId", "authorizeUrl"}`` to start, then 202 while the admin is at the
tenant, 200 with the result, or 403 with the SPEC §4.1 body naming every cause. Starting one
changes state, so it needs the ``X-CSRF-Token`` header.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from starlette.responses import JSONResponse

from expressway.workforce.console.context import ConsoleApi, ConsoleApiWrite
from expressway.workforce.express_configure import flows
from expressway.workforce.services import apps

router = APIRouter(prefix="/orgs/{org}/admin/api", include_in_schema=False)


@router.post("/apps/{app_id}/express-configure/{kind}", response_model=None)
def start(
    app_id: str, kind: Literal["sso", "scim"], ctx: ConsoleApiWrite
) -> dict[str, Any] | JSONResponse:
    app = apps.find(ctx.session, ctx.org.id, app_id)
    flow, authorize_url = flows.start(
        ctx.session, ctx.runtime, ctx.org, app, kind, ctx.actor, ctx.client()
    )
    if authorize_url is None:
        # Answered, not raised: the failed flow and its System Log event are kept.
        return JSONResponse(flows.failure_body(flow), status_code=403)
    return {"flowId": flow.id, "authorizeUrl": authorize_url}


@router.get("/apps/{app_id}/express-configure/flows/{flow_id}", response_model=None)
def outcome(app_id: str, flow_id: str, ctx: ConsoleApi) -> dict[str, Any] | JSONResponse:
    flow = flows.find(ctx.session, ctx.org.id, app_id, flow_id)
    if flow.status == flows.FAILED:
        return JSONResponse(flows.failure_body(flow), status_code=403)
    if flow.status == flows.PENDING:
        return JSONResponse({"id": flow.id, "kind": flow.kind, "status": flow.status}, 202)
    return {"id": flow.id, "kind": flow.kind, "status": flow.status, "result": flow.result}
