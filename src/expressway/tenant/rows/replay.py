from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from expressway.tenant.rows.base import TenantBase


class UsedAssertionRow(TenantBase):
    """A client assertion's ``jti``, remembered until the assertion expires.

    Kept in the database, not in process memory, so that an assertion replayed to another replica
    is refused too; the primary key makes the check and the record one atomic insert.
    """

    __tablename__ = "used_client_assertions"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    jti: Mapped[str] = mapped_column(String(255), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)
