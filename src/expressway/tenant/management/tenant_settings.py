"""``/api/v2/tenants``: tenant settings."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/tenants", tags=["Tenant settings"])
