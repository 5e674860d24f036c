"""``/api/v2/clients``: clients."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/clients", tags=["Clients"])
