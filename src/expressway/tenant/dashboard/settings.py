"""Tenant settings, the admin's own password, and the tenant's logs."""

from __future__ import annotations

import json

from fastapi import APIRouter
from sqlalchemy import select
from starlette.responses import Response

from expressway.tenant.dashboard import accounts
from expressway.tenant.dashboard.context import Changing, Dashboard, Viewing, redirect
from expressway.tenant.dashboard.forms import FormError
from expressway.tenant.errors import TenantError
from expressway.tenant.rows import LogEventRow
from expressway.tenant.services import tenant_settings as service

router = APIRouter()

#: The Logs page shows the newest events; the Management API pages through all of them.
LOG_LIMIT = 100
FLAGS = (
    (
        "enable_client_connections",
        "Enable Application Connections",
        "New connections are enabled for every application. Express Configuration needs it off.",
    ),
    (
        "use_scope_descriptions_for_consent",
        "Use scope descriptions on the consent page",
        "The consent page lists what each permission allows rather than its name.",
    ),
)


def _settings_page(
    ctx: Dashboard, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    return ctx.render(
        "settings.html",
        section="settings",
        status_code=status,
        title="Settings",
        settings=service.read(ctx.session),
        flags=FLAGS,
        errors=errors or {},
        min_password=accounts.MIN_PASSWORD_LENGTH,
    )


@router.get("/settings")
def show_settings(ctx: Viewing) -> Response:
    return _settings_page(ctx)


@router.post("/settings")
def save_settings(ctx: Changing) -> Response:
    def save() -> Response:
        flags = {name: ctx.form.flag(name) for name, _, _ in FLAGS}
        session_hours = ctx.form.integer("session_lifetime", low=1, high=8760)
        idle_hours = ctx.form.integer("idle_session_lifetime", low=1, high=8760)
        spec = service.TenantSettingsSpec(
            friendly_name=ctx.form.text("friendly_name", max_length=255),
            support_email=ctx.form.text("support_email", max_length=320),
            session_lifetime=float(session_hours) if session_hours is not None else None,
            idle_session_lifetime=float(idle_hours) if idle_hours is not None else None,
            flags=flags,
        )
        service.update(ctx.session, spec)
        ctx.log(
            "Update tenant settings",
            details={"fields": ["flags", "friendly_name", "support_email"], "flags": flags},
        )
        return redirect("/settings", "saved")

    return ctx.attempt(save, lambda errors, status: _settings_page(ctx, errors, status))


@router.post("/settings/password")
def change_password(ctx: Changing) -> Response:
    def change() -> Response:
        new = ctx.form.raw("new_password") or ""
        if new != (ctx.form.raw("confirm_password") or ""):
            raise FormError("confirm_password", "the two new passwords differ")
        try:
            accounts.check_password_policy(new)
        except TenantError as exc:
            raise FormError("new_password", exc.message.removeprefix("password: ")) from exc
        accounts.change_password(
            ctx.session, ctx.now, ctx.admin, ctx.form.raw("current_password") or "", new
        )
        # This session goes on; the others have ended.
        ctx.login.revoked_at = None
        return redirect("/settings", "password")

    return ctx.attempt(change, lambda errors, status: _settings_page(ctx, errors, status))


@router.get("/logs")
def show_logs(ctx: Viewing) -> Response:
    rows = list(
        ctx.session.scalars(
            select(LogEventRow).order_by(LogEventRow.log_id.desc()).limit(LOG_LIMIT)
        )
    )
    return ctx.render(
        "logs.html",
        section="logs",
        title="Logs",
        events=[(row, json.dumps(row.details, indent=2, sort_keys=True)) for row in rows],
    )
