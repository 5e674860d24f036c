"""Okta's *Clear user sessions* with Universal Logout: the user's sessions in the org end (and,
with ``oauth_tokens``, their refresh tokens are revoked), and every app instance of the org that
has Universal Logout and to which the user is assigned is told to end theirs too.

Each app is told by a durable job (:mod:`expressway.workforce.provisioning.universal_logout`),
written in the same transaction as the sessions' end, so a logout the app could not take yet is
retried rather than lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from expressway.workforce.provisioning import jobs
from expressway.workforce.provisioning.targets import APP_ACTIVE, logout_endpoint
from expressway.workforce.rows import AppRow, AppUserRow, UserRow, UserSessionRow
from expressway.workforce.services import sessions

#: Universal Logout jobs run in a lane of their own: a logout must not wait behind a push of the
#: same user that is backing off.
LANE = "logout"


@dataclass
class Cleared:
    sessions_ended: int
    apps_notified: list[str]


def _end_sessions_only(session: Session, now: datetime, user: UserRow) -> int:
    ended: CursorResult[Any] = session.execute(  # type: ignore[assignment]
        update(UserSessionRow)
        .where(
            UserSessionRow.org_id == user.org_id,
            UserSessionRow.user_id == user.id,
            UserSessionRow.ended_at.is_(None),
            UserSessionRow.expires_at > now,
        )
        .values(ended_at=now)
        .execution_options(synchronize_session=False)
    )
    session.flush()
    return int(ended.rowcount or 0)


def clear_sessions(
    session: Session, user: UserRow, issuer: str, now: datetime, *, oauth_tokens: bool
) -> Cleared:
    """End the user's sessions (and refresh tokens with ``oauth_tokens``) and queue a Universal
    Logout to each of their apps that has an endpoint; ``issuer`` is the org's."""
    if oauth_tokens:
        ended = sessions.end_user_sessions(session, now, user.org_id, user.id)
    else:
        ended = _end_sessions_only(session, now, user)
    apps = session.scalars(
        select(AppRow)
        .join(AppUserRow, AppUserRow.app_id == AppRow.id)
        .where(AppRow.org_id == user.org_id, AppUserRow.user_id == user.id)
        .order_by(AppRow.id)
    )
    notified = []
    for app in apps:
        endpoint = logout_endpoint(app)
        if endpoint is None or app.status != APP_ACTIVE:
            continue
        jobs.enqueue(
            session,
            app,
            jobs.UNIVERSAL_LOGOUT,
            jobs.USER,
            user.id,
            now,
            {"endpoint": endpoint, "issuer": issuer},
            lane=LANE,
        )
        notified.append(app.id)
    return Cleared(ended, notified)
