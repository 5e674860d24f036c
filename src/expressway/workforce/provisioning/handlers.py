"""What each kind of job does, in Okta's order and shapes.

A handler reads what it needs in a short read-only transaction, then talks to the app with no
transaction open, and answers an outcome plus, on success, what to record (run in the
transaction that settles the job, and only if the job is still this worker's). Every handler is
idempotent: it looks before it creates, and PUT and PATCH can be repeated, so a job run twice
(its worker died after the app wrote but before the job was marked done) does not duplicate.

* ``user.push`` / ``user.reactivate``: a user the app already has is ``PATCH``\\ ed
  ``active: true``; otherwise ``GET /Users?filter=userName eq "…"`` finds one to adopt (a full
  ``PUT`` with ``active: true``) or the user is ``POST``\\ ed.
* ``user.update``: a full ``PUT`` of the user as they are now.
* ``user.deactivate``: ``PATCH`` ``active: false`` (users are never deleted).
* ``group.push``: the group is adopted by ``displayName eq`` or ``POST``\\ ed (renamed by
  ``PATCH`` once pushed), then its provisioned members are added.
* ``group.members``: one member added or removed by ``PATCH``, by their SCIM id; a member not in
  the app yet waits for their own push.
* ``group.delete``: ``DELETE /Groups/{id}``.
* ``user.import``: the app's users, page by page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from expressway.workforce.provisioning import jobs
from expressway.workforce.provisioning.context import Record, Result, Run
from expressway.workforce.provisioning.context import skip as _skip
from expressway.workforce.provisioning.jobs import Claim, Done, Fail, Retry, Wait
from expressway.workforce.provisioning.scim import (
    CONFLICT,
    MAX_PAGES,
    NOT_FOUND,
    ScimFailure,
    user_resource,
)
from expressway.workforce.provisioning.targets import ScimTarget, scim_target, switches
from expressway.workforce.provisioning.universal_logout import deliver
from expressway.workforce.rows import (
    AppRow,
    AppUserRow,
    GroupMemberRow,
    GroupPushMappingRow,
    GroupRow,
    ImportedUserRow,
    ProvisionedUserRow,
    ProvisioningImportRow,
    ProvisioningJobRow,
    UserRow,
)
from expressway.workforce.runtime import WorkforceRuntime

logger = logging.getLogger("expressway.workforce.provisioning")

MAPPING_ACTIVE = "ACTIVE"
MAPPING_ERROR = "ERROR"
#: Statuses whose users the app should hold as active.
ACTIVE_STATUSES = ("ACTIVE", "PROVISIONED")
STAGED = "STAGED"
#: How long a member waits for their own push when it is being run by another worker.
MEMBER_WAIT = timedelta(seconds=5)


@dataclass
class _UserView:
    """What a user job reads about its user and app."""

    target: ScimTarget | None
    create_users: bool = False
    user: dict[str, str] = field(default_factory=dict)
    status: str | None = None
    user_name: str | None = None
    link_scim_id: str | None = None
    link_active: bool = False


def _user_view(run: Run) -> _UserView:
    with run.read() as session:
        app = session.get(AppRow, run.claim.app_id)
        target = scim_target(app, run.runtime.secret_sealer) if app is not None else None
        settings = switches(session, app) if app is not None else None
        view = _UserView(target, create_users=bool(settings and settings.create_users))
        user = session.get(UserRow, run.claim.subject_id)
        if user is not None:
            view.status = user.status
            view.user = {
                "first_name": user.first_name,
                "last_name": user.last_name,
                "email": user.email,
            }
        app_user = session.get(AppUserRow, (run.claim.app_id, run.claim.subject_id))
        view.user_name = app_user.user_name if app_user is not None else None
        link = session.get(ProvisionedUserRow, (run.claim.app_id, run.claim.subject_id))
        if link is not None:
            view.link_scim_id = link.scim_id
            view.link_active = link.active
        return view


def _resource(run: Run, view: _UserView, active: bool) -> Any:
    return user_resource(
        user_name=view.user_name or "",
        first_name=view.user["first_name"],
        last_name=view.user["last_name"],
        email=view.user["email"],
        external_id=run.claim.subject_id,
        active=active,
    )


def _link(
    app_id: str, user_id: str, scim_id: str, user_name: str, active: bool, *, new: bool
) -> Record:
    def record(session: Session, now: datetime) -> None:
        link = session.get(ProvisionedUserRow, (app_id, user_id))
        if link is None:
            link = ProvisionedUserRow(
                app_id=app_id,
                user_id=user_id,
                scim_id=scim_id,
                user_name=user_name,
                active=active,
                created_at=now,
                updated_at=now,
            )
            session.add(link)
        link.scim_id = scim_id
        link.user_name = user_name
        link.active = active
        link.updated_at = now
        session.flush()
        if new:
            _join_pushed_groups(session, app_id, user_id, now)

    return record


def _join_pushed_groups(session: Session, app_id: str, user_id: str, now: datetime) -> None:
    """A user now in the app joins the app's copies of their pushed groups."""
    app = session.get(AppRow, app_id)
    if app is None:
        return
    group_ids = session.scalars(
        select(GroupPushMappingRow.source_group_id)
        .join(GroupMemberRow, GroupMemberRow.group_id == GroupPushMappingRow.source_group_id)
        .where(
            GroupPushMappingRow.app_id == app_id,
            GroupPushMappingRow.status == MAPPING_ACTIVE,
            GroupMemberRow.user_id == user_id,
        )
        .order_by(GroupPushMappingRow.source_group_id)
    )
    for group_id in list(group_ids):
        jobs.enqueue(
            session,
            app,
            jobs.GROUP_MEMBERS,
            jobs.GROUP,
            group_id,
            now,
            {"op": "add", "userId": user_id},
        )


def push_user(run: Run) -> Result:
    """Assign, re-assign, reactivate: the user exists in the app and is active."""
    view = _user_view(run)
    if view.target is None:
        return _skip("the app has no SCIM configuration")
    if view.status is None:
        return _skip("the user no longer exists")
    if view.user_name is None:
        return _skip("the user is no longer assigned to the app")
    if view.status == STAGED:
        return _skip("a staged user is provisioned when activated")
    if view.status not in ACTIVE_STATUSES:
        return _skip(f"the user is {view.status}")
    app = run.app(view.target)
    app_id, user_id, user_name = run.claim.app_id, run.claim.subject_id, view.user_name
    if view.link_scim_id is not None:
        try:
            app.set_active(view.link_scim_id, True)
        except ScimFailure as failure:
            # The app lost the user: find or create them again below.
            if failure.status != NOT_FOUND:
                raise
        else:
            return Result(
                Done({"scimId": view.link_scim_id, "operation": "activated"}),
                _link(app_id, user_id, view.link_scim_id, user_name, True, new=False),
            )
    if not view.create_users:
        return _skip("Create Users is off for the app")
    resource = _resource(run, view, True)
    existing = app.find_user(user_name)
    operation = "adopted"
    if existing is None:
        try:
            existing = app.create_user(resource)
            operation = "created"
        except ScimFailure as failure:
            # Made meanwhile (another IdP, or this job's earlier run): adopt it.
            found = app.find_user(user_name) if failure.status == CONFLICT else None
            if found is None:
                raise
            existing = found
    if operation == "adopted":
        existing = app.replace_user(str(existing.id), resource)
    scim_id = str(existing.id)
    return Result(
        Done({"scimId": scim_id, "operation": operation}),
        _link(app_id, user_id, scim_id, user_name, True, new=True),
    )


def update_user(run: Run) -> Result:
    """A profile change: the full user, ``PUT``."""
    view = _user_view(run)
    if view.target is None:
        return _skip("the app has no SCIM configuration")
    if view.link_scim_id is None:
        return _skip("the user is not in the app yet; their push sends the profile")
    if view.status is None or view.user_name is None:
        return _skip("the user is no longer assigned to the app")
    app = run.app(view.target)
    app.replace_user(view.link_scim_id, _resource(run, view, view.link_active))
    return Result(
        Done({"scimId": view.link_scim_id, "operation": "replaced"}),
        _link(
            run.claim.app_id,
            run.claim.subject_id,
            view.link_scim_id,
            view.user_name,
            view.link_active,
            new=False,
        ),
    )


def deactivate_user(run: Run) -> Result:
    """Unassigned, deactivated or suspended: ``active: false``, never a ``DELETE``."""
    view = _user_view(run)
    if view.target is None:
        return _skip("the app has no SCIM configuration")
    if view.link_scim_id is None:
        return _skip("the user is not in the app")
    scim_id = view.link_scim_id
    try:
        run.app(view.target).set_active(scim_id, False)
    except ScimFailure as failure:
        if failure.status != NOT_FOUND:
            raise
        return _skip("the app no longer has the user", scimId=scim_id)
    app_id, user_id = run.claim.app_id, run.claim.subject_id

    def record(session: Session, now: datetime) -> None:
        link = session.get(ProvisionedUserRow, (app_id, user_id))
        if link is not None:
            link.active = False
            link.updated_at = now

    return Result(Done({"scimId": scim_id, "operation": "deactivated"}), record)


@dataclass
class _GroupView:
    target: ScimTarget | None
    name: str | None = None
    mapping_id: str | None = None
    mapping_status: str | None = None
    target_group_id: str | None = None
    #: ``(SCIM id, display name)`` of the group's members the app has.
    members: list[tuple[str, str]] = field(default_factory=list)


def _group_view(run: Run) -> _GroupView:
    with run.read() as session:
        app = session.get(AppRow, run.claim.app_id)
        view = _GroupView(scim_target(app, run.runtime.secret_sealer) if app else None)
        group = session.get(GroupRow, run.claim.subject_id)
        view.name = group.name if group is not None else None
        mapping = session.scalars(
            select(GroupPushMappingRow).where(
                GroupPushMappingRow.app_id == run.claim.app_id,
                GroupPushMappingRow.source_group_id == run.claim.subject_id,
            )
        ).first()
        if mapping is not None:
            view.mapping_id = mapping.id
            view.mapping_status = mapping.status
            view.target_group_id = mapping.target_group_id
        rows = session.execute(
            select(ProvisionedUserRow.scim_id, UserRow.first_name, UserRow.last_name)
            .join(UserRow, UserRow.id == ProvisionedUserRow.user_id)
            .join(GroupMemberRow, GroupMemberRow.user_id == ProvisionedUserRow.user_id)
            .where(
                ProvisionedUserRow.app_id == run.claim.app_id,
                GroupMemberRow.group_id == run.claim.subject_id,
            )
            .order_by(ProvisionedUserRow.user_id)
        )
        view.members = [(scim_id, f"{first} {last}".strip()) for scim_id, first, last in rows]
        return view


def _mapping_pushed(mapping_id: str, target_group_id: str) -> Record:
    def record(session: Session, now: datetime) -> None:
        mapping = session.get(GroupPushMappingRow, mapping_id)
        if mapping is not None:
            mapping.target_group_id = target_group_id
            mapping.status = MAPPING_ACTIVE if mapping.status == MAPPING_ERROR else mapping.status
            mapping.error_summary = None
            mapping.last_push_at = now
            mapping.updated_at = now

    return record


def push_group(run: Run) -> Result:
    """A new mapping, a rename or a mapping turned on again: the group, then its members."""
    view = _group_view(run)
    if view.target is None:
        return _skip("the app has no SCIM configuration")
    if view.name is None or view.mapping_id is None:
        return _skip("the group is no longer pushed to the app")
    if view.mapping_status != MAPPING_ACTIVE:
        return _skip("the group push mapping is not active")
    app = run.app(view.target)
    target_id = view.target_group_id
    operation = "renamed"
    if target_id is not None:
        try:
            app.rename_group(target_id, view.name)
        except ScimFailure as failure:
            if failure.status != NOT_FOUND:
                raise
            target_id = None
    if target_id is None:
        existing = app.find_group(view.name)
        if existing is not None:
            operation = "adopted"
        else:
            existing = app.create_group(view.name)
            operation = "created"
        target_id = str(existing.id)
    if view.members:
        app.add_members(target_id, view.members)
    return Result(
        Done({"scimId": target_id, "operation": operation, "members": len(view.members)}),
        _mapping_pushed(view.mapping_id, target_id),
    )


def push_membership(run: Run) -> Result:
    """One member added to or removed from the app's copy of the group."""
    op = str(run.claim.payload.get("op"))
    user_id = str(run.claim.payload.get("userId"))
    view = _group_view(run)
    if view.target is None:
        return _skip("the app has no SCIM configuration")
    if view.mapping_id is None or view.mapping_status != MAPPING_ACTIVE:
        return _skip("the group push mapping is not active")
    if view.target_group_id is None:
        return _skip("the group is not in the app yet; its push adds the members")
    with run.read() as session:
        link = session.get(ProvisionedUserRow, (run.claim.app_id, user_id))
        user = session.get(UserRow, user_id)
        pending = jobs.pending_for(session, run.claim.app_id, jobs.subject_key(jobs.USER, user_id))
        scim_id = link.scim_id if link is not None else None
        display = f"{user.first_name} {user.last_name}".strip() if user is not None else ""
        waiting_until = None
        if pending is not None:
            waiting_until = (
                pending.next_attempt_at
                if pending.state == jobs.QUEUED
                else (pending.lease_expires_at or run.now + MEMBER_WAIT)
            )
    if scim_id is None:
        if op == "add" and waiting_until is not None:
            return Result(Wait(waiting_until, "the member's own push has not run yet"))
        return _skip("the user is not in the app", userId=user_id)
    app = run.app(view.target)
    if op == "add":
        app.add_members(view.target_group_id, [(scim_id, display)])
    else:
        app.remove_member(view.target_group_id, scim_id)
    return Result(Done({"scimId": view.target_group_id, "member": scim_id, "operation": op}))


def delete_group(run: Run) -> Result:
    """A mapping deleted with ``deleteTargetGroup=true``: the app's copy goes."""
    target_group_id = run.claim.payload.get("targetGroupId")
    with run.read() as session:
        app = session.get(AppRow, run.claim.app_id)
        target = scim_target(app, run.runtime.secret_sealer) if app else None
    if target is None:
        return _skip("the app has no SCIM configuration")
    if not isinstance(target_group_id, str):
        return _skip("the group was never pushed to the app")
    try:
        run.app(target).delete_group(target_group_id)
    except ScimFailure as failure:
        if failure.status != NOT_FOUND:
            raise
        return _skip("the app no longer has the group", scimId=target_group_id)
    return Result(Done({"scimId": target_group_id, "operation": "deleted"}))


@dataclass(frozen=True)
class _Found:
    scim_id: str
    user_name: str
    external_id: str | None
    display_name: str | None
    active: bool | None


def import_users(run: Run) -> Result:
    """The app's users, read page by page (``startIndex``/``count``) and matched to the org's
    users by ``externalId`` (the workforce user id), else by ``userName`` (the login)."""
    import_id = str(run.claim.payload.get("importId"))
    with run.read() as session:
        app = session.get(AppRow, run.claim.app_id)
        target = scim_target(app, run.runtime.secret_sealer) if app else None
    if target is None:
        return Result(Fail("the app has no SCIM configuration"))
    scim = run.app(target)
    found: list[_Found] = []
    start = 1
    for _ in range(MAX_PAGES):
        page = scim.list_users(start)
        resources = [r for r in page.resources or [] if getattr(r, "id", None)]
        found += [
            _Found(
                str(r.id),
                str(r.user_name or ""),
                r.external_id,
                r.display_name,
                r.active,
            )
            for r in resources
        ]
        start += len(page.resources or [])
        if not page.resources or (page.total_results is not None and start > page.total_results):
            break

    def record(session: Session, now: datetime) -> None:
        run_import = session.get(ProvisioningImportRow, import_id)
        if run_import is None:
            return
        session.query(ImportedUserRow).filter(ImportedUserRow.import_id == import_id).delete()
        matched = 0
        for position, item in enumerate(found, start=1):
            user_id, match = _match(session, run_import.org_id, item)
            matched += user_id is not None
            session.add(
                ImportedUserRow(
                    import_id=import_id,
                    position=position,
                    scim_id=item.scim_id[:255],
                    user_name=item.user_name[:255],
                    external_id=item.external_id[:255] if item.external_id else None,
                    display_name=item.display_name[:255] if item.display_name else None,
                    active=item.active,
                    matched_user_id=user_id,
                    match=match,
                )
            )
        run_import.total = len(found)
        run_import.matched = matched
        run_import.unmatched = len(found) - matched
        run_import.finished_at = now

    return Result(Done({"importId": import_id, "found": len(found)}), record)


def _match(session: Session, org_id: str, item: _Found) -> tuple[str | None, str]:
    if item.external_id:
        by_id = session.scalars(
            select(UserRow.id).where(UserRow.org_id == org_id, UserRow.id == item.external_id)
        ).first()
        if by_id is not None:
            return by_id, "EXTERNAL_ID"
    by_login = session.scalars(
        select(UserRow.id).where(
            UserRow.org_id == org_id, UserRow.login_key == item.user_name.lower()
        )
    ).first()
    if by_login is not None:
        return by_login, "USER_NAME"
    return None, "NONE"


HANDLERS: dict[str, Callable[[Run], Result]] = {
    jobs.USER_PUSH: push_user,
    jobs.USER_REACTIVATE: push_user,
    jobs.USER_UPDATE: update_user,
    jobs.USER_DEACTIVATE: deactivate_user,
    jobs.GROUP_PUSH: push_group,
    jobs.GROUP_MEMBERS: push_membership,
    jobs.GROUP_DELETE: delete_group,
    jobs.USER_IMPORT: import_users,
    jobs.UNIVERSAL_LOGOUT: deliver,
}


def run(
    runtime: WorkforceRuntime, claim: Claim, now: datetime, http: httpx.Client | None = None
) -> Result:
    """Run a claimed job, talking to the app through ``http`` (a client of the runtime's own,
    for this job only, when ``None``); a failure of the app or of the handler itself is an
    outcome, never an exception, so one bad job cannot stop the worker."""
    if http is None:
        with runtime.tenant_http() as own:
            return run(runtime, claim, now, own)
    handler = HANDLERS.get(claim.kind)
    if handler is None:
        return Result(Fail(f"unknown job kind {claim.kind!r}"))
    try:
        return handler(Run(runtime, claim, now, http))
    except ScimFailure as failure:
        if failure.retryable:
            return Result(Retry(failure.reason, failure.retry_after))
        return Result(Fail(failure.reason))
    except Exception as exc:
        # A fault of ours (or the database's): retried like an outage, and logged with its
        # traceback, which the job's own error does not carry.
        logger.exception("provisioning job %s (%s) raised", claim.id, claim.kind)
        return Result(Retry(f"internal error: {type(exc).__name__}"))


def on_failed(session: Session, job: ProvisioningJobRow, now: datetime) -> None:
    """What a FAILED job leaves on the objects it was for."""
    if job.kind == jobs.GROUP_PUSH:
        mapping = session.scalars(
            select(GroupPushMappingRow).where(
                GroupPushMappingRow.app_id == job.app_id,
                GroupPushMappingRow.source_group_id == job.subject_id,
            )
        ).first()
        if mapping is not None:
            mapping.status = MAPPING_ERROR
            mapping.error_summary = (job.last_error or "")[:1024]
            mapping.updated_at = now
    if job.kind == jobs.USER_IMPORT:
        run_import = session.get(ProvisioningImportRow, str(job.payload.get("importId")))
        if run_import is not None:
            run_import.finished_at = now
