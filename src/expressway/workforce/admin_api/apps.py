"""``/api/v1/apps``: app instances, their lifecycle, and their user and group assignments."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import Field

from expressway.web.json_bodies import JsonBodyRoute
from expressway.workforce.admin_api.context import Admin, AdminContext
from expressway.workforce.admin_api.events import log_assignment_changes
from expressway.workforce.admin_api.paging import Page, fetch_page, link_headers, paging
from expressway.workforce.admin_api.schema import RequestBody
from expressway.workforce.admin_api.shapes import AppGroupOut, AppOut, AppUserOut
from expressway.workforce.rows import AppGroupRow, AppRow, AppUserRow, UserRow
from expressway.workforce.services import apps as service
from expressway.workforce.services import assignments
from expressway.workforce.services import groups as groups_service
from expressway.workforce.services import users as users_service
from expressway.workforce.system_log import Party

router = APIRouter(prefix="/apps", tags=["Applications"], route_class=JsonBodyRoute)

AppPaging = Annotated[Page, Depends(paging(default=20, maximum=200))]
AppUserPaging = Annotated[Page, Depends(paging(default=50, maximum=500))]
AppGroupPaging = Annotated[Page, Depends(paging(default=20, maximum=200))]

Uri = Annotated[str, Field(max_length=service.MAX_URI_LENGTH)]
Uris = Annotated[list[Uri], Field(max_length=100)]
Name = Annotated[str, Field(max_length=255)]
#: A JSON object kept as given (display settings, notes…): bounded in size, not in meaning.
Loose = Annotated[dict[str, Any], Field(max_length=50)]


class OAuthClientSettingsIn(RequestBody):
    """``settings.oauthClient``: Okta's OIDC client settings."""

    redirect_uris: Uris | None = None
    post_logout_redirect_uris: Uris | None = None
    response_types: Annotated[list[Name], Field(max_length=3)] | None = None
    grant_types: Annotated[list[Name], Field(max_length=10)] | None = None
    application_type: Name | None = None
    initiate_login_uri: Uri | None = None
    client_uri: Uri | None = None
    logo_uri: Uri | None = None
    policy_uri: Uri | None = None
    tos_uri: Uri | None = None
    jwks_uri: Uri | None = None
    jwks: Loose | None = None
    consent_method: Literal["REQUIRED", "TRUSTED"] | None = None
    issuer_mode: Literal["CUSTOM_URL", "DYNAMIC", "ORG_URL"] | None = None
    wildcard_redirect: Literal["DISABLED"] | None = None
    idp_initiated_login: Loose | None = None
    refresh_token: Loose | None = None
    frontchannel_logout_uri: Uri | None = None
    frontchannel_logout_session_required: bool | None = None
    participate_slo: bool | None = None
    dpop_bound_access_tokens: bool | None = None


class AppSettingsIn(RequestBody):
    app: Loose | None = None
    notes: Loose | None = None
    notifications: Loose | None = None
    implicit_assignment: bool | None = Field(default=None, alias="implicitAssignment")
    inline_hook_id: Name | None = Field(default=None, alias="inlineHookId")
    oauth_client: OAuthClientSettingsIn | None = Field(default=None, alias="oauthClient")


class OAuthClientCredentialsIn(RequestBody):
    client_id: Annotated[str, Field(min_length=6, max_length=100, pattern=r"^[\w.~-]+$")] | None = (
        None
    )
    auto_key_rotation: bool | None = Field(default=None, alias="autoKeyRotation")
    token_endpoint_auth_method: (
        Literal[
            "client_secret_basic",
            "client_secret_post",
            "client_secret_jwt",
            "private_key_jwt",
            "none",
        ]
        | None
    ) = None
    pkce_required: bool | None = None


class UserNameTemplateIn(RequestBody):
    template: Annotated[str, Field(max_length=1024)] | None = None
    type: Literal["BUILT_IN", "CUSTOM", "NONE"] | None = None
    user_suffix: Name | None = Field(default=None, alias="userSuffix")
    push_status: Name | None = Field(default=None, alias="pushStatus")


class AppCredentialsIn(RequestBody):
    oauth_client: OAuthClientCredentialsIn | None = Field(default=None, alias="oauthClient")
    user_name_template: UserNameTemplateIn | None = Field(default=None, alias="userNameTemplate")
    signing: Loose | None = None


class AppIn(RequestBody):
    """An app instance to create or replace. A client that sends back a fetched app also sends
    its read-only properties, which are ignored, as in Okta."""

    name: Name
    label: Annotated[str, Field(max_length=100)]
    sign_on_mode: Name = Field(alias="signOnMode")
    credentials: AppCredentialsIn | None = None
    settings: AppSettingsIn | None = None
    accessibility: Loose | None = None
    visibility: Loose | None = None
    features: Annotated[list[Name], Field(max_length=50)] | None = None
    id: Any = None
    status: Any = None
    created: Any = None
    last_updated: Any = Field(default=None, alias="lastUpdated")
    orn: Any = None
    express_configuration: Any = Field(default=None, alias="expressConfiguration")
    links: Any = Field(default=None, alias="_links")
    embedded: Any = Field(default=None, alias="_embedded")

    def spec(self) -> service.AppSpec:
        credentials = self.credentials or AppCredentialsIn()
        oauth_client = credentials.oauth_client or OAuthClientCredentialsIn()
        settings = self.settings or AppSettingsIn()
        return service.AppSpec(
            name=self.name,
            label=self.label,
            sign_on_mode=self.sign_on_mode,
            settings=settings.model_dump(by_alias=True, exclude_none=True),
            accessibility=self.accessibility,
            visibility=self.visibility,
            features=self.features,
            user_name_template=(
                credentials.user_name_template.model_dump(by_alias=True, exclude_none=True)
                if credentials.user_name_template is not None
                else None
            ),
            client_id=oauth_client.client_id,
            token_endpoint_auth_method=oauth_client.token_endpoint_auth_method,
            pkce_required=oauth_client.pkce_required,
        )


class AppUserCredentialsIn(RequestBody):
    user_name: Annotated[str, Field(max_length=assignments.MAX_USER_NAME_LENGTH)] | None = Field(
        default=None, alias="userName"
    )


class AppUserIn(RequestBody):
    """An app user to assign or update. Read-only properties sent back are ignored."""

    credentials: AppUserCredentialsIn | None = None
    profile: Loose | None = None
    scope: Any = None
    status: Any = None
    created: Any = None
    last_updated: Any = Field(default=None, alias="lastUpdated")
    status_changed: Any = Field(default=None, alias="statusChanged")
    password_changed: Any = Field(default=None, alias="passwordChanged")
    sync_state: Any = Field(default=None, alias="syncState")
    last_sync: Any = Field(default=None, alias="lastSync")
    external_id: Any = Field(default=None, alias="externalId")
    links: Any = Field(default=None, alias="_links")
    embedded: Any = Field(default=None, alias="_embedded")

    def user_name(self) -> str | None:
        return self.credentials.user_name if self.credentials else None


class AssignAppUser(AppUserIn):
    id: Annotated[str, Field(min_length=1, max_length=100)]
    scope: Literal["USER"] | None = None


class AppGroupIn(RequestBody):
    priority: Annotated[int, Field(ge=0, le=100_000)] | None = None
    profile: Loose | None = None
    id: Any = None
    last_updated: Any = Field(default=None, alias="lastUpdated")
    links: Any = Field(default=None, alias="_links")
    embedded: Any = Field(default=None, alias="_embedded")


def _app(ctx: Admin, app_id: str) -> AppRow:
    return service.find(ctx.session, ctx.org.id, app_id)


@router.get("", summary="List all applications")
def list_apps(
    ctx: AdminContext,
    request: Request,
    response: Response,
    page: AppPaging,
    q: Annotated[str | None, Query(max_length=256)] = None,
    filter: Annotated[str | None, Query(max_length=2048)] = None,
) -> list[AppOut]:
    statement = service.list_statement(ctx.org.id, q=q, filter=filter)
    rows, after = fetch_page(ctx.session, statement, AppRow.id, page)
    link_headers(request, response, ctx.runtime.base_url, page, after)
    return [AppOut.of(row, ctx) for row in rows]


@router.post("", summary="Create an application")
def create_app(body: AppIn, ctx: AdminContext, activate: bool = True) -> AppOut:
    row, secret = service.create(ctx.session, ctx.org.id, ctx.now, body.spec(), activate=activate)
    ctx.log("application.lifecycle.create", "Add application", Party.of_app(row))
    if activate:
        ctx.log("application.lifecycle.activate", "Activate application", Party.of_app(row))
    return AppOut.of(row, ctx, client_secret=secret)


@router.get("/{app_id}", summary="Retrieve an application")
def get_app(app_id: str, ctx: AdminContext) -> AppOut:
    return AppOut.of(_app(ctx, app_id), ctx)


@router.put("/{app_id}", summary="Replace an application")
def replace_app(app_id: str, body: AppIn, ctx: AdminContext) -> AppOut:
    row = _app(ctx, app_id)
    secret = service.replace(ctx.session, row, ctx.now, body.spec())
    ctx.log("application.lifecycle.update", "Update application", Party.of_app(row))
    return AppOut.of(row, ctx, client_secret=secret)


@router.delete("/{app_id}", status_code=204, summary="Delete an application")
def delete_app(app_id: str, ctx: AdminContext) -> Response:
    row = _app(ctx, app_id)
    target = Party.of_app(row)
    service.remove(ctx.session, row)
    ctx.log("application.lifecycle.delete", "Delete application", target)
    return Response(status_code=204)


@router.post("/{app_id}/lifecycle/activate", summary="Activate an application")
def activate_app(app_id: str, ctx: AdminContext) -> dict[str, Any]:
    row = _app(ctx, app_id)
    if service.set_status(row, service.ACTIVE, ctx.now):
        ctx.log("application.lifecycle.activate", "Activate application", Party.of_app(row))
    return {}


@router.post("/{app_id}/lifecycle/deactivate", summary="Deactivate an application")
def deactivate_app(app_id: str, ctx: AdminContext) -> dict[str, Any]:
    row = _app(ctx, app_id)
    if service.set_status(row, service.INACTIVE, ctx.now):
        ctx.log("application.lifecycle.deactivate", "Deactivate application", Party.of_app(row))
    return {}


@router.get("/{app_id}/users", summary="List all application users")
def list_app_users(
    app_id: str,
    ctx: AdminContext,
    request: Request,
    response: Response,
    page: AppUserPaging,
    q: Annotated[str | None, Query(max_length=256)] = None,
) -> list[AppUserOut]:
    app = _app(ctx, app_id)
    statement = assignments.list_app_users_statement(app, q)
    rows, after = fetch_page(ctx.session, statement, AppUserRow.user_id, page)
    link_headers(request, response, ctx.runtime.base_url, page, after)
    return [AppUserOut.of(row, ctx) for row in rows]


@router.post("/{app_id}/users", summary="Assign an application user")
def assign_app_user(app_id: str, body: AssignAppUser, ctx: AdminContext) -> AppUserOut:
    app = _app(ctx, app_id)
    user = users_service.find(ctx.session, ctx.org.id, body.id)
    row, created = assignments.assign_user(
        ctx.session, app, user, ctx.now, user_name=body.user_name(), profile=body.profile
    )
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
    return AppUserOut.of(row, ctx)


def _app_user(ctx: Admin, app: AppRow, user_id: str) -> tuple[AppUserRow, UserRow]:
    user = users_service.find(ctx.session, ctx.org.id, user_id)
    return assignments.find_app_user(ctx.session, app, user.id), user


@router.get("/{app_id}/users/{user_id}", summary="Retrieve an application user")
def get_app_user(app_id: str, user_id: str, ctx: AdminContext) -> AppUserOut:
    row, _ = _app_user(ctx, _app(ctx, app_id), user_id)
    return AppUserOut.of(row, ctx)


@router.post("/{app_id}/users/{user_id}", summary="Update an application user")
def update_app_user(app_id: str, user_id: str, body: AppUserIn, ctx: AdminContext) -> AppUserOut:
    app = _app(ctx, app_id)
    row, user = _app_user(ctx, app, user_id)
    assignments.update_user(row, user, ctx.now, user_name=body.user_name(), profile=body.profile)
    ctx.log(
        "application.user_membership.update",
        "Update user's application membership",
        Party.of_user(user),
        Party.of_app(app),
    )
    return AppUserOut.of(row, ctx)


@router.delete("/{app_id}/users/{user_id}", status_code=204, summary="Unassign an app user")
def unassign_app_user(app_id: str, user_id: str, ctx: AdminContext) -> Response:
    app = _app(ctx, app_id)
    _, user = _app_user(ctx, app, user_id)
    changes = assignments.unassign_user(ctx.session, app, user.id, ctx.now)
    if changes.removed:
        log_assignment_changes(ctx, changes)
    else:
        # Still assigned through a group: the direct assignment ended, the membership did not.
        ctx.log(
            "application.user_membership.update",
            "Update user's application membership",
            Party.of_user(user),
            Party.of_app(app),
        )
    return Response(status_code=204)


@router.get("/{app_id}/groups", summary="List all application groups")
def list_app_groups(
    app_id: str, ctx: AdminContext, request: Request, response: Response, page: AppGroupPaging
) -> list[AppGroupOut]:
    app = _app(ctx, app_id)
    statement = assignments.list_app_groups_statement(app)
    rows, after = fetch_page(ctx.session, statement, AppGroupRow.group_id, page)
    link_headers(request, response, ctx.runtime.base_url, page, after)
    return [AppGroupOut.of(row, ctx) for row in rows]


@router.put("/{app_id}/groups/{group_id}", summary="Assign an application group")
def assign_app_group(
    app_id: str, group_id: str, ctx: AdminContext, body: AppGroupIn | None = None
) -> AppGroupOut:
    app = _app(ctx, app_id)
    group = groups_service.find(ctx.session, ctx.org.id, group_id)
    given = body or AppGroupIn()
    row, created, changes = assignments.assign_group(
        ctx.session, app, group, ctx.now, priority=given.priority, profile=given.profile
    )
    ctx.log(
        "group.application_assignment.add" if created else "group.application_assignment.update",
        "Add assigned application to group" if created else "Update assigned application",
        Party.of_group(group),
        Party.of_app(app),
    )
    log_assignment_changes(ctx, changes)
    return AppGroupOut.of(row, ctx)


@router.get("/{app_id}/groups/{group_id}", summary="Retrieve an application group")
def get_app_group(app_id: str, group_id: str, ctx: AdminContext) -> AppGroupOut:
    return AppGroupOut.of(assignments.find_app_group(ctx.session, _app(ctx, app_id), group_id), ctx)


@router.delete("/{app_id}/groups/{group_id}", status_code=204, summary="Unassign an app group")
def unassign_app_group(app_id: str, group_id: str, ctx: AdminContext) -> Response:
    app = _app(ctx, app_id)
    group = groups_service.find(ctx.session, ctx.org.id, group_id)
    changes = assignments.unassign_group(ctx.session, app, group.id, ctx.now)
    ctx.log(
        "group.application_assignment.remove",
        "Remove assigned application from group",
        Party.of_group(group),
        Party.of_app(app),
    )
    log_assignment_changes(ctx, changes)
    return Response(status_code=204)
