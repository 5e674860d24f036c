"""``/api/v2/connection-profiles`` and ``/api/v2/user-attribute-profiles``, with their templates."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field
from sqlalchemy import select

from expressway.tenant.management.context import (
    CheckpointOnlyPaging,
    Management,
    checkpointed,
    fetch_checkpoint,
    uses,
)
from expressway.tenant.management.schema import RequestBody
from expressway.tenant.rows import ConnectionProfileRow, UserAttributeProfileRow
from expressway.tenant.services import profiles as service
from expressway.web.json_bodies import JsonBodyRoute

router = APIRouter(prefix="", tags=["Profiles"], route_class=JsonBodyRoute)

#: The strategies Auth0 takes overrides for.
OverrideStrategy = Literal[
    "pingfederate", "ad", "adfs", "waad", "google-apps", "okta", "oidc", "samlp"
]
Behaviour = Literal["none", "optional", "required"]
Features = Annotated[list[Annotated[str, Field(max_length=32)]], Field(max_length=10)]


# --- Connection profiles ---


class OrganizationBehaviour(RequestBody):
    show_as_button: Behaviour | None = None
    assign_membership_on_login: Behaviour | None = None


class ConnectionConfig(RequestBody):
    """Auth0 defines the connection configuration with no properties yet: only ``{}`` passes."""


class StrategyOverride(RequestBody):
    enabled_features: Features | None = None
    connection_config: ConnectionConfig | None = None


class ConnectionProfileFields(RequestBody):
    organization: OrganizationBehaviour | None = None
    connection_name_prefix_template: Annotated[str, Field(max_length=15)] | None = None
    enabled_features: Features | None = None
    connection_config: ConnectionConfig | None = None
    strategy_overrides: dict[OverrideStrategy, StrategyOverride] | None = None

    def spec(self) -> service.ConnectionProfileSpec:
        return service.ConnectionProfileSpec(
            name=getattr(self, "name", None),
            organization=(
                self.organization.model_dump(exclude_none=True) if self.organization else None
            ),
            connection_name_prefix_template=self.connection_name_prefix_template,
            enabled_features=self.enabled_features,
            connection_config=(
                self.connection_config.model_dump() if self.connection_config else None
            ),
            strategy_overrides=(
                {k: v.model_dump(exclude_none=True) for k, v in self.strategy_overrides.items()}
                if self.strategy_overrides is not None
                else None
            ),
        )


class CreateConnectionProfile(ConnectionProfileFields):
    name: Annotated[str, Field(min_length=1, max_length=50)]


class UpdateConnectionProfile(ConnectionProfileFields):
    name: Annotated[str, Field(min_length=1, max_length=50)] | None = None


class ConnectionProfileOut(BaseModel):
    id: str
    name: str
    organization: dict[str, str]
    connection_name_prefix_template: str
    enabled_features: list[str]
    connection_config: dict[str, Any]
    strategy_overrides: dict[str, Any]

    @classmethod
    def of(cls, row: ConnectionProfileRow) -> ConnectionProfileOut:
        return cls(
            id=row.id,
            name=row.name,
            organization=dict(row.organization),
            connection_name_prefix_template=row.connection_name_prefix_template,
            enabled_features=list(row.enabled_features),
            connection_config=dict(row.connection_config),
            strategy_overrides=dict(row.strategy_overrides),
        )


class TemplateOut(BaseModel):
    id: str
    display_name: str
    template: dict[str, Any]

    @classmethod
    def of(cls, template: service.Template) -> TemplateOut:
        return cls(id=template.id, display_name=template.display_name, template=template.template)


@router.get("/connection-profiles/templates", summary="Get connection profile templates")
def list_connection_profile_templates(
    ctx: Management = uses("read:connection_profiles"),
) -> dict[str, list[TemplateOut]]:
    return {
        "connection_profile_templates": [
            TemplateOut.of(t) for t in service.CONNECTION_PROFILE_TEMPLATES
        ]
    }


@router.get("/connection-profiles/templates/{id}", summary="Get a connection profile template")
def get_connection_profile_template(
    id: str, ctx: Management = uses("read:connection_profiles")
) -> TemplateOut:
    return TemplateOut.of(service.find_template(service.CONNECTION_PROFILE_TEMPLATES, id))


@router.get("/connection-profiles", summary="Get connection profiles")
def list_connection_profiles(
    checkpoint: CheckpointOnlyPaging, ctx: Management = uses("read:connection_profiles")
) -> Any:
    rows, following = fetch_checkpoint(
        ctx.session, select(ConnectionProfileRow), ConnectionProfileRow.id, checkpoint
    )
    items = [ConnectionProfileOut.of(r).model_dump() for r in rows]
    return checkpointed(items, following, "connection_profiles")


@router.post("/connection-profiles", status_code=201, summary="Create a connection profile")
def create_connection_profile(
    body: CreateConnectionProfile, ctx: Management = uses("create:connection_profiles")
) -> ConnectionProfileOut:
    row = service.create_connection_profile(ctx.session, ctx.runtime.clock.now(), body.spec())
    ctx.log("Create a connection profile", details={"connection_profile_id": row.id})
    return ConnectionProfileOut.of(row)


@router.get("/connection-profiles/{id}", summary="Get a connection profile")
def get_connection_profile(
    id: str, ctx: Management = uses("read:connection_profiles")
) -> ConnectionProfileOut:
    return ConnectionProfileOut.of(service.find(ctx.session, ConnectionProfileRow, id))


@router.patch("/connection-profiles/{id}", summary="Update a connection profile")
def update_connection_profile(
    id: str, body: UpdateConnectionProfile, ctx: Management = uses("update:connection_profiles")
) -> ConnectionProfileOut:
    row = service.update_connection_profile(
        ctx.session,
        ctx.runtime.clock.now(),
        service.find(ctx.session, ConnectionProfileRow, id),
        body.spec(),
    )
    ctx.log("Update a connection profile", details={"connection_profile_id": row.id})
    return ConnectionProfileOut.of(row)


@router.delete("/connection-profiles/{id}", status_code=204, summary="Delete a connection profile")
def delete_connection_profile(
    id: str, ctx: Management = uses("delete:connection_profiles")
) -> Response:
    row = service.find(ctx.session, ConnectionProfileRow, id)
    service.remove(ctx.session, row)
    ctx.log("Delete a connection profile", details={"connection_profile_id": row.id})
    return Response(status_code=204)


# --- User attribute profiles ---

SamlMapping = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=128)]], Field(min_length=1, max_length=20)
]
ScimMapping = Annotated[str, Field(min_length=1, max_length=128)]


class OidcMapping(RequestBody):
    mapping: Annotated[str, Field(min_length=1, max_length=50)]
    display_name: Annotated[str, Field(min_length=1, max_length=50)] | None = None


class AttributeOverride(RequestBody):
    oidc_mapping: OidcMapping | None = None
    saml_mapping: SamlMapping | None = None
    scim_mapping: ScimMapping | None = None


class UserAttribute(RequestBody):
    description: Annotated[str, Field(min_length=1, max_length=128)]
    label: Annotated[str, Field(min_length=1, max_length=128)]
    profile_required: bool
    auth0_mapping: Annotated[str, Field(min_length=1, max_length=50)]
    oidc_mapping: OidcMapping | None = None
    saml_mapping: SamlMapping | None = None
    scim_mapping: ScimMapping | None = None
    strategy_overrides: dict[OverrideStrategy, AttributeOverride] | None = None


class UserIdOverride(RequestBody):
    oidc_mapping: Literal["sub", "oid", "email"] | None = None
    saml_mapping: SamlMapping | None = None
    scim_mapping: ScimMapping | None = None


class UserIdMapping(RequestBody):
    oidc_mapping: Literal["sub"] | None = None
    saml_mapping: SamlMapping | None = None
    scim_mapping: ScimMapping | None = None
    strategy_overrides: dict[OverrideStrategy, UserIdOverride] | None = None


AttributeName = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
UserAttributes = Annotated[dict[AttributeName, UserAttribute], Field(min_length=1, max_length=64)]


class UserAttributeProfileFields(RequestBody):
    user_id: UserIdMapping | None = None

    def spec(self) -> service.UserAttributeProfileSpec:
        user_id = self.user_id.model_dump(exclude_none=True) if self.user_id else None
        if user_id is None and "user_id" in self.model_fields_set:
            # ``"user_id": null`` puts back the default mapping, ``sub`` / ``externalId``.
            user_id = dict(service.DEFAULT_USER_ID)
        attributes: dict[str, UserAttribute] | None = getattr(self, "user_attributes", None)
        return service.UserAttributeProfileSpec(
            name=getattr(self, "name", None),
            user_id=user_id,
            user_attributes=(
                {k: v.model_dump(exclude_none=True) for k, v in attributes.items()}
                if attributes is not None
                else None
            ),
        )


class CreateUserAttributeProfile(UserAttributeProfileFields):
    name: Annotated[str, Field(min_length=1, max_length=128)]
    user_attributes: UserAttributes


class UpdateUserAttributeProfile(UserAttributeProfileFields):
    name: Annotated[str, Field(min_length=1, max_length=128)] | None = None
    user_attributes: UserAttributes | None = None


class UserAttributeProfileOut(BaseModel):
    id: str
    name: str
    user_id: dict[str, Any]
    user_attributes: dict[str, Any]

    @classmethod
    def of(cls, row: UserAttributeProfileRow) -> UserAttributeProfileOut:
        return cls(
            id=row.id,
            name=row.name,
            user_id=dict(row.user_id),
            user_attributes=dict(row.user_attributes),
        )


@router.get("/user-attribute-profiles/templates", summary="Get user attribute profile templates")
def list_user_attribute_profile_templates(
    ctx: Management = uses("read:user_attribute_profiles"),
) -> dict[str, list[TemplateOut]]:
    return {
        "user_attribute_profile_templates": [
            TemplateOut.of(t) for t in service.USER_ATTRIBUTE_PROFILE_TEMPLATES
        ]
    }


@router.get(
    "/user-attribute-profiles/templates/{id}", summary="Get a user attribute profile template"
)
def get_user_attribute_profile_template(
    id: str, ctx: Management = uses("read:user_attribute_profiles")
) -> TemplateOut:
    return TemplateOut.of(service.find_template(service.USER_ATTRIBUTE_PROFILE_TEMPLATES, id))


@router.get("/user-attribute-profiles", summary="Get user attribute profiles")
def list_user_attribute_profiles(
    checkpoint: CheckpointOnlyPaging, ctx: Management = uses("read:user_attribute_profiles")
) -> Any:
    rows, following = fetch_checkpoint(
        ctx.session, select(UserAttributeProfileRow), UserAttributeProfileRow.id, checkpoint
    )
    items = [UserAttributeProfileOut.of(r).model_dump() for r in rows]
    return checkpointed(items, following, "user_attribute_profiles")


@router.post("/user-attribute-profiles", status_code=201, summary="Create a user attribute profile")
def create_user_attribute_profile(
    body: CreateUserAttributeProfile, ctx: Management = uses("create:user_attribute_profiles")
) -> UserAttributeProfileOut:
    row = service.create_user_attribute_profile(ctx.session, ctx.runtime.clock.now(), body.spec())
    ctx.log("Create a user attribute profile", details={"user_attribute_profile_id": row.id})
    return UserAttributeProfileOut.of(row)


@router.get("/user-attribute-profiles/{id}", summary="Get a user attribute profile")
def get_user_attribute_profile(
    id: str, ctx: Management = uses("read:user_attribute_profiles")
) -> UserAttributeProfileOut:
    return UserAttributeProfileOut.of(service.find(ctx.session, UserAttributeProfileRow, id))


@router.patch("/user-attribute-profiles/{id}", summary="Update a user attribute profile")
def update_user_attribute_profile(
    id: str,
    body: UpdateUserAttributeProfile,
    ctx: Management = uses("update:user_attribute_profiles"),
) -> UserAttributeProfileOut:
    row = service.update_user_attribute_profile(
        ctx.session,
        ctx.runtime.clock.now(),
        service.find(ctx.session, UserAttributeProfileRow, id),
        body.spec(),
    )
    ctx.log("Update a user attribute profile", details={"user_attribute_profile_id": row.id})
    return UserAttributeProfileOut.of(row)


@router.delete(
    "/user-attribute-profiles/{id}", status_code=204, summary="Delete a user attribute profile"
)
def delete_user_attribute_profile(
    id: str, ctx: Management = uses("delete:user_attribute_profiles")
) -> Response:
    row = service.find(ctx.session, UserAttributeProfileRow, id)
    service.remove(ctx.session, row)
    ctx.log("Delete a user attribute profile", details={"user_attribute_profile_id": row.id})
    return Response(status_code=204)
