from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from expressway.workforce.rows.base import WorkforceBase, org_fk


class GroupRow(WorkforceBase):
    """An Okta group (``OKTA_GROUP``) of an org's users."""

    __tablename__ = "groups"

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(20), org_fk(), index=True)
    type: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(255))
    #: ``name`` lower-cased: one group per name in an org, whatever its case.
    name_key: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(String(1024))
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()
    membership_updated_at: Mapped[datetime] = mapped_column()

    __table_args__ = (UniqueConstraint("org_id", "name_key"),)


class GroupMemberRow(WorkforceBase):
    __tablename__ = "group_members"

    group_id: Mapped[str] = mapped_column(
        String(20), ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[str] = mapped_column(
        String(20), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column()
