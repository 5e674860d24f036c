from __future__ import annotations

from expressway.storage.counters import AttemptCounter
from expressway.tenant.rows.base import TenantBase


class AttemptCounterRow(AttemptCounter, TenantBase):
    """Failed sign-ins and client authentications, per account and address, per address, per
    client and address (:mod:`expressway.tenant.services.throttling`)."""

    __tablename__ = "attempt_counters"
