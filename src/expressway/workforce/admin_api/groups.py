"""``/api/v1/groups``: groups and their members."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import Field

from expressway.web.json_bodies import JsonBodyRoute
from expressway.workforce.admin_api.context import AdminContext
from expressway.workforce.admin_api.events import log_assignment_changes
from expressway.workforce.admin_api.paging import Page, fetch_page, link_headers, paging
from expressway.workforce.admin_api.schema import RequestBody
from expressway.workforce.admin_api.shapes import AppOut, GroupOut, UserOut
from expressway.workforce.rows import AppRow, GroupRow, UserRow
from expressway.workforce.services import apps as apps_service
from expressway.workforce.services import groups as service
from expressway.workforce.services import users as users_service
from expressway.workforce.system_log import Party

router = APIRouter(prefix="/groups", tags=["Groups"], route_class=JsonBodyRoute)

GroupPaging = Annotated[Page, Depends(paging(default=10_000, maximum=10_000))]
MemberPaging = Annotated[Page, Depends(paging(default=1000, maximum=10_000))]
AppPaging = Annotated[Page, Depends(paging(default=20, maximum=200))]
Expression = Annotated[str | None, Query(max_length=2048)]


class GroupProfileIn(RequestBody):
    name: Annotated[str, Field(max_length=service.MAX_NAME_LENGTH)] | None = None
    description: Annotated[str, Field(max_length=service.MAX_DESCRIPTION_LENGTH)] | None = None


class GroupIn(RequestBody):
    """A group to create or replace. A client that sends back a fetched group also sends its
    read-only properties, which are ignored, as in Okta."""

    profile: GroupProfileIn | None = None
    id: Any = None
    type: Any = None
    created: Any = None
    last_updated: Any = Field(default=None, alias="lastUpdated")
    last_membership_updated: Any = Field(default=None, alias="lastMembershipUpdated")
    object_class: Any = Field(default=None, alias="objectClass")
    links: Any = Field(default=None, alias="_links")
    embedded: Any = Field(default=None, alias="_embedded")


def _profile(body: GroupIn) -> GroupProfileIn:
    return body.profile or GroupProfileIn()


@router.get("", summary="List all groups")
def list_groups(
    ctx: AdminContext,
    request: Request,
    response: Response,
    page: GroupPaging,
    q: Annotated[str | None, Query(max_length=256)] = None,
    filter: Expression = None,
    search: Expression = None,
) -> list[GroupOut]:
    statement = service.list_statement(ctx.org.id, q=q, filter=filter, search=search)
    rows, after = fetch_page(ctx.session, statement, GroupRow.id, page)
    link_headers(request, response, ctx.runtime.base_url, page, after)
    return [GroupOut.of(row, ctx) for row in rows]


@router.post("", summary="Add a group")
def create_group(body: GroupIn, ctx: AdminContext) -> GroupOut:
    profile = _profile(body)
    group = service.create(ctx.session, ctx.org.id, ctx.now, profile.name, profile.description)
    ctx.log("group.lifecycle.create", "Create Okta group", Party.of_group(group))
    return GroupOut.of(group, ctx)


@router.get("/{group_id}", summary="Retrieve a group")
def get_group(group_id: str, ctx: AdminContext) -> GroupOut:
    return GroupOut.of(service.find(ctx.session, ctx.org.id, group_id), ctx)


@router.put("/{group_id}", summary="Replace a group")
def replace_group(group_id: str, body: GroupIn, ctx: AdminContext) -> GroupOut:
    group = service.find(ctx.session, ctx.org.id, group_id)
    profile = _profile(body)
    service.replace(ctx.session, group, ctx.now, profile.name, profile.description)
    ctx.log("group.profile.update", "Update group profile", Party.of_group(group))
    return GroupOut.of(group, ctx)


@router.delete("/{group_id}", status_code=204, summary="Delete a group")
def delete_group(group_id: str, ctx: AdminContext) -> Response:
    group = service.find(ctx.session, ctx.org.id, group_id)
    target = Party.of_group(group)
    changes = service.remove(ctx.session, group, ctx.now)
    ctx.log("group.lifecycle.delete", "Delete Okta group", target)
    log_assignment_changes(ctx, changes)
    return Response(status_code=204)


@router.get("/{group_id}/users", summary="List all member users")
def list_group_users(
    group_id: str, ctx: AdminContext, request: Request, response: Response, page: MemberPaging
) -> list[UserOut]:
    group = service.find(ctx.session, ctx.org.id, group_id)
    rows, after = fetch_page(ctx.session, service.members_statement(group), UserRow.id, page)
    link_headers(request, response, ctx.runtime.base_url, page, after)
    return [UserOut.of(row, ctx) for row in rows]


@router.put("/{group_id}/users/{user_id}", status_code=204, summary="Assign a user to a group")
def add_group_member(group_id: str, user_id: str, ctx: AdminContext) -> Response:
    group = service.find(ctx.session, ctx.org.id, group_id)
    user = users_service.find(ctx.session, ctx.org.id, user_id)
    added, changes = service.add_member(ctx.session, group, user, ctx.now)
    if added:
        ctx.log(
            "group.user_membership.add",
            "Add user to group membership",
            Party.of_user(user),
            Party.of_group(group),
        )
        log_assignment_changes(ctx, changes)
    return Response(status_code=204)


@router.delete(
    "/{group_id}/users/{user_id}", status_code=204, summary="Unassign a user from a group"
)
def remove_group_member(group_id: str, user_id: str, ctx: AdminContext) -> Response:
    group = service.find(ctx.session, ctx.org.id, group_id)
    user = users_service.find(ctx.session, ctx.org.id, user_id)
    removed, changes = service.remove_member(ctx.session, group, user, ctx.now)
    if removed:
        ctx.log(
            "group.user_membership.remove",
            "Remove user from group membership",
            Party.of_user(user),
            Party.of_group(group),
        )
        log_assignment_changes(ctx, changes)
    return Response(status_code=204)


@router.get("/{group_id}/apps", summary="List all assigned apps of a group")
def list_group_apps(
    group_id: str, ctx: AdminContext, request: Request, response: Response, page: AppPaging
) -> list[AppOut]:
    group = service.find(ctx.session, ctx.org.id, group_id)
    statement = apps_service.apps_of_group_statement(ctx.org.id, group.id)
    rows, after = fetch_page(ctx.session, statement, AppRow.id, page)
    link_headers(request, response, ctx.runtime.base_url, page, after)
    return [AppOut.of(row, ctx) for row in rows]
