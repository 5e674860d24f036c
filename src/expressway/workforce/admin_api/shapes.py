"""The admin API's answers, in Okta's shapes, each built field by field from rows.

Never by dumping a row: rows hold password hashes, token digests and secret hashes, and a column
added later must not reach an answer by accident.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from expressway.workforce.admin_api.context import Admin
from expressway.workforce.admin_api.schema import ResponseBody, okta_date, okta_date_or_none
from expressway.workforce.rows import (
    ApiTokenRow,
    AppGroupRow,
    AppRow,
    AppUserRow,
    GroupRow,
    LogEventRow,
    UserRow,
)
from expressway.workforce.services import api_tokens, apps, assignments, throttling, users

#: The lifecycle operations open to a user in each status, as links on the user.
_USER_LIFECYCLE_LINKS = {
    users.STAGED: ("activate", "deactivate"),
    users.PROVISIONED: ("reactivate", "deactivate"),
    users.ACTIVE: ("suspend", "deactivate"),
    users.SUSPENDED: ("unsuspend", "deactivate"),
    users.DEPROVISIONED: ("activate",),
    throttling.LOCKED_OUT: ("unlock", "deactivate"),
}


class UserOut(ResponseBody):
    id: str
    status: str
    created: str
    activated: str | None
    status_changed: str | None = Field(alias="statusChanged")
    last_login: str | None = Field(alias="lastLogin")
    last_updated: str = Field(alias="lastUpdated")
    password_changed: str | None = Field(alias="passwordChanged")
    profile: dict[str, Any]
    credentials: dict[str, Any]
    links: dict[str, Any] = Field(alias="_links")

    @classmethod
    def of(cls, row: UserRow, ctx: Admin) -> UserOut:
        credentials: dict[str, Any] = {"provider": {"type": "OKTA", "name": "OKTA"}}
        if row.password_hash is not None:
            credentials = {"password": {}, **credentials}
        links: dict[str, Any] = {"self": {"href": ctx.api_url(f"/users/{row.id}")}}
        for operation in _USER_LIFECYCLE_LINKS.get(row.status, ()):
            links[operation] = {
                "href": ctx.api_url(f"/users/{row.id}/lifecycle/{operation}"),
                "method": "POST",
            }
        return cls(
            id=row.id,
            status=row.status,
            created=okta_date(row.created_at),
            activated=okta_date_or_none(row.activated_at),
            status_changed=okta_date_or_none(row.status_changed_at),
            last_login=okta_date_or_none(row.last_login_at),
            last_updated=okta_date(row.updated_at),
            password_changed=okta_date_or_none(row.password_changed_at),
            profile=users.profile_of(row),
            credentials=credentials,
            links=links,
        )


class GroupOut(ResponseBody):
    id: str
    created: str
    last_updated: str = Field(alias="lastUpdated")
    last_membership_updated: str = Field(alias="lastMembershipUpdated")
    object_class: list[str] = Field(alias="objectClass")
    type: str
    profile: dict[str, Any]
    links: dict[str, Any] = Field(alias="_links")

    @classmethod
    def of(cls, row: GroupRow, ctx: Admin) -> GroupOut:
        return cls(
            id=row.id,
            created=okta_date(row.created_at),
            last_updated=okta_date(row.updated_at),
            last_membership_updated=okta_date(row.membership_updated_at),
            object_class=["okta:user_group"],
            type=row.type,
            profile={"name": row.name, "description": row.description},
            links={
                "self": {"href": ctx.api_url(f"/groups/{row.id}")},
                "users": {"href": ctx.api_url(f"/groups/{row.id}/users")},
                "apps": {"href": ctx.api_url(f"/groups/{row.id}/apps")},
            },
        )


class AppOut(ResponseBody):
    id: str
    name: str
    label: str
    status: str
    created: str
    last_updated: str = Field(alias="lastUpdated")
    sign_on_mode: str = Field(alias="signOnMode")
    accessibility: dict[str, Any]
    visibility: dict[str, Any]
    features: list[Any]
    credentials: dict[str, Any]
    settings: dict[str, Any]
    links: dict[str, Any] = Field(alias="_links")

    @classmethod
    def of(cls, row: AppRow, ctx: Admin, *, client_secret: str | None = None) -> AppOut:
        """The app; ``client_secret`` only in the answer that made it, never again."""
        oauth_client: dict[str, Any] = {
            "autoKeyRotation": True,
            "client_id": row.client_id,
            "token_endpoint_auth_method": row.token_endpoint_auth_method,
            "pkce_required": row.pkce_required,
        }
        if client_secret is not None:
            oauth_client["client_secret"] = client_secret
        lifecycle = "deactivate" if row.status == apps.ACTIVE else "activate"
        return cls(
            id=row.id,
            name=row.name,
            label=row.label,
            status=row.status,
            created=okta_date(row.created_at),
            last_updated=okta_date(row.updated_at),
            sign_on_mode=row.sign_on_mode,
            accessibility=row.accessibility,
            visibility=row.visibility,
            features=row.features,
            credentials={"userNameTemplate": row.user_name_template, "oauthClient": oauth_client},
            settings=row.settings,
            links={
                "self": {"href": ctx.api_url(f"/apps/{row.id}")},
                "users": {"href": ctx.api_url(f"/apps/{row.id}/users")},
                "groups": {"href": ctx.api_url(f"/apps/{row.id}/groups")},
                lifecycle: {
                    "href": ctx.api_url(f"/apps/{row.id}/lifecycle/{lifecycle}"),
                    "method": "POST",
                },
            },
        )


class AppUserOut(ResponseBody):
    id: str
    external_id: str | None = Field(alias="externalId")
    created: str
    last_updated: str = Field(alias="lastUpdated")
    scope: str
    status: str
    status_changed: str = Field(alias="statusChanged")
    password_changed: str | None = Field(alias="passwordChanged")
    sync_state: str = Field(alias="syncState")
    credentials: dict[str, Any]
    profile: dict[str, Any]
    links: dict[str, Any] = Field(alias="_links")

    @classmethod
    def of(cls, row: AppUserRow, ctx: Admin) -> AppUserOut:
        return cls(
            id=row.user_id,
            external_id=None,
            created=okta_date(row.created_at),
            last_updated=okta_date(row.updated_at),
            scope=assignments.scope_of(row),
            status="ACTIVE",
            status_changed=okta_date(row.status_changed_at),
            password_changed=None,
            sync_state="DISABLED",
            credentials={"userName": row.user_name},
            profile=row.profile,
            links={
                "app": {"href": ctx.api_url(f"/apps/{row.app_id}")},
                "user": {"href": ctx.api_url(f"/users/{row.user_id}")},
            },
        )


class AppGroupOut(ResponseBody):
    id: str
    last_updated: str = Field(alias="lastUpdated")
    priority: int
    profile: dict[str, Any]
    links: dict[str, Any] = Field(alias="_links")

    @classmethod
    def of(cls, row: AppGroupRow, ctx: Admin) -> AppGroupOut:
        return cls(
            id=row.group_id,
            last_updated=okta_date(row.updated_at),
            priority=row.priority,
            profile=row.profile,
            links={
                "app": {"href": ctx.api_url(f"/apps/{row.app_id}")},
                "group": {"href": ctx.api_url(f"/groups/{row.group_id}")},
            },
        )


class ApiTokenOut(ResponseBody):
    id: str
    name: str
    user_id: str = Field(alias="userId")
    client_name: str = Field(alias="clientName")
    token_window: str = Field(alias="tokenWindow")
    network: dict[str, Any]
    created: str
    last_updated: str = Field(alias="lastUpdated")
    expires_at: str = Field(alias="expiresAt")
    link: dict[str, Any] = Field(alias="_link")

    @classmethod
    def of(cls, row: ApiTokenRow, ctx: Admin) -> ApiTokenOut:
        return cls(
            id=row.id,
            name=row.name,
            user_id=row.user_id,
            client_name="Okta API",
            token_window=api_tokens.TOKEN_WINDOW_ISO,
            network={"connection": "ANYWHERE"},
            created=okta_date(row.created_at),
            last_updated=okta_date(row.updated_at),
            expires_at=okta_date(row.expires_at),
            link={"self": {"href": ctx.api_url(f"/api-tokens/{row.id}")}},
        )


class LogEventOut(ResponseBody):
    uuid: str
    published: str
    event_type: str = Field(alias="eventType")
    version: str
    severity: str
    display_message: str = Field(alias="displayMessage")
    actor: dict[str, Any]
    client: dict[str, Any]
    outcome: dict[str, Any]
    target: list[Any]
    transaction: dict[str, Any]
    debug_context: dict[str, Any] = Field(alias="debugContext")
    legacy_event_type: str | None = Field(alias="legacyEventType")
    authentication_context: dict[str, Any] = Field(alias="authenticationContext")
    security_context: dict[str, Any] = Field(alias="securityContext")
    request: dict[str, Any]

    @classmethod
    def of(cls, row: LogEventRow) -> LogEventOut:
        return cls(
            uuid=row.uuid,
            published=okta_date(row.published),
            event_type=row.event_type,
            version="0",
            severity=row.severity,
            display_message=row.display_message,
            actor=row.actor,
            client={
                "userAgent": {"rawUserAgent": row.user_agent, "os": None, "browser": None},
                "zone": None,
                "device": None,
                "id": None,
                "ipAddress": row.client_ip,
                "geographicalContext": None,
            },
            outcome={"result": row.outcome_result, "reason": row.outcome_reason},
            target=row.targets,
            transaction={"type": "WEB", "id": None, "detail": {}},
            debug_context={"debugData": row.debug_data},
            legacy_event_type=None,
            authentication_context={},
            security_context={},
            request={"ipChain": [{"ip": row.client_ip}] if row.client_ip else []},
        )
