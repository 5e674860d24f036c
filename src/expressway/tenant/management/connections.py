"""``/api/v2/connections``: connections."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/connections", tags=["Connections"])
