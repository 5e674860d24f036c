"""``/api/v1/users``: users, their lifecycle and their groups."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import Field

from expressway.web.json_bodies import JsonBodyRoute
from expressway.workforce.admin_api.context import Admin, AdminContext
from expressway.workforce.admin_api.events import log_assignment_changes
from expressway.workforce.admin_api.paging import Page, fetch_page, link_headers, paging
from expressway.workforce.admin_api.schema import RequestBody
from expressway.workforce.admin_api.shapes import GroupOut, UserOut
from expressway.workforce.errors import InvalidInput, NotFound
from expressway.workforce.rows import GroupRow, UserRow
from expressway.workforce.services import groups as groups_service
from expressway.workforce.services import throttling
from expressway.workforce.services import users as service
from expressway.workforce.system_log import Party

router = APIRouter(prefix="/users", tags=["Users"], route_class=JsonBodyRoute)

UserPaging = Annotated[Page, Depends(paging(default=200, maximum=200))]
GroupPaging = Annotated[Page, Depends(paging(default=10_000, maximum=10_000))]
Expression = Annotated[str | None, Query(max_length=2048)]

ProfileValue = Annotated[str, Field(max_length=4096)] | None
ProfileIn = Annotated[
    dict[Annotated[str, Field(max_length=100)], ProfileValue], Field(max_length=100)
]


class PasswordIn(RequestBody):
    value: Annotated[str, Field(max_length=service.MAX_PASSWORD_LENGTH)]


class ProviderIn(RequestBody):
    """Sent back by clients that update a fetched user; the provider is always Okta here."""

    type: Annotated[str, Field(max_length=32)] | None = None
    name: Annotated[str, Field(max_length=100)] | None = None


class CredentialsIn(RequestBody):
    password: PasswordIn | None = None
    provider: ProviderIn | None = None


class UserTypeIn(RequestBody):
    """Okta's user type. Every user here has the org's one default type, so a client that names
    it (the SDK sends it back on update) is answered as if it had not."""

    id: Annotated[str, Field(max_length=64)] | None = None


class CreateUser(RequestBody):
    profile: ProfileIn
    credentials: CredentialsIn | None = None
    group_ids: (
        Annotated[list[Annotated[str, Field(max_length=64)]], Field(max_length=100)] | None
    ) = Field(default=None, alias="groupIds")
    type: UserTypeIn | None = None


class UpdateUser(RequestBody):
    """``POST`` (partial) and ``PUT`` (full) updates. A client that sends back a fetched user
    also sends its read-only properties, which are ignored, as in Okta."""

    profile: ProfileIn | None = None
    credentials: CredentialsIn | None = None
    type: UserTypeIn | None = None
    id: Any = None
    status: Any = None
    created: Any = None
    activated: Any = None
    status_changed: Any = Field(default=None, alias="statusChanged")
    last_login: Any = Field(default=None, alias="lastLogin")
    last_updated: Any = Field(default=None, alias="lastUpdated")
    password_changed: Any = Field(default=None, alias="passwordChanged")
    transitioning_to_status: Any = Field(default=None, alias="transitioningToStatus")
    realm_id: Any = Field(default=None, alias="realmId")
    links: Any = Field(default=None, alias="_links")
    embedded: Any = Field(default=None, alias="_embedded")


def _find(ctx: Admin, user_id: str) -> UserRow:
    """A user of the org by id or login; ``me`` is the caller, as in Okta."""
    if user_id == "me":
        return ctx.actor
    return service.find(ctx.session, ctx.org.id, user_id)


@router.get("", summary="List all users")
def list_users(
    ctx: AdminContext,
    request: Request,
    response: Response,
    page: UserPaging,
    q: Annotated[str | None, Query(max_length=256)] = None,
    filter: Expression = None,
    search: Expression = None,
) -> list[UserOut]:
    statement = service.list_statement(ctx.org.id, q=q, filter=filter, search=search)
    rows, after = fetch_page(ctx.session, statement, UserRow.id, page)
    link_headers(request, response, ctx.runtime.base_url, page, after)
    return [UserOut.of(row, ctx) for row in rows]


@router.post("", summary="Create a user")
def create_user(body: CreateUser, ctx: AdminContext, activate: bool = True) -> UserOut:
    password = (
        body.credentials.password.value if body.credentials and body.credentials.password else None
    )
    user = service.create(
        ctx.session, ctx.org.id, ctx.now, body.profile, password=password, activate=activate
    )
    ctx.log("user.lifecycle.create", "Create Okta user", Party.of_user(user))
    if user.status != service.STAGED:
        ctx.log("user.lifecycle.activate", "Activate Okta user", Party.of_user(user))
    for group_id in dict.fromkeys(body.group_ids or []):
        try:
            group = groups_service.find(ctx.session, ctx.org.id, group_id)
        except NotFound as exc:
            raise InvalidInput.field("groupIds", f"The group {group_id} does not exist") from exc
        _, changes = groups_service.add_member(ctx.session, group, user, ctx.now)
        ctx.log(
            "group.user_membership.add",
            "Add user to group membership",
            Party.of_user(user),
            Party.of_group(group),
        )
        log_assignment_changes(ctx, changes)
    return UserOut.of(user, ctx)


@router.get("/{user_id}", summary="Retrieve a user")
def get_user(user_id: str, ctx: AdminContext) -> UserOut:
    return UserOut.of(_find(ctx, user_id), ctx)


def _update(ctx: Admin, user_id: str, body: UpdateUser, *, replace: bool) -> UserOut:
    user = _find(ctx, user_id)
    if replace and body.profile is None:
        raise InvalidInput.field("profile", "The field cannot be left blank")
    password = (
        body.credentials.password.value if body.credentials and body.credentials.password else None
    )
    service.update(ctx.session, user, ctx.now, body.profile, password=password, replace=replace)
    if body.profile is not None:
        ctx.log("user.account.update_profile", "Update user profile for Okta", Party.of_user(user))
    if password is not None:
        ctx.log("user.account.update_password", "Update password for user", Party.of_user(user))
    return UserOut.of(user, ctx)


@router.post("/{user_id}", summary="Update a user (partial)")
def update_user(user_id: str, body: UpdateUser, ctx: AdminContext) -> UserOut:
    return _update(ctx, user_id, body, replace=False)


@router.put("/{user_id}", summary="Replace a user")
def replace_user(user_id: str, body: UpdateUser, ctx: AdminContext) -> UserOut:
    return _update(ctx, user_id, body, replace=True)


@router.delete("/{user_id}", status_code=204, summary="Delete a user")
def delete_user(user_id: str, ctx: AdminContext) -> Response:
    """The first delete of a user deactivates them; deleting a deactivated user removes them."""
    user = _find(ctx, user_id)
    service.check_not_self(user, ctx.actor, "delete")
    if user.status != service.DEPROVISIONED:
        service.deactivate(user, ctx.now)
        ctx.log("user.lifecycle.deactivate", "Deactivate Okta user", Party.of_user(user))
    else:
        target = Party.of_user(user)
        service.remove(ctx.session, user)
        ctx.log("user.lifecycle.delete.initiated", "Delete Okta user", target)
    return Response(status_code=204)


@router.post("/{user_id}/lifecycle/activate", summary="Activate a user")
def activate_user(user_id: str, ctx: AdminContext) -> dict[str, Any]:
    user = _find(ctx, user_id)
    service.activate(user, ctx.now)
    ctx.log("user.lifecycle.activate", "Activate Okta user", Party.of_user(user))
    return {}


@router.post("/{user_id}/lifecycle/reactivate", summary="Reactivate a user")
def reactivate_user(user_id: str, ctx: AdminContext) -> dict[str, Any]:
    user = _find(ctx, user_id)
    service.reactivate(user, ctx.now)
    ctx.log("user.lifecycle.reactivate", "Reactivate Okta user", Party.of_user(user))
    return {}


@router.post("/{user_id}/lifecycle/deactivate", summary="Deactivate a user")
def deactivate_user(user_id: str, ctx: AdminContext) -> dict[str, Any]:
    user = _find(ctx, user_id)
    service.check_not_self(user, ctx.actor, "deactivate")
    service.deactivate(user, ctx.now)
    ctx.log("user.lifecycle.deactivate", "Deactivate Okta user", Party.of_user(user))
    return {}


@router.post("/{user_id}/lifecycle/suspend", summary="Suspend a user")
def suspend_user(user_id: str, ctx: AdminContext) -> dict[str, Any]:
    user = _find(ctx, user_id)
    service.check_not_self(user, ctx.actor, "suspend")
    service.suspend(user, ctx.now)
    ctx.log("user.lifecycle.suspend", "Suspend Okta user", Party.of_user(user))
    return {}


@router.post("/{user_id}/lifecycle/unsuspend", summary="Unsuspend a user")
def unsuspend_user(user_id: str, ctx: AdminContext) -> dict[str, Any]:
    user = _find(ctx, user_id)
    service.unsuspend(user, ctx.now)
    ctx.log("user.lifecycle.unsuspend", "Unsuspend Okta user", Party.of_user(user))
    return {}


@router.post("/{user_id}/lifecycle/unlock", summary="Unlock a user")
def unlock_user(user_id: str, ctx: AdminContext) -> dict[str, Any]:
    """A ``LOCKED_OUT`` user back to ``ACTIVE``, their failed sign-ins forgotten."""
    user = _find(ctx, user_id)
    throttling.unlock(ctx.session, user, ctx.now)
    ctx.log("user.account.unlock", "Unlock user account", Party.of_user(user))
    return {}


@router.get("/{user_id}/groups", summary="List all groups of a user")
def list_user_groups(
    user_id: str, ctx: AdminContext, request: Request, response: Response, page: GroupPaging
) -> list[GroupOut]:
    user = _find(ctx, user_id)
    statement = groups_service.groups_of_user_statement(user)
    rows, after = fetch_page(ctx.session, statement, GroupRow.id, page)
    link_headers(request, response, ctx.runtime.base_url, page, after)
    return [GroupOut.of(row, ctx) for row in rows]
