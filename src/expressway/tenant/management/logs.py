"""``/api/v2/logs``: logs."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/logs", tags=["Logs"])
