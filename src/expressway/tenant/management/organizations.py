"""``/api/v2/organizations``: organizations."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/organizations", tags=["Organizations"])
