"""Organizations: their members, the roles members hold in them, and their enabled connections."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from expressway import ids
from expressway.tenant.errors import Conflict, InvalidInput, NotFound
from expressway.tenant.rows import (
    ConnectionRow,
    OrganizationConnectionRow,
    OrganizationMemberRoleRow,
    OrganizationMemberRow,
    OrganizationRow,
    UserRow,
)
from expressway.tenant.services import connections, roles
from expressway.tenant.services.metadata import merge_metadata

MAX_METADATA_PROPERTIES = 25

_NAME = re.compile(r"[a-z0-9_-]{1,50}")
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
# At least two labels, and a top-level label that is alphabetic or an IDNA ("xn--") label, which
# is what separates an e-mail domain from a typo such as "acme" or "acme.123".
_DOMAIN = re.compile(rf"(?:{_LABEL}\.)+(?:[a-z]{{2,63}}|xn--[a-z0-9-]{{1,59}})")


@dataclass
class OrganizationSpec:
    """The writable fields of an organization; ``None`` means "not given".

    In ``metadata`` a ``None`` value removes that property, as Auth0 does on update.
    """

    name: str | None = None
    display_name: str | None = None
    metadata: dict[str, str | None] | None = None
    branding: dict[str, Any] | None = None


@dataclass
class EnabledConnectionSpec:
    """How a connection behaves in an organization; ``None`` means "not given"."""

    assign_membership_on_login: bool | None = None
    show_as_button: bool | None = None
    is_signup_enabled: bool | None = None


def find(session: Session, organization_id: str) -> OrganizationRow:
    row = session.get(OrganizationRow, organization_id)
    if row is None:
        raise NotFound(
            f"No organization found by that id: {organization_id}", code="inexistent_organization"
        )
    return row


def find_by_name(session: Session, name: str) -> OrganizationRow:
    row = session.scalars(select(OrganizationRow).where(OrganizationRow.name == name)).first()
    if row is None:
        raise NotFound(
            f"No organization found by that name: {name}", code="inexistent_organization"
        )
    return row


def organization_domains(row: OrganizationRow) -> list[str]:
    """The e-mail domains the organization's customer owns, from ``metadata.domains``.

    Values written through this module are already normalised; parsing stays forgiving for rows
    written any other way.
    """
    value = row.org_metadata.get("domains")
    if not isinstance(value, str):
        return []
    domains: list[str] = []
    for part in value.split(","):
        domain = part.strip().lower()
        if domain and domain not in domains:
            domains.append(domain)
    return domains


def normalise_domains(value: str) -> str:
    """``metadata.domains`` checked and normalised: lower-case domain names, comma-separated.

    Blank entries (a trailing comma) are dropped; anything else that is not a plausible domain
    name is refused, naming it.
    """
    domains: list[str] = []
    for part in value.split(","):
        domain = part.strip().lower()
        if not domain:
            continue
        if len(domain) > 253 or not _DOMAIN.fullmatch(domain):
            raise InvalidInput(
                f"metadata.domains: {part.strip()!r} is not a domain name"
                " (expected e-mail domains such as 'example.com', separated by commas)"
            )
        if domain not in domains:
            domains.append(domain)
    return ",".join(domains)


def _check_name(name: str) -> None:
    if not _NAME.fullmatch(name):
        raise InvalidInput(
            f"name: {name!r} is not a valid organization name; use 1 to 50 lowercase letters,"
            " digits, '-' or '_'"
        )


def _check_name_free(session: Session, name: str, organization_id: str | None) -> None:
    taken = session.scalars(select(OrganizationRow.id).where(OrganizationRow.name == name)).first()
    if taken is not None and taken != organization_id:
        raise Conflict(
            f"An organization with the name {name!r} already exists", code="organization_conflict"
        )


def _merged_metadata(current: dict[str, Any], changes: dict[str, str | None]) -> dict[str, Any]:
    merged = merge_metadata(current, changes)
    if len(merged) > MAX_METADATA_PROPERTIES:
        raise InvalidInput(
            f"metadata: at most {MAX_METADATA_PROPERTIES} properties are allowed"
            f" (this change would make {len(merged)})"
        )
    if "domains" in merged:
        merged["domains"] = normalise_domains(merged["domains"])
    return merged


def _apply(session: Session, row: OrganizationRow, spec: OrganizationSpec) -> None:
    if spec.name is not None:
        _check_name(spec.name)
        _check_name_free(session, spec.name, row.id)
        row.name = spec.name
    if spec.display_name is not None:
        row.display_name = spec.display_name
    if spec.metadata is not None:
        # A new dict, not an in-place change: the JSON column only notices assignment.
        row.org_metadata = _merged_metadata(row.org_metadata, spec.metadata)
    if spec.branding is not None:
        row.branding = spec.branding


def _flush(session: Session, conflict: str) -> None:
    """Flush, turning a uniqueness race lost to a concurrent request into a 409."""
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(conflict) from exc


def create(
    session: Session,
    now: datetime,
    spec: OrganizationSpec,
    enabled_connections: Iterable[tuple[str, EnabledConnectionSpec]] = (),
) -> OrganizationRow:
    if spec.name is None:
        raise InvalidInput("name is required")
    row = OrganizationRow(
        id=ids.prefixed_id("org"), name="", org_metadata={}, branding=None, created_at=now
    )
    _apply(session, row, spec)
    session.add(row)
    _flush(session, f"An organization with the name {row.name!r} already exists")
    for connection_id, connection_spec in enabled_connections:
        enable_connection(session, row, connection_id, connection_spec)
    return row


def update(session: Session, row: OrganizationRow, spec: OrganizationSpec) -> OrganizationRow:
    _apply(session, row, spec)
    _flush(session, f"An organization with the name {row.name!r} already exists")
    return row


def remove(session: Session, row: OrganizationRow) -> None:
    """Delete the organization with its memberships, member roles and enabled connections."""
    for table in (OrganizationMemberRoleRow, OrganizationMemberRow, OrganizationConnectionRow):
        session.execute(delete(table).where(table.organization_id == row.id))
    session.delete(row)
    session.flush()


# Members


def _existing_user_ids(session: Session, user_ids: set[str]) -> set[str]:
    return set(session.scalars(select(UserRow.user_id).where(UserRow.user_id.in_(user_ids))))


def _member_ids(session: Session, organization: OrganizationRow, user_ids: set[str]) -> set[str]:
    return set(
        session.scalars(
            select(OrganizationMemberRow.user_id).where(
                OrganizationMemberRow.organization_id == organization.id,
                OrganizationMemberRow.user_id.in_(user_ids),
            )
        )
    )


def add_members(
    session: Session, now: datetime, organization: OrganizationRow, user_ids: Iterable[str]
) -> list[str]:
    """Make users members; users who already are stay as they are. Answers the ones added.

    Every user must exist, or nobody is added.
    """
    wanted = list(dict.fromkeys(user_ids))
    existing = _existing_user_ids(session, set(wanted))
    unknown = [u for u in wanted if u not in existing]
    if unknown:
        raise InvalidInput(f"members: no user exists with the id {', '.join(unknown)}")
    already = _member_ids(session, organization, set(wanted))
    added = [u for u in wanted if u not in already]
    session.add_all(
        OrganizationMemberRow(organization_id=organization.id, user_id=u, created_at=now)
        for u in added
    )
    _flush(session, "The organization's members were changed concurrently; retry")
    return added


def remove_members(
    session: Session, organization: OrganizationRow, user_ids: Iterable[str]
) -> None:
    """End memberships, and with them the roles held in the organization; non-members are
    ignored."""
    wanted = set(user_ids)
    for table in (OrganizationMemberRoleRow, OrganizationMemberRow):
        session.execute(
            delete(table).where(table.organization_id == organization.id, table.user_id.in_(wanted))
        )
    session.flush()


def check_member(session: Session, organization: OrganizationRow, user_id: str) -> None:
    """Raise unless the user is a member of the organization."""
    if not _member_ids(session, organization, {user_id}):
        raise InvalidInput(
            f"The user {user_id} is not a member of the organization {organization.name}",
            code="user_not_member",
        )


# Member roles


def assign_member_roles(
    session: Session, organization: OrganizationRow, user_id: str, role_ids: Iterable[str]
) -> None:
    """Give a member roles within the organization; roles already held stay as they are."""
    wanted = list(dict.fromkeys(role_ids))
    check_member(session, organization, user_id)
    roles.find_all(session, wanted)
    held = set(
        session.scalars(
            select(OrganizationMemberRoleRow.role_id).where(
                OrganizationMemberRoleRow.organization_id == organization.id,
                OrganizationMemberRoleRow.user_id == user_id,
            )
        )
    )
    session.add_all(
        OrganizationMemberRoleRow(organization_id=organization.id, user_id=user_id, role_id=r)
        for r in wanted
        if r not in held
    )
    _flush(session, "The member's roles were changed concurrently; retry")


def remove_member_roles(
    session: Session, organization: OrganizationRow, user_id: str, role_ids: Iterable[str]
) -> None:
    """Take roles from a member; roles the member does not hold are ignored."""
    wanted = list(dict.fromkeys(role_ids))
    check_member(session, organization, user_id)
    roles.find_all(session, wanted)
    session.execute(
        delete(OrganizationMemberRoleRow).where(
            OrganizationMemberRoleRow.organization_id == organization.id,
            OrganizationMemberRoleRow.user_id == user_id,
            OrganizationMemberRoleRow.role_id.in_(wanted),
        )
    )
    session.flush()


# Enabled connections


def find_enabled_connection(
    session: Session, organization: OrganizationRow, connection_id: str
) -> tuple[OrganizationConnectionRow, ConnectionRow]:
    link = session.get(OrganizationConnectionRow, (organization.id, connection_id))
    if link is None:
        raise NotFound(
            f"The connection {connection_id} is not enabled for the organization"
            f" {organization.name}",
            code="inexistent_organization_connection",
        )
    return link, connections.find(session, connection_id)


def enable_connection(
    session: Session,
    organization: OrganizationRow,
    connection_id: str,
    spec: EnabledConnectionSpec,
) -> tuple[OrganizationConnectionRow, ConnectionRow]:
    connection = connections.find(session, connection_id)
    conflict = (
        f"The connection {connection.name} ({connection_id}) is already enabled for the"
        f" organization {organization.name}"
    )
    if session.get(OrganizationConnectionRow, (organization.id, connection_id)) is not None:
        raise Conflict(conflict, code="organization_connection_conflict")
    link = OrganizationConnectionRow(
        organization_id=organization.id,
        connection_id=connection_id,
        assign_membership_on_login=bool(spec.assign_membership_on_login),
        show_as_button=spec.show_as_button is not False,
        is_signup_enabled=bool(spec.is_signup_enabled),
    )
    session.add(link)
    _flush(session, conflict)
    return link, connection


def update_enabled_connection(
    session: Session, link: OrganizationConnectionRow, spec: EnabledConnectionSpec
) -> OrganizationConnectionRow:
    if spec.assign_membership_on_login is not None:
        link.assign_membership_on_login = spec.assign_membership_on_login
    if spec.show_as_button is not None:
        link.show_as_button = spec.show_as_button
    if spec.is_signup_enabled is not None:
        link.is_signup_enabled = spec.is_signup_enabled
    session.flush()
    return link


def disable_connection(session: Session, link: OrganizationConnectionRow) -> None:
    session.delete(link)
    session.flush()
