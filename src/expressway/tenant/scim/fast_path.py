"""The provisioning client's two most frequent requests, answered in front of the application's
layers: the lookup (``GET /Users?filter=userName eq "…"``, which Okta and Entra send before every
push) and the create (``POST /Users``).

Through the full application such a request passed two stacks of layers, the tenant's and the
SCIM server's own (routing among a hundred routes, then among the SCIM routes, exception
wrappers, dependency solving, the request and response objects), and two hops to the thread
pool; together they cost about as much CPU as the handler's own work. This ASGI layer sits
behind :class:`~expressway.tenant.authn.token_fast_path.TokenFastPath`, in front of FastAPI's own
entry and layers (:class:`~expressway.tenant.app.TenantApp`), and runs the same handler
code (:meth:`ResourceEndpoints.list_from_query`, :func:`users.provision`) behind the same token
check (:class:`ScimAccess`), and sends its answer with the security headers every tenant response
carries. On SQLite a lookup runs on the event loop, and so does a create while the write lock is
free (else in one hop to the thread that writes, which waits for it); on PostgreSQL everything
runs in one hop to a thread.

It answers only what succeeds. Any refusal (a bad token, a missing scope, an unparsable filter, a
taken ``userName``, a body that is not JSON), a fault of the database, and every request of
another shape, goes down the stack unchanged, with the body read so far handed on as it came: the
transaction this path opened was rolled back, so the SCIM server's own handlers do the request
again and answer it, record it (``fscim``) and log it exactly as they would have. Tests compare
the two paths' answers header by header (``tests/tenant/scim/test_fast_path.py``).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from urllib.parse import parse_qsl

from sqlalchemy.exc import DataError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from expressway.scim.errors import ScimError
from expressway.storage.engine import WriteLockTaken
from expressway.storage.faults import database_fault
from expressway.tenant.errors import TenantError
from expressway.tenant.runtime import TenantRuntime
from expressway.tenant.scim import users
from expressway.tenant.scim.context import (
    MAX_BODY_BYTES,
    Scim,
    ScimAccess,
    ScimResponse,
    WriteNeeded,
    parsed_json,
)
from expressway.web.asgi import read_body, replay
from expressway.web.input_guard import has_nul
from expressway.web.security import with_security_headers

logger = logging.getLogger("expressway.tenant.scim")

PREFIX = "/scim/v2/connections/"
#: The users of one connection, as the SCIM server routes them (the id is one path segment).
_USERS = re.compile(r"/scim/v2/connections/([^/]+)/Users")

#: This path's threads, one set per process (a test run builds many applications): a SCIM
#: request holds one while its transaction is open.
THREADS = 8
_threads = ThreadPoolExecutor(THREADS, thread_name_prefix="scim")
# SQLite has one write lock per database: this process's creates that find it taken wait for
# it in one thread's queue, each woken as the one before commits, not in SQLite's busy handler,
# whose sleeps (1 ms, then up to 100) made a create's p99 190 ms at 4 in flight (28 ms queued
# here, and 17% more creates a second for the same CPU each). The interpreter lock kept their
# Python work from running side by side anyway.
_writer = ThreadPoolExecutor(1, thread_name_prefix="scim-writer")

Handler = Callable[[Scim], ScimResponse]


class ScimFastPath:
    """ASGI middleware: answers a successful ``GET`` or ``POST`` of a connection's ``/Users``,
    and hands every other request to ``app``."""

    def __init__(self, app: ASGIApp, runtime: TenantRuntime, scim: Starlette) -> None:
        self.app = app
        self.runtime = runtime
        #: The SCIM server whose requests this path answers: it shares its cache of what tokens
        #: open (``state.scim_credentials``), read on every request as the server's routes do.
        self.scim = scim
        # A read of SQLite in WAL mode never waits: not for a writer, not for the network. In a
        # thread it would run no sooner (the interpreter lock lets one thread run Python at a
        # time) and would only add two switches between threads and the pool's bookkeeping. So
        # a lookup on SQLite runs on the event loop, unless it must first record the token's use
        # (a write, which can wait for the write lock: that one, once a minute, goes to a
        # thread). On PostgreSQL every statement is a round trip over the network: there, every
        # request goes to a thread.
        self._on_sqlite = runtime.engine.dialect.name == "sqlite"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        matched = _USERS.fullmatch(scope["path"])
        query: bytes = scope.get("query_string", b"")
        if (
            matched is None
            or method not in ("GET", "POST")
            # Refused by the full stack's input guard, in its words.
            or has_nul(scope.get("raw_path") or scope["path"].encode())
            or has_nul(query)
        ):
            await self.app(scope, receive, send)
            return
        read: list[Message] = []
        handler = (
            _lookup(dict(parse_qsl(query.decode("latin-1"), keep_blank_values=True)))
            if method == "GET"
            else await _create(receive, read)
        )
        response = None
        if handler is not None:
            access = ScimAccess(
                Request(scope),
                matched[1],
                "get:users" if method == "GET" else "post:users",
                self.runtime,
                self.scim.state.scim_credentials,
                may_write=not (method == "GET" and self._on_sqlite),
            )
            response = await self._respond(access, handler)
        if response is None:
            await self.app(scope, replay(read, receive), send)
            return
        await send(
            {
                "type": "http.response.start",
                "status": response.status_code,
                "headers": with_security_headers(response.raw_headers),
            }
        )
        await send({"type": "http.response.body", "body": response.body})

    async def _respond(self, access: ScimAccess, handler: Handler) -> ScimResponse | None:
        """:func:`_answer` on the event loop when ``access`` may not write, and for a write on
        SQLite while the write lock is free; else (a read that must write after all, a write
        that found the lock taken, anything on PostgreSQL) in this path's thread pool.

        A create on the loop instead of the writer's thread took 1.08-1.09 ms of CPU against
        1.32-1.34, and 868-872 creates a second against 705-714 (4 in flight, alternating
        runs): handing each create to a thread and back cost the loop and the thread their
        turns at the interpreter lock. The loop tries the write lock without waiting
        (:data:`~expressway.storage.engine.NO_WAIT_OPTION`); when another process or this one's
        writer holds it, nothing has been done yet, and the create goes to the writer."""
        if not access.may_write:
            try:
                return _answer(access, handler)
            except WriteNeeded:
                access = replace(access, may_write=True)
        if self._on_sqlite and not access.reads:
            try:
                return _answer(replace(access, wait=False), handler)
            except WriteLockTaken:
                pass
        threads = _writer if self._on_sqlite and not access.reads else _threads
        return await asyncio.get_running_loop().run_in_executor(threads, _answer, access, handler)


def _lookup(query: dict[str, str]) -> Handler:
    """A list or lookup with the query's parameters."""

    def handler(ctx: Scim) -> ScimResponse:
        return users.endpoints.list_from_query(ctx, query)

    return handler


async def _create(receive: Receive, read: list[Message]) -> Handler | None:
    """A create with the request's JSON body; None when the body is too long, cut short or not
    JSON (the full stack refuses it)."""
    body = await read_body(receive, read, MAX_BODY_BYTES)
    if body is None:
        return None
    try:
        document = parsed_json(body)
    except ScimError:
        return None

    def handler(ctx: Scim) -> ScimResponse:
        return users.provision(ctx, document)

    return handler


def _answer(access: ScimAccess, handler: Handler) -> ScimResponse | None:
    """The handler's answer in its committed transaction, or None when it refused or failed
    (the transaction was then rolled back, and the full stack does the request again).
    :class:`WriteNeeded` goes up: the request is to be done again where it may write."""
    try:
        with access.open() as ctx:
            return handler(ctx)
    except (WriteNeeded, WriteLockTaken):
        raise
    except (ScimError, TenantError, DataError):
        return None
    except Exception as exc:
        if database_fault(exc) is None:
            # Its type only: the message of a database error can quote the request's values.
            logger.warning("SCIM request handed to the full stack after %s", type(exc).__name__)
        return None
