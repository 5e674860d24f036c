"""OpenID Connect Back-Channel Logout 1.0, the delivering half: Logout Tokens from the outbox to
the applications' back-channel logout URLs.

:func:`deliver_due` claims the due outbox rows (see
:mod:`expressway.tenant.services.backchannel_logout`), signs a fresh Logout Token for each with
the tenant's key (``typ`` ``logout+jwt``, §2.4), POSTs it form-encoded as ``logout_token`` (§2.5),
and records the outcome:

- a 2xx answer: delivered, logged ``oidc_backchannel_logout_succeeded``;
- no answer, a timeout, a 5xx, a 408 or a 429: tried again after 10 s, 30 s, 2 min, 10 min and
  30 min, then failed;
- any other answer (the receiver refused the token, or redirected): failed at once, since the
  same request would be refused again.

A failure is logged ``oidc_backchannel_logout_failed`` with what went wrong. Tests call
:func:`deliver_due` themselves; a running tenant has :class:`DeliveryWorker` call it in the
background (the ``tenant_backchannel_logout_worker`` setting).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
from starlette.concurrency import run_in_threadpool

from expressway import jose
from expressway.oauth.backchannel_logout import TOKEN_TYPE, logout_token_claims
from expressway.storage.faults import log_round_failure
from expressway.tenant import logs
from expressway.tenant.rows import ClientRow
from expressway.tenant.runtime import TenantRuntime
from expressway.tenant.services.backchannel_logout import (
    DELIVERED,
    FAILED,
    GONE,
    Claimed,
    Outcome,
    any_due,
    claim_due,
    finish_attempt,
    purge_finished,
)

logger = logging.getLogger(__name__)

SUCCESS_LOG = "oidc_backchannel_logout_succeeded"
FAILURE_LOG = "oidc_backchannel_logout_failed"
#: How long a claimed row stays with the worker that claimed it; after that, it is due again.
LEASE = timedelta(seconds=60)
RETRY_DELAYS = tuple(timedelta(seconds=s) for s in (10, 30, 120, 600, 1800))
BATCH = 50
#: Seconds the background worker waits between looks at the outbox when it found nothing.
POLL_INTERVAL = 1.0
#: Most of a receiver's answer read, to quote in the failure's log event.
MAX_ANSWER_BYTES = 1024
_RETRYABLE_STATUSES = (408, 429)


@dataclass
class DeliveryReport:
    """What one :func:`deliver_due` call did."""

    delivered: int = 0
    retrying: int = 0
    failed: int = 0

    @property
    def attempted(self) -> int:
        return self.delivered + self.retrying + self.failed


def logout_token(runtime: TenantRuntime, claimed: Claimed) -> str:
    """A Logout Token for one outbox row, signed now: a fresh ``iat``, ``exp`` and ``jti`` at
    each attempt, so that a receiver that recorded the ``jti`` of an attempt whose answer was
    lost does not refuse the retry as a replay."""
    claims = logout_token_claims(
        issuer=runtime.settings.tenant_issuer,
        audience=claimed.client_id,
        subject=claimed.subject,
        session_id=claimed.session_id,
        now=runtime.clock.timestamp(),
        jti=secrets.token_urlsafe(24),
    )
    return jose.sign_jwt(claims, runtime.signing_keys.current(), typ=TOKEN_TYPE)


def _answer(response: httpx.Response) -> str:
    body = b""
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) >= MAX_ANSWER_BYTES:
            break
    return body[:MAX_ANSWER_BYTES].decode("utf-8", "replace")


def _send(runtime: TenantRuntime, claimed: Claimed) -> Outcome:
    token = logout_token(runtime, claimed)
    try:
        with (
            runtime.backchannel_http() as client,
            client.stream(
                "POST",
                claimed.url,
                data={"logout_token": token},
                headers={"Accept": "application/json"},
            ) as response,
        ):
            status = response.status_code
            answer = "" if 200 <= status < 300 else _answer(response)
    except httpx.HTTPError as exc:
        return Outcome(
            delivered=False,
            retryable=True,
            error=f"the back-channel logout URL could not be reached ({type(exc).__name__})",
        )
    details: dict[str, Any] = {"status_code": status}
    if 200 <= status < 300:
        return Outcome(delivered=True, details=details)
    if 300 <= status < 400:
        return Outcome(
            delivered=False,
            error=f"the receiver answered HTTP {status}; redirects are not followed",
            details=details,
        )
    retryable = status >= 500 or status in _RETRYABLE_STATUSES
    return Outcome(
        delivered=False,
        retryable=retryable,
        error=f"the receiver answered HTTP {status}: {answer[:300]}".rstrip(": "),
        details=details,
    )


def _log(runtime: TenantRuntime, claimed: Claimed, outcome: Outcome, state: str) -> None:
    with runtime.sessions() as session:
        client = session.get(ClientRow, claimed.client_id)
        logs.record(
            session,
            at=runtime.clock.now(),
            type=SUCCESS_LOG if state == DELIVERED else FAILURE_LOG,
            description=(
                "Successfully sent the OIDC Back-Channel Logout request"
                if state == DELIVERED
                else f"Failed to send the OIDC Back-Channel Logout request: {outcome.error}"[:500]
            ),
            client_id=claimed.client_id,
            client_name=client.name if client else None,
            user_id=claimed.subject,
            details={
                "initiator": claimed.initiator,
                "sid": claimed.session_id,
                "url": claimed.url,
                "attempts": claimed.attempts,
                **outcome.details,
            },
        )
        session.commit()


def deliver_due(runtime: TenantRuntime, *, limit: int = BATCH) -> DeliveryReport:
    """Attempt every due Logout Token (up to ``limit``), each once; answer what happened.

    Safe to call from several processes at once: each row is claimed by one of them.
    """
    report = DeliveryReport()
    # Finished rows are kept a week; sweeping them now and then is enough.
    purge = secrets.randbelow(256) == 0
    if not purge:
        # The worker comes every second, and the outbox is nearly always empty: a look needs
        # no write lock, where the claim's transaction takes SQLite's (BEGIN IMMEDIATE) and
        # would make a request that writes wait for it.
        with runtime.read_only_sessions() as session:
            if not any_due(session, runtime.clock.now()):
                return report
    with runtime.sessions() as session:
        now = runtime.clock.now()
        if purge:
            purge_finished(session, now)
        claimed = claim_due(session, now, limit=limit, lease=LEASE)
        session.commit()
    for item in claimed:
        outcome = _send(runtime, item)
        with runtime.sessions() as session:
            state = finish_attempt(
                session, runtime.clock.now(), item, outcome, retry_delays=RETRY_DELAYS
            )
            session.commit()
        if state == GONE:
            continue
        if state == DELIVERED:
            report.delivered += 1
        elif state == FAILED:
            report.failed += 1
        else:
            report.retrying += 1
            logger.warning(
                "back-channel logout to %s for client %s failed (attempt %d), will retry: %s",
                item.url,
                item.client_id,
                item.attempts,
                outcome.error,
            )
        if state in (DELIVERED, FAILED):
            _log(runtime, item, outcome, state)
            if state == FAILED:
                logger.warning(
                    "back-channel logout to %s for client %s failed for good: %s",
                    item.url,
                    item.client_id,
                    outcome.error,
                )
    return report


class DeliveryWorker:
    """Calls :func:`deliver_due` in the background until stopped; a failing round (the database
    unreachable for a moment) is logged and the next one runs as usual."""

    def __init__(
        self,
        runtime: TenantRuntime,
        *,
        interval: float = POLL_INTERVAL,
        deliver: Callable[[TenantRuntime], DeliveryReport] = deliver_due,
    ) -> None:
        self._runtime = runtime
        self._interval = interval
        self._deliver = deliver
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        self._stopping.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        while not self._stopping.is_set():
            busy = False
            try:
                report = await run_in_threadpool(self._deliver, self._runtime)
                # A full batch means more may be waiting: go again at once.
                busy = report.attempted >= BATCH
            except Exception as exc:
                log_round_failure(logger, "a back-channel logout delivery round failed", exc)
            if busy:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self._interval)


def lifespan(
    runtime: TenantRuntime,
) -> Callable[[Any], contextlib.AbstractAsyncContextManager[None]]:
    """The tenant app's lifespan: the delivery worker runs while the app serves, if enabled."""

    @asynccontextmanager
    async def run(_app: Any) -> AsyncIterator[None]:
        if not runtime.settings.tenant_backchannel_logout_worker:
            yield
            return
        worker = DeliveryWorker(runtime)
        worker.start()
        try:
            yield
        finally:
            await worker.stop()

    return run
