"""What the provisioning engine keeps: the *To App* switches of an app instance, the job outbox,
which org users exist in the app (and under which SCIM id), group push mappings and imports.

Jobs are written in the transaction of the change that calls for them (an outbox), so a change
and its job commit together or not at all. A job names its subject by id without a foreign key:
a user deleted right after being deactivated still has their deactivation pushed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from expressway.workforce.rows.base import WorkforceBase, org_fk


def _app_fk() -> ForeignKey:
    return ForeignKey("apps.id", ondelete="CASCADE")


class AppProvisioningRow(WorkforceBase):
    """The *To App* switches of an instance (Okta's ``USER_PROVISIONING`` feature)."""

    __tablename__ = "app_provisioning"

    app_id: Mapped[str] = mapped_column(String(20), _app_fk(), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(20), org_fk(), index=True)
    #: ``capabilities.create.lifecycleCreate``: assigned users are created in the app.
    create_users: Mapped[bool] = mapped_column(Boolean)
    #: ``capabilities.update.profile``: profile changes are pushed with a full PUT.
    update_profile: Mapped[bool] = mapped_column(Boolean)
    #: ``capabilities.update.lifecycleDeactivate``: unassigned or deactivated users are set
    #: ``active: false`` (never deleted), and reactivated ones ``active: true``.
    deactivate_users: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()


class ProvisioningJobRow(WorkforceBase):
    """One durable unit of provisioning work: a SCIM push, an import, or a Universal Logout
    delivery, for one subject on one app.

    Jobs of the same ``subject_key`` on the same app run in ``seq`` order; a claimed job carries
    a lease, and a job whose lease ran out (its worker died) is claimed again.
    """

    __tablename__ = "provisioning_jobs"

    #: Creation order, which is the order a subject's jobs run in.
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    id: Mapped[str] = mapped_column(String(20), unique=True)
    org_id: Mapped[str] = mapped_column(String(20), org_fk(), index=True)
    app_id: Mapped[str] = mapped_column(String(20), _app_fk())
    #: ``user.push``, ``user.update``, ``user.deactivate``, ``group.push``…
    kind: Mapped[str] = mapped_column(String(40))
    #: ``USER`` or ``GROUP``: what ``subject_id`` names.
    subject_type: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(20))
    #: The ordering key: the subject, or a separate lane for work that must not wait behind it.
    subject_key: Mapped[str] = mapped_column(String(64))
    #: What the job needs that may not survive until it runs (names, endpoints, members).
    payload: Mapped[dict[str, Any]] = mapped_column()
    #: QUEUED, IN_PROGRESS, COMPLETED or FAILED.
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column()
    #: Random per claim, so a worker whose lease ran out cannot finish a job claimed again.
    lease_token: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(Text)
    #: What the last run did (the SCIM id, ``SKIPPED`` and why…), for the admin API.
    result: Mapped[dict[str, Any]] = mapped_column()
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()
    started_at: Mapped[datetime | None] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        Index("ix_provisioning_jobs_state_next_attempt_at", "state", "next_attempt_at"),
        Index("ix_provisioning_jobs_app_id_subject_key_seq", "app_id", "subject_key", "seq"),
        Index("ix_provisioning_jobs_app_id_id", "app_id", "id"),
    )


class ProvisionedUserRow(WorkforceBase):
    """An org user who exists in an app, under the app's SCIM id for them."""

    __tablename__ = "provisioned_users"

    app_id: Mapped[str] = mapped_column(String(20), _app_fk(), primary_key=True)
    user_id: Mapped[str] = mapped_column(String(20), primary_key=True)
    scim_id: Mapped[str] = mapped_column(String(255))
    user_name: Mapped[str] = mapped_column(String(255))
    #: What the app was last told: ``active`` true or false.
    active: Mapped[bool] = mapped_column(Boolean)
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()


class GroupPushMappingRow(WorkforceBase):
    """An org group pushed to an app (Okta's Group Push mapping)."""

    __tablename__ = "group_push_mappings"

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(20), org_fk(), index=True)
    app_id: Mapped[str] = mapped_column(String(20), _app_fk())
    source_group_id: Mapped[str] = mapped_column(
        String(20), ForeignKey("groups.id", ondelete="CASCADE"), index=True
    )
    #: The group's SCIM id in the app, once pushed.
    target_group_id: Mapped[str | None] = mapped_column(String(255))
    #: ACTIVE, INACTIVE or ERROR.
    status: Mapped[str] = mapped_column(String(16))
    error_summary: Mapped[str | None] = mapped_column(String(1024))
    last_push_at: Mapped[datetime | None] = mapped_column()
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()

    __table_args__ = (UniqueConstraint("app_id", "source_group_id"),)


class ProvisioningImportRow(WorkforceBase):
    """One reading of an app's users back into the org (an import run)."""

    __tablename__ = "provisioning_imports"

    id: Mapped[str] = mapped_column(String(20), primary_key=True)
    org_id: Mapped[str] = mapped_column(String(20), org_fk(), index=True)
    app_id: Mapped[str] = mapped_column(String(20), _app_fk(), index=True)
    #: The job that reads the app; the import's state and error are its.
    job_id: Mapped[str] = mapped_column(String(20))
    total: Mapped[int] = mapped_column(Integer)
    matched: Mapped[int] = mapped_column(Integer)
    unmatched: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column()
    finished_at: Mapped[datetime | None] = mapped_column()


class ImportedUserRow(WorkforceBase):
    """A user an import found in the app, and the org user it matched, if any."""

    __tablename__ = "provisioning_import_users"

    import_id: Mapped[str] = mapped_column(
        String(20), ForeignKey("provisioning_imports.id", ondelete="CASCADE"), primary_key=True
    )
    #: The order the app listed the user in (1-based), which is the order they are shown in.
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    scim_id: Mapped[str] = mapped_column(String(255))
    user_name: Mapped[str] = mapped_column(String(255))
    external_id: Mapped[str | None] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool | None] = mapped_column(Boolean)
    matched_user_id: Mapped[str | None] = mapped_column(String(20))
    #: EXTERNAL_ID, USER_NAME or NONE: how the org user was found.
    match: Mapped[str] = mapped_column(String(16))
