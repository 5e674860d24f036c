from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from expressway.workforce.rows.base import WorkforceBase, org_fk


class ExpressConfigureFlowRow(WorkforceBase):
    """One attempt of *Express Configure SSO & UL* or *Express Configure SCIM* on an app instance.

    The ``state`` sent to the tenant is kept only as its SHA-256, and the PKCE verifier sealed:
    a copy of this table alone cannot finish someone's flow. A callback marks the flow used
    before anything else, so a replayed ``state`` is refused.
    """

    __tablename__ = "express_configure_flows"

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(20), org_fk(), index=True)
    app_id: Mapped[str] = mapped_column(
        String(20), ForeignKey("apps.id", ondelete="CASCADE"), index=True
    )
    #: The admin who started it: the actor of its System Log events.
    actor_id: Mapped[str] = mapped_column(String(20))
    #: ``sso`` or ``scim``.
    kind: Mapped[str] = mapped_column(String(8))
    state_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The PKCE ``code_verifier``, sealed with the runtime's secret sealer.
    code_verifier_sealed: Mapped[str] = mapped_column(Text)
    nonce: Mapped[str] = mapped_column(String(64))
    #: PENDING, SUCCEEDED or FAILED.
    status: Mapped[str] = mapped_column(String(16))
    #: The cause codes of SPEC §4.1 (or the tenant's own error code when it named none).
    causes: Mapped[list[Any]] = mapped_column()
    #: What the tenant answered, without secrets; for a failure, its error and description.
    result: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column()
    #: When the tenant's redirect came back: a flow is used once.
    used_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()
