"""``/api/v2/roles``: roles."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/roles", tags=["Roles"])
