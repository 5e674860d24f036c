"""Applications: the list, creation, and each application's Settings, Credentials,
Organizations and Okta Integration Network tabs."""

from __future__ import annotations

import json
import re
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from starlette.responses import Response

from expressway.doctor import Report
from expressway.tenant.dashboard.context import Changing, Dashboard, Viewing, redirect
from expressway.tenant.dashboard.forms import FormError
from expressway.tenant.errors import TenantError
from expressway.tenant.express_configuration.api import information
from expressway.tenant.rows import (
    ClientCredentialRow,
    ClientRow,
    ConnectionProfileRow,
    UserAttributeProfileRow,
)
from expressway.tenant.services import clients as service
from expressway.tenant.services import profiles

router = APIRouter()

APP_TYPES = (
    ("regular_web", "Regular web application"),
    ("spa", "Single-page application"),
    ("non_interactive", "Machine to machine"),
    ("native", "Native"),
    (service.OIN_APP_TYPE, "Okta OIN client (Express Configuration)"),
)
ORGANIZATION_USAGES = (
    ("deny", "Individuals only"),
    ("allow", "Individuals and business users"),
    ("require", "Business users only"),
)
ORGANIZATION_BEHAVIORS = (
    ("no_prompt", "No prompt"),
    ("pre_login_prompt", "Prompt for the organization first"),
    ("post_login_prompt", "Prompt for credentials first"),
)
TEMPLATE_HINT = "Variables: {organization_name}, {organization_id}, {connection_name}."
_SUBMISSION_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _tabs(app: ClientRow) -> list[tuple[str, str, str]]:
    base = f"/dashboard/applications/{app.client_id}"
    return [
        ("settings", "Settings", f"{base}/settings"),
        ("credentials", "Credentials", f"{base}/credentials"),
        ("organizations", "Organizations", f"{base}/organizations"),
        ("oin", "Okta Integration Network", f"{base}/oin"),
    ]


def _page(ctx: Dashboard, template: str, app: ClientRow, tab: str, **context: Any) -> Response:
    return ctx.render(
        template,
        section="applications",
        title=app.name,
        app=app,
        tabs=_tabs(app),
        tab=tab,
        app_type_label=dict(APP_TYPES).get(app.app_type or "", app.app_type or ""),
        **context,
    )


# --- The list ---


def _list_page(ctx: Dashboard, errors: dict[str, str] | None = None, status: int = 200) -> Response:
    rows = list(
        ctx.session.scalars(select(ClientRow).order_by(ClientRow.created_at, ClientRow.client_id))
    )
    return ctx.render(
        "applications.html",
        section="applications",
        status_code=status,
        title="Applications",
        apps=rows,
        app_types=APP_TYPES,
        labels=dict(APP_TYPES),
        errors=errors or {},
        values={"name": ctx.form.raw("name") or "", "app_type": ctx.form.raw("app_type") or ""},
    )


@router.get("/applications")
def list_applications(ctx: Viewing) -> Response:
    return _list_page(ctx)


@router.post("/applications")
def create_application(ctx: Changing) -> Response:
    def create() -> Response:
        name = ctx.form.required("name", max_length=255)
        if "<" in name or ">" in name:
            raise FormError("name", "cannot hold < or >")
        app_type = ctx.form.choice("app_type", [value for value, _ in APP_TYPES])
        issued = service.create(
            ctx.session,
            ctx.now,
            service.ClientSpec(name=name, app_type=app_type),
            workforce_public_url=ctx.runtime.settings.workforce_public_url,
        )
        ctx.log("Create a client", details={"client_id": issued.client.client_id})
        if issued.secret is not None:
            # Shown once, on this answer only; the tenant keeps its digest.
            return _settings_page(ctx, issued.client, secret=issued.secret, status=201)
        return redirect(f"/applications/{issued.client.client_id}/settings", "created")

    return ctx.attempt(create, lambda errors, status: _list_page(ctx, errors, status))


# --- Settings ---


def _settings_page(
    ctx: Dashboard,
    app: ClientRow,
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
    secret: str | None = None,
) -> Response:
    return _page(
        ctx,
        "application_settings.html",
        app,
        "settings",
        status_code=status,
        errors=errors or {},
        secret=secret,
        has_secret=app.token_endpoint_auth_method in service.SECRET_METHODS,
    )


@router.get("/applications/{client_id}")
@router.get("/applications/{client_id}/settings")
def application_settings(client_id: str, ctx: Viewing) -> Response:
    return _settings_page(ctx, service.find(ctx.session, client_id))


@router.post("/applications/{client_id}/settings")
def save_application_settings(client_id: str, ctx: Changing) -> Response:
    app = service.find(ctx.session, client_id)

    def save() -> Response:
        form = ctx.form
        name = form.required("name", max_length=255)
        if "<" in name or ">" in name:
            raise FormError("name", "cannot hold < or >")
        spec = service.ClientSpec(
            given=frozenset({"description", "initiate_login_uri"}),
            name=name,
            description=form.text("description", max_length=140),
            callbacks=form.lines("callbacks"),
            allowed_logout_urls=form.lines("allowed_logout_urls"),
            web_origins=form.lines("web_origins"),
            initiate_login_uri=form.text("initiate_login_uri"),
        )
        service.update(ctx.session, ctx.now, app, spec)
        ctx.log("Update a client", details={"client_id": app.client_id})
        return redirect(f"/applications/{app.client_id}/settings", "saved")

    return ctx.attempt(
        save, lambda errors, status: _settings_page(ctx, app, errors=errors, status=status)
    )


@router.post("/applications/{client_id}/rotate-secret")
def rotate_secret(client_id: str, ctx: Changing) -> Response:
    app = service.find(ctx.session, client_id)

    def rotate() -> Response:
        issued = service.rotate_secret(ctx.session, ctx.now, app)
        ctx.log("Rotate a client secret", details={"client_id": app.client_id})
        return _settings_page(ctx, app, secret=issued.secret)

    return ctx.attempt(
        rotate, lambda errors, status: _settings_page(ctx, app, errors=errors, status=status)
    )


@router.post("/applications/{client_id}/delete")
def delete_application(client_id: str, ctx: Changing) -> Response:
    app = service.find(ctx.session, client_id)

    def delete() -> Response:
        service.remove(ctx.session, app)
        ctx.log("Delete a client", details={"client_id": client_id})
        return redirect("/applications", "deleted")

    return ctx.attempt(
        delete, lambda errors, status: _settings_page(ctx, app, errors=errors, status=status)
    )


# --- Credentials ---


def _credentials(ctx: Dashboard, app: ClientRow) -> list[ClientCredentialRow]:
    return service.list_credentials(ctx.session, app)


def _credentials_page(
    ctx: Dashboard, app: ClientRow, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    return _page(
        ctx,
        "application_credentials.html",
        app,
        "credentials",
        status_code=status,
        errors=errors or {},
        credentials=_credentials(ctx, app),
        algs=service.CREDENTIAL_ALGS,
        private_key_jwt=app.token_endpoint_auth_method == service.PRIVATE_KEY_JWT,
    )


def upload_key(ctx: Dashboard, client: ClientRow, *, name: str | None, activate: bool) -> None:
    """Upload the form's public key to ``client`` and, if asked, activate it for
    ``private_key_jwt`` after the keys already active; both steps logged as the Management API
    logs them."""
    pem = ctx.form.text("pem", max_length=16_384) or ctx.form.text("pem_file", max_length=16_384)
    if pem is None:
        raise FormError("pem", "paste a public key or choose a .pem file")
    alg = ctx.form.choice("alg", service.CREDENTIAL_ALGS, required=False) or "RS256"
    try:
        credential = service.add_credential(
            ctx.session, ctx.now, client, service.CredentialSpec(pem=pem, alg=alg, name=name)
        )
    except TenantError as exc:
        # The service's messages about the key itself name no field: they are the pem's.
        raise FormError("pem", exc.message) from exc
    ctx.log(
        "Create a client credential",
        details={"client_id": client.client_id, "credential_id": credential.id},
    )
    if activate:
        _activate(ctx, client, credential.id)


def _activate(ctx: Dashboard, client: ClientRow, credential_id: str) -> None:
    active = service.active_credential_ids(ctx.session, [client.client_id])[client.client_id]
    if credential_id in active:
        return
    service.update(
        ctx.session,
        ctx.now,
        client,
        service.ClientSpec(
            given=frozenset({"client_authentication_methods"}),
            private_key_jwt_credential_ids=[*active, credential_id],
        ),
    )
    ctx.log("Update a client", details={"client_id": client.client_id})


@router.get("/applications/{client_id}/credentials")
def application_credentials(client_id: str, ctx: Viewing) -> Response:
    return _credentials_page(ctx, service.find(ctx.session, client_id))


@router.post("/applications/{client_id}/credentials")
def upload_credential(client_id: str, ctx: Changing) -> Response:
    app = service.find(ctx.session, client_id)

    def upload() -> Response:
        upload_key(
            ctx, app, name=ctx.form.text("name", max_length=128), activate=ctx.form.flag("activate")
        )
        return redirect(f"/applications/{app.client_id}/credentials", "uploaded")

    return ctx.attempt(upload, lambda errors, status: _credentials_page(ctx, app, errors, status))


@router.post("/applications/{client_id}/credentials/{credential_id}/activate")
def activate_credential(client_id: str, credential_id: str, ctx: Changing) -> Response:
    app = service.find(ctx.session, client_id)

    def activate() -> Response:
        _activate(ctx, app, service.find_credential(ctx.session, app, credential_id).id)
        return redirect(f"/applications/{app.client_id}/credentials", "activated")

    return ctx.attempt(activate, lambda errors, status: _credentials_page(ctx, app, errors, status))


@router.post("/applications/{client_id}/credentials/{credential_id}/delete")
def delete_credential(client_id: str, credential_id: str, ctx: Changing) -> Response:
    app = service.find(ctx.session, client_id)

    def delete() -> Response:
        service.remove_credential(
            ctx.session, service.find_credential(ctx.session, app, credential_id)
        )
        ctx.log(
            "Delete a client credential",
            details={"client_id": app.client_id, "credential_id": credential_id},
        )
        return redirect(f"/applications/{app.client_id}/credentials", "deleted")

    return ctx.attempt(delete, lambda errors, status: _credentials_page(ctx, app, errors, status))


# --- Organizations ---


def _organizations_page(
    ctx: Dashboard, app: ClientRow, errors: dict[str, str] | None = None, status: int = 200
) -> Response:
    return _page(
        ctx,
        "application_organizations.html",
        app,
        "organizations",
        status_code=status,
        errors=errors or {},
        usages=ORGANIZATION_USAGES,
        behaviors=ORGANIZATION_BEHAVIORS,
    )


@router.get("/applications/{client_id}/organizations")
def application_organizations(client_id: str, ctx: Viewing) -> Response:
    return _organizations_page(ctx, service.find(ctx.session, client_id))


@router.post("/applications/{client_id}/organizations")
def save_application_organizations(client_id: str, ctx: Changing) -> Response:
    app = service.find(ctx.session, client_id)

    def save() -> Response:
        spec = service.ClientSpec(
            organization_usage=ctx.form.choice(
                "organization_usage", [v for v, _ in ORGANIZATION_USAGES]
            ),
            organization_require_behavior=ctx.form.choice(
                "organization_require_behavior", [v for v, _ in ORGANIZATION_BEHAVIORS]
            ),
        )
        service.update(ctx.session, ctx.now, app, spec)
        ctx.log("Update a client", details={"client_id": app.client_id})
        return redirect(f"/applications/{app.client_id}/organizations", "saved")

    return ctx.attempt(save, lambda errors, status: _organizations_page(ctx, app, errors, status))


# --- Okta Integration Network ---


def oin_page(
    ctx: Dashboard,
    app: ClientRow,
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
    readiness: Report | None = None,
    readiness_error: str | None = None,
    readiness_inputs: dict[str, str] | None = None,
    fixes: list[Any] | None = None,
) -> Response:
    """The Okta Integration Network tab, with the Readiness panel's last results if any."""
    session = ctx.session
    config = app.express_configuration or {}
    oin_clients = list(
        session.scalars(
            select(ClientRow)
            .where(ClientRow.app_type == service.OIN_APP_TYPE)
            .order_by(ClientRow.created_at, ClientRow.client_id)
        )
    )
    others = list(
        session.scalars(
            select(ClientRow)
            .where(
                ClientRow.client_id != app.client_id,
                ClientRow.is_system.is_(False),
                ClientRow.app_type != service.OIN_APP_TYPE,
            )
            .order_by(ClientRow.created_at, ClientRow.client_id)
        )
    )
    connection_profiles = list(
        session.scalars(select(ConnectionProfileRow).order_by(ConnectionProfileRow.name))
    )
    attribute_profiles = list(
        session.scalars(select(UserAttributeProfileRow).order_by(UserAttributeProfileRow.name))
    )
    info_json: str | None = None
    info_problem: str | None = None
    if app.app_type != service.OIN_APP_TYPE:
        try:
            info_json = json.dumps(information(ctx.runtime, session, app), indent=2)
        except TenantError as exc:
            info_problem = exc.message
    oin_client = (
        session.get(ClientRow, config["okta_oin_client_id"])
        if config.get("okta_oin_client_id")
        else None
    )
    saas_apps = list(
        session.scalars(
            select(ClientRow)
            .where(ClientRow.okta_oin_client_id == app.client_id)
            .order_by(ClientRow.created_at)
        )
    )
    values = {
        "initiate_login_uri_template": config.get("initiate_login_uri_template", ""),
        "connection_profile_id": config.get("connection_profile_id", ""),
        "user_attribute_profile_id": config.get("user_attribute_profile_id", ""),
        "okta_oin_client_id": config.get("okta_oin_client_id")
        or (oin_clients[0].client_id if oin_clients else ""),
        "admin_login_domain": config.get("admin_login_domain")
        or _tenant_host(ctx.runtime.settings.tenant_public_url),
        "enable_client": config.get("enable_client", True),
        "enable_organization": config.get("enable_organization", True),
        "linked_clients": [link["client_id"] for link in config.get("linked_clients") or []],
    }
    if errors and ctx.form.raw("initiate_login_uri_template") is not None:
        # Show what was typed, not what is stored, next to the error.
        values.update(
            {
                "initiate_login_uri_template": ctx.form.raw("initiate_login_uri_template") or "",
                "connection_profile_id": ctx.form.raw("connection_profile_id") or "",
                "user_attribute_profile_id": ctx.form.raw("user_attribute_profile_id") or "",
                "okta_oin_client_id": ctx.form.raw("okta_oin_client_id") or "",
                "admin_login_domain": ctx.form.raw("admin_login_domain") or "",
                "enable_client": ctx.form.flag("enable_client"),
                "enable_organization": ctx.form.flag("enable_organization"),
                "linked_clients": ctx.form.every("linked_clients"),
            }
        )
    return _page(
        ctx,
        "application_oin.html",
        app,
        "oin",
        status_code=status,
        errors=errors or {},
        is_oin_client=app.app_type == service.OIN_APP_TYPE,
        config=config,
        values=values,
        oin_clients=oin_clients,
        oin_client=oin_client,
        others=others,
        saas_apps=saas_apps,
        connection_profiles=connection_profiles,
        attribute_profiles=attribute_profiles,
        connection_templates=profiles.CONNECTION_PROFILE_TEMPLATES,
        attribute_templates=profiles.USER_ATTRIBUTE_PROFILE_TEMPLATES,
        info_json=info_json,
        info_problem=info_problem,
        template_hint=TEMPLATE_HINT,
        algs=service.CREDENTIAL_ALGS,
        readiness=readiness,
        readiness_error=readiness_error,
        readiness_inputs=readiness_inputs or {},
        fixes=fixes or [],
        fixable=_fixable_checks(),
    )


def _fixable_checks() -> frozenset[str]:
    from expressway.doctor.fixes import FIXES

    return frozenset(FIXES)


def _tenant_host(url: str) -> str:
    return url.split("://", 1)[-1].split("/", 1)[0]


@router.get("/applications/{client_id}/oin")
def application_oin(client_id: str, ctx: Viewing) -> Response:
    return oin_page(ctx, service.find(ctx.session, client_id))


@router.post("/applications/{client_id}/oin")
def save_express_configuration(client_id: str, ctx: Changing) -> Response:
    app = service.find(ctx.session, client_id)

    def save() -> Response:
        form = ctx.form
        config = service.ExpressConfigurationSpec(
            initiate_login_uri_template=form.required("initiate_login_uri_template"),
            user_attribute_profile_id=form.required("user_attribute_profile_id", max_length=64),
            connection_profile_id=form.required("connection_profile_id", max_length=64),
            enable_client=form.flag("enable_client"),
            enable_organization=form.flag("enable_organization"),
            okta_oin_client_id=form.required("okta_oin_client_id", max_length=64),
            admin_login_domain=form.required("admin_login_domain", max_length=260),
            linked_clients=form.every("linked_clients", max_items=50),
        )
        service.update(
            ctx.session,
            ctx.now,
            app,
            service.ClientSpec(
                given=frozenset({"express_configuration"}),
                express_configuration=config,
            ),
        )
        ctx.log("Update a client", details={"client_id": app.client_id})
        return redirect(f"/applications/{app.client_id}/oin", "saved")

    return ctx.attempt(
        save, lambda errors, status: oin_page(ctx, app, errors=errors, status=status)
    )


@router.post("/applications/{client_id}/oin/home-realm-discovery")
def save_home_realm_discovery(client_id: str, ctx: Changing) -> Response:
    app = service.find(ctx.session, client_id)

    def save() -> Response:
        service.update(
            ctx.session,
            ctx.now,
            app,
            service.ClientSpec(home_realm_discovery=ctx.form.flag("home_realm_discovery")),
        )
        ctx.log("Update a client", details={"client_id": app.client_id})
        return redirect(f"/applications/{app.client_id}/oin", "saved")

    return ctx.attempt(
        save, lambda errors, status: oin_page(ctx, app, errors=errors, status=status)
    )


@router.post("/applications/{client_id}/oin/profiles")
def create_profile_from_template(client_id: str, ctx: Changing) -> Response:
    app = service.find(ctx.session, client_id)

    def create() -> Response:
        template_id = ctx.form.required("template_id", max_length=100)
        if template_id in {t.id for t in profiles.CONNECTION_PROFILE_TEMPLATES}:
            found = profiles.find_template(profiles.CONNECTION_PROFILE_TEMPLATES, template_id)
            body = found.template
            row: ConnectionProfileRow | UserAttributeProfileRow = (
                profiles.create_connection_profile(
                    ctx.session,
                    ctx.now,
                    profiles.ConnectionProfileSpec(
                        name=body["name"],
                        organization=dict(body["organization"]),
                        connection_name_prefix_template=body["connection_name_prefix_template"],
                        enabled_features=list(body["enabled_features"]),
                        connection_config=dict(body["connection_config"]),
                        strategy_overrides=dict(body["strategy_overrides"]),
                    ),
                )
            )
            ctx.log("Create a connection profile", details={"connection_profile_id": row.id})
        else:
            try:
                found = profiles.find_template(
                    profiles.USER_ATTRIBUTE_PROFILE_TEMPLATES, template_id
                )
            except TenantError as exc:
                raise FormError("template_id", exc.message) from exc
            body = found.template
            row = profiles.create_user_attribute_profile(
                ctx.session,
                ctx.now,
                profiles.UserAttributeProfileSpec(
                    name=body["name"],
                    user_id=dict(body["user_id"]),
                    user_attributes={k: dict(v) for k, v in body["user_attributes"].items()},
                ),
            )
            ctx.log(
                "Create a user attribute profile", details={"user_attribute_profile_id": row.id}
            )
        return redirect(f"/applications/{app.client_id}/oin", "created")

    return ctx.attempt(
        create, lambda errors, status: oin_page(ctx, app, errors=errors, status=status)
    )


@router.post("/applications/{client_id}/oin/key")
def upload_oin_key(client_id: str, ctx: Changing) -> Response:
    """Upload the OIN Wizard's public key to the OIN client (this one, or the one the SaaS app
    names), named ``oin:{submission_id}`` when the submission is given, and activate it."""
    app = service.find(ctx.session, client_id)

    def upload() -> Response:
        if app.app_type == service.OIN_APP_TYPE:
            oin = app
        else:
            oin_id = (app.express_configuration or {}).get("okta_oin_client_id")
            if not oin_id:
                raise FormError("pem", "save the Express Configuration with its OIN client first")
            oin = service.find(ctx.session, oin_id)
        submission = ctx.form.text("submission_id", max_length=64)
        if submission is not None and not _SUBMISSION_ID.fullmatch(submission):
            raise FormError("submission_id", "use letters, digits, - and _ only")
        upload_key(ctx, oin, name=f"oin:{submission}" if submission else None, activate=True)
        return redirect(f"/applications/{app.client_id}/oin", "activated")

    return ctx.attempt(
        upload, lambda errors, status: oin_page(ctx, app, errors=errors, status=status)
    )
