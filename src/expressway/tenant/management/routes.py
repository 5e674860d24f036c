"""Every Management API router, mounted under ``/api/v2``."""

from __future__ import annotations

from fastapi import APIRouter

from expressway.tenant.management import (
    client_grants,
    clients,
    connections,
    logs,
    organizations,
    profiles,
    resource_servers,
    roles,
    tenant_settings,
    user_blocks,
    users,
)

management_router = APIRouter()
for module in (
    clients,
    client_grants,
    resource_servers,
    roles,
    users,
    user_blocks,
    organizations,
    connections,
    profiles,
    tenant_settings,
    logs,
):
    management_router.include_router(module.router)
