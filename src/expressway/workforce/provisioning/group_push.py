"""Group Push mappings (Okta's ``/apps/{appId}/group-push/mappings``): an org group kept in step
with a group of the same name in the app.

A new ``ACTIVE`` mapping pushes the group (adopting one of the same ``displayName`` if the app
has it); members then follow every membership change. ``INACTIVE`` stops the pushes and leaves
the app's group as it is; back to ``ACTIVE``, the group is pushed again. An ``ACTIVE`` mapping
cannot be deleted, as in Okta; deleting an inactive one may delete the app's group
(``deleteTargetGroup``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from expressway.workforce import ids
from expressway.workforce.errors import InvalidInput, NotFound
from expressway.workforce.provisioning import jobs
from expressway.workforce.provisioning.features import check_configured
from expressway.workforce.rows import AppRow, GroupPushMappingRow, GroupRow

ACTIVE = "ACTIVE"
INACTIVE = "INACTIVE"
ERROR = "ERROR"
SETTABLE_STATUSES = (ACTIVE, INACTIVE)
MAPPING_ID_PREFIX = "gPm"


def create(
    session: Session, app: AppRow, group: GroupRow, status: str, now: datetime
) -> GroupPushMappingRow:
    check_configured(app)
    taken = session.scalars(
        select(GroupPushMappingRow.id).where(
            GroupPushMappingRow.app_id == app.id,
            GroupPushMappingRow.source_group_id == group.id,
        )
    ).first()
    if taken is not None:
        raise InvalidInput.field(
            "sourceGroupId", f"The group is already pushed to this app (mapping {taken})"
        )
    mapping = GroupPushMappingRow(
        id=ids.okta_id(MAPPING_ID_PREFIX, now),
        org_id=app.org_id,
        app_id=app.id,
        source_group_id=group.id,
        target_group_id=None,
        status=status,
        error_summary=None,
        last_push_at=None,
        created_at=now,
        updated_at=now,
    )
    session.add(mapping)
    session.flush()
    if status == ACTIVE:
        jobs.enqueue(session, app, jobs.GROUP_PUSH, jobs.GROUP, group.id, now)
    return mapping


def find(session: Session, app: AppRow, mapping_id: str) -> GroupPushMappingRow:
    mapping = session.scalars(
        select(GroupPushMappingRow).where(
            GroupPushMappingRow.app_id == app.id, GroupPushMappingRow.id == mapping_id
        )
    ).first()
    if mapping is None:
        raise NotFound(mapping_id, "GroupPushMapping")
    return mapping


def set_status(
    session: Session, app: AppRow, mapping: GroupPushMappingRow, status: str, now: datetime
) -> None:
    if mapping.status == status:
        return
    mapping.status = status
    mapping.updated_at = now
    if status == ACTIVE:
        mapping.error_summary = None
        jobs.enqueue(session, app, jobs.GROUP_PUSH, jobs.GROUP, mapping.source_group_id, now)
    session.flush()


def delete(
    session: Session,
    app: AppRow,
    mapping: GroupPushMappingRow,
    now: datetime,
    *,
    delete_target_group: bool,
) -> None:
    if mapping.status == ACTIVE:
        raise InvalidInput(
            "Api validation failed: an active group push mapping cannot be deleted",
            causes=["status: Set the mapping's status to INACTIVE first"],
        )
    if delete_target_group and mapping.target_group_id is not None:
        jobs.enqueue(
            session,
            app,
            jobs.GROUP_DELETE,
            jobs.GROUP,
            mapping.source_group_id,
            now,
            {"targetGroupId": mapping.target_group_id},
        )
    session.delete(mapping)
    session.flush()


def list_statement(
    app: AppRow, *, source_group_id: str | None = None, status: str | None = None
) -> Select[GroupPushMappingRow]:
    statement = select(GroupPushMappingRow).where(GroupPushMappingRow.app_id == app.id)
    if source_group_id is not None:
        statement = statement.where(GroupPushMappingRow.source_group_id == source_group_id)
    if status is not None:
        statement = statement.where(GroupPushMappingRow.status == status)
    return statement.order_by(GroupPushMappingRow.id)
