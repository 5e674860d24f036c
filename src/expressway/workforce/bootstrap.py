"""``expressway workforce init``: an org ready for its first admin API call.

Idempotent: every step checks for what it would make and makes only what is missing, so a second
run changes nothing and says so. The admin's password and API token are made with the admin,
answered once, and never again.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from sqlalchemy import select

from expressway.storage import migrate
from expressway.workforce import system_log
from expressway.workforce.rows import ApiTokenRow, UserRow
from expressway.workforce.runtime import WorkforceRuntime
from expressway.workforce.services import api_tokens, orgs, users

ADMIN_TOKEN_NAME = "expressway workforce init"


@dataclass
class InitResult:
    org_name: str
    org_url: str
    changes: list[str] = field(default_factory=list)
    admin_login: str | None = None
    #: Present only on the run that created the admin: never shown again.
    admin_password: str | None = None
    #: Present only on the run that created the admin: never shown again.
    api_token: str | None = None

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def default_admin_email(org_name: str) -> str:
    return f"admin@{org_name}.example"


def migrate_database(runtime: WorkforceRuntime) -> None:
    migrate.upgrade(runtime.engine, "workforce")


def initialise_org(
    runtime: WorkforceRuntime, org_name: str, admin_email: str | None = None
) -> InitResult:
    """Migrate the database and create what the org ``org_name`` needs, if it is missing."""
    orgs.check_name(org_name)
    migrate_database(runtime)
    result = InitResult(org_name=org_name, org_url=runtime.org_url(org_name))
    now = runtime.clock.now()
    with runtime.sessions() as session:
        migrate.hold_bootstrap_lock(session, "workforce")
        org = orgs.find_by_name(session, org_name)
        if org is None:
            org = orgs.create(session, now, org_name)
            result.changes.append(f"created the org {org_name}")
        if runtime.signing_keys.ensure(session, org.id, now):
            result.changes.append("created the org's signing keys (current and next)")
        email = admin_email or default_admin_email(org_name)
        admin = session.scalars(
            select(UserRow).where(UserRow.org_id == org.id, UserRow.login_key == email.lower())
        ).first()
        if admin is None:
            password = secrets.token_urlsafe(18)
            admin = users.create(
                session,
                org.id,
                now,
                {"login": email, "email": email, "firstName": "Org", "lastName": "Admin"},
                password=password,
            )
            users.grant_super_admin(session, admin, now)
            token_row, token = api_tokens.issue(session, admin, ADMIN_TOKEN_NAME, now)
            for event_type, message, target in (
                ("user.lifecycle.create", "Create Okta user", system_log.Party.of_user(admin)),
                (
                    "user.account.privilege.grant",
                    "Grant user privilege",
                    system_log.Party.of_user(admin),
                ),
                (
                    "system.api_token.create",
                    "Create API token",
                    system_log.Party.of_token(token_row),
                ),
            ):
                system_log.record(
                    session,
                    org.id,
                    now,
                    system_log.Event(event_type, message, system_log.SYSTEM, [target]),
                )
            result.admin_password = password
            result.api_token = token
            result.changes.append(f"created the super admin {email} and an API token")
        result.admin_login = admin.login
        session.commit()
    return result


def rotate_operator_token(runtime: WorkforceRuntime, org_name: str, name: str) -> str:
    """A new ``SSWS`` token named ``name`` for the org's super admin (made by
    :func:`initialise_org`), replacing the previous token of that name. For tools that run next
    to the workforce IdP and keep no secret between runs, such as ``expressway demo``."""
    now = runtime.clock.now()
    with runtime.sessions() as session:
        migrate.hold_bootstrap_lock(session, "workforce")
        org = orgs.find_by_name(session, org_name)
        if org is None:
            raise LookupError(f"no org named {org_name}; run `expressway workforce init` first")
        admin = session.scalars(
            select(UserRow).where(
                UserRow.org_id == org.id, UserRow.login_key == default_admin_email(org_name)
            )
        ).first()
        if admin is None:
            raise LookupError(f"the org {org_name} has no super admin made by init")
        for previous in session.scalars(
            select(ApiTokenRow).where(ApiTokenRow.org_id == org.id, ApiTokenRow.name == name)
        ):
            api_tokens.revoke(session, previous)
        row, token = api_tokens.issue(session, admin, name, now)
        system_log.record(
            session,
            org.id,
            now,
            system_log.Event(
                "system.api_token.create",
                "Create API token",
                system_log.SYSTEM,
                [system_log.Party.of_token(row)],
            ),
        )
        session.commit()
    return token
