"""Your OIN Integrations: the OIN Wizard of the integrator org.

A submission's page walks the wizard: capabilities and details, the Express Configuration pane
(the paste box for the tenant's Express Configuration information), the key pair with *Download
Key (.pem)*, *Finish*, and a test instance in this org. A bad paste is shown again beside the
fields at fault, so the admin can correct it in place.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter
from starlette.responses import Response

from expressway.workforce.console.applications import log_instance_added
from expressway.workforce.console.context import CheckedForm, Console, ConsolePage, Form
from expressway.workforce.console.directory import LIST_LIMIT
from expressway.workforce.console.rendering import notice_of
from expressway.workforce.errors import InvalidInput
from expressway.workforce.rows import OinSubmissionRow
from expressway.workforce.services import oin as service
from expressway.workforce.system_log import Party

router = APIRouter(prefix="/orgs/{org}/admin", include_in_schema=False)

PEM_MEDIA_TYPE = "application/x-pem-file"
#: The pasted information is a few short strings; the admin API takes as much.
MAX_PASTE = 16_384
OPTIONAL_CAPABILITIES = (
    (service.SCIM, "SCIM provisioning"),
    (service.UNIVERSAL_LOGOUT, "Universal Logout"),
)


def _party(row: OinSubmissionRow) -> Party:
    return Party(row.id, "OinSubmission", row.catalog_key or row.id, row.name)


def _capabilities(form: Form) -> list[str]:
    """OIDC always; the optional ones that are ticked."""
    chosen = set(form.all("capabilities"))
    return [service.OIDC] + [c for c, _ in OPTIONAL_CAPABILITIES if c in chosen]


@router.get("/oin")
def submissions(ctx: ConsolePage, notice: str | None = None) -> Response:
    rows = ctx.session.scalars(service.list_statement(ctx.org.id).limit(LIST_LIMIT)).all()
    return ctx.page(
        "oin_list.html",
        title="Your OIN Integrations",
        section="oin",
        submissions=rows,
        optional=OPTIONAL_CAPABILITIES,
        notice=notice_of(notice),
    )


@router.post("/oin")
def create_submission(ctx: ConsolePage, form: CheckedForm) -> Response:
    row = service.create(
        ctx.session,
        ctx.org.id,
        ctx.now,
        service.SubmissionSpec(
            name=form.text("name", 100, label="Integration name"),
            description=form.text("description", 1024, label="Description"),
            capabilities=_capabilities(form),
        ),
    )
    ctx.log("oin.submission.create", "Create OIN submission", _party(row))
    return ctx.redirect(f"/oin/{row.id}", "submission-created")


def _wizard(
    ctx: Console,
    row: OinSubmissionRow,
    *,
    notice: str | None = None,
    paste: str | None = None,
    paste_errors: list[str] | None = None,
    status: int = 200,
) -> Response:
    if paste is None:
        paste = (
            json.dumps(row.express_configuration, indent=2)
            if row.express_configuration is not None
            else ""
        )
    return ctx.page(
        "oin_wizard.html",
        title=row.name,
        section="oin",
        status=status,
        submission=row,
        optional=OPTIONAL_CAPABILITIES,
        paste=paste,
        paste_errors=paste_errors or [],
        missing=service.missing_for_finish(row),
        properties=properties_list(row),
        notice=notice_of(notice),
    )


@router.get("/oin/{submission_id}")
def wizard(ctx: ConsolePage, submission_id: str, notice: str | None = None) -> Response:
    return _wizard(ctx, service.find(ctx.session, ctx.org.id, submission_id), notice=notice)


@router.post("/oin/{submission_id}")
def update_submission(ctx: ConsolePage, form: CheckedForm, submission_id: str) -> Response:
    row = service.find(ctx.session, ctx.org.id, submission_id)
    service.update(
        ctx.session,
        row,
        ctx.now,
        service.SubmissionSpec(
            name=form.text("name", 100, label="Integration name"),
            description=form.text("description", 1024, label="Description"),
            capabilities=_capabilities(form),
        ),
    )
    ctx.log("oin.submission.update", "Update OIN submission", _party(row))
    return ctx.redirect(f"/oin/{row.id}", "submission-updated")


@router.post("/oin/{submission_id}/express-configuration")
def save_express_configuration(ctx: ConsolePage, form: CheckedForm, submission_id: str) -> Response:
    row = service.find(ctx.session, ctx.org.id, submission_id)
    pasted = form.text("information", MAX_PASTE, label="Express Configuration information")
    try:
        service.set_express_configuration(ctx.session, row, ctx.now, pasted)
    except InvalidInput as exc:
        # Shown beside the paste box with the text as pasted; nothing was changed.
        ctx.session.rollback()
        row = service.find(ctx.session, ctx.org.id, submission_id)
        return _wizard(ctx, row, paste=pasted, paste_errors=exc.causes or [exc.summary], status=400)
    ctx.log(
        "oin.submission.express_configuration.update",
        "Enable Express Configuration of OIN submission",
        _party(row),
    )
    return ctx.redirect(f"/oin/{row.id}", "express-configuration-saved")


@router.post("/oin/{submission_id}/key")
def generate_key(ctx: ConsolePage, form: CheckedForm, submission_id: str) -> Response:
    row = service.find(ctx.session, ctx.org.id, submission_id)
    replaced = service.generate_key(ctx.session, row, ctx.now, ctx.runtime.key_sealer)
    if replaced:
        ctx.log("oin.submission.key.rotate", "Replace OIN submission key", _party(row))
    else:
        ctx.log("oin.submission.key.create", "Generate OIN submission key", _party(row))
    return ctx.redirect(f"/oin/{row.id}", "key-generated")


@router.get("/oin/{submission_id}/key.pem")
def download_key(ctx: ConsolePage, submission_id: str) -> Response:
    """*Download Key (.pem)*: the public half only; the private key never leaves the server."""
    row = service.find(ctx.session, ctx.org.id, submission_id)
    pem = service.key_pem(row)
    ctx.log("oin.submission.key.download", "Download OIN submission key", _party(row))
    return Response(
        pem,
        media_type=PEM_MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{row.id}.pem"',
            "Cache-Control": "no-store",
        },
    )


@router.post("/oin/{submission_id}/finish")
def finish(ctx: ConsolePage, form: CheckedForm, submission_id: str) -> Response:
    row = service.find(ctx.session, ctx.org.id, submission_id)
    service.finish(ctx.session, row, ctx.now)
    ctx.log("oin.submission.finish", "Finish OIN submission", _party(row))
    return ctx.redirect(f"/oin/{row.id}", "finished")


@router.post("/oin/{submission_id}/test-instance")
def create_test_instance(ctx: ConsolePage, form: CheckedForm, submission_id: str) -> Response:
    row = service.find(ctx.session, ctx.org.id, submission_id)
    label = form.text("label", 100, label="Application label") or None
    app, _ = service.add_instance(
        ctx.session, ctx.org.id, ctx.now, row, label, ctx.runtime.secret_sealer
    )
    log_instance_added(ctx, app, row)
    return ctx.redirect(f"/apps/{app.id}/sign-on", "app-added")


def properties_list(row: OinSubmissionRow) -> list[tuple[str, Any]]:
    """What Finish filled in, as label and value, for the wizard's summary."""
    properties = row.properties or {}
    shown: list[tuple[str, Any]] = []
    oidc = properties.get("oidc") or {}
    for uri in oidc.get("redirectUris", []):
        shown.append(("Redirect URI", uri))
    if oidc.get("initiateLoginUri"):
        shown.append(("Initiate login URI", oidc["initiateLoginUri"]))
    logout = properties.get("universalLogout") or {}
    if logout:
        shown.append(("Universal Logout endpoint", logout.get("globalTokenRevocationEndpoint")))
        shown.append(("Universal Logout authentication", logout.get("authMethod")))
    scim = properties.get("scim") or {}
    if scim:
        shown.append(("SCIM base URL", scim.get("baseUrl")))
        shown.append(
            ("SCIM authentication", f"{scim.get('authScheme')} ({scim.get('authMethod')})")
        )
    return shown
