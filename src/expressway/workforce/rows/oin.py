from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from expressway.workforce.rows.base import WorkforceBase, org_fk


class OinSubmissionRow(WorkforceBase):
    """An integration submitted through the OIN Wizard of its integrator org.

    A published submission is an entry of the global OIN catalog, found by its ``catalog_key``
    (the ``name`` of every instance added from it). The private half of its key is sealed: it
    signs the Express Configure client's assertions and never leaves the workforce side.
    """

    __tablename__ = "oin_submissions"

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    #: The integrator org: the vendor's own org, the only one whose admins see the submission.
    org_id: Mapped[str] = mapped_column(String(20), org_fk(), index=True)
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text)
    #: ``OIDC`` always, ``SCIM`` and ``UNIVERSAL_LOGOUT`` when the integration supports them.
    capabilities: Mapped[list[Any]] = mapped_column()
    #: Integration variables: ``[{"name", "label"}, …]``, used as ``app.{name}`` in templates.
    variables: Mapped[list[Any]] = mapped_column()
    #: The Express Configuration information pasted from the tenant's dashboard, once checked.
    express_configuration: Mapped[dict[str, Any] | None] = mapped_column()
    key_id: Mapped[str | None] = mapped_column(String(64))
    #: The private key's PEM, sealed with the runtime's key sealer.
    key_private_pem_sealed: Mapped[str | None] = mapped_column(Text)
    #: The public key as SPKI PEM (``-----BEGIN PUBLIC KEY-----``), the ``.pem`` download.
    key_public_pem: Mapped[str | None] = mapped_column(Text)
    key_created_at: Mapped[datetime | None] = mapped_column()
    #: DRAFT, FINISHED or PUBLISHED.
    status: Mapped[str] = mapped_column(String(16))
    #: What Finish filled in (OIDC, Universal Logout, SCIM), for the capabilities it has.
    properties: Mapped[dict[str, Any] | None] = mapped_column()
    #: The catalog's key of a published submission, unique across the whole catalog.
    catalog_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    published_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()
