"""Roles, the permissions they hold, and the users they are assigned to directly."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from expressway import ids
from expressway.tenant.errors import Conflict, InvalidInput, NotFound
from expressway.tenant.rows import (
    ResourceServerRow,
    RolePermissionRow,
    RoleRow,
    UserRoleRow,
    UserRow,
)


@dataclass(frozen=True, order=True)
class PermissionRef:
    """A permission as requests name it: an API's identifier and one of its scopes."""

    resource_server_identifier: str
    permission_name: str


@dataclass(frozen=True)
class Permission:
    """A permission with what its API says about it, as Auth0 lists it."""

    resource_server_identifier: str
    permission_name: str
    resource_server_name: str
    description: str


def find(session: Session, role_id: str) -> RoleRow:
    row = session.get(RoleRow, role_id)
    if row is None:
        raise NotFound("The role does not exist.", code="inexistent_role")
    return row


def find_all(session: Session, role_ids: Sequence[str]) -> list[RoleRow]:
    """The roles named in a request body, every one of which must exist."""
    wanted = list(dict.fromkeys(role_ids))
    rows = {row.id: row for row in session.scalars(select(RoleRow).where(RoleRow.id.in_(wanted)))}
    missing = [role_id for role_id in wanted if role_id not in rows]
    if missing:
        raise InvalidInput(f"roles: these roles do not exist: {', '.join(missing)}")
    return [rows[role_id] for role_id in wanted]


def listing(name_filter: str | None = None) -> Select[RoleRow]:
    """Every role by name; ``name_filter`` keeps names containing it, whatever their case."""
    statement = select(RoleRow).order_by(RoleRow.name, RoleRow.id)
    if name_filter:
        statement = statement.where(
            func.lower(RoleRow.name).contains(name_filter.lower(), autoescape=True)
        )
    return statement


def _name_taken(name: str) -> Conflict:
    return Conflict(f"A role with the name {name!r} already exists")


def _check_name_free(session: Session, name: str, role_id: str | None = None) -> None:
    taken = session.scalars(select(RoleRow).where(RoleRow.name == name)).first()
    if taken is not None and taken.id != role_id:
        raise _name_taken(name)


def _flush_unless_name_taken(session: Session, name: str) -> None:
    # The check before catches nearly every duplicate; the unique constraint catches two
    # concurrent requests that both passed it.
    try:
        session.flush()
    except IntegrityError as exc:
        raise _name_taken(name) from exc


def create(session: Session, now: datetime, name: str, description: str | None) -> RoleRow:
    _check_name_free(session, name)
    row = RoleRow(id=ids.prefixed_id("rol"), name=name, description=description, created_at=now)
    session.add(row)
    _flush_unless_name_taken(session, name)
    return row


def update(
    session: Session, row: RoleRow, *, name: str | None = None, description: str | None = None
) -> None:
    """Change what is given (``None`` is "not given"; an empty description clears it)."""
    if description is not None:
        row.description = description or None
    if name is not None:
        _check_name_free(session, name, row.id)
        row.name = name
        _flush_unless_name_taken(session, name)
    session.flush()


def remove(session: Session, row: RoleRow) -> None:
    """Delete a role; the database takes it off its users and members (ON DELETE CASCADE)."""
    session.delete(row)
    session.flush()


def _check_permissions(session: Session, refs: Iterable[PermissionRef]) -> None:
    apis = {
        api.identifier: {scope["value"] for scope in api.scopes}
        for api in session.scalars(
            select(ResourceServerRow).where(
                ResourceServerRow.identifier.in_({ref.resource_server_identifier for ref in refs})
            )
        )
    }
    for ref in refs:
        scopes = apis.get(ref.resource_server_identifier)
        if scopes is None:
            raise InvalidInput(
                f"permissions: the resource server {ref.resource_server_identifier!r} "
                "does not exist"
            )
        if ref.permission_name not in scopes:
            raise InvalidInput(
                f"permissions: {ref.permission_name!r} is not a permission of the resource "
                f"server {ref.resource_server_identifier!r}"
            )


def _held(session: Session, role_id: str) -> set[PermissionRef]:
    return {
        PermissionRef(row.resource_server_identifier, row.permission_name)
        for row in session.scalars(
            select(RolePermissionRow).where(RolePermissionRow.role_id == role_id)
        )
    }


def add_permissions(session: Session, row: RoleRow, refs: Sequence[PermissionRef]) -> None:
    """Give a role permissions; each must be a scope of an existing API. Idempotent."""
    wanted = set(refs)
    _check_permissions(session, wanted)
    for ref in sorted(wanted - _held(session, row.id)):
        session.add(
            RolePermissionRow(
                role_id=row.id,
                resource_server_identifier=ref.resource_server_identifier,
                permission_name=ref.permission_name,
            )
        )
    session.flush()


def remove_permissions(session: Session, row: RoleRow, refs: Sequence[PermissionRef]) -> None:
    """Take permissions off a role; one it does not hold is no error."""
    for ref in set(refs):
        session.execute(
            delete(RolePermissionRow).where(
                RolePermissionRow.role_id == row.id,
                RolePermissionRow.resource_server_identifier == ref.resource_server_identifier,
                RolePermissionRow.permission_name == ref.permission_name,
            )
        )
    session.flush()


def permissions_listing(role_id: str) -> Select[RolePermissionRow]:
    return (
        select(RolePermissionRow)
        .where(RolePermissionRow.role_id == role_id)
        .order_by(RolePermissionRow.resource_server_identifier, RolePermissionRow.permission_name)
    )


def describe(session: Session, refs: Sequence[PermissionRef]) -> list[Permission]:
    """The permissions in the order given, with their API's name and the scope's description."""
    apis = {
        api.identifier: api
        for api in session.scalars(
            select(ResourceServerRow).where(
                ResourceServerRow.identifier.in_({ref.resource_server_identifier for ref in refs})
            )
        )
    }
    described = []
    for ref in refs:
        api = apis.get(ref.resource_server_identifier)
        descriptions = {s["value"]: s.get("description", "") for s in api.scopes} if api else {}
        described.append(
            Permission(
                resource_server_identifier=ref.resource_server_identifier,
                permission_name=ref.permission_name,
                resource_server_name=api.name if api else ref.resource_server_identifier,
                description=descriptions.get(ref.permission_name, ""),
            )
        )
    return described


def permissions_of_user(session: Session, user_id: str) -> list[PermissionRef]:
    """What a user holds through their direct roles, each permission once, sorted."""
    rows = session.scalars(
        select(RolePermissionRow)
        .join(UserRoleRow, UserRoleRow.role_id == RolePermissionRow.role_id)
        .where(UserRoleRow.user_id == user_id)
    )
    return sorted({PermissionRef(r.resource_server_identifier, r.permission_name) for r in rows})


def users_listing(role_id: str) -> Select[UserRow]:
    """The role's direct users by ``user_id``."""
    return (
        select(UserRow)
        .join(UserRoleRow, UserRoleRow.user_id == UserRow.user_id)
        .where(UserRoleRow.role_id == role_id)
        .order_by(UserRow.user_id)
    )


def assign(session: Session, roles: Sequence[RoleRow], users: Sequence[UserRow]) -> None:
    """Assign every role to every user; pairs that already exist are left as they are."""
    role_ids = [role.id for role in roles]
    user_ids = [user.user_id for user in users]
    existing = {
        (row.user_id, row.role_id)
        for row in session.scalars(
            select(UserRoleRow).where(
                UserRoleRow.role_id.in_(role_ids), UserRoleRow.user_id.in_(user_ids)
            )
        )
    }
    for user_id in user_ids:
        for role_id in role_ids:
            if (user_id, role_id) not in existing:
                session.add(UserRoleRow(user_id=user_id, role_id=role_id))
    session.flush()


def unassign(session: Session, roles: Sequence[RoleRow], user: UserRow) -> None:
    session.execute(
        delete(UserRoleRow).where(
            UserRoleRow.user_id == user.user_id,
            UserRoleRow.role_id.in_([role.id for role in roles]),
        )
    )
    session.flush()


def roles_of_user(user_id: str) -> Select[RoleRow]:
    return (
        select(RoleRow)
        .join(UserRoleRow, UserRoleRow.role_id == RoleRow.id)
        .where(UserRoleRow.user_id == user_id)
        .order_by(RoleRow.name, RoleRow.id)
    )
