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
carries. On SQLite a lookup runs on the event loop, and so do creates while the write lock is
free (else in one hop to the thread that writes, which waits for it); on PostgreSQL everything
runs in one hop to a thread.

On SQLite the creates that arrive together are written in one transaction
(:class:`~expressway.storage.group_commit.GroupCommit`), each in a savepoint of its own
(:func:`~expressway.storage.sqlite_driver.savepoint`): the transaction's start, its commit and
the WAL's pages that every create touches (the tables' last pages, the indexes on creation
time) are paid once per batch instead of once per create. A create refused in the batch undoes
only its own savepoint and goes down the stack once the batch has committed, as a refusal always
does; a batch that cannot commit sends every create of it down the stack, where each is done
again in a transaction of its own. Nothing is answered before its batch has committed.

It answers only what succeeds. Any refusal (a bad token, a missing scope, an unparsable filter, a
taken ``userName``, a body that is not JSON), a fault of the database, and every request of
another shape, goes down the stack unchanged, with the body read so far handed on as it came: the
transaction this path opened was rolled back, so the SCIM server's own handlers do the request
again and answer it, record it (``fscim``) and log it exactly as they would have. Tests compare
the two paths' answers header by header (``tests/tenant/scim/test_fast_path.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from urllib.parse import parse_qsl

from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from expressway.scim.errors import ScimError
from expressway.storage.engine import WriteLockTaken
from expressway.storage.faults import database_fault
from expressway.storage.group_commit import GroupCommit
from expressway.storage.sqlite_driver import SavepointLost, savepoint
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
#: Creates written in one transaction at most: a batch holds SQLite's write lock for about a
#: millisecond a create.
MAX_CREATES_A_BATCH = 32

Handler = Callable[[Scim], ScimResponse]
#: A create waiting for its batch: its access and its handler.
Create = tuple[ScimAccess, Handler]


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
        #: On SQLite, the creates' batches: tried on the event loop while the write lock is
        #: free, else written by the thread that writes.
        self.creates: GroupCommit[Create, ScimResponse | None] | None = (
            GroupCommit(
                self._write_creates,
                apply_now=self._write_creates_now,
                max_batch=MAX_CREATES_A_BATCH,
                executor=_writer,
            )
            if self._on_sqlite
            else None
        )

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
        """:func:`_answer` on the event loop when ``access`` may not write; a create on SQLite
        in its batch (:attr:`creates`); else (a read that must write after all, anything on
        PostgreSQL) in this path's thread pool."""
        if not access.may_write:
            try:
                return _answer(access, handler)
            except WriteNeeded:
                access = replace(access, may_write=True)
        if self.creates is not None and not access.reads:
            return await self.creates.submit((access, handler))
        return await asyncio.get_running_loop().run_in_executor(_threads, _answer, access, handler)

    def _write_creates_now(self, creates: Sequence[Create]) -> list[ScimResponse | None] | None:
        """The batch written on the event loop, if SQLite's write lock is free (else None:
        nothing was done, and the writer's thread takes the batch).

        Creates on the loop instead of the writer's thread took 1.08-1.09 ms of CPU against
        1.32-1.34, and 868-872 creates a second against 705-714 (4 in flight, alternating runs,
        one create a transaction): handing each to a thread and back cost the loop and the
        thread their turns at the interpreter lock. The loop tries the write lock without
        waiting (:data:`~expressway.storage.engine.NO_WAIT_OPTION`)."""
        return self._write_batch(self.runtime.no_wait_sessions(), creates)

    def _write_creates(self, creates: Sequence[Create]) -> list[ScimResponse | None]:
        """The batch written in the writer's thread, which waits for the write lock."""
        answers = self._write_batch(self.runtime.sessions(), creates)
        if answers is None:  # pragma: no cover - a waiting transaction's start is not refused
            return [None] * len(creates)
        return answers

    def _write_batch(
        self, session: Session, creates: Sequence[Create]
    ) -> list[ScimResponse | None] | None:
        """Each create's answer, each in a savepoint of ``session``'s transaction, committed
        together; None for one refused (undone) or when the batch could not commit. None in all
        when the transaction could not begin because the write lock was taken.

        A create alone needs no savepoint: refused, its transaction is rolled back, as it was
        before creates were batched (a savepoint cost a create alone 3 statements)."""
        try:
            try:
                session.connection()  # BEGIN IMMEDIATE
            except WriteLockTaken:
                return None
            several = len(creates) > 1
            answers = [_answer(access, handler, session, several) for access, handler in creates]
            if not several and answers[0] is None:
                session.rollback()
                return answers
            session.commit()
        except Exception as exc:
            session.rollback()
            _hand_down(exc)
            return [None] * len(creates)
        finally:
            session.close()
        return answers


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


def _answer(
    access: ScimAccess,
    handler: Handler,
    session: Session | None = None,
    in_savepoint: bool = False,
) -> ScimResponse | None:
    """The handler's answer in its committed transaction, or None when it refused or failed
    (the transaction was then rolled back, and the full stack does the request again).
    :class:`WriteNeeded` goes up: the request is to be done again where it may write.

    Given a ``session``, in its transaction, which its owner commits (or rolls back when the
    answer is None): the answer stands only once it has. ``in_savepoint``: in a savepoint of
    that transaction, undone when the answer is None; :class:`SavepointLost` goes up (the
    transaction then holds what could not be undone)."""
    try:
        if session is None:
            with access.open() as ctx:
                return handler(ctx)
        undoable = savepoint(session) if in_savepoint else contextlib.nullcontext()
        with undoable, access.joined(session) as ctx:
            return handler(ctx)
    except (WriteNeeded, WriteLockTaken, SavepointLost):
        raise
    except Exception as exc:
        _hand_down(exc)
        return None


def _hand_down(exc: Exception) -> None:
    """Log why a request goes down to the full stack, unless it is a refusal or a database
    fault, which the full stack answers and logs as it always does."""
    if isinstance(exc, ScimError | TenantError | DataError) or database_fault(exc) is not None:
        return
    # Its type only: the message of a database error can quote the request's values.
    logger.warning("SCIM request handed to the full stack after %s", type(exc).__name__)
