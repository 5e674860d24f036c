"""OpenID Connect Back-Channel Logout, the database half: which applications a login session
gave tokens to, each application's ``oidc_logout`` setting, and the outbox of Logout Tokens.

When a session ends (:func:`expressway.tenant.services.login_sessions.revoke_session` and
``revoke_user_sessions`` call :func:`enqueue` in their own transaction), every application that
received tokens through it, has a back-channel logout URL, and subscribes to what ended the
session (its ``backchannel_logout_initiators``, Auth0's names) gets an outbox row. The rows are
delivered after the commit by :mod:`expressway.tenant.authn.backchannel_logout`: an ended
session that rolls back sends nothing, and a committed one is never forgotten.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from expressway import ids
from expressway.storage.engine import dialect_upsert_insert
from expressway.tenant.errors import InvalidInput
from expressway.tenant.rows import BackchannelLogoutRow, ClientRow, LoginSessionClientRow

#: Auth0's session-termination events an application can subscribe to.
INITIATORS = (
    "rp-logout",
    "idp-logout",
    "password-changed",
    "session-expired",
    "session-revoked",
    "account-deleted",
    "email-identifier-changed",
    "mfa-phone-unenrolled",
    "account-deactivated",
)
RP_LOGOUT = "rp-logout"
IDP_LOGOUT = "idp-logout"
SESSION_REVOKED = "session-revoked"
ACCOUNT_DEACTIVATED = "account-deactivated"
ACCOUNT_DELETED = "account-deleted"
#: What an application subscribes to when it names no initiators: the two Auth0 requires.
DEFAULT_INITIATORS: dict[str, Any] = {
    "mode": "custom",
    "selected_initiators": [RP_LOGOUT, IDP_LOGOUT],
}
#: Auth0 takes one back-channel logout URL per application.
MAX_URLS = 1

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"
#: What :func:`finish_attempt` answers for a row deleted with its client during the attempt.
GONE = "gone"
#: How long delivered and failed rows are kept, for whoever looks into a logout.
KEEP_FINISHED = timedelta(days=7)


@dataclass
class OidcLogoutSpec:
    """An application's ``oidc_logout`` as written."""

    backchannel_logout_urls: list[str]
    #: ``None`` when not given: :data:`DEFAULT_INITIATORS`.
    mode: str | None = None
    selected_initiators: list[str] | None = None


@dataclass
class Claimed:
    """An outbox row taken for one delivery attempt, detached from its session."""

    id: str
    client_id: str
    url: str
    subject: str
    session_id: str | None
    initiator: str
    attempts: int


@dataclass
class Outcome:
    """What one delivery attempt came to."""

    delivered: bool
    error: str | None = None
    #: Whether another attempt could succeed (a network error or a 5xx, not a refusal).
    retryable: bool = False
    details: dict[str, Any] = field(default_factory=dict)


# --- The setting ---


def _check_url(where: str, url: str) -> None:
    try:
        parts = urlsplit(url)
        _ = parts.port  # reading it validates the port
    except ValueError as exc:
        raise InvalidInput(f"{where}: {url!r} is not a valid URL") from exc
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"{where}: {url!r} is not an absolute http or https URL")
    # Back-Channel Logout 1.0 §2.2: the URL MUST NOT include a fragment.
    if parts.fragment or url.endswith("#"):
        raise InvalidInput(f"{where}: a back-channel logout URL cannot have a fragment")
    if parts.username is not None or parts.password is not None:
        raise InvalidInput(f"{where}: a back-channel logout URL cannot hold credentials")


def checked_oidc_logout(spec: OidcLogoutSpec) -> dict[str, Any]:
    """The ``oidc_logout`` value to store, once every part of it is valid."""
    where = "oidc_logout.backchannel_logout_urls"
    if len(spec.backchannel_logout_urls) > MAX_URLS:
        raise InvalidInput(f"{where}: only {MAX_URLS} URL is allowed")
    for index, url in enumerate(spec.backchannel_logout_urls):
        _check_url(f"{where}[{index}]", url)
    if spec.mode is None:
        if spec.selected_initiators is not None:
            raise InvalidInput(
                "oidc_logout.backchannel_logout_initiators.mode: required with selected_initiators"
            )
        initiators = dict(DEFAULT_INITIATORS)
    else:
        selected = list(spec.selected_initiators or [])
        where = "oidc_logout.backchannel_logout_initiators.selected_initiators"
        if spec.mode == "custom" and spec.selected_initiators is None:
            raise InvalidInput(f"{where}: required when mode is custom")
        for index, initiator in enumerate(selected):
            if initiator not in INITIATORS:
                raise InvalidInput(
                    f"{where}[{index}]: {initiator} is not an initiator; use "
                    + ", ".join(INITIATORS)
                )
            if initiator in selected[:index]:
                raise InvalidInput(f"{where}[{index}]: {initiator} is listed twice")
        initiators = {"mode": spec.mode, "selected_initiators": selected}
    return {
        "backchannel_logout_urls": list(spec.backchannel_logout_urls),
        "backchannel_logout_initiators": initiators,
    }


def subscribes(oidc_logout: dict[str, Any] | None, initiator: str) -> bool:
    """Whether an application with this ``oidc_logout`` is told of sessions ended by
    ``initiator``. ``rp-logout`` always is, as at Auth0: an application that logs the user out
    expects its other sessions of that login to follow."""
    if not oidc_logout or not oidc_logout.get("backchannel_logout_urls"):
        return False
    initiators = oidc_logout.get("backchannel_logout_initiators") or DEFAULT_INITIATORS
    if initiators.get("mode") == "all" or initiator == RP_LOGOUT:
        return True
    return initiator in (initiators.get("selected_initiators") or [])


# --- Which applications a session touched ---


def record_client(session: Session, now: datetime, session_id: str, client_id: str) -> None:
    """Remember that ``client_id`` received tokens through the login session ``session_id``.

    One statement that ignores a row already there, so two token requests of one session racing
    on another replica cannot fail each other with a duplicate key.
    """
    row = {"session_id": session_id, "client_id": client_id, "created_at": now}
    session.execute(_record_client_statement(session.get_bind().dialect.name), row)


@cache
def _record_client_statement(dialect: str) -> Any:
    # Built once a database: every authorization code exchanged through a session records it.
    return dialect_upsert_insert(dialect, LoginSessionClientRow).on_conflict_do_nothing()


def clients_of_session(session: Session, session_id: str) -> list[str]:
    return list(
        session.scalars(
            select(LoginSessionClientRow.client_id)
            .where(LoginSessionClientRow.session_id == session_id)
            .order_by(LoginSessionClientRow.client_id)
        )
    )


# --- The outbox ---


def enqueue(
    session: Session,
    now: datetime,
    ended: Iterable[tuple[str, str]],
    initiator: str,
) -> int:
    """Write the Logout Tokens owed for the ended ``(session id, user id)`` pairs, in the
    caller's transaction; answer how many."""
    by_session = dict(ended)
    if not by_session:
        return 0
    touched = session.execute(
        select(LoginSessionClientRow.session_id, ClientRow)
        .join(ClientRow, ClientRow.client_id == LoginSessionClientRow.client_id)
        .where(LoginSessionClientRow.session_id.in_(list(by_session)))
        .order_by(LoginSessionClientRow.session_id, ClientRow.client_id)
    ).all()
    written = 0
    for session_id, client in touched:
        oidc_logout = client.oidc_logout
        if oidc_logout is None or not subscribes(oidc_logout, initiator):
            continue
        for url in oidc_logout["backchannel_logout_urls"]:
            session.add(
                BackchannelLogoutRow(
                    id=ids.prefixed_id("bcl", 24),
                    client_id=client.client_id,
                    url=url,
                    subject=by_session[session_id],
                    session_id=session_id,
                    initiator=initiator,
                    state=PENDING,
                    attempts=0,
                    next_attempt_at=now,
                    last_error=None,
                    created_at=now,
                    finished_at=None,
                )
            )
            written += 1
    if written:
        session.flush()
    return written


def any_due(session: Session, now: datetime) -> bool:
    """Whether a row is due for an attempt: a read, for a worker to look before it takes the
    write lock to claim."""
    return (
        session.scalar(
            select(BackchannelLogoutRow.id)
            .where(
                BackchannelLogoutRow.state == PENDING, BackchannelLogoutRow.next_attempt_at <= now
            )
            .limit(1)
        )
        is not None
    )


def claim_due(session: Session, now: datetime, *, limit: int, lease: timedelta) -> list[Claimed]:
    """Take up to ``limit`` due rows for an attempt each, moving their next attempt ``lease``
    ahead. The conditional update is the claim: two workers (or replicas) reading the same row
    cannot both take it, and a worker that dies mid-attempt leaves a row retried after the lease.
    """
    due = list(
        session.scalars(
            select(BackchannelLogoutRow.id)
            .where(
                BackchannelLogoutRow.state == PENDING, BackchannelLogoutRow.next_attempt_at <= now
            )
            .order_by(BackchannelLogoutRow.next_attempt_at, BackchannelLogoutRow.id)
            .limit(limit)
        )
    )
    claimed: list[Claimed] = []
    for row_id in due:
        result = session.execute(
            update(BackchannelLogoutRow)
            .where(
                BackchannelLogoutRow.id == row_id,
                BackchannelLogoutRow.state == PENDING,
                BackchannelLogoutRow.next_attempt_at <= now,
            )
            .values(
                next_attempt_at=now + lease,
                attempts=BackchannelLogoutRow.attempts + 1,
            )
            .returning(
                BackchannelLogoutRow.client_id,
                BackchannelLogoutRow.url,
                BackchannelLogoutRow.subject,
                BackchannelLogoutRow.session_id,
                BackchannelLogoutRow.initiator,
                BackchannelLogoutRow.attempts,
            )
            .execution_options(synchronize_session=False)
        ).first()
        if result is not None:
            claimed.append(Claimed(row_id, *result))
    return claimed


def purge_finished(session: Session, now: datetime) -> int:
    """Delete the rows delivered or failed more than :data:`KEEP_FINISHED` ago."""
    result = session.execute(
        delete(BackchannelLogoutRow).where(
            BackchannelLogoutRow.state.in_([DELIVERED, FAILED]),
            BackchannelLogoutRow.finished_at < now - KEEP_FINISHED,
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def finish_attempt(
    session: Session,
    now: datetime,
    claimed: Claimed,
    outcome: Outcome,
    *,
    retry_delays: Sequence[timedelta],
) -> str:
    """Record an attempt's outcome; answer the row's state after it. A retryable failure is
    due again after ``retry_delays[attempts - 1]``; past the last delay, the row has failed."""
    row = session.get(BackchannelLogoutRow, claimed.id)
    if row is None:
        # Its client was deleted meanwhile, and the row with it.
        return GONE
    if row.state != PENDING:
        # Another worker finished it after this one's claim lapsed.
        return row.state
    if outcome.delivered:
        row.state, row.finished_at, row.last_error = DELIVERED, now, None
    elif outcome.retryable and claimed.attempts <= len(retry_delays):
        row.next_attempt_at = now + retry_delays[claimed.attempts - 1]
        row.last_error = (outcome.error or "")[:500] or None
    else:
        row.state, row.finished_at = FAILED, now
        row.last_error = (outcome.error or "")[:500] or None
    session.flush()
    return row.state
