from __future__ import annotations

from expressway.storage.counters import AttemptCounter
from expressway.workforce.rows.base import WorkforceBase


class AttemptCounterRow(AttemptCounter, WorkforceBase):
    """Failed sign-ins per user (toward the lockout) and per address
    (:mod:`expressway.workforce.services.throttling`)."""

    __tablename__ = "attempt_counters"
