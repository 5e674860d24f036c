"""Per-request dependencies of the SCIM server: the connection's bearer token, its scope, the
unit of work, the request body, and the answers' media type.

A token authenticates only for the connection in the URL: the lookup is by the token's SHA-256
digest and the connection together, joined to the SCIM configuration and the connection in one
query (:func:`connections.scim_credentials`), so no stored value is compared with the token
itself, and another connection's token, an expired one or one whose SCIM configuration was
removed finds nothing. Every refusal is the same 401, which says nothing about whether the
connection exists. What a token opens is kept for a moment by :mod:`credentials` (a revocation
through this process is seen at once, one by another replica within two seconds). The token's
``last_used_at`` is kept to the minute, as Auth0 keeps it.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fastapi import Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session

from expressway import json_text
from expressway.scim.errors import SCIM_MEDIA_TYPE, ScimError, forbidden, invalid_syntax
from expressway.storage.engine import unit_of_work
from expressway.tenant import logs
from expressway.tenant.rows import ConnectionRow, ScimConfigurationRow, ScimTokenRow
from expressway.tenant.runtime import TenantRuntime
from expressway.tenant.scim.credentials import CredentialsCache
from expressway.tenant.services import connections

#: Request bodies larger than this are refused unread (a PATCH of a big group stays far below).
MAX_BODY_BYTES = 1_048_576
#: No token this long was ever minted; longer ones are refused without hashing.
MAX_TOKEN_LENGTH = 512
#: Log type codes of SCIM writes, after Auth0's ``s…``/``f…`` pairs.
SUCCESS_LOG = "sscim"
FAILURE_LOG = "fscim"


class ScimUnauthorized(ScimError):
    """A 401 with the RFC 6750 challenge a bearer-token client expects."""

    def __init__(self, detail: str, *, token_given: bool) -> None:
        super().__init__(401, detail)
        self.challenge = 'Bearer error="invalid_token"' if token_given else "Bearer"


class ScimResponse(JSONResponse):
    media_type = SCIM_MEDIA_TYPE


@dataclass
class Scim:
    """What a SCIM handler works with."""

    session: Session
    runtime: TenantRuntime
    request: Request
    connection: ConnectionRow
    config: ScimConfigurationRow
    token: ScimTokenRow

    @functools.cached_property
    def now(self) -> datetime:
        """The request's time, read once: the rows it writes and its log event carry the same
        instant (and the same object, whose stored form is then worked out once)."""
        return self.runtime.clock.now()

    @property
    def base_url(self) -> str:
        return base_url(self.runtime, self.connection.id)

    def log(
        self, description: str, *, details: dict[str, Any] | None = None, **fields: Any
    ) -> None:
        """Record a successful write as an ``sscim`` event in this request's transaction (one
        Core insert, as every provisioning write logs one)."""
        logs.insert(
            self.session,
            at=self.now,
            type=SUCCESS_LOG,
            description=description,
            connection=self.connection.name,
            connection_id=self.connection.id,
            ip=self.request.client.host if self.request.client else None,
            user_agent=self.request.headers.get("user-agent"),
            details={
                # The scope's path: building ``request.url`` to read it cost a create 8 µs.
                "request": {"method": self.request.method, "path": self.request.scope["path"]},
                "scim_token_id": self.token.token_id,
                **(details or {}),
            },
            **fields,
        )


def base_url(runtime: TenantRuntime, connection_id: str) -> str:
    return f"{runtime.settings.tenant_issuer}scim/v2/connections/{connection_id}"


def get_runtime(request: Request) -> TenantRuntime:
    runtime: TenantRuntime = request.app.state.runtime
    return runtime


def _bearer_token(request: Request) -> str:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise ScimUnauthorized("a bearer token is required", token_given=False)
    return token


def _authenticate(
    cache: CredentialsCache,
    session: Session,
    runtime: TenantRuntime,
    connection_id: str,
    token: str,
) -> connections.ScimCredentials:
    found = (
        cache.credentials(session, runtime.clock.now(), connection_id, token)
        if len(token) <= MAX_TOKEN_LENGTH
        else None
    )
    if found is None:
        raise ScimUnauthorized("the bearer token is not valid here", token_given=True)
    return found


class WriteNeeded(Exception):
    """A read that may not write (:attr:`ScimAccess.may_write`) has a write to make first."""


def _mark_used(runtime: TenantRuntime, session: Session | None, token: ScimTokenRow) -> None:
    """Record the token's use to the minute: in the request's own transaction for a write, in a
    short one of its own for a read, whose transaction stays read-only. The token row is the
    cache's, shared and read-only: the use is an ``UPDATE`` of its own, never a change to it."""
    now = runtime.clock.now()
    if not connections.needs_use_mark(token, now):
        return
    if session is not None:
        connections.mark_scim_token_used(session, now, token.token_id)
        return
    with unit_of_work(runtime.sessions) as writing:
        connections.mark_scim_token_used(writing, now, token.token_id)


@dataclass(frozen=True)
class ScimAccess:
    """A SCIM request on its way to its handler: the token is checked, and the transaction
    opened, by :meth:`open` in the handler's own thread. A dependency that opened them would
    cost two more hops between the event loop and the thread pool (in and out of it) on every
    request."""

    request: Request
    connection_id: str
    scope: str | None
    runtime: TenantRuntime
    #: The SCIM server's cache of what tokens open (one per server, shared by every request).
    credentials: CredentialsCache
    #: Whether a read may record the token's use, a write of its own that can wait for SQLite's
    #: write lock. A read that may not, and has to, raises :class:`WriteNeeded` before anything
    #: else is done.
    may_write: bool = True

    @property
    def reads(self) -> bool:
        """Reads (no scope, or a ``get:`` one) run in a read-only transaction: on SQLite they
        never take the write lock, so they do not queue behind provisioning."""
        return self.scope is None or self.scope.startswith("get:")

    @contextmanager
    def open(self) -> Iterator[Scim]:
        """A valid token of the URL's connection holding the scope (any valid token when
        ``None``); yields the request's context, committed when the block ends normally."""
        runtime = self.runtime
        session = runtime.read_only_sessions() if self.reads else runtime.sessions()
        try:
            with self.joined(session) as ctx:
                yield ctx
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    @contextmanager
    def joined(self, session: Session) -> Iterator[Scim]:
        """:meth:`open` in ``session``'s transaction, which its owner commits: for a request
        written in a batch of them (:mod:`~expressway.tenant.scim.fast_path`)."""
        request, scope, runtime = self.request, self.scope, self.runtime
        token = _bearer_token(request)
        found = _authenticate(self.credentials, session, runtime, self.connection_id, token)
        if scope is not None and scope not in found.token.scopes:
            raise forbidden(f"the token lacks the scope {scope}")
        if self.reads:
            if not self.may_write and connections.needs_use_mark(found.token, runtime.clock.now()):
                raise WriteNeeded
            _mark_used(runtime, None, found.token)
        request.state.scim_connection_name = found.connection.name
        request.state.scim_token_id = found.token.token_id
        yield Scim(session, runtime, request, found.connection, found.config, found.token)
        if not self.reads:
            # Last, so that on PostgreSQL the token's row is locked only while committing.
            _mark_used(runtime, session, found.token)


def uses(scope: str | None = None) -> Any:
    """``access: ScimAccess = uses("get:users")`` in a handler's signature, then
    ``with access.open() as ctx:`` in its body."""

    async def dependency(request: Request, connection_id: str) -> ScimAccess:
        state = request.app.state
        return ScimAccess(request, connection_id, scope, state.runtime, state.scim_credentials)

    return Depends(dependency)


async def json_body(request: Request) -> Any:
    """The request's JSON body, whatever its content type says (Okta sends
    ``application/json``, others ``application/scim+json``)."""
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        raise ScimError(413, f"the request body is larger than {MAX_BODY_BYTES} bytes")
    return parsed_json(body)


def parsed_json(body: bytes) -> Any:
    """A request body as JSON (:func:`json_text.parse`: no ``NaN`` or ``Infinity``);
    ``invalidSyntax`` naming the problem when it is not JSON."""
    try:
        return json_text.parse(body)
    except json.JSONDecodeError as exc:
        raise invalid_syntax(f"the request body is not valid JSON: {exc.msg}") from exc


def record_failure(request: Request, error: ScimError) -> None:
    """An ``fscim`` event for a refused write, in a transaction of its own (the request's was
    rolled back)."""
    runtime = get_runtime(request)
    connection_id = request.path_params.get("connection_id")
    session = runtime.sessions()
    try:
        logs.record(
            session,
            at=runtime.clock.now(),
            type=FAILURE_LOG,
            description=f"Failed SCIM {request.method}: {error.detail}"[:500],
            connection=getattr(request.state, "scim_connection_name", None),
            connection_id=connection_id[:64] if isinstance(connection_id, str) else None,
            ip=request.client.host if request.client else None,
            user_agent=request.headers.get("user-agent"),
            details={
                "request": {"method": request.method, "path": request.scope["path"][:1024]},
                "status": error.status,
                "scimType": error.scim_type,
                "scim_token_id": getattr(request.state, "scim_token_id", None),
            },
        )
        session.commit()
    finally:
        session.close()
