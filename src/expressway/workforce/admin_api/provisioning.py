"""Provisioning in the admin API: an app's ``USER_PROVISIONING`` feature (the *To App*
switches), its provisioning jobs, Group Push mappings and imports, and Okta's *Clear user
sessions*, which sends Universal Logout to the user's apps."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import Field

from expressway.web.json_bodies import JsonBodyRoute
from expressway.workforce.admin_api.context import Admin, AdminContext
from expressway.workforce.admin_api.paging import Page, fetch_page, link_headers, paging
from expressway.workforce.admin_api.schema import (
    RequestBody,
    ResponseBody,
    okta_date,
    okta_date_or_none,
)
from expressway.workforce.errors import InvalidInput, NotFound
from expressway.workforce.provisioning import features, group_push, imports, jobs
from expressway.workforce.rows import (
    AppProvisioningRow,
    AppRow,
    GroupPushMappingRow,
    ImportedUserRow,
    ProvisioningImportRow,
    ProvisioningJobRow,
)
from expressway.workforce.services import apps as apps_service
from expressway.workforce.services import groups as groups_service
from expressway.workforce.services import universal_logout
from expressway.workforce.services import users as users_service
from expressway.workforce.system_log import Party

router = APIRouter(tags=["Provisioning"], route_class=JsonBodyRoute)

JobPaging = Annotated[Page, Depends(paging(default=50, maximum=200))]
MappingPaging = Annotated[Page, Depends(paging(default=100, maximum=1000))]
ImportPaging = Annotated[Page, Depends(paging(default=20, maximum=200))]
Status = Literal["ENABLED", "DISABLED"]
ShortText = Annotated[str, Field(max_length=64)]


def _app(ctx: Admin, app_id: str) -> AppRow:
    return apps_service.find(ctx.session, ctx.org.id, app_id)


# --- USER_PROVISIONING ------------------------------------------------------------------------


class StatusIn(RequestBody):
    status: Status


class PasswordIn(RequestBody):
    """Password sync is not offered: it can only be sent back as it is shown, disabled."""

    status: Literal["DISABLED"]
    seed: ShortText | None = None
    change: ShortText | None = None


class CreateCapabilitiesIn(RequestBody):
    lifecycle_create: StatusIn | None = Field(default=None, alias="lifecycleCreate")


class UpdateCapabilitiesIn(RequestBody):
    profile: StatusIn | None = None
    lifecycle_deactivate: StatusIn | None = Field(default=None, alias="lifecycleDeactivate")
    password: PasswordIn | None = None


class CapabilitiesIn(RequestBody):
    """Okta's ``CapabilitiesObject``; what is left out stays as it is (a partial update)."""

    create: CreateCapabilitiesIn | None = None
    update: UpdateCapabilitiesIn | None = None


def _status(value: bool) -> str:
    return features.ENABLED if value else features.DISABLED


def _flag(given: StatusIn | None) -> bool | None:
    return None if given is None else given.status == features.ENABLED


def feature_body(ctx: Admin, app: AppRow, row: AppProvisioningRow | None) -> dict[str, Any]:
    create = bool(row and row.create_users)
    profile = bool(row and row.update_profile)
    deactivate = bool(row and row.deactivate_users)
    href = ctx.api_url(f"/apps/{app.id}/features/{features.USER_PROVISIONING}")
    return {
        "name": features.USER_PROVISIONING,
        "status": features.ENABLED,
        "description": "User provisioning settings from Okta to a downstream app",
        "capabilities": {
            "create": {"lifecycleCreate": {"status": _status(create)}},
            "update": {
                "profile": {"status": _status(profile)},
                "lifecycleDeactivate": {"status": _status(deactivate)},
                "password": {"status": "DISABLED", "seed": "RANDOM", "change": "KEEP_EXISTING"},
            },
        },
        "_links": {
            "self": {"href": href, "hints": {"allow": ["GET", "PUT"]}},
            "application": {"href": ctx.api_url(f"/apps/{app.id}")},
        },
    }


def _feature_name(name: str) -> str:
    if name not in features.FEATURES:
        raise NotFound(name, "ApplicationFeature")
    return name


@router.get("/apps/{app_id}/features", summary="List all features")
def list_features(app_id: str, ctx: AdminContext) -> list[dict[str, Any]]:
    app = _app(ctx, app_id)
    return [feature_body(ctx, app, features.current(ctx.session, app))]


@router.get("/apps/{app_id}/features/{feature_name}", summary="Retrieve a feature")
def get_feature(app_id: str, feature_name: str, ctx: AdminContext) -> dict[str, Any]:
    _feature_name(feature_name)
    app = _app(ctx, app_id)
    return feature_body(ctx, app, features.current(ctx.session, app))


@router.put("/apps/{app_id}/features/{feature_name}", summary="Update a feature")
def update_feature(
    app_id: str, feature_name: str, body: CapabilitiesIn, ctx: AdminContext
) -> dict[str, Any]:
    _feature_name(feature_name)
    app = _app(ctx, app_id)
    create = body.create or CreateCapabilitiesIn()
    update = body.update or UpdateCapabilitiesIn()
    row = features.update(
        ctx.session,
        app,
        ctx.now,
        features.Switches(
            create_users=_flag(create.lifecycle_create),
            update_profile=_flag(update.profile),
            deactivate_users=_flag(update.lifecycle_deactivate),
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
    return feature_body(ctx, app, row)


# --- jobs ---------------------------------------------------------------------------------------


class JobOut(ResponseBody):
    id: str
    kind: str
    event_type: str = Field(alias="eventType")
    subject: dict[str, str]
    state: str
    attempts: int
    max_attempts: int = Field(alias="maxAttempts")
    next_attempt_at: str | None = Field(alias="nextAttemptAt")
    last_error: str | None = Field(alias="lastError")
    result: dict[str, Any]
    created: str
    last_updated: str = Field(alias="lastUpdated")
    started: str | None
    finished: str | None
    links: dict[str, Any] = Field(alias="_links")

    @classmethod
    def of(cls, row: ProvisioningJobRow, ctx: Admin) -> JobOut:
        href = ctx.api_url(f"/apps/{row.app_id}/provisioning/jobs/{row.id}")
        links: dict[str, Any] = {
            "self": {"href": href},
            "app": {"href": ctx.api_url(f"/apps/{row.app_id}")},
            "logs": {
                "href": ctx.api_url(f'/logs?filter=target.id eq "{row.id}"'),
            },
        }
        if row.state == jobs.FAILED:
            links["retry"] = {"href": f"{href}/retry", "method": "POST"}
        return cls(
            id=row.id,
            kind=row.kind,
            event_type=jobs.event_type(row),
            subject={"type": row.subject_type, "id": row.subject_id},
            state=row.state,
            attempts=row.attempts,
            max_attempts=ctx.runtime.settings.workforce_provisioning_max_attempts,
            next_attempt_at=okta_date(row.next_attempt_at) if row.state == jobs.QUEUED else None,
            last_error=row.last_error,
            result=row.result,
            created=okta_date(row.created_at),
            last_updated=okta_date(row.updated_at),
            started=okta_date_or_none(row.started_at),
            finished=okta_date_or_none(row.finished_at),
            links=links,
        )


@router.get("/apps/{app_id}/provisioning/jobs", summary="List an app's provisioning jobs")
def list_jobs(
    app_id: str,
    ctx: AdminContext,
    request: Request,
    response: Response,
    page: JobPaging,
    state: Literal["QUEUED", "IN_PROGRESS", "COMPLETED", "FAILED"] | None = None,
) -> list[JobOut]:
    app = _app(ctx, app_id)
    rows, after = fetch_page(
        ctx.session, jobs.list_statement(app, state), ProvisioningJobRow.id, page
    )
    link_headers(request, response, ctx.runtime.base_url, page, after)
    return [JobOut.of(row, ctx) for row in rows]


@router.get("/apps/{app_id}/provisioning/jobs/{job_id}", summary="Retrieve a provisioning job")
def get_job(app_id: str, job_id: str, ctx: AdminContext) -> JobOut:
    return JobOut.of(jobs.find(ctx.session, _app(ctx, app_id), job_id), ctx)


@router.post(
    "/apps/{app_id}/provisioning/jobs/{job_id}/retry", summary="Retry a failed provisioning job"
)
def retry_job(app_id: str, job_id: str, ctx: AdminContext) -> JobOut:
    app = _app(ctx, app_id)
    job = jobs.find(ctx.session, app, job_id)
    jobs.retry(ctx.session, job, ctx.now)
    return JobOut.of(job, ctx)


# --- group push ---------------------------------------------------------------------------------


class MappingIn(RequestBody):
    source_group_id: Annotated[str, Field(max_length=64)] = Field(alias="sourceGroupId")
    status: Literal["ACTIVE", "INACTIVE"] = "ACTIVE"


class MappingStatusIn(RequestBody):
    status: Literal["ACTIVE", "INACTIVE"]


class MappingOut(ResponseBody):
    id: str
    source_group_id: str = Field(alias="sourceGroupId")
    target_group_id: str | None = Field(alias="targetGroupId")
    status: str
    error_summary: str | None = Field(alias="errorSummary")
    created: str
    last_updated: str = Field(alias="lastUpdated")
    last_push: str | None = Field(alias="lastPush")
    links: dict[str, Any] = Field(alias="_links")

    @classmethod
    def of(cls, row: GroupPushMappingRow, ctx: Admin) -> MappingOut:
        return cls(
            id=row.id,
            source_group_id=row.source_group_id,
            target_group_id=row.target_group_id,
            status=row.status,
            error_summary=row.error_summary,
            created=okta_date(row.created_at),
            last_updated=okta_date(row.updated_at),
            last_push=okta_date_or_none(row.last_push_at),
            links={
                "self": {"href": ctx.api_url(f"/apps/{row.app_id}/group-push/mappings/{row.id}")},
                "app": {"href": ctx.api_url(f"/apps/{row.app_id}")},
                "sourceGroup": {"href": ctx.api_url(f"/groups/{row.source_group_id}")},
            },
        )


def _mapping_party(row: GroupPushMappingRow) -> Party:
    return Party(row.id, "GroupPushMapping", row.source_group_id, row.source_group_id)


@router.post("/apps/{app_id}/group-push/mappings", summary="Create a group push mapping")
def create_mapping(app_id: str, body: MappingIn, ctx: AdminContext) -> MappingOut:
    app = _app(ctx, app_id)
    try:
        group = groups_service.find(ctx.session, ctx.org.id, body.source_group_id)
    except NotFound as exc:
        raise InvalidInput.field(
            "sourceGroupId", f"The group {body.source_group_id} does not exist"
        ) from exc
    row = group_push.create(ctx.session, app, group, body.status, ctx.now)
    ctx.log(
        "application.provision.group_push.mapping.created",
        "Create group push mapping",
        _mapping_party(row),
        Party.of_group(group),
        Party.of_app(app),
    )
    return MappingOut.of(row, ctx)


@router.get("/apps/{app_id}/group-push/mappings", summary="List all group push mappings")
def list_mappings(
    app_id: str,
    ctx: AdminContext,
    request: Request,
    response: Response,
    page: MappingPaging,
    source_group_id: Annotated[str | None, Query(alias="sourceGroupId", max_length=64)] = None,
    status: Literal["ACTIVE", "INACTIVE", "ERROR"] | None = None,
) -> list[MappingOut]:
    app = _app(ctx, app_id)
    statement = group_push.list_statement(app, source_group_id=source_group_id, status=status)
    rows, after = fetch_page(ctx.session, statement, GroupPushMappingRow.id, page)
    link_headers(request, response, ctx.runtime.base_url, page, after)
    return [MappingOut.of(row, ctx) for row in rows]


@router.get(
    "/apps/{app_id}/group-push/mappings/{mapping_id}", summary="Retrieve a group push mapping"
)
def get_mapping(app_id: str, mapping_id: str, ctx: AdminContext) -> MappingOut:
    return MappingOut.of(group_push.find(ctx.session, _app(ctx, app_id), mapping_id), ctx)


@router.patch(
    "/apps/{app_id}/group-push/mappings/{mapping_id}", summary="Update a group push mapping"
)
def update_mapping(
    app_id: str, mapping_id: str, body: MappingStatusIn, ctx: AdminContext
) -> MappingOut:
    app = _app(ctx, app_id)
    row = group_push.find(ctx.session, app, mapping_id)
    group_push.set_status(ctx.session, app, row, body.status, ctx.now)
    ctx.log(
        "application.provision.group_push.mapping.updated",
        f"Update group push mapping: {body.status}",
        _mapping_party(row),
        Party.of_app(app),
    )
    return MappingOut.of(row, ctx)


@router.delete(
    "/apps/{app_id}/group-push/mappings/{mapping_id}",
    status_code=204,
    summary="Delete a group push mapping",
)
def delete_mapping(
    app_id: str,
    mapping_id: str,
    ctx: AdminContext,
    delete_target_group: Annotated[bool, Query(alias="deleteTargetGroup")] = False,
) -> Response:
    app = _app(ctx, app_id)
    row = group_push.find(ctx.session, app, mapping_id)
    party = _mapping_party(row)
    group_push.delete(ctx.session, app, row, ctx.now, delete_target_group=delete_target_group)
    ctx.log(
        "application.provision.group_push.mapping.deleted",
        "Delete group push mapping",
        party,
        Party.of_app(app),
        debug={"deleteTargetGroup": delete_target_group},
    )
    return Response(status_code=204)


# --- imports ------------------------------------------------------------------------------------


class ImportOut(ResponseBody):
    id: str
    status: str
    total: int
    matched: int
    unmatched: int
    error: str | None
    created: str
    finished: str | None
    links: dict[str, Any] = Field(alias="_links")

    @classmethod
    def of(
        cls, row: ProvisioningImportRow, job: ProvisioningJobRow | None, ctx: Admin
    ) -> ImportOut:
        href = ctx.api_url(f"/apps/{row.app_id}/imports/{row.id}")
        return cls(
            id=row.id,
            status=job.state if job is not None else jobs.FAILED,
            total=row.total,
            matched=row.matched,
            unmatched=row.unmatched,
            error=job.last_error if job is not None and job.state == jobs.FAILED else None,
            created=okta_date(row.created_at),
            finished=okta_date_or_none(row.finished_at),
            links={
                "self": {"href": href},
                "users": {"href": f"{href}/users"},
                "job": {"href": ctx.api_url(f"/apps/{row.app_id}/provisioning/jobs/{row.job_id}")},
            },
        )


class ImportedUserOut(ResponseBody):
    id: str
    position: int
    user_name: str = Field(alias="userName")
    external_id: str | None = Field(alias="externalId")
    display_name: str | None = Field(alias="displayName")
    active: bool | None
    match: str
    user_id: str | None = Field(alias="userId")

    @classmethod
    def of(cls, row: ImportedUserRow) -> ImportedUserOut:
        return cls(
            id=row.scim_id,
            position=row.position,
            user_name=row.user_name,
            external_id=row.external_id,
            display_name=row.display_name,
            active=row.active,
            match=row.match,
            user_id=row.matched_user_id,
        )


@router.post("/apps/{app_id}/imports", status_code=202, summary="Import the app's users")
def start_import(app_id: str, ctx: AdminContext) -> ImportOut:
    app = _app(ctx, app_id)
    row = imports.start(ctx.session, app, ctx.now)
    ctx.log("system.import.start", "Import started", Party(row.id, "Import"), Party.of_app(app))
    return ImportOut.of(row, imports.job_of(ctx.session, row), ctx)


@router.get("/apps/{app_id}/imports", summary="List an app's imports")
def list_imports(
    app_id: str, ctx: AdminContext, request: Request, response: Response, page: ImportPaging
) -> list[ImportOut]:
    app = _app(ctx, app_id)
    rows, after = fetch_page(
        ctx.session, imports.list_statement(app), ProvisioningImportRow.id, page
    )
    link_headers(request, response, ctx.runtime.base_url, page, after)
    return [ImportOut.of(row, imports.job_of(ctx.session, row), ctx) for row in rows]


@router.get("/apps/{app_id}/imports/{import_id}", summary="Retrieve an import")
def get_import(app_id: str, import_id: str, ctx: AdminContext) -> ImportOut:
    row = imports.find(ctx.session, _app(ctx, app_id), import_id)
    return ImportOut.of(row, imports.job_of(ctx.session, row), ctx)


@router.get("/apps/{app_id}/imports/{import_id}/users", summary="List the users an import found")
def list_imported_users(
    app_id: str,
    import_id: str,
    ctx: AdminContext,
    match: Literal["EXTERNAL_ID", "USER_NAME", "NONE"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    after: Annotated[int, Query(ge=0, description="The position of the last user seen.")] = 0,
) -> list[ImportedUserOut]:
    """The users in the order the app listed them; ``after`` is the last one's position."""
    row = imports.find(ctx.session, _app(ctx, app_id), import_id)
    statement = imports.users_statement(row).where(ImportedUserRow.position > after)
    if match is not None:
        statement = statement.where(ImportedUserRow.match == match)
    return [ImportedUserOut.of(user) for user in ctx.session.scalars(statement.limit(limit))]


# --- Universal Logout -------------------------------------------------------------------------


@router.delete("/users/{user_id}/sessions", status_code=204, summary="Revoke all user sessions")
def clear_user_sessions(
    user_id: str,
    ctx: AdminContext,
    oauth_tokens: Annotated[bool, Query(alias="oauthTokens")] = False,
) -> Response:
    """Okta's *Clear user sessions*: the user's sessions end (and with ``oauthTokens=true``
    their refresh tokens are revoked), and each of their apps with Universal Logout is told."""
    user = users_service.find(ctx.session, ctx.org.id, user_id)
    cleared = universal_logout.clear_sessions(
        ctx.session, user, ctx.org_url, ctx.now, oauth_tokens=oauth_tokens
    )
    ctx.log(
        "user.session.clear",
        "Clear user session",
        Party.of_user(user),
        debug={
            "oauthTokens": oauth_tokens,
            "sessionsEnded": cleared.sessions_ended,
            "universalLogoutApps": cleared.apps_notified,
        },
    )
    return Response(status_code=204)
