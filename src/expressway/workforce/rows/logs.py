from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from expressway.workforce.rows.base import WorkforceBase, org_fk


class LogEventRow(WorkforceBase):
    """A System Log event of an org, in Okta's terms (``eventType``, actor, targets, outcome)."""

    __tablename__ = "log_events"

    uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(20), org_fk())
    #: Sorts in publication order; the ``after`` cursor of the log's pages.
    sort_key: Mapped[str] = mapped_column(String(40), unique=True)
    published: Mapped[datetime] = mapped_column()
    event_type: Mapped[str] = mapped_column(String(100))
    display_message: Mapped[str] = mapped_column(String(255))
    #: DEBUG, INFO, WARN or ERROR.
    severity: Mapped[str] = mapped_column(String(8))
    actor_id: Mapped[str | None] = mapped_column(String(64))
    #: ``{"id", "type", "alternateId", "displayName"}``
    actor: Mapped[dict[str, Any]] = mapped_column()
    #: ``[{"id", "type", "alternateId", "displayName"}, …]``
    targets: Mapped[list[Any]] = mapped_column()
    #: The targets' ids between spaces (`` id1 id2 ``), so that ``target.id eq`` is one LIKE.
    target_ids: Mapped[str] = mapped_column(Text)
    #: SUCCESS, FAILURE, SKIPPED, ALLOW, DENY, CHALLENGE or UNKNOWN.
    outcome_result: Mapped[str] = mapped_column(String(16))
    outcome_reason: Mapped[str | None] = mapped_column(String(255))
    client_ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    debug_data: Mapped[dict[str, Any]] = mapped_column()

    __table_args__ = (
        Index("ix_log_events_org_id_sort_key", "org_id", "sort_key"),
        Index("ix_log_events_org_id_published", "org_id", "published"),
    )
