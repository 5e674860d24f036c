from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from expressway.workforce.rows.base import WorkforceBase, org_fk


class ApiTokenRow(WorkforceBase):
    """An ``SSWS`` API token: it acts as its user, in its user's org, until unused too long."""

    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(20), org_fk(), index=True)
    user_id: Mapped[str] = mapped_column(
        String(20), ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(255))
    #: SHA-256 of the token; the token itself is shown once, when it is made.
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()
    #: Moves forward as the token is used: a token expires after a window without use.
    expires_at: Mapped[datetime] = mapped_column()
