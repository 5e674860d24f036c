"""The discovery endpoints (RFC 7644 §4): ServiceProviderConfig, ResourceTypes, Schemas."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from expressway.scim.errors import not_found, not_implemented
from expressway.scim.resources import resource_types, schemas, service_provider_config
from expressway.tenant.scim.common import LIST_RESPONSE_URN
from expressway.tenant.scim.context import Scim, ScimAccess, ScimResponse, uses

router = APIRouter(prefix="/connections/{connection_id}")


def _listed(items: list[dict[str, Any]]) -> ScimResponse:
    return ScimResponse(
        {
            "schemas": [LIST_RESPONSE_URN],
            "totalResults": len(items),
            "startIndex": 1,
            "itemsPerPage": len(items),
            "Resources": items,
        }
    )


def _resource_types(ctx: Scim) -> list[dict[str, Any]]:
    found = []
    for resource_type in resource_types():
        body = resource_type.model_dump()
        body["meta"] = {
            "resourceType": "ResourceType",
            "location": f"{ctx.base_url}/ResourceTypes/{resource_type.id}",
        }
        found.append(body)
    return found


def _schemas(ctx: Scim) -> list[dict[str, Any]]:
    found = []
    for schema in schemas():
        body = schema.model_dump()
        body["meta"] = {"resourceType": "Schema", "location": f"{ctx.base_url}/Schemas/{schema.id}"}
        found.append(body)
    return found


@router.get("/ServiceProviderConfig", summary="What the server supports")
def get_service_provider_config(access: ScimAccess = uses()) -> Response:
    with access.open() as ctx:
        body = service_provider_config().model_dump()
        body["meta"] = {
            "resourceType": "ServiceProviderConfig",
            "location": f"{ctx.base_url}/ServiceProviderConfig",
        }
        return ScimResponse(body)


@router.get("/ResourceTypes", summary="The resource types served")
def list_resource_types(access: ScimAccess = uses()) -> Response:
    with access.open() as ctx:
        return _listed(_resource_types(ctx))


@router.get("/ResourceTypes/{name}", summary="One resource type")
def get_resource_type(name: str, access: ScimAccess = uses()) -> Response:
    with access.open() as ctx:
        for body in _resource_types(ctx):
            if body["id"] == name:
                return ScimResponse(body)
        raise not_found(f"ResourceType {name} not found")


@router.get("/Schemas", summary="The schemas served")
def list_schemas(access: ScimAccess = uses()) -> Response:
    with access.open() as ctx:
        return _listed(_schemas(ctx))


@router.get("/Schemas/{schema_id}", summary="One schema")
def get_schema(schema_id: str, access: ScimAccess = uses()) -> Response:
    with access.open() as ctx:
        for body in _schemas(ctx):
            if body["id"] == schema_id:
                return ScimResponse(body)
        raise not_found(f"Schema {schema_id} not found")


@router.post("/.search", summary="Search across resource types (not supported)")
def search_everything(access: ScimAccess = uses()) -> Response:
    with access.open():
        raise not_implemented("searching several resource types at once is not supported")
