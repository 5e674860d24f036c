"""The Express Configure actions of an app instance (admin API, ``SSWS``) and Okta's generic
OAuth callback, where the tenant sends the admin's browser back."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from expressway.web.templates import Pages
from expressway.workforce import system_log
from expressway.workforce.admin_api.context import AdminContext
from expressway.workforce.express_configure import flows
from expressway.workforce.rows import ExpressConfigureFlowRow
from expressway.workforce.runtime import WorkforceRuntime
from expressway.workforce.services import apps

#: Mounted under ``/orgs/{org}/api/v1``.
router = APIRouter(tags=["Express Configure"])
#: Mounted at the root: the callback is one for all orgs, as Okta's is.
callback_router = APIRouter(tags=["Express Configure"])

pages = Pages("expressway.workforce.express_configure")
MAX_PARAMETER_LENGTH = 2048
CALLBACK_PARAMETERS = ("state", "code", "error", "error_description", "error_cause")


def _client(request: Request) -> system_log.Client:
    return system_log.Client(
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
        request_uri=request.url.path,
    )


@router.post(
    "/apps/{app_id}/express-configure/{kind}",
    summary="Start Express Configure SSO & UL (sso) or Express Configure SCIM (scim)",
    response_model=None,
)
def start_express_configure(
    app_id: str, kind: Literal["sso", "scim"], ctx: AdminContext
) -> dict[str, Any] | JSONResponse:
    app = apps.find(ctx.session, ctx.org.id, app_id)
    flow, authorize_url = flows.start(
        ctx.session, ctx.runtime, ctx.org, app, kind, ctx.actor, _client(ctx.request)
    )
    if authorize_url is None:
        # Answered, not raised: the failed flow and its System Log event are kept.
        return JSONResponse(flows.failure_body(flow), status_code=403)
    return {"flowId": flow.id, "authorizeUrl": authorize_url}


@router.get(
    "/apps/{app_id}/express-configure/flows/{flow_id}",
    summary="An Express Configure attempt's status",
    response_model=None,
)
def get_express_configure_flow(
    app_id: str, flow_id: str, ctx: AdminContext
) -> dict[str, Any] | JSONResponse:
    flow = flows.find(ctx.session, ctx.org.id, app_id, flow_id)
    if flow.status == flows.FAILED:
        return JSONResponse(flows.failure_body(flow), status_code=403)
    if flow.status == flows.PENDING:
        return JSONResponse({"id": flow.id, "kind": flow.kind, "status": flow.status}, 202)
    return {"id": flow.id, "kind": flow.kind, "status": flow.status, "result": flow.result}


def _page(title: str, message: str, status: int, **context: Any) -> HTMLResponse:
    context.setdefault("causes", [])
    context.setdefault("flow_id", None)
    return pages.render("outcome.html", status_code=status, title=title, message=message, **context)


def _parameters(request: Request) -> dict[str, str] | None:
    """The callback's parameters, each once and of bounded length; ``None`` if not so."""
    values: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name not in CALLBACK_PARAMETERS:
            continue
        if name in values or len(value) > MAX_PARAMETER_LENGTH:
            return None
        values[name] = value
    return values


@callback_router.get(
    flows.CALLBACK_PATH, summary="Okta's generic OAuth callback", response_class=HTMLResponse
)
def express_configure_callback(request: Request) -> Response:
    runtime: WorkforceRuntime = request.app.state.runtime
    client = _client(request)
    params = _parameters(request)
    if params is None or not params.get("state"):
        return _page(
            "Express Configuration failed",
            "The redirect is malformed: it needs one state parameter.",
            400,
        )
    with runtime.sessions() as session:
        try:
            flow, attempt = flows.claim(session, runtime, params["state"], client)
        except flows.UnknownState:
            session.rollback()
            return _page(
                "Express Configuration failed",
                "This sign-in attempt is unknown, expired or already used. "
                "Start Express Configure again from the app instance.",
                400,
            )
        session.commit()
        if attempt is None:
            return _failure_page(flow)
    outcome = flows.run(runtime, attempt, params)
    with runtime.sessions() as session:
        flow = flows.finish(session, attempt.flow_id, outcome, runtime.clock.now(), client)
        session.commit()
        if flow.status == flows.SUCCEEDED:
            return _page(
                "Express Configuration succeeded",
                f"Express Configure {flow.kind.upper()} is done; you can close this page.",
                200,
                flow_id=flow.id,
            )
        return _failure_page(flow)


def _failure_page(flow: ExpressConfigureFlowRow) -> HTMLResponse:
    return _page(
        "Express Configuration failed",
        "The application could not be configured. Fix what is listed, then retry.",
        403,
        causes=flows.failure_body(flow)["errorCauses"],
        flow_id=flow.id,
    )
