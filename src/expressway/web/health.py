"""``GET /healthz``: the readiness probe of a replica behind a load balancer.

A replica is ready when its database answers: every request needs it, and a process whose
database is away should be taken out of rotation rather than answer 500s. The check is one
``SELECT 1`` on the process's own pool, in a worker thread so that a slow database does not
stall the event loop. The body never names the database or its error (the URL may hold a
password); the process's log has the error.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool

logger = logging.getLogger(__name__)

PATH = "/healthz"


def _database_answers(engine: Engine) -> bool:
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except Exception as exc:
        # One line, not a traceback: a balancer asks every few seconds while the database is away.
        reason = str(exc).splitlines()[0] if str(exc) else ""
        logger.warning(
            "readiness check: the database did not answer: %s %s", type(exc).__name__, reason
        )
        return False
    return True


def health_router(engine: Engine) -> APIRouter:
    """A router with ``GET /healthz``: 200 ``{"status": "ok"}`` when ``engine``'s database
    answers, else 503 ``{"status": "unavailable"}``. No authentication: it tells nothing."""
    router = APIRouter()

    @router.get(PATH, include_in_schema=False)
    async def healthz() -> JSONResponse:
        if await run_in_threadpool(_database_answers, engine):
            return JSONResponse({"status": "ok", "database": "ok"})
        return JSONResponse(
            {"status": "unavailable", "database": "unreachable"},
            status_code=503,
            headers={"Cache-Control": "no-store", "Retry-After": "5"},
        )

    return router
