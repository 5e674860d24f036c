"""``/api/v2/connection-profiles`` and ``/api/v2/user-attribute-profiles``, with their templates."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="", tags=["Profiles"])
