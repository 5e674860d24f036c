"""Applications: the org's app instances, the App Catalog, and each instance's General, Sign On,
Provisioning and Assignments tabs.

The Express Configure buttons of the Sign On and Provisioning tabs are driven by the console's
script through :mod:`expressway.workforce.console.express_configure`; the pages only show what
the instance has (its stored configuration) and where the script should post.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import select
from starlette.responses import RedirectResponse, Response

from expressway.workforce.console.context import CheckedForm, Console, ConsolePage
from expressway.workforce.console.directory import (
    LIST_LIMIT,
    assignable_people,
    log_assignment_changes,
)
from expressway.workforce.console.rendering import notice_of
from expressway.workforce.errors import InvalidInput
from expressway.workforce.provisioning import features, imports, jobs, targets
from expressway.workforce.rows import (
    AppGroupRow,
    AppRow,
    AppUserRow,
    GroupRow,
    OinSubmissionRow,
    ProvisioningImportRow,
    ProvisioningJobRow,
    UserRow,
)
from expressway.workforce.services import apps as apps_service
from expressway.workforce.services import assignments
from expressway.workforce.services import groups as groups_service
from expressway.workforce.services import oin as oin_service
from expressway.workforce.services import users as users_service
from expressway.workforce.system_log import Party

router = APIRouter(prefix="/orgs/{org}/admin", include_in_schema=False)

TABS = (
    ("general", "General"),
    ("sign-on", "Sign On"),
    ("provisioning", "Provisioning"),
    ("assignments", "Assignments"),
    ("push-groups", "Push Groups"),
)
#: Jobs the Provisioning tab lists, newest first.
JOB_LIMIT = 50
IMPORT_LIMIT = 10
JOB_STATES = jobs.STATES


def _submission_party(row: OinSubmissionRow) -> Party:
    return Party(row.id, "OinSubmission", row.catalog_key or row.id, row.name)


def log_instance_added(ctx: Console, app: AppRow, submission: OinSubmissionRow) -> None:
    target = Party.of_app(app)
    ctx.log(
        "application.lifecycle.create", "Add application", target, _submission_party(submission)
    )
    ctx.log("application.lifecycle.activate", "Activate application", target)


@router.get("/apps")
def app_list(ctx: ConsolePage, notice: str | None = None) -> Response:
    rows = ctx.session.scalars(apps_service.list_statement(ctx.org.id).limit(LIST_LIMIT)).all()
    return ctx.page(
        "apps.html", title="Applications", section="apps", apps=rows, notice=notice_of(notice)
    )


@router.get("/catalog")
def catalog(ctx: ConsolePage) -> Response:
    rows = ctx.session.scalars(oin_service.catalog_statement().limit(LIST_LIMIT)).all()
    return ctx.page("catalog.html", title="Browse App Catalog", section="catalog", entries=rows)


@router.post("/catalog/{catalog_key}/instances")
def add_from_catalog(ctx: ConsolePage, form: CheckedForm, catalog_key: str) -> Response:
    submission = oin_service.find_in_catalog(ctx.session, catalog_key)
    label = form.text("label", 100, label="Application label") or None
    app, _ = oin_service.add_instance(
        ctx.session, ctx.org.id, ctx.now, submission, label, ctx.runtime.secret_sealer
    )
    log_instance_added(ctx, app, submission)
    return ctx.redirect(f"/apps/{app.id}/sign-on", "app-added")


# --- an instance ------------------------------------------------------------------------------


def find_instance(ctx: Console, app_id: str) -> tuple[AppRow, OinSubmissionRow | None]:
    app = apps_service.find(ctx.session, ctx.org.id, app_id)
    submission = (
        ctx.session.get(OinSubmissionRow, app.oin_submission_id)
        if app.oin_submission_id is not None
        else None
    )
    return app, submission


def tab_page(
    ctx: Console,
    app: AppRow,
    submission: OinSubmissionRow | None,
    tab: str,
    notice: str | None,
    **context: Any,
) -> Response:
    return ctx.page(
        f"app_{tab.replace('-', '_')}.html",
        title=app.label,
        section="apps",
        app=app,
        submission=submission,
        tabs=TABS,
        tab=tab,
        notice=notice_of(notice),
        **context,
    )


def _configuration(app: AppRow, kind: str) -> dict[str, Any]:
    value = (app.express_configuration or {}).get(kind)
    if not isinstance(value, dict):
        return {}
    # The SCIM token stays sealed in the row; a page never needs it.
    return {k: v for k, v in value.items() if k != "token_sealed"}


@router.get("/apps/{app_id}")
def instance(ctx: ConsolePage, app_id: str) -> Response:
    app = apps_service.find(ctx.session, ctx.org.id, app_id)
    return RedirectResponse(ctx.path(f"/apps/{app.id}/general"), status_code=303)


@router.get("/apps/{app_id}/general")
def general(ctx: ConsolePage, app_id: str, notice: str | None = None) -> Response:
    app, submission = find_instance(ctx, app_id)
    oauth_client = app.settings.get("oauthClient") if isinstance(app.settings, dict) else None
    redirect_uris = (
        [u for u in oauth_client.get("redirect_uris", []) if isinstance(u, str)]
        if isinstance(oauth_client, dict)
        else []
    )
    return tab_page(ctx, app, submission, "general", notice, redirect_uris=redirect_uris)


@router.post("/apps/{app_id}/lifecycle/{action}")
def app_lifecycle(ctx: ConsolePage, form: CheckedForm, app_id: str, action: str) -> Response:
    app = apps_service.find(ctx.session, ctx.org.id, app_id)
    if action == "activate":
        if apps_service.set_status(app, apps_service.ACTIVE, ctx.now):
            ctx.log("application.lifecycle.activate", "Activate application", Party.of_app(app))
    elif action == "deactivate":
        if apps_service.set_status(app, apps_service.INACTIVE, ctx.now):
            ctx.log("application.lifecycle.deactivate", "Deactivate application", Party.of_app(app))
    else:
        raise InvalidInput.field("action", f"{action[:40]!r} is not a lifecycle action")
    return ctx.redirect(f"/apps/{app.id}/general", "app-updated")


@router.get("/apps/{app_id}/sign-on")
def sign_on(ctx: ConsolePage, app_id: str, notice: str | None = None) -> Response:
    app, submission = find_instance(ctx, app_id)
    actions = oin_service.express_configure_actions(submission) if submission else None
    return tab_page(
        ctx, app, submission, "sign-on", notice, sso=_configuration(app, "sso"), actions=actions
    )


# --- provisioning -----------------------------------------------------------------------------


@router.get("/apps/{app_id}/provisioning")
def provisioning(
    ctx: ConsolePage, app_id: str, notice: str | None = None, state: str | None = None
) -> Response:
    app, submission = find_instance(ctx, app_id)
    actions = oin_service.express_configure_actions(submission) if submission else None
    configured = targets.has_scim(app)
    chosen = state if state in JOB_STATES else None
    context: dict[str, Any] = {
        "scim": _configuration(app, "scim"),
        "actions": actions,
        "configured": configured,
        "switches": None,
        "jobs": [],
        "imports": [],
        "job_states": JOB_STATES,
        "state": chosen,
        "subjects": {},
    }
    if configured:
        context["switches"] = features.current(ctx.session, app)
        statement = select(ProvisioningJobRow).where(ProvisioningJobRow.app_id == app.id)
        if chosen is not None:
            statement = statement.where(ProvisioningJobRow.state == chosen)
        found = list(
            ctx.session.scalars(statement.order_by(ProvisioningJobRow.seq.desc()).limit(JOB_LIMIT))
        )
        context["jobs"] = found
        context["subjects"] = _subject_names(ctx, found)
        runs = ctx.session.scalars(
            select(ProvisioningImportRow)
            .where(ProvisioningImportRow.app_id == app.id)
            .order_by(ProvisioningImportRow.id.desc())
            .limit(IMPORT_LIMIT)
        ).all()
        context["imports"] = [(run, imports.job_of(ctx.session, run)) for run in runs]
    return tab_page(ctx, app, submission, "provisioning", notice, **context)


def _subject_names(ctx: Console, found: list[ProvisioningJobRow]) -> dict[str, str]:
    """What each job is about, by name: a person's login or a group's name."""
    user_ids = {j.subject_id for j in found if j.subject_type == jobs.USER}
    group_ids = {j.subject_id for j in found if j.subject_type == jobs.GROUP}
    names: dict[str, str] = {}
    if user_ids:
        for user_id, login in ctx.session.execute(
            select(UserRow.id, UserRow.login).where(
                UserRow.org_id == ctx.org.id, UserRow.id.in_(user_ids)
            )
        ):
            names[user_id] = login
    if group_ids:
        for group_id, name in ctx.session.execute(
            select(GroupRow.id, GroupRow.name).where(
                GroupRow.org_id == ctx.org.id, GroupRow.id.in_(group_ids)
            )
        ):
            names[group_id] = name
    return names


@router.post("/apps/{app_id}/provisioning/to-app")
def save_to_app(ctx: ConsolePage, form: CheckedForm, app_id: str) -> Response:
    app = apps_service.find(ctx.session, ctx.org.id, app_id)
    row = features.update(
        ctx.session,
        app,
        ctx.now,
        features.Switches(
            create_users=form.flag("createUsers"),
            update_profile=form.flag("updateProfile"),
            deactivate_users=form.flag("deactivateUsers"),
        ),
    )
    ctx.log(
        "application.lifecycle.update",
        "Update application provisioning features",
        Party.of_app(app),
        debug={
            "createUsers": row.create_users,
            "updateProfile": row.update_profile,
            "deactivateUsers": row.deactivate_users,
        },
    )
    return ctx.redirect(f"/apps/{app.id}/provisioning", "provisioning-updated")


@router.post("/apps/{app_id}/provisioning/jobs/{job_id}/retry")
def retry_job(ctx: ConsolePage, form: CheckedForm, app_id: str, job_id: str) -> Response:
    app = apps_service.find(ctx.session, ctx.org.id, app_id)
    job = jobs.find(ctx.session, app, job_id)
    jobs.retry(ctx.session, job, ctx.now)
    return ctx.redirect(f"/apps/{app.id}/provisioning", "job-retried")


@router.post("/apps/{app_id}/imports")
def start_import(ctx: ConsolePage, form: CheckedForm, app_id: str) -> Response:
    app = apps_service.find(ctx.session, ctx.org.id, app_id)
    row = imports.start(ctx.session, app, ctx.now)
    ctx.log("system.import.start", "Import started", Party(row.id, "Import"), Party.of_app(app))
    return ctx.redirect(f"/apps/{app.id}/imports/{row.id}", "import-started")


@router.get("/apps/{app_id}/imports/{import_id}")
def import_run(
    ctx: ConsolePage, app_id: str, import_id: str, notice: str | None = None
) -> Response:
    app = apps_service.find(ctx.session, ctx.org.id, app_id)
    row = imports.find(ctx.session, app, import_id)
    found = ctx.session.scalars(imports.users_statement(row).limit(LIST_LIMIT)).all()
    return ctx.page(
        "import.html",
        title=f"Import {row.id}",
        section="apps",
        app=app,
        run=row,
        job=imports.job_of(ctx.session, row),
        found=found,
        notice=notice_of(notice),
    )


# --- assignments ------------------------------------------------------------------------------


@router.get("/apps/{app_id}/assignments")
def assignments_tab(ctx: ConsolePage, app_id: str, notice: str | None = None) -> Response:
    app, submission = find_instance(ctx, app_id)
    assigned: list[tuple[AppUserRow, UserRow]] = list(
        ctx.session.execute(
            select(AppUserRow, UserRow)
            .join(UserRow, UserRow.id == AppUserRow.user_id)
            .where(AppUserRow.app_id == app.id)
            .order_by(UserRow.login_key)
            .limit(LIST_LIMIT)
        ).all()
    )
    assigned_groups: list[tuple[AppGroupRow, GroupRow]] = list(
        ctx.session.execute(
            select(AppGroupRow, GroupRow)
            .join(GroupRow, GroupRow.id == AppGroupRow.group_id)
            .where(AppGroupRow.app_id == app.id)
            .order_by(AppGroupRow.priority)
        ).all()
    )
    direct = {row.user_id for row, _ in assigned if row.direct}
    group_ids = {group.id for _, group in assigned_groups}
    all_groups = ctx.session.scalars(
        groups_service.list_statement(ctx.org.id).limit(LIST_LIMIT)
    ).all()
    return tab_page(
        ctx,
        app,
        submission,
        "assignments",
        notice,
        assigned=assigned,
        assigned_groups=assigned_groups,
        people=[
            u
            for u in assignable_people(ctx)
            if u.id not in direct and u.status != users_service.DEPROVISIONED
        ],
        groups=[g for g in all_groups if g.id not in group_ids],
    )


@router.post("/apps/{app_id}/assignments/users")
def assign_person(ctx: ConsolePage, form: CheckedForm, app_id: str) -> Response:
    app = apps_service.find(ctx.session, ctx.org.id, app_id)
    user_id = form.text("userId", 100, label="Person")
    if not user_id:
        raise InvalidInput.field("Person", "Choose a person to assign")
    user = users_service.find(ctx.session, ctx.org.id, user_id)
    _, created = assignments.assign_user(ctx.session, app, user, ctx.now)
    if created:
        ctx.log(
            "application.user_membership.add",
            "Add user to application membership",
            Party.of_user(user),
            Party.of_app(app),
        )
    else:
        ctx.log(
            "application.user_membership.update",
            "Update user's application membership",
            Party.of_user(user),
            Party.of_app(app),
        )
    return ctx.redirect(f"/apps/{app.id}/assignments", "assigned")


@router.post("/apps/{app_id}/assignments/users/{user_id}/remove")
def unassign_person(ctx: ConsolePage, form: CheckedForm, app_id: str, user_id: str) -> Response:
    app = apps_service.find(ctx.session, ctx.org.id, app_id)
    user = users_service.find(ctx.session, ctx.org.id, user_id)
    changes = assignments.unassign_user(ctx.session, app, user.id, ctx.now)
    if changes.removed:
        log_assignment_changes(ctx, changes)
    else:
        ctx.log(
            "application.user_membership.update",
            "Update user's application membership",
            Party.of_user(user),
            Party.of_app(app),
        )
    return ctx.redirect(f"/apps/{app.id}/assignments", "unassigned")


@router.post("/apps/{app_id}/assignments/groups")
def assign_group(ctx: ConsolePage, form: CheckedForm, app_id: str) -> Response:
    app = apps_service.find(ctx.session, ctx.org.id, app_id)
    group_id = form.text("groupId", 100, label="Group")
    if not group_id:
        raise InvalidInput.field("Group", "Choose a group to assign")
    group = groups_service.find(ctx.session, ctx.org.id, group_id)
    _, created, changes = assignments.assign_group(ctx.session, app, group, ctx.now)
    ctx.log(
        "group.application_assignment.add" if created else "group.application_assignment.update",
        "Add assigned application to group" if created else "Update assigned application",
        Party.of_group(group),
        Party.of_app(app),
    )
    log_assignment_changes(ctx, changes)
    return ctx.redirect(f"/apps/{app.id}/assignments", "assigned")


@router.post("/apps/{app_id}/assignments/groups/{group_id}/remove")
def unassign_group(ctx: ConsolePage, form: CheckedForm, app_id: str, group_id: str) -> Response:
    app = apps_service.find(ctx.session, ctx.org.id, app_id)
    group = groups_service.find(ctx.session, ctx.org.id, group_id)
    changes = assignments.unassign_group(ctx.session, app, group.id, ctx.now)
    ctx.log(
        "group.application_assignment.remove",
        "Remove assigned application from group",
        Party.of_group(group),
        Party.of_app(app),
    )
    log_assignment_changes(ctx, changes)
    return ctx.redirect(f"/apps/{app.id}/assignments", "unassigned")
