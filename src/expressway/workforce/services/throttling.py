"""The org login page's defences, as Okta's: lockout per user and throttling per address.

- **Lockout** (Okta's password policy): a user's failed sign-ins are counted from wherever they
  come; at the limit the user becomes ``LOCKED_OUT`` (System Log ``user.account.lock``) and
  signs in no more until an administrator unlocks them (``POST
  /api/v1/users/{id}/lifecycle/unlock``, ``user.account.unlock``) or, when the org's setting
  says so, the auto-unlock time has passed. A successful sign-in forgets the failures.
- **Throttling per address**: failed sign-ins from one IP address, whatever the user, past
  their limit get a 429 untried (``security.threat.detected``, as Okta ThreatInsight logs it).

Counters are rows shared by every replica (:mod:`expressway.storage.counters`); the rule of a
limit is :class:`expressway.web.throttling.Limit`. Functions here never commit.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from expressway.config import Settings
from expressway.storage import counters
from expressway.web.throttling import Limit
from expressway.workforce.errors import WorkforceError
from expressway.workforce.rows import AttemptCounterRow, UserRow
from expressway.workforce.services import users
from expressway.workforce.system_log import SYSTEM, Client, Event, Outcome, Party, record

LOCKED_OUT = "LOCKED_OUT"
USER_FAILURES = "user"
ADDRESS_FAILURES = "address"


class UnlockNotAllowed(WorkforceError):
    """Okta's E0000032: only a ``LOCKED_OUT`` user can be unlocked."""

    status = 403
    code = "E0000032"

    def __init__(self, status: str) -> None:
        super().__init__(
            "Unlock is not allowed for this user.",
            causes=[f"The user is {status}; only a LOCKED_OUT user can be unlocked."],
        )


@dataclass(frozen=True)
class Policy:
    """The lockout and throttling settings in force."""

    lockout: Limit
    address: Limit
    auto_unlock: timedelta | None

    @classmethod
    def of(cls, settings: Settings) -> Policy:
        minutes = settings.workforce_lockout_auto_unlock_minutes
        return cls(
            lockout=Limit(
                settings.workforce_lockout_attempts,
                timedelta(seconds=settings.workforce_lockout_window_seconds),
            ),
            address=Limit(
                settings.workforce_ip_throttle_attempts,
                timedelta(seconds=settings.workforce_ip_throttle_window_seconds),
            ),
            auto_unlock=timedelta(minutes=minutes) if minutes is not None else None,
        )


def _user_key(user: UserRow) -> str:
    return counters.counter_key(user.id)


def _address_key(ip: str | None) -> str:
    return counters.counter_key(ip)


def address_throttled(
    session: Session, policy: Policy, now: datetime, ip: str | None
) -> int | None:
    """Seconds until the address may try again, when it is throttled; None when it may now."""
    at = now.timestamp()
    clears_at = counters.clears_at(session, AttemptCounterRow, ADDRESS_FAILURES, _address_key(ip))
    if clears_at is None or not policy.address.is_blocked(clears_at, at):
        return None
    return policy.address.retry_after(clears_at, at)


def record_throttled(session: Session, org_id: str, now: datetime, client: Client) -> None:
    record(
        session,
        org_id,
        now,
        Event(
            "security.threat.detected",
            "Request from suspicious actor",
            Party(client.ip or "unknown", "IP address", client.ip, client.ip),
            outcome=Outcome("DENY", "Too many failed sign-ins from this IP address"),
            severity="WARN",
            client=client,
        ),
    )


def count_failure(
    session: Session,
    policy: Policy,
    now: datetime,
    *,
    user: UserRow | None,
    ip: str | None,
    client: Client,
) -> bool:
    """Count a failed sign-in against the address and, when the login names one, the user;
    lock an active user who reaches the limit. Whether this failure locked them."""
    at = now.timestamp()
    # Drained counters mean what no row means; clear them out now and then.
    if secrets.randbelow(64) == 0:
        counters.sweep(session, AttemptCounterRow, at)
    counters.count_failure(
        session,
        AttemptCounterRow,
        scope=ADDRESS_FAILURES,
        key=_address_key(ip),
        interval=policy.address.interval,
        now=at,
        ip=ip,
    )
    if user is None or user.status != users.ACTIVE:
        return False
    clears_at = counters.count_failure(
        session,
        AttemptCounterRow,
        scope=USER_FAILURES,
        key=_user_key(user),
        interval=policy.lockout.interval,
        now=at,
        subject=user.id,
        ip=ip,
    )
    if not policy.lockout.is_blocked(clears_at, at):
        return False
    _set_status(user, LOCKED_OUT, now)
    record(
        session,
        user.org_id,
        now,
        Event(
            "user.account.lock",
            "Max sign in attempts exceeded",
            Party.of_user(user),
            [Party.of_user(user)],
            outcome=Outcome("SUCCESS", "LOCKED_OUT"),
            severity="WARN",
            client=client,
        ),
    )
    return True


def forget_failures(session: Session, user: UserRow) -> None:
    """A successful sign-in: the user's failures are forgotten, as in Okta."""
    counters.clear(session, AttemptCounterRow, USER_FAILURES, _user_key(user))


def unlock(session: Session, user: UserRow, now: datetime) -> None:
    """``LOCKED_OUT`` back to ``ACTIVE``, with the failures forgotten; E0000032 otherwise."""
    if user.status != LOCKED_OUT:
        raise UnlockNotAllowed(user.status)
    _set_status(user, users.ACTIVE, now)
    forget_failures(session, user)


def unlock_if_due(
    session: Session, policy: Policy, user: UserRow | None, now: datetime, client: Client
) -> None:
    """Okta's auto-unlock: a user locked out longer than the org allows is unlocked."""
    if (
        user is None
        or user.status != LOCKED_OUT
        or policy.auto_unlock is None
        or user.status_changed_at is None
        or user.status_changed_at + policy.auto_unlock > now
    ):
        return
    unlock(session, user, now)
    record(
        session,
        user.org_id,
        now,
        Event(
            "user.account.unlock",
            "Unlock user account",
            SYSTEM,
            [Party.of_user(user)],
            client=client,
        ),
    )


def _set_status(user: UserRow, status: str, now: datetime) -> None:
    user.status = status
    user.status_changed_at = now
    user.updated_at = now
