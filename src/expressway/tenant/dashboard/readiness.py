"""The Readiness panel: ``expressway doctor``'s checks for one application, each failed one with
its remediation and, where doctor has a fix, a Fix button.

Doctor reads a tenant only through the Management API (the official Auth0 SDK over HTTP), which
is what lets it judge Auth0 tenants too; the panel keeps it that way and points it at this
tenant's own public URL, so the panel and ``expressway doctor`` see and change exactly the same
things. It authenticates as the dashboard's system client with an access token that the tenant
mints for itself, for one run and five minutes: the tenant holds its own signing keys, so there is
no client secret to keep (sealed or not) and none to leak. The client has no secret, so no one
can obtain a token for it from outside.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from auth0.management.core.api_error import ApiError
from fastapi import APIRouter, Request
from starlette.responses import Response

from expressway.clock import Clock
from expressway.doctor import (
    BadInput,
    Credentials,
    FixResult,
    Inputs,
    Report,
    TenantUnavailable,
    diagnose,
    examine,
)
from expressway.doctor.fixes import FIXES, CannotFix
from expressway.doctor.inputs import base_url
from expressway.doctor.remote import TIMEOUT_SECONDS, connect, describe_api_error, gather
from expressway.tenant.authn.tokens import issue_access_token
from expressway.tenant.dashboard import accounts
from expressway.tenant.dashboard.applications import oin_page
from expressway.tenant.dashboard.context import Changing, Dashboard
from expressway.tenant.dashboard.forms import FormError
from expressway.tenant.management.scopes import MANAGEMENT_SCOPE_NAMES
from expressway.tenant.rows import ClientRow
from expressway.tenant.runtime import TenantRuntime
from expressway.tenant.services import clients as clients_service
from expressway.web.outbound import http_client

router = APIRouter()

#: Lifetime of the token one Readiness run uses.
TOKEN_SECONDS = 300
#: ``app.state`` attribute that, when set, makes the HTTP client doctor uses (tests give one that
#: reaches the app in process).
HTTP_FACTORY_STATE = "dashboard_doctor_http"


def _quiet(_: str) -> None:
    return None


def _http(request: Request) -> httpx.Client:
    factory: Callable[[], httpx.Client] | None = getattr(
        request.app.state, HTTP_FACTORY_STATE, None
    )
    return factory() if factory is not None else http_client(timeout=TIMEOUT_SECONDS)


def _token(runtime: TenantRuntime, client: ClientRow) -> str:
    return issue_access_token(
        runtime,
        subject=f"{client.client_id}@clients",
        client_id=client.client_id,
        audience=runtime.settings.management_audience,
        scopes=MANAGEMENT_SCOPE_NAMES,
        lifetime=TOKEN_SECONDS,
        extra_claims={"gty": "client-credentials"},
    )


def _inputs(ctx: Dashboard, app: ClientRow) -> tuple[Inputs, dict[str, str]]:
    """Doctor's inputs for ``app``, from the panel's form; the form's values to show again."""
    form = ctx.form
    given = {
        "organization": form.text("organization", max_length=255) or "",
        "admin": form.text("admin", max_length=320) or "",
        "pem": form.text("pem", max_length=16_384) or "",
    }
    settings = ctx.runtime.settings
    try:
        tenant = base_url(settings.tenant_public_url, "the tenant's public URL")
    except BadInput as exc:
        raise FormError("", str(exc)) from exc
    try:
        workforce: str | None = base_url(settings.workforce_public_url, "the workforce URL")
    except BadInput:
        workforce = None
    client = accounts.ensure_dashboard_client(ctx.session, ctx.now, settings.management_audience)
    inputs = Inputs(
        tenant_url=tenant,
        credentials=Credentials(token=_token(ctx.runtime, client)),
        app=app.client_id,
        organization=given["organization"] or None,
        admin=given["admin"] or None,
        pem=given["pem"] or None,
        pem_source="the Readiness panel" if given["pem"] else None,
        workforce_url=workforce,
    )
    return inputs, given


def fix_one(
    inputs: Inputs, check_id: str, http: httpx.Client, clock: Clock
) -> tuple[list[FixResult], Report]:
    """Apply doctor's fix for one check, then check everything again.

    ``doctor --fix`` fixes every failed check in order; the panel fixes the one whose button was
    pressed, with the same fix function, so the admin sees each change they make."""
    try:
        sdk = connect(inputs, http)
        facts = gather(sdk, inputs, clock, _quiet)
        try:
            changes = FIXES[check_id](sdk, facts, inputs)
            results = [FixResult(check_id, change) for change in changes] or [
                FixResult(check_id, "nothing to change: it was already done", applied=False)
            ]
        except CannotFix as exc:
            results = [FixResult(check_id, f"not fixed: {exc}", applied=False)]
        except ApiError as exc:
            results = [
                FixResult(
                    check_id,
                    f"the tenant refused the fix: {describe_api_error(exc)}",
                    applied=False,
                )
            ]
        return results, diagnose(sdk, inputs, clock)
    except ApiError as exc:
        raise TenantUnavailable(f"the Management API answered {describe_api_error(exc)}") from exc
    except httpx.TransportError as exc:
        raise TenantUnavailable(f"cannot reach {inputs.tenant_url}: {exc}") from exc


def _run(ctx: Dashboard, app: ClientRow, work: Callable[[Inputs, httpx.Client], Any]) -> Response:
    def attempt() -> Response:
        inputs, given = _inputs(ctx, app)
        # Doctor calls this tenant over HTTP: commit first, so that no transaction of this
        # request holds a lock its calls would wait for.
        ctx.session.commit()
        report: Report | None = None
        fixes: list[FixResult] = []
        error: str | None = None
        with _http(ctx.request) as http:
            try:
                outcome = work(inputs, http)
            except (TenantUnavailable, BadInput) as exc:
                error = str(exc)
            else:
                if isinstance(outcome, Report):
                    report = outcome
                else:
                    fixes, report = outcome
        return oin_page(
            ctx,
            app,
            readiness=report,
            readiness_error=error,
            readiness_inputs=given,
            fixes=fixes,
        )

    return ctx.attempt(
        attempt, lambda errors, status: oin_page(ctx, app, errors=errors, status=status)
    )


@router.post("/applications/{client_id}/readiness")
def run_checks(client_id: str, ctx: Changing) -> Response:
    app = clients_service.find(ctx.session, client_id)
    ctx.log("Run the Readiness checks", details={"client_id": app.client_id})
    return _run(ctx, app, lambda inputs, http: examine(inputs, clock=ctx.runtime.clock, http=http))


@router.post("/applications/{client_id}/readiness/fix")
def fix_check(client_id: str, ctx: Changing) -> Response:
    app = clients_service.find(ctx.session, client_id)

    def work(inputs: Inputs, http: httpx.Client) -> tuple[list[FixResult], Report]:
        check_id = ctx.form.choice("check", sorted(FIXES))
        assert check_id is not None  # noqa: S101 - required by choice()
        return fix_one(inputs, check_id, http, ctx.runtime.clock)

    return _run(ctx, app, work)
