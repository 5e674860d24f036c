"""``/api/v2/client-grants``: client grants."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/client-grants", tags=["Client grants"])
