"""Per-request dependencies of the admin API: the org in the path, the caller's ``SSWS`` token,
their admin role, the unit of work, and the System Log entry of every write."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from expressway.workforce import system_log
from expressway.workforce.admin_api.errors import InvalidToken
from expressway.workforce.errors import Forbidden
from expressway.workforce.rows import ApiTokenRow, OrgRow, UserRow
from expressway.workforce.runtime import WorkforceRuntime
from expressway.workforce.services import api_tokens, orgs, throttling, users


@dataclass
class Admin:
    """What an admin API handler works with: the org of the path and the admin calling."""

    session: Session
    runtime: WorkforceRuntime
    org: OrgRow
    actor: UserRow
    token: ApiTokenRow
    request: Request
    now: datetime

    @property
    def org_url(self) -> str:
        return self.runtime.org_url(self.org.name)

    def api_url(self, path: str) -> str:
        """An absolute URL in this org's admin API, for ``_links``."""
        return f"{self.org_url}/api/v1{path}"

    def log(
        self,
        event_type: str,
        display_message: str,
        *targets: system_log.Party,
        debug: dict[str, Any] | None = None,
    ) -> None:
        """Record a successful write in this request's transaction."""
        system_log.record(
            self.session,
            self.org.id,
            self.now,
            system_log.Event(
                event_type=event_type,
                display_message=display_message,
                actor=system_log.Party.of_user(self.actor),
                targets=list(targets),
                client=system_log.Client(
                    ip=self.request.client.host if self.request.client else None,
                    user_agent=self.request.headers.get("user-agent"),
                    request_uri=self.request.url.path,
                ),
                debug_data=debug or {},
            ),
        )


def get_runtime(request: Request) -> WorkforceRuntime:
    runtime: WorkforceRuntime = request.app.state.runtime
    return runtime


def _presented_token(request: Request) -> str:
    """The token of ``Authorization: SSWS {token}``.

    The space is optional: the official Okta Python SDK (3.x) sends ``SSWS{token}`` run
    together, which Okta accepts, and tokens start with ``00`` so nothing is ambiguous.
    """
    header = request.headers.get("authorization", "").strip()
    scheme, token = header[:4], header[4:].strip()
    if scheme.lower() != "ssws" or not token:
        raise InvalidToken()
    return token


def _authenticate(session: Session, org: OrgRow, request: Request, now: datetime) -> Admin:
    """The admin behind the request's token; a token of another org is simply not one of this
    org's, so it is as invalid here as a made-up one."""
    runtime = get_runtime(request)
    token = api_tokens.authenticate(session, org.id, _presented_token(request), now)
    if token is None:
        raise InvalidToken()
    actor = session.get(UserRow, token.user_id)
    # A token acts for its user: it stops working the moment they stop being active. A lockout
    # does not stop it, as in Okta: failed sign-ins by anyone must not cut off an admin's API.
    if actor is None or actor.status not in (users.ACTIVE, throttling.LOCKED_OUT):
        raise InvalidToken()
    if not users.is_super_admin(session, actor):
        raise Forbidden()
    return Admin(session, runtime, org, actor, token, request, now)


def admin_context(request: Request, org: str) -> Iterator[Admin]:
    """The request's unit of work: committed when the handler returns, rolled back when it
    raises, so a failed write changes nothing."""
    runtime = get_runtime(request)
    session = runtime.sessions()
    try:
        found = orgs.get_by_name(session, org)
        yield _authenticate(session, found, request, runtime.clock.now())
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


#: ``ctx: AdminContext`` in a handler's signature.
AdminContext = Annotated[Admin, Depends(admin_context, scope="function")]
