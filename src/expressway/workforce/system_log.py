"""The System Log of each org: Okta-shaped events for every admin action and every sign-in.

Events are written in the same transaction as the change they describe, so a rolled-back change
leaves no event. Event types are Okta's (``user.lifecycle.create``, ``user.session.start``,
``application.user_membership.add``…), so log queries written for Okta work here.
"""

from __future__ import annotations

import itertools
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from expressway.workforce.rows import (
    ApiTokenRow,
    AppRow,
    GroupRow,
    LogEventRow,
    UserRow,
)


@dataclass(frozen=True)
class Party:
    """An actor or a target of an event, as Okta names them."""

    id: str
    type: str
    alternate_id: str | None = None
    display_name: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "alternateId": self.alternate_id,
            "displayName": self.display_name,
            "detailEntry": None,
        }

    @classmethod
    def of_user(cls, user: UserRow) -> Party:
        return cls(user.id, "User", user.login, f"{user.first_name} {user.last_name}".strip())

    @classmethod
    def of_group(cls, group: GroupRow) -> Party:
        return cls(group.id, "UserGroup", group.name, group.name)

    @classmethod
    def of_app(cls, app: AppRow) -> Party:
        return cls(app.id, "AppInstance", app.name, app.label)

    @classmethod
    def of_token(cls, token: ApiTokenRow) -> Party:
        return cls(token.id, "Token", token.name, token.name)


#: The actor of what ``expressway workforce init`` and other operator commands do.
SYSTEM = Party("system", "SystemPrincipal", "system@expressway", "Expressway")


@dataclass(frozen=True)
class Client:
    """Where a request came from."""

    ip: str | None = None
    user_agent: str | None = None
    request_uri: str | None = None


@dataclass(frozen=True)
class Outcome:
    result: str = "SUCCESS"
    reason: str | None = None


@dataclass(frozen=True)
class Event:
    event_type: str
    display_message: str
    actor: Party
    targets: list[Party] = field(default_factory=list)
    outcome: Outcome = field(default_factory=Outcome)
    severity: str = "INFO"
    client: Client = field(default_factory=Client)
    debug_data: dict[str, Any] = field(default_factory=dict)


#: Orders the events one process records in the same microsecond (all the events of one request
#: share its time) in the order they were recorded.
_sequence = itertools.count()


def sort_key(at: datetime) -> str:
    """A key that sorts by publication time: microseconds since the epoch, then this process's
    sequence, then randomness that keeps two replicas' keys apart."""
    micros = int(at.timestamp() * 1_000_000)
    sequence = next(_sequence) % 10**10
    return f"{micros:020d}{sequence:010d}{secrets.randbelow(10**8):08d}"


def record(session: Session, org_id: str, at: datetime, event: Event) -> LogEventRow:
    debug = dict(event.debug_data)
    if event.client.request_uri is not None:
        debug.setdefault("requestUri", event.client.request_uri)
    row = LogEventRow(
        uuid=str(uuid.uuid4()),
        org_id=org_id,
        sort_key=sort_key(at),
        published=at,
        event_type=event.event_type,
        display_message=event.display_message,
        severity=event.severity,
        actor_id=event.actor.id,
        actor=event.actor.as_json(),
        targets=[t.as_json() for t in event.targets],
        target_ids=" " + " ".join(t.id for t in event.targets) + " ",
        outcome_result=event.outcome.result,
        outcome_reason=event.outcome.reason,
        client_ip=event.client.ip,
        user_agent=event.client.user_agent,
        debug_data=debug,
    )
    session.add(row)
    return row
