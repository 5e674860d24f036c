"""An app instance's Push Groups tab: the org groups kept in step with a group of the same name
in the app (Okta's Group Push), their state, and the actions Okta's console offers on them.

Each action calls :mod:`expressway.workforce.provisioning.group_push`, as the admin API's
``/apps/{appId}/group-push/mappings`` does, and leaves the same System Log event; the pushes
themselves are provisioning jobs, listed on the Provisioning tab.
"""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select
from starlette.responses import Response

from expressway.workforce.console.applications import find_instance, tab_page
from expressway.workforce.console.context import CheckedForm, ConsolePage
from expressway.workforce.console.directory import LIST_LIMIT
from expressway.workforce.errors import InvalidInput
from expressway.workforce.provisioning import group_push, targets
from expressway.workforce.rows import GroupPushMappingRow, GroupRow
from expressway.workforce.services import apps as apps_service
from expressway.workforce.services import groups as groups_service
from expressway.workforce.system_log import Party

router = APIRouter(prefix="/orgs/{org}/admin", include_in_schema=False)

#: The status a button sets, by the action in its URL.
ACTIONS = {"activate": group_push.ACTIVE, "deactivate": group_push.INACTIVE}


def _mapping_party(row: GroupPushMappingRow) -> Party:
    return Party(row.id, "GroupPushMapping", row.source_group_id, row.source_group_id)


@router.get("/apps/{app_id}/push-groups")
def push_groups(ctx: ConsolePage, app_id: str, notice: str | None = None) -> Response:
    app, submission = find_instance(ctx, app_id)
    configured = targets.has_scim(app)
    mappings: list[tuple[GroupPushMappingRow, GroupRow]] = []
    unpushed: list[GroupRow] = []
    if configured:
        mappings = [
            (mapping, group)
            for mapping, group in ctx.session.execute(
                select(GroupPushMappingRow, GroupRow)
                .join(GroupRow, GroupRow.id == GroupPushMappingRow.source_group_id)
                .where(GroupPushMappingRow.app_id == app.id)
                .order_by(GroupRow.name, GroupPushMappingRow.id)
                .limit(LIST_LIMIT)
            )
        ]
        pushed = {group.id for _, group in mappings}
        unpushed = [
            group
            for group in ctx.session.scalars(
                groups_service.list_statement(ctx.org.id).limit(LIST_LIMIT)
            )
            if group.id not in pushed
        ]
    return tab_page(
        ctx,
        app,
        submission,
        "push-groups",
        notice,
        configured=configured,
        mappings=mappings,
        unpushed=unpushed,
    )


@router.post("/apps/{app_id}/push-groups")
def push_group(ctx: ConsolePage, form: CheckedForm, app_id: str) -> Response:
    app = apps_service.find(ctx.session, ctx.org.id, app_id)
    group_id = form.text("groupId", 100, label="Group")
    if not group_id:
        raise InvalidInput.field("Group", "Choose a group to push")
    group = groups_service.find(ctx.session, ctx.org.id, group_id)
    status = group_push.ACTIVE if form.flag("pushNow") else group_push.INACTIVE
    row = group_push.create(ctx.session, app, group, status, ctx.now)
    ctx.log(
        "application.provision.group_push.mapping.created",
        "Create group push mapping",
        _mapping_party(row),
        Party.of_group(group),
        Party.of_app(app),
    )
    return ctx.redirect(f"/apps/{app.id}/push-groups", "group-push-created")


@router.post("/apps/{app_id}/push-groups/{mapping_id}/delete")
def delete_push(ctx: ConsolePage, form: CheckedForm, app_id: str, mapping_id: str) -> Response:
    app = apps_service.find(ctx.session, ctx.org.id, app_id)
    row = group_push.find(ctx.session, app, mapping_id)
    party = _mapping_party(row)
    delete_target_group = form.flag("deleteTargetGroup")
    group_push.delete(ctx.session, app, row, ctx.now, delete_target_group=delete_target_group)
    ctx.log(
        "application.provision.group_push.mapping.deleted",
        "Delete group push mapping",
        party,
        Party.of_app(app),
        debug={"deleteTargetGroup": delete_target_group},
    )
    return ctx.redirect(f"/apps/{app.id}/push-groups", "group-push-deleted")


@router.post("/apps/{app_id}/push-groups/{mapping_id}/{action}")
def change_push(
    ctx: ConsolePage, form: CheckedForm, app_id: str, mapping_id: str, action: str
) -> Response:
    status = ACTIONS.get(action)
    if status is None:
        raise InvalidInput.field("action", f"{action[:40]!r} is not a group push action")
    app = apps_service.find(ctx.session, ctx.org.id, app_id)
    row = group_push.find(ctx.session, app, mapping_id)
    group_push.set_status(ctx.session, app, row, status, ctx.now)
    ctx.log(
        "application.provision.group_push.mapping.updated",
        f"Update group push mapping: {status}",
        _mapping_party(row),
        Party.of_app(app),
    )
    return ctx.redirect(f"/apps/{app.id}/push-groups", "group-push-updated")
