"""Imports: reading an app's users back (``POST /apps/{appId}/imports``). An import is a job
like any push, so it is durable and retried; what it found is kept, matched to the org's users,
for the admin to read."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from expressway.workforce import ids
from expressway.workforce.errors import NotFound
from expressway.workforce.provisioning import jobs
from expressway.workforce.provisioning.features import check_configured
from expressway.workforce.rows import (
    AppRow,
    ImportedUserRow,
    ProvisioningImportRow,
    ProvisioningJobRow,
)

IMPORT_ID_PREFIX = "imp"


def start(session: Session, app: AppRow, now: datetime) -> ProvisioningImportRow:
    check_configured(app)
    import_id = ids.okta_id(IMPORT_ID_PREFIX, now)
    job = jobs.enqueue(
        session,
        app,
        jobs.USER_IMPORT,
        jobs.USER,
        app.id,
        now,
        {"importId": import_id},
        lane="import",
    )
    row = ProvisioningImportRow(
        id=import_id,
        org_id=app.org_id,
        app_id=app.id,
        job_id=job.id,
        total=0,
        matched=0,
        unmatched=0,
        created_at=now,
        finished_at=None,
    )
    session.add(row)
    session.flush()
    return row


def find(session: Session, app: AppRow, import_id: str) -> ProvisioningImportRow:
    row = session.scalars(
        select(ProvisioningImportRow).where(
            ProvisioningImportRow.app_id == app.id, ProvisioningImportRow.id == import_id
        )
    ).first()
    if row is None:
        raise NotFound(import_id, "Import")
    return row


def job_of(session: Session, row: ProvisioningImportRow) -> ProvisioningJobRow | None:
    return session.scalars(
        select(ProvisioningJobRow).where(ProvisioningJobRow.id == row.job_id)
    ).first()


def list_statement(app: AppRow) -> Select[ProvisioningImportRow]:
    return (
        select(ProvisioningImportRow)
        .where(ProvisioningImportRow.app_id == app.id)
        .order_by(ProvisioningImportRow.id)
    )


def users_statement(row: ProvisioningImportRow) -> Select[ImportedUserRow]:
    return (
        select(ImportedUserRow)
        .where(ImportedUserRow.import_id == row.id)
        .order_by(ImportedUserRow.position)
    )
