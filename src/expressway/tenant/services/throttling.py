"""The tenant's brute-force protection, as Auth0's Attack Protection does it.

- **Brute-force protection**: failed password sign-ins to one account (connection and e-mail)
  from one IP address. Past the limit that address is blocked for that account (``limit_wc``)
  until a new password or an administrator lifts it (``/api/v2/user-blocks``); the other
  addresses of the account's owner are not blocked, so an attacker cannot lock them out. A
  successful sign-in forgets the address's failures.
- **Suspicious IP throttling**: failed sign-ins from one address, whatever the account. Past
  the limit the address is throttled (``limit_mu``) and answered with a 429.
- The same two at the token and revocation endpoints: failed client authentications per
  client_id and address, and per address.

Counters are rows shared by every replica (:mod:`expressway.storage.counters`); the rule of
a limit is :class:`expressway.web.throttling.Limit`. Functions here never commit.
"""

from __future__ import annotations

import functools
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from expressway.config import Settings
from expressway.storage import counters
from expressway.tenant.rows import AttemptCounterRow
from expressway.web.throttling import Limit

LOGIN_ACCOUNT = "login_account"
LOGIN_IP = "login_ip"
CLIENT = "client"
CLIENT_IP = "client_ip"

#: Auth0's log type: "An IP address is blocked because it reached the maximum failed login
#: attempts into a single account."
BLOCKED_ACCOUNT_LOG = "limit_wc"
#: Auth0's log type: "An IP address is blocked because it attempted too many failed logins
#: without a successful login."
BLOCKED_IP_LOG = "limit_mu"


@dataclass(frozen=True)
class Limits:
    """The four limits, from the settings."""

    account: Limit
    ip: Limit
    client: Limit
    client_ip: Limit

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        def limit(attempts: int, seconds: int) -> Limit:
            return Limit(attempts, timedelta(seconds=seconds))

        return cls(
            account=limit(
                settings.tenant_brute_force_attempts, settings.tenant_brute_force_window_seconds
            ),
            ip=limit(
                settings.tenant_ip_throttle_attempts, settings.tenant_ip_throttle_window_seconds
            ),
            client=limit(
                settings.tenant_client_throttle_attempts,
                settings.tenant_client_throttle_window_seconds,
            ),
            client_ip=limit(
                settings.tenant_client_ip_throttle_attempts,
                settings.tenant_client_ip_throttle_window_seconds,
            ),
        )


@dataclass(frozen=True)
class Block:
    """A refusal: the counter over its limit, the log type that says so, and when to retry."""

    scope: str
    log_type: str
    retry_after: int

    @property
    def is_per_address(self) -> bool:
        """Whether the whole address is throttled, rather than one account or client from it."""
        return self.scope in (LOGIN_IP, CLIENT_IP)


@dataclass(frozen=True)
class _Counter:
    scope: str
    key: str
    limit: Limit
    log_type: str
    subject: str | None
    realm: str | None
    ip: str | None


def _login_counters(
    limits: Limits, connection: str, identifier: str, ip: str | None
) -> tuple[_Counter, ...]:
    identifier = identifier.strip().lower()
    return (
        _Counter(LOGIN_IP, counters.counter_key(ip), limits.ip, BLOCKED_IP_LOG, None, None, ip),
        _Counter(
            LOGIN_ACCOUNT,
            counters.counter_key(connection, identifier, ip),
            limits.account,
            BLOCKED_ACCOUNT_LOG,
            identifier,
            connection,
            ip,
        ),
    )


def _client_counters(limits: Limits, client_id: str, ip: str | None) -> tuple[_Counter, ...]:
    return (
        _Counter(
            CLIENT_IP, counters.counter_key(ip), limits.client_ip, BLOCKED_IP_LOG, None, None, ip
        ),
        _Counter(
            CLIENT,
            counters.counter_key(client_id, ip),
            limits.client,
            BLOCKED_ACCOUNT_LOG,
            client_id,
            None,
            ip,
        ),
    )


#: How counters are read: the ``clears_at`` of each (scope, key) that has one.
CountersRead = Callable[[Iterable[tuple[str, str]]], Mapping[tuple[str, str], float]]


def session_counters(session: Session) -> CountersRead:
    """Counters read by ``session``, all in one query."""
    return functools.partial(counters.clears_at_many, session, AttemptCounterRow)


def _blocked(session: Session, watched: tuple[_Counter, ...], now: datetime) -> Block | None:
    return _blocks(session_counters(session), [watched], now)[0]


def _blocks(
    read_counters: CountersRead, watched: Sequence[tuple[_Counter, ...]], now: datetime
) -> list[Block | None]:
    """For each group of counters, the first of them over its limit."""
    read = read_counters((counter.scope, counter.key) for group in watched for counter in group)
    return _judged(read, watched, now)


def _judged(
    read: Mapping[tuple[str, str], float], watched: Sequence[tuple[_Counter, ...]], now: datetime
) -> list[Block | None]:
    """:func:`_blocks` of counters already ``read``."""
    at = now.timestamp()
    found: list[Block | None] = []
    for group in watched:
        block = None
        for counter in group:
            clears_at = read.get((counter.scope, counter.key))
            if clears_at is not None and counter.limit.is_blocked(clears_at, at):
                block = Block(
                    counter.scope, counter.log_type, counter.limit.retry_after(clears_at, at)
                )
                break
        found.append(block)
    return found


def _count(session: Session, watched: tuple[_Counter, ...], now: datetime) -> Block | None:
    at = now.timestamp()
    # Drained counters mean what no row means; clear them out now and then.
    if secrets.randbelow(64) == 0:
        counters.sweep(session, AttemptCounterRow, at)
    started: Block | None = None
    for counter in watched:
        clears_at = counters.count_failure(
            session,
            AttemptCounterRow,
            scope=counter.scope,
            key=counter.key,
            interval=counter.limit.interval,
            now=at,
            subject=counter.subject,
            realm=counter.realm,
            ip=counter.ip,
        )
        if started is None and counter.limit.is_blocked(clears_at, at):
            started = Block(
                counter.scope, counter.log_type, counter.limit.retry_after(clears_at, at)
            )
    return started


@dataclass(frozen=True)
class LoginStanding:
    """Where a password sign-in stands before its password is checked."""

    #: Why it must be refused untried, if it must: the address is throttled, or blocked for
    #: this account.
    block: Block | None
    #: Whether the account has failures from this address on record, which a successful sign-in
    #: forgets (:func:`forget_login_failures`). Read in a write transaction, it holds until that
    #: transaction ends: with none on record, a success has nothing to delete.
    failures_on_record: bool


def login_standing(
    session: Session,
    limits: Limits,
    now: datetime,
    *,
    connection: str,
    identifier: str,
    ip: str | None,
) -> LoginStanding:
    """Whether a password sign-in to ``identifier`` from ``ip`` must be refused untried, and
    whether a success would have failures to forget, from one read of its counters."""
    watched = _login_counters(limits, connection, identifier, ip)
    read = session_counters(session)((counter.scope, counter.key) for counter in watched)
    account = watched[1]
    return LoginStanding(
        block=_judged(read, [watched], now)[0],
        failures_on_record=(account.scope, account.key) in read,
    )


def count_login_failure(
    session: Session,
    limits: Limits,
    now: datetime,
    *,
    connection: str,
    identifier: str,
    ip: str | None,
) -> Block | None:
    """Count a failed password sign-in; the block it starts, if it is the one that reaches a
    limit."""
    return _count(session, _login_counters(limits, connection, identifier, ip), now)


def forget_login_failures(
    session: Session, limits: Limits, *, connection: str, identifier: str, ip: str | None
) -> None:
    """A successful sign-in: the account's failures from this address are forgotten (the
    address's failures across accounts are not, as in Auth0)."""
    account = _login_counters(limits, connection, identifier, ip)[1]
    counters.clear(session, AttemptCounterRow, account.scope, account.key)


def client_block(
    session: Session, limits: Limits, now: datetime, *, client_id: str, ip: str | None
) -> Block | None:
    """Why a client authentication as ``client_id`` from ``ip`` must be refused untried."""
    return _blocked(session, _client_counters(limits, client_id, ip), now)


def client_blocks(
    read_counters: CountersRead,
    limits: Limits,
    now: datetime,
    requests: Sequence[tuple[str, str | None]],
) -> list[Block | None]:
    """:func:`client_block` of each (client_id, ip) of ``requests``, their counters read at once
    by ``read_counters`` (:func:`session_counters`, or a batch's own reader)."""
    return _blocks(
        read_counters,
        [_client_counters(limits, client_id, ip) for client_id, ip in requests],
        now,
    )


def count_client_failure(
    session: Session, limits: Limits, now: datetime, *, client_id: str, ip: str | None
) -> Block | None:
    """Count a failed client authentication; the block it starts, if any."""
    return _count(session, _client_counters(limits, client_id, ip), now)


def account_blocks(
    session: Session,
    limits: Limits,
    now: datetime,
    identifier: str,
    *,
    connection: str | None = None,
) -> list[AttemptCounterRow]:
    """The addresses blocked for the account ``identifier`` (of ``connection``, or of any)."""
    statement = select(AttemptCounterRow).where(
        AttemptCounterRow.scope == LOGIN_ACCOUNT,
        AttemptCounterRow.subject == identifier.strip().lower(),
        AttemptCounterRow.clears_at > limits.account.blocked_beyond(now.timestamp()),
    )
    if connection is not None:
        statement = statement.where(AttemptCounterRow.realm == connection)
    return list(session.scalars(statement.order_by(AttemptCounterRow.realm, AttemptCounterRow.ip)))


def lift_account_blocks(
    session: Session, identifier: str, *, connection: str | None = None
) -> None:
    """Forget every failure counted against the account ``identifier`` (of ``connection``, or
    of any), from every address: an administrator's unblock, or a new password."""
    statement = delete(AttemptCounterRow).where(
        AttemptCounterRow.scope == LOGIN_ACCOUNT,
        AttemptCounterRow.subject == identifier.strip().lower(),
    )
    if connection is not None:
        statement = statement.where(AttemptCounterRow.realm == connection)
    session.execute(statement)
