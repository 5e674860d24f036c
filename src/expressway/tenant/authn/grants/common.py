"""What the grants share: reading their parameters, the checks on the user and the
organization a grant was made for, and the record of a successful exchange."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from sqlalchemy.orm import Session

from expressway.oauth.errors import InvalidGrant, InvalidRequest
from expressway.tenant import logs
from expressway.tenant.rows import (
    ClientRow,
    OrganizationMemberRow,
    OrganizationRow,
    UserRow,
)
from expressway.tenant.runtime import TenantRuntime

_ORIGIN_KEY = "expressway.request_origin"


class ReuseDetected(InvalidGrant):
    """``invalid_grant`` for a code or refresh token presented a second time. What it revoked
    must be committed although the request fails: the endpoint commits before answering."""


#: The longest user agent a log event keeps.
MAX_USER_AGENT = 512


class RequestOrigin(NamedTuple):
    ip: str | None
    user_agent: str | None

    @classmethod
    def of(cls, ip: str | None, user_agent: str | None) -> RequestOrigin:
        """A request's origin, its user agent cut to what a log event keeps."""
        return cls(ip=ip, user_agent=user_agent[:MAX_USER_AGENT] if user_agent else None)


def set_request_origin(session: Session, origin: RequestOrigin) -> None:
    """Where the token request came from, for the log events the grant records in ``session``.

    Kept on the session (SQLAlchemy's ``Session.info`` is for such per-unit-of-work facts) so
    that every grant keeps one shape, ``handle(runtime, session, client, params)``.
    """
    session.info[_ORIGIN_KEY] = origin


def required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise InvalidRequest(f"{name} is required")
    return value


def active_user(session: Session, user_id: str) -> UserRow:
    """The user a grant was made for, who must still exist and not be blocked."""
    user = session.get(UserRow, user_id)
    if user is None:
        raise InvalidGrant("the user of this grant no longer exists")
    if user.blocked:
        raise InvalidGrant("the user is blocked")
    return user


def login_organization(
    session: Session, organization_id: str | None, user_id: str
) -> OrganizationRow | None:
    """The organization the user signed in to, of which they must still be a member."""
    if organization_id is None:
        return None
    organization = session.get(OrganizationRow, organization_id)
    if organization is None:
        raise InvalidGrant("the organization of this login no longer exists")
    if session.get(OrganizationMemberRow, (organization_id, user_id)) is None:
        raise InvalidGrant(
            f"the user is no longer a member of the organization {organization.name}"
        )
    return organization


def record_exchange(
    runtime: TenantRuntime,
    session: Session,
    *,
    type: str,
    description: str,
    client: ClientRow,
    user: UserRow | None = None,
    organization: OrganizationRow | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    origin = session.info.get(_ORIGIN_KEY)
    # Written now by one Core insert, in the same transaction, rather than by the unit of work
    # at commit: on every token request, the flush's bookkeeping costs more than the insert.
    session.execute(
        logs.INSERT_EVENTS,
        exchange_event(
            runtime,
            type=type,
            description=description,
            client_id=client.client_id,
            client_name=client.name,
            origin=origin if isinstance(origin, RequestOrigin) else None,
            user=user,
            organization=organization,
            details=details,
        ),
    )


def exchange_event(
    runtime: TenantRuntime,
    *,
    type: str,
    description: str,
    client_id: str,
    client_name: str | None,
    origin: RequestOrigin | None,
    user: UserRow | None = None,
    organization: OrganizationRow | None = None,
    details: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The log event of a successful exchange, as the column values of one insert into
    :data:`expressway.tenant.logs.LOG_EVENTS`."""
    return logs.event_columns(
        at=runtime.clock.now(),
        type=type,
        description=description,
        client_id=client_id,
        client_name=client_name,
        user_id=user.user_id if user else None,
        user_name=(user.email or user.name) if user else None,
        organization_id=organization.id if organization else None,
        organization_name=organization.name if organization else None,
        ip=origin.ip if origin else None,
        user_agent=origin.user_agent if origin else None,
        details=details,
    )
