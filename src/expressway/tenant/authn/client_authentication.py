"""Authenticating a client at the token endpoint: by secret, by ``private_key_jwt``, or, for a
public client (``token_endpoint_auth_method`` ``none``), by its client_id alone."""

from __future__ import annotations

import functools
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, delete
from sqlalchemy.orm import Session

from expressway import hashing
from expressway.oauth.assertions import (
    VerifiedAssertion,
    check_client_assertion,
    unverified_client_id,
)
from expressway.oauth.client_auth import PresentedCredentials
from expressway.oauth.errors import InvalidClient, TooManyAttempts
from expressway.storage.engine import dialect_upsert_insert
from expressway.tenant import logs
from expressway.tenant.authn import hot_rows
from expressway.tenant.rows import ClientRow, UsedAssertionRow
from expressway.tenant.runtime import TenantRuntime
from expressway.tenant.services import throttling

#: A digest no secret hashes to, compared against when the client has no secret, so that the
#: answer takes as long as for a wrong secret.
_NO_SECRET_DIGEST = "0" * 64


def assertion_audiences(runtime: TenantRuntime) -> tuple[str, ...]:
    """RFC 7523 §3: the issuer identifies us; with or without its slash, or the token endpoint."""
    issuer = runtime.settings.tenant_issuer
    return (issuer, issuer.rstrip("/"), f"{issuer}oauth/token")


_USED_ASSERTIONS: Table = UsedAssertionRow.__table__  # type: ignore[assignment]

#: When a record of a token whose ``exp`` is beyond what a datetime can hold is swept: never.
_NEVER = datetime(9000, 1, 1, tzinfo=UTC)


def _forget_after(expires_at: int) -> datetime:
    """When the record of a ``jti`` may go: a minute after its token expires."""
    try:
        return datetime.fromtimestamp(expires_at, UTC) + timedelta(seconds=60)
    except (OverflowError, OSError, ValueError):
        return _NEVER


def remember_assertion(
    runtime: TenantRuntime, session: Session, client_id: str, jti: str, expires_at: int
) -> None:
    """Record the ``jti`` in the request's transaction; a second use, anywhere, is refused.

    The primary key makes the check and the record one insert: two replicas racing on one
    assertion cannot both succeed, and the token is only handed out after the commit.
    """
    if (client_id, jti) not in remember_assertions(
        runtime, session, [(client_id, jti, expires_at)]
    ):
        raise InvalidClient("client_assertion jti has already been used")


def remember_assertions(
    runtime: TenantRuntime, session: Session, assertions: Sequence[tuple[str, str, int]]
) -> set[tuple[str, str]]:
    """Record each (client_id, jti, exp) in one statement (a Core insert: the rows are never read
    back); answer the (client_id, jti) that were new. One already recorded, by any replica, is
    left as it is and not in the answer."""
    if not assertions:
        return set()
    now = runtime.clock.now()
    if sweep_assertions_now(len(assertions)):
        session.execute(SWEEP_ASSERTIONS, {"now": now})
    statement = remember_assertions_statement(session.get_bind().dialect.name)
    rows = assertion_records(assertions)
    return {(client_id, jti) for client_id, jti in session.execute(statement, rows)}


def sweep_assertions_now(recorded: int) -> bool:
    """Whether the records of expired assertions are to be swept along with ``recorded`` new
    ones: now and then, about once in 64 records."""
    return secrets.randbelow(64) < recorded


#: The records of expired assertions (``now`` bound by that name): they can no longer match a
#: valid assertion.
SWEEP_ASSERTIONS = delete(_USED_ASSERTIONS).where(_USED_ASSERTIONS.c.expires_at < bindparam("now"))


def assertion_records(assertions: Sequence[tuple[str, str, int]]) -> list[dict[str, Any]]:
    """The rows recording each (client_id, jti, exp)."""
    return [
        {"client_id": client_id, "jti": jti, "expires_at": _forget_after(expires_at)}
        for client_id, jti, expires_at in assertions
    ]


@functools.cache
def remember_assertions_statement(dialect: str) -> Any:
    """The insert of assertions' records that leaves one already there as it is, and answers
    the (client_id, jti) of each it inserted."""
    # One statement whatever the number of rows, built once: SQLAlchemy compiles it once, and
    # its "insertmanyvalues" sends the rows as one multi-row INSERT … RETURNING all the same.
    return remember_assertion_statement(dialect).returning(
        _USED_ASSERTIONS.c.client_id, _USED_ASSERTIONS.c.jti
    )


@functools.cache
def remember_assertion_statement(dialect: str) -> Any:
    """The insert of one assertion's record that leaves one already there as it is: the
    statement's count of rows changed says whether it was new (1) or not (0)."""
    return dialect_upsert_insert(dialect, _USED_ASSERTIONS).on_conflict_do_nothing(
        index_elements=["client_id", "jti"]
    )


def is_public(client: ClientRow) -> bool:
    """Whether the client is public: it holds no credential, so it authenticates with ``none``."""
    return client.token_endpoint_auth_method == "none"


def authenticate_client(
    runtime: TenantRuntime,
    session: Session,
    presented: PresentedCredentials,
    *,
    ip: str | None = None,
) -> ClientRow:
    """The client the request from ``ip`` authenticates as; ``invalid_client`` otherwise, and
    ``too_many_attempts`` (429), untried, while the client or the address is throttled.

    Must be the first use of ``session``: a failure is counted in a transaction of its own, so
    the request's is rolled back first (nothing a refused client did may stand anyway).
    """
    limits = throttling.Limits.of(runtime.settings)
    claimed = _claimed_client_id(presented)
    now = runtime.clock.now()
    # Read-only, and closed before the request's session connects: on SQLite the request's
    # transaction takes the write lock at its first statement, and neither this read nor the
    # signature check needs it; the first write (an assertion's jti) takes it.
    with runtime.read_only_sessions() as reading:
        block = throttling.client_block(reading, limits, now, client_id=claimed, ip=ip)
    if block is not None:
        _record_block(runtime, session, block, claimed, ip)
        session.commit()
        raise TooManyAttempts(
            "too many failed client authentications from this address; retry later",
            retry_after=block.retry_after,
        )
    try:
        return _authenticate_client(runtime, session, presented)
    except InvalidClient:
        session.rollback()
        started = throttling.count_client_failure(session, limits, now, client_id=claimed, ip=ip)
        if started is not None:
            _record_block(runtime, session, started, claimed, ip)
        session.commit()
        raise


def _claimed_client_id(presented: PresentedCredentials) -> str:
    """Who the request says it is, unverified: what its failures are counted against."""
    if presented.client_id:
        return presented.client_id
    if presented.assertion:
        return unverified_client_id(presented.assertion) or ""
    return ""


def _record_block(
    runtime: TenantRuntime,
    session: Session,
    block: throttling.Block,
    client_id: str,
    ip: str | None,
) -> None:
    """Auth0's ``limit_mu`` (the address) or ``limit_wc`` (this client from it)."""
    whom = "this IP address" if block.is_per_address else "this client from this IP address"
    logs.record(
        session,
        at=runtime.clock.now(),
        type=block.log_type,
        description=f"Too many failed client authentications from {whom}.",
        client_id=client_id if 0 < len(client_id) <= 64 else None,
        ip=ip,
        details={"retry_after": block.retry_after, "scope": block.scope},
    )


def _authenticate_client(
    runtime: TenantRuntime, session: Session, presented: PresentedCredentials
) -> ClientRow:
    if presented.method == "private_key_jwt":
        client_id, cached, verified = _verify_assertion(
            runtime, presented.assertion or "", presented.client_id
        )
        remember_assertion(runtime, session, client_id, verified.jti, verified.expires_at)
        return cached.attach(session)
    if presented.method in ("client_secret_basic", "client_secret_post"):
        if not presented.client_id:
            raise InvalidClient("client_id is required")
        client = session.get(ClientRow, presented.client_id)
        stored = client.client_secret_hash if client else None
        # Compare even for an unknown client or one without a secret: the same work, the same time.
        matches = hashing.verify_token(stored or _NO_SECRET_DIGEST, presented.secret or "")
        if client is None or stored is None or not matches:
            raise InvalidClient("the client id or secret is wrong")
        return client
    if presented.method == "none":
        # A public client (RFC 6749 §2.1) proves nothing: it is identified, not authenticated,
        # and only a client registered as public may be. PKCE is what protects its codes.
        client = session.get(ClientRow, presented.client_id) if presented.client_id else None
        if client is None or not is_public(client):
            raise InvalidClient("client authentication is required")
        return client
    raise InvalidClient("client authentication is required")


def _verify_assertion(
    runtime: TenantRuntime, assertion: str, client_id: str | None
) -> tuple[str, hot_rows.CachedClient, VerifiedAssertion]:
    """The client an assertion authenticates, read through the cache (see hot_rows for how soon
    a change is seen), and the verified assertion; its jti is the caller's to record."""
    client_id = client_id or unverified_client_id(assertion)
    cached = None
    if client_id:
        # A session of its own, read-only and opened only on a cache miss: the request's session
        # holds no connection yet, and on SQLite would take the write lock at its first read.
        with runtime.read_only_sessions() as reading:
            cached = hot_rows.for_sessions(runtime.sessions).client(reading, client_id)
    if cached is None or client_id is None:
        raise InvalidClient("the client_assertion names no known client")
    verified = check_client_assertion(
        assertion,
        client_id=client_id,
        public_keys=cached.active_public_keys(runtime.clock.now()),
        audiences=assertion_audiences(runtime),
        now=runtime.clock.timestamp(),
    )
    return client_id, cached, verified
