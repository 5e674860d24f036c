"""Running provisioning jobs: :func:`run_due_jobs` runs what is due, one job at a time, and
:class:`ProvisioningWorker` calls it from threads of the workforce process, in as many lanes at
once as ``workforce_provisioning_concurrency`` says.

Lanes need no coordination of their own: a lane is to the others what another replica's worker
is, since a claim is exclusive (its row locked with ``SKIP LOCKED`` on PostgreSQL, the write
lock on SQLite) and a subject's next job is claimable only once its earlier ones are finished.
So one person's jobs still run one after another, in order, while different people's overlap:
one lane does its database and HTTP work while another waits for the app.

Each job takes three short transactions: the claim (committed before the app is called, so a
second worker sees the job taken), the handler's reads, and the settlement (only if the claim
still holds). No transaction is open while the app is called.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import httpx
from sqlalchemy import event
from sqlalchemy.orm import Session

from expressway.storage.engine import unit_of_work
from expressway.storage.faults import log_round_failure
from expressway.workforce.provisioning import backoff, handlers, jobs
from expressway.workforce.runtime import WorkforceRuntime

logger = logging.getLogger("expressway.workforce.provisioning")

#: Jobs one call runs at most, so a flood of work still lets the worker notice it must stop.
BATCH = 500
#: The ``session.info`` flag :func:`jobs.enqueue` sets.
QUEUED_FLAG = "provisioning_queued"


def run_due_jobs(
    runtime: WorkforceRuntime, now: datetime | None = None, *, limit: int = BATCH
) -> int:
    """Run every job due at ``now`` (the runtime's clock when ``None``), each at most once, in
    order; answer how many ran. Tests call it to run jobs deterministically."""
    # The jobs this call ran that could be claimed again at once: those put back in the queue
    # (one waiting for another job is due again at once) and those another worker took over.
    # A finished job cannot be claimed again, so it is not kept: a pass through a backlog of
    # thousands would otherwise send every id it ran with each claim.
    seen: set[str] = set()
    ran = 0
    # The worker looks every few seconds and the queue is nearly always empty: a look needs no
    # write lock, where a claim's transaction takes SQLite's (BEGIN IMMEDIATE) and would make
    # the requests that write wait for it.
    with runtime.read_only_sessions() as session:
        if not jobs.any_due(session, now if now is not None else runtime.clock.now()):
            return 0
    # One HTTP client for the call, opened with its first job: its connections to an app are
    # kept from one job to the next (a push is two requests; a backlog, thousands).
    with _Lane(runtime) as lane:
        while ran < limit and _run_one(runtime, now, seen, lane):
            ran += 1
    return ran


class _Lane:
    """The HTTP client of one :func:`run_due_jobs` call, made when first asked for."""

    def __init__(self, runtime: WorkforceRuntime) -> None:
        self._runtime = runtime
        self._client: httpx.Client | None = None

    def http(self) -> httpx.Client:
        if self._client is None:
            self._client = self._runtime.tenant_http()
        else:
            # No cookie an app set reaches the next job, which may be another customer's app.
            self._client.cookies.clear()
        return self._client

    def __enter__(self) -> _Lane:
        return self

    def __exit__(self, *_: object) -> None:
        if self._client is not None:
            self._client.close()


def _run_one(runtime: WorkforceRuntime, now: datetime | None, seen: set[str], lane: _Lane) -> bool:
    """Claim, run and settle one due job; False when none was due."""
    at = now if now is not None else runtime.clock.now()
    with unit_of_work(runtime.sessions) as session:
        claim = jobs.claim(session, at, seen)
    if claim is None:
        return False
    finished = False
    with _lease_kept(runtime, claim):
        result = handlers.run(runtime, claim, at, lane.http())
    settled_at = now if now is not None else runtime.clock.now()
    with unit_of_work(runtime.sessions) as session:
        job = jobs.held(session, claim)
        if job is None:
            logger.warning("provisioning job %s was taken over; its result is dropped", claim.id)
        else:
            if isinstance(result.outcome, jobs.Done) and result.record is not None:
                result.record(session, settled_at)
            jobs.settle(
                session,
                job,
                result.outcome,
                settled_at,
                max_attempts=runtime.settings.workforce_provisioning_max_attempts,
                backoff=backoff.full_jitter(job.attempts),
            )
            if job.state == jobs.FAILED:
                handlers.on_failed(session, job, settled_at)
            finished = job.state in (jobs.COMPLETED, jobs.FAILED)
    if not finished:
        seen.add(claim.id)
    return True


@contextmanager
def _lease_kept(runtime: WorkforceRuntime, claim: jobs.Claim) -> Iterator[None]:
    """Renew ``claim``'s lease from a thread of its own while the block runs (the app is being
    called), so that a slow app does not let another worker take the job over."""
    done = threading.Event()

    def keep() -> None:
        while not done.wait(jobs.RENEW_EVERY.total_seconds()):
            try:
                with unit_of_work(runtime.sessions) as session:
                    if not jobs.renew(session, claim, runtime.clock.now()):
                        return
            except Exception as exc:
                # A renewal lost to a database outage only lets the lease run out sooner; the
                # job is idempotent and runs again.
                log_round_failure(logger, f"renewing the lease of job {claim.id} failed", exc)

    keeper = threading.Thread(target=keep, name=f"lease-{claim.id}", daemon=True)
    keeper.start()
    try:
        yield
    finally:
        done.set()
        keeper.join()


class ProvisioningWorker:
    """A thread that runs due jobs every ``poll`` seconds, and at once after a commit of this
    process queued one; a pass ends when every lane has found nothing more to run."""

    def __init__(self, runtime: WorkforceRuntime) -> None:
        self._runtime = runtime
        self._poll = runtime.settings.workforce_provisioning_poll_seconds
        self._lanes = runtime.settings.workforce_provisioning_concurrency
        #: The lanes beside the worker's own thread, which runs the first.
        self._pool = (
            ThreadPoolExecutor(self._lanes - 1, thread_name_prefix="expressway-provisioning")
            if self._lanes > 1
            else None
        )
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._passes = 0
        self._running = False
        self._passed = threading.Condition()
        self._thread = threading.Thread(
            target=self._loop, name="expressway-provisioning", daemon=True
        )

    def _after_commit(self, session: Session) -> None:
        if session.info.pop(QUEUED_FLAG, False):
            self._wake.set()

    def _after_rollback(self, session: Session, _transaction: Any) -> None:
        # Rolled back, the jobs were never written.
        session.info.pop(QUEUED_FLAG, None)

    def start(self) -> None:
        event.listen(self._runtime.sessions, "after_commit", self._after_commit)
        event.listen(self._runtime.sessions, "after_soft_rollback", self._after_rollback)
        self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout)
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
        event.remove(self._runtime.sessions, "after_commit", self._after_commit)
        event.remove(self._runtime.sessions, "after_soft_rollback", self._after_rollback)

    def wake(self) -> None:
        self._wake.set()

    def wait_for_fresh_pass(self, timeout: float) -> bool:
        """Wake the worker and wait until a pass that began after this call has ended; answer
        whether one did within ``timeout`` seconds."""
        with self._passed:
            # A pass under way may have looked for jobs before the caller's commit; the one
            # after it cannot have.
            target = self._passes + (2 if self._running else 1)
            self._wake.set()
            return self._passed.wait_for(lambda: self._passes >= target, timeout)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            with self._passed:
                self._running = True
                self._wake.clear()
            self.run_pass()
            with self._passed:
                self._passes += 1
                self._running = False
                self._passed.notify_all()
            self._wake.wait(self._poll)

    def run_pass(self) -> None:
        """Run what is due in every lane, and return when all of them are done (the worker's
        thread calls it; each lane logs its own failure)."""
        others = (
            [self._pool.submit(self._lane) for _ in range(self._lanes - 1)]
            if self._pool is not None
            else []
        )
        self._lane()
        wait(others)

    def _lane(self) -> None:
        try:
            run_due_jobs(self._runtime)
        except Exception as exc:
            # The database is away: try again at the next poll, as the jobs are durable.
            log_round_failure(logger, "the provisioning worker's pass failed", exc)
