"""Every admin API router, mounted under ``/orgs/{org}/api/v1``."""

from __future__ import annotations

from fastapi import APIRouter

from expressway.workforce.admin_api import api_tokens, apps, groups, logs, oin, provisioning, users
from expressway.workforce.express_configure import api as express_configure

admin_router = APIRouter()
for module in (users, groups, apps, api_tokens, logs, oin, express_configure, provisioning):
    admin_router.include_router(module.router)
