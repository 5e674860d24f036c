"""Provisioning jobs: the outbox rows, their states, and how a worker claims and settles them.

States::

    QUEUED ──claim──▶ IN_PROGRESS ──done──▶ COMPLETED
       ▲                  │  ├──retryable failure, attempts left──▶ QUEUED (next_attempt_at later)
       │                  │  ├──permanent failure, or no attempt left──▶ FAILED ──retry──▶ QUEUED
       └── lease ran out ─┘  └──waits for another job (not an attempt)──▶ QUEUED

Jobs of one subject on one app run in creation order: a job is claimed only when no earlier job
of its ``subject_key`` on its app is still QUEUED or IN_PROGRESS. Claiming locks the row with
``FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite's write transaction serialises claims anyway)
and gives it a lease; a job whose worker died is claimed again when the lease runs out, which
is safe because every job is idempotent.

Every state change is a System Log event of the job's ``eventType``, targeting the job (by its
id), its subject and the app, so ``filter=target.id eq "{jobId}"`` tells a job's whole story.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, bindparam, exists, or_, select, update
from sqlalchemy.orm import Session, aliased

from expressway.workforce import ids, system_log
from expressway.workforce.errors import InvalidInput, NotFound
from expressway.workforce.rows import AppRow, GroupRow, ProvisioningJobRow, UserRow

QUEUED = "QUEUED"
IN_PROGRESS = "IN_PROGRESS"
COMPLETED = "COMPLETED"
FAILED = "FAILED"
STATES = (QUEUED, IN_PROGRESS, COMPLETED, FAILED)
PENDING_STATES = (QUEUED, IN_PROGRESS)

USER = "USER"
GROUP = "GROUP"

USER_PUSH = "user.push"
USER_REACTIVATE = "user.reactivate"
USER_UPDATE = "user.update"
USER_DEACTIVATE = "user.deactivate"
GROUP_PUSH = "group.push"
GROUP_MEMBERS = "group.members"
GROUP_DELETE = "group.delete"
USER_IMPORT = "user.import"
UNIVERSAL_LOGOUT = "universal_logout"

#: Okta's ``eventType`` and display message of each kind's events.
EVENTS: dict[str, tuple[str, str]] = {
    USER_PUSH: ("application.provision.user.push", "Push new user to app"),
    USER_REACTIVATE: ("application.provision.user.reactivate", "Reactivate user in app"),
    USER_UPDATE: ("application.provision.user.push_profile", "Push user profile update to app"),
    USER_DEACTIVATE: ("application.provision.user.deactivate", "Deactivate user in app"),
    GROUP_PUSH: ("application.provision.group.push", "Push group to app"),
    GROUP_MEMBERS: (
        "application.provision.group_membership.update",
        "Push group membership to app",
    ),
    GROUP_DELETE: ("application.provision.group.remove", "Remove pushed group from app"),
    USER_IMPORT: ("application.provision.user.import", "Import users from app"),
    UNIVERSAL_LOGOUT: (
        "user.authentication.universal_logout",
        "Universal Logout sent to app",
    ),
}

JOB_ID_PREFIX = "pjb"
#: How long a claim holds a job unless renewed: a dead worker's job (and every later job of its
#: subject, which waits for it) runs again this soon after the worker died. A live worker renews
#: its lease every :data:`RENEW_EVERY` while it calls the app (:func:`renew`), however long the
#: calls take, so the lease need not outlast the slowest job.
LEASE = timedelta(seconds=30)
RENEW_EVERY = LEASE / 3
MAX_ERROR_LENGTH = 2000


@dataclass(frozen=True)
class Claim:
    """A job a worker holds: what it needs to run it and to settle it afterwards."""

    id: str
    seq: int
    org_id: str
    app_id: str
    kind: str
    subject_type: str
    subject_id: str
    payload: dict[str, Any]
    attempts: int
    lease_token: str


@dataclass(frozen=True)
class Done:
    """The job did what it had to (``SUCCESS``), or found nothing to do (``SKIPPED``)."""

    result: dict[str, Any] = field(default_factory=dict)
    skipped: str | None = None


@dataclass(frozen=True)
class Retry:
    """A failure that may pass: the network, a 5xx, a 429 (``retry_after`` when it said)."""

    reason: str
    retry_after: timedelta | None = None


@dataclass(frozen=True)
class Fail:
    """A failure that will not pass by itself (a 4xx): the job fails at once."""

    reason: str


@dataclass(frozen=True)
class Wait:
    """The job needs another job to finish first; not an attempt."""

    until: datetime
    reason: str


Outcome = Done | Retry | Fail | Wait


def event_type(job: ProvisioningJobRow) -> str:
    if job.kind == GROUP_MEMBERS:
        return f"application.provision.group_membership.{job.payload.get('op', 'update')}"
    return EVENTS[job.kind][0]


def _subject(session: Session, job: ProvisioningJobRow) -> system_log.Party:
    if job.subject_type == USER:
        user = session.get(UserRow, job.subject_id)
        return system_log.Party.of_user(user) if user else system_log.Party(job.subject_id, "User")
    group = session.get(GroupRow, job.subject_id)
    return (
        system_log.Party.of_group(group) if group else system_log.Party(job.subject_id, "UserGroup")
    )


def _log(
    session: Session,
    job: ProvisioningJobRow,
    now: datetime,
    outcome: system_log.Outcome,
    detail: str,
    *,
    severity: str = "INFO",
    debug: dict[str, Any] | None = None,
) -> None:
    app = session.get(AppRow, job.app_id)
    _, message = EVENTS[job.kind]
    system_log.record(
        session,
        job.org_id,
        now,
        system_log.Event(
            event_type=event_type(job),
            display_message=f"{message}: {detail}"[:255],
            actor=system_log.SYSTEM,
            targets=[
                system_log.Party(job.id, "ProvisioningJob", job.kind, message),
                _subject(session, job),
                system_log.Party.of_app(app)
                if app
                else system_log.Party(job.app_id, "AppInstance"),
            ],
            outcome=outcome,
            severity=severity,
            debug_data={
                "jobId": job.id,
                "kind": job.kind,
                "state": job.state,
                "attempt": job.attempts,
                **(debug or {}),
            },
        ),
    )


def subject_key(subject_type: str, subject_id: str, lane: str | None = None) -> str:
    """A subject's ordering key; a ``lane`` keeps work (a logout) from waiting behind the
    subject's provisioning."""
    key = f"{subject_type.lower()}:{subject_id}"
    return f"{lane}:{key}" if lane else key


def enqueue(
    session: Session,
    app: AppRow,
    kind: str,
    subject_type: str,
    subject_id: str,
    now: datetime,
    payload: dict[str, Any] | None = None,
    *,
    lane: str | None = None,
) -> ProvisioningJobRow:
    """A new QUEUED job, in the caller's transaction: it commits with the change it is for."""
    job = ProvisioningJobRow(
        id=ids.okta_id(JOB_ID_PREFIX, now),
        org_id=app.org_id,
        app_id=app.id,
        kind=kind,
        subject_type=subject_type,
        subject_id=subject_id,
        subject_key=subject_key(subject_type, subject_id, lane),
        payload=dict(payload or {}),
        state=QUEUED,
        attempts=0,
        next_attempt_at=now,
        lease_token=None,
        lease_expires_at=None,
        last_error=None,
        result={},
        created_at=now,
        updated_at=now,
        started_at=None,
        finished_at=None,
    )
    session.add(job)
    session.flush()
    _log(session, job, now, system_log.Outcome("UNKNOWN", "queued"), "queued")
    # Read by the worker's after-commit hook: a commit that queued work wakes it at once.
    session.info["provisioning_queued"] = True
    return job


def has_pending(session: Session, app_id: str, kind: str, subject_id: str) -> bool:
    """Whether a job of ``kind`` for ``subject_id`` on the app is queued and not started."""
    return (
        session.scalars(
            select(ProvisioningJobRow.seq).where(
                ProvisioningJobRow.app_id == app_id,
                ProvisioningJobRow.kind == kind,
                ProvisioningJobRow.subject_id == subject_id,
                ProvisioningJobRow.state == QUEUED,
                ProvisioningJobRow.attempts == 0,
            )
        ).first()
        is not None
    )


def pending_for(session: Session, app_id: str, key: str) -> ProvisioningJobRow | None:
    """The first unfinished job of a subject on an app, if any."""
    return session.scalars(
        select(ProvisioningJobRow)
        .where(
            ProvisioningJobRow.app_id == app_id,
            ProvisioningJobRow.subject_key == key,
            ProvisioningJobRow.state.in_(PENDING_STATES),
        )
        .order_by(ProvisioningJobRow.seq)
    ).first()


def _due() -> ColumnElement[bool]:
    """A job due at the bound ``now``: queued and past its backoff, or leased by a worker whose
    lease ran out."""
    now = bindparam("now", type_=ProvisioningJobRow.next_attempt_at.type)
    return or_(
        and_(ProvisioningJobRow.state == QUEUED, ProvisioningJobRow.next_attempt_at <= now),
        and_(ProvisioningJobRow.state == IN_PROGRESS, ProvisioningJobRow.lease_expires_at <= now),
    )


def _claimable_statement() -> Select[ProvisioningJobRow]:
    earlier = aliased(ProvisioningJobRow)
    return (
        select(ProvisioningJobRow)
        .where(
            _due(),
            ~exists(
                select(earlier.seq).where(
                    earlier.app_id == ProvisioningJobRow.app_id,
                    earlier.subject_key == ProvisioningJobRow.subject_key,
                    earlier.seq < ProvisioningJobRow.seq,
                    earlier.state.in_(PENDING_STATES),
                )
            ),
            # The ids to pass over; an empty list passes over none.
            ProvisioningJobRow.id.not_in(bindparam("exclude", expanding=True)),
        )
        .order_by(ProvisioningJobRow.seq)
        .limit(1)
        # SKIP LOCKED: a second worker passes over the row the first is claiming instead of
        # waiting for it; ``of`` keeps the lock off the subquery's rows.
        .with_for_update(skip_locked=True, of=ProvisioningJobRow)
    )


#: The claim's query, built once (building it, with its aliased subquery, cost more than running
#: it).
_CLAIMABLE = _claimable_statement()


#: Whether any job is due: the claim's query without its ordering, its check of the subject's
#: earlier jobs and its lock.
_ANY_DUE = select(ProvisioningJobRow.id).where(_due()).limit(1)


def any_due(session: Session, now: datetime) -> bool:
    """Whether a job is due or its lease has run out: a read, for the worker to look before it
    takes the write lock to claim (a job it finds may still wait for an earlier one of its
    subject; :func:`claim` decides)."""
    return session.scalar(_ANY_DUE, {"now": now}) is not None


def claim(session: Session, now: datetime, exclude: set[str] | None = None) -> Claim | None:
    """Take the oldest due job whose subject has no earlier unfinished job, and lease it."""
    job = session.scalars(_CLAIMABLE, {"now": now, "exclude": list(exclude or ())}).first()
    if job is None:
        return None
    job.state = IN_PROGRESS
    job.attempts += 1
    job.lease_token = secrets.token_urlsafe(24)
    job.lease_expires_at = now + LEASE
    job.started_at = now
    job.updated_at = now
    session.flush()
    _log(
        session,
        job,
        now,
        system_log.Outcome("UNKNOWN", f"attempt {job.attempts} started"),
        f"attempt {job.attempts} started",
    )
    return Claim(
        id=job.id,
        seq=job.seq,
        org_id=job.org_id,
        app_id=job.app_id,
        kind=job.kind,
        subject_type=job.subject_type,
        subject_id=job.subject_id,
        payload=dict(job.payload),
        attempts=job.attempts,
        lease_token=job.lease_token,
    )


def renew(session: Session, claim: Claim, now: datetime) -> bool:
    """Extend the lease of a job this claim still holds, to ``now`` + :data:`LEASE`; False when
    the claim no longer holds it (it ran out and another worker took the job)."""
    renewed = session.execute(
        update(ProvisioningJobRow)
        .where(
            ProvisioningJobRow.id == claim.id,
            ProvisioningJobRow.state == IN_PROGRESS,
            ProvisioningJobRow.lease_token == claim.lease_token,
        )
        .values(lease_expires_at=now + LEASE)
        .returning(ProvisioningJobRow.id)
    )
    return renewed.first() is not None


def held(session: Session, claim: Claim) -> ProvisioningJobRow | None:
    """The claimed job, if this claim still holds it (no other worker took it over)."""
    job = session.scalars(
        select(ProvisioningJobRow).where(ProvisioningJobRow.id == claim.id).with_for_update()
    ).first()
    if job is None or job.state != IN_PROGRESS or job.lease_token != claim.lease_token:
        return None
    return job


def _clip(reason: str) -> str:
    return reason if len(reason) <= MAX_ERROR_LENGTH else reason[: MAX_ERROR_LENGTH - 1] + "…"


def settle(
    session: Session,
    job: ProvisioningJobRow,
    outcome: Outcome,
    now: datetime,
    *,
    max_attempts: int,
    backoff: timedelta,
) -> None:
    """Record what a run of ``job`` came to; ``backoff`` is the wait before a retry when the
    app did not say how long to wait."""
    job.lease_token = None
    job.lease_expires_at = None
    job.updated_at = now
    if isinstance(outcome, Done):
        job.state = COMPLETED
        job.finished_at = now
        job.last_error = None
        job.result = {**outcome.result, **({"skipped": outcome.skipped} if outcome.skipped else {})}
        result = (
            system_log.Outcome("SKIPPED", outcome.skipped[:255])
            if outcome.skipped
            else system_log.Outcome("SUCCESS")
        )
        _log(session, job, now, result, outcome.skipped or "completed", debug=job.result)
        return
    if isinstance(outcome, Wait):
        job.state = QUEUED
        job.attempts -= 1
        job.next_attempt_at = max(outcome.until, now)
        _log(
            session,
            job,
            now,
            system_log.Outcome("UNKNOWN", outcome.reason[:255]),
            f"waiting: {outcome.reason}",
        )
        return
    reason = _clip(outcome.reason)
    job.last_error = reason
    if isinstance(outcome, Retry) and job.attempts < max_attempts:
        wait = outcome.retry_after if outcome.retry_after is not None else backoff
        job.state = QUEUED
        job.next_attempt_at = now + wait
        _log(
            session,
            job,
            now,
            system_log.Outcome("FAILURE", reason[:255]),
            f"attempt {job.attempts} failed, retrying",
            severity="WARN",
            debug={"nextAttemptAt": job.next_attempt_at.isoformat(), "reason": reason},
        )
        return
    if isinstance(outcome, Retry):
        reason = _clip(f"{reason} (gave up after {job.attempts} attempts)")
        job.last_error = reason
    job.state = FAILED
    job.finished_at = now
    _log(
        session,
        job,
        now,
        system_log.Outcome("FAILURE", reason[:255]),
        "failed",
        severity="ERROR",
        debug={"reason": reason},
    )


def find(session: Session, app: AppRow, job_id: str) -> ProvisioningJobRow:
    job = session.scalars(
        select(ProvisioningJobRow).where(
            ProvisioningJobRow.app_id == app.id, ProvisioningJobRow.id == job_id
        )
    ).first()
    if job is None:
        raise NotFound(job_id, "ProvisioningJob")
    return job


def retry(session: Session, job: ProvisioningJobRow, now: datetime) -> None:
    """An admin's retry of a FAILED job: queued again now, with its attempts counted afresh."""
    if job.state != FAILED:
        raise InvalidInput(
            "Api validation failed: only a FAILED job can be retried",
            causes=[f"state: the job is {job.state}"],
        )
    job.state = QUEUED
    job.attempts = 0
    job.next_attempt_at = now
    job.finished_at = None
    job.updated_at = now
    session.flush()
    _log(session, job, now, system_log.Outcome("UNKNOWN", "queued again"), "queued again")
    session.info["provisioning_queued"] = True


def list_statement(app: AppRow, state: str | None = None) -> Select[ProvisioningJobRow]:
    """The app's jobs in creation order, optionally of one state."""
    statement = select(ProvisioningJobRow).where(ProvisioningJobRow.app_id == app.id)
    if state is not None:
        statement = statement.where(ProvisioningJobRow.state == state)
    return statement.order_by(ProvisioningJobRow.id)
