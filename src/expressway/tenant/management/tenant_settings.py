"""``/api/v2/tenants``: tenant settings."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from expressway.tenant.management.context import Management, uses
from expressway.tenant.management.schema import RequestBody
from expressway.tenant.services import tenant_settings as service
from expressway.web.json_bodies import JsonBodyRoute

router = APIRouter(prefix="/tenants", tags=["Tenant settings"], route_class=JsonBodyRoute)

Url = Annotated[str, Field(max_length=2048)]
#: Hours, as Auth0 counts session lifetimes; at most a year.
Hours = Annotated[int | float, Field(gt=0, le=8760)]


class UpdateTenantSettings(RequestBody):
    friendly_name: Annotated[str, Field(min_length=1, max_length=255)] | None = None
    picture_url: Url | None = None
    support_email: Annotated[str, Field(max_length=320)] | None = None
    support_url: Url | None = None
    session_lifetime: Hours | None = None
    idle_session_lifetime: Hours | None = None
    default_audience: Annotated[str, Field(max_length=600)] | None = None
    default_directory: Annotated[str, Field(max_length=128)] | None = None
    allowed_logout_urls: Annotated[list[Url], Field(max_length=100)] | None = None
    flags: (
        Annotated[dict[Annotated[str, Field(max_length=64)], bool], Field(max_length=50)] | None
    ) = None

    def spec(self) -> service.TenantSettingsSpec:
        return service.TenantSettingsSpec(
            friendly_name=self.friendly_name,
            picture_url=self.picture_url,
            support_email=self.support_email,
            support_url=self.support_url,
            session_lifetime=self.session_lifetime,
            idle_session_lifetime=self.idle_session_lifetime,
            default_audience=self.default_audience,
            default_directory=self.default_directory,
            allowed_logout_urls=self.allowed_logout_urls,
            flags=self.flags,
        )


class TenantSettingsOut(BaseModel):
    friendly_name: str
    picture_url: str | None
    support_email: str
    support_url: str | None
    session_lifetime: int | float
    idle_session_lifetime: int | float
    default_audience: str
    default_directory: str | None
    allowed_logout_urls: list[str]
    flags: dict[str, bool]

    @classmethod
    def of(cls, settings: dict[str, Any]) -> TenantSettingsOut:
        return cls(
            friendly_name=settings["friendly_name"],
            picture_url=settings.get("picture_url"),
            support_email=settings["support_email"],
            support_url=settings.get("support_url"),
            session_lifetime=settings["session_lifetime"],
            idle_session_lifetime=settings["idle_session_lifetime"],
            default_audience=settings["default_audience"],
            default_directory=settings.get("default_directory"),
            allowed_logout_urls=list(settings.get("allowed_logout_urls", [])),
            flags={name: bool(on) for name, on in settings["flags"].items()},
        )


@router.get("/settings", summary="Get tenant settings")
def get_tenant_settings(ctx: Management = uses("read:tenant_settings")) -> TenantSettingsOut:
    return TenantSettingsOut.of(service.read(ctx.session))


@router.patch("/settings", summary="Update tenant settings")
def update_tenant_settings(
    body: UpdateTenantSettings, ctx: Management = uses("update:tenant_settings")
) -> TenantSettingsOut:
    settings = service.update(ctx.session, body.spec())
    ctx.log(
        "Update tenant settings",
        details={"fields": sorted(body.model_fields_set), "flags": body.flags or {}},
    )
    return TenantSettingsOut.of(settings)
