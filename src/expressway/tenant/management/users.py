"""``/api/v2/users``: users."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/users", tags=["Users"])
