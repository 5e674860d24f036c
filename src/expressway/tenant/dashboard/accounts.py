"""Dashboard admins and their sessions, and the machine client the dashboard acts as.

A session lasts at most :data:`ABSOLUTE_LIFETIME` from sign-in and ends after
:data:`IDLE_LIFETIME` without a request. The cookie holds a random secret; the row keeps its
SHA-256 digest. Signing in always starts a new session (no fixation), and signing out revokes it
on the server, not only in the browser.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from expressway import hashing, ids
from expressway.tenant.errors import InvalidInput
from expressway.tenant.management.scopes import MANAGEMENT_SCOPE_NAMES
from expressway.tenant.rows import (
    ClientGrantRow,
    ClientRow,
    DashboardAdminRow,
    DashboardSessionRow,
)
from expressway.web.csrf import new_csrf_token

COOKIE_NAME = "expressway_tenant_dashboard"
ABSOLUTE_LIFETIME = timedelta(hours=12)
IDLE_LIFETIME = timedelta(minutes=30)
DEFAULT_ADMIN_EMAIL = "admin@expressway.localhost"
MIN_PASSWORD_LENGTH = 12
#: The system client whose name the dashboard's changes and its Readiness checks carry in logs.
DASHBOARD_CLIENT_NAME = "Expressway Dashboard"


@dataclass
class NewAdmin:
    row: DashboardAdminRow
    #: Shown once by ``tenant init``; only its Argon2id hash is stored.
    password: str


@dataclass
class NewSession:
    row: DashboardSessionRow
    #: The cookie value: given to the browser once, never stored.
    secret: str


def has_admin(session: Session) -> bool:
    return session.scalars(select(DashboardAdminRow.id).limit(1)).first() is not None


def create_admin(
    session: Session, now: datetime, email: str, password: str | None = None
) -> NewAdmin:
    """An admin account; a random password (shown once) unless one is given."""
    chosen = password or secrets.token_urlsafe(18)
    check_password_policy(chosen)
    row = DashboardAdminRow(
        id=ids.prefixed_id("dad"),
        email=email.strip().lower(),
        password_hash=hashing.hash_password(chosen),
        created_at=now,
        updated_at=now,
        last_login_at=None,
    )
    session.add(row)
    session.flush()
    return NewAdmin(row, chosen)


def check_password_policy(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidInput(f"password: use at least {MIN_PASSWORD_LENGTH} characters")
    if len(password) > 256:
        raise InvalidInput("password: use at most 256 characters")


def password_hash_of(session: Session, email: str) -> str | None:
    """The stored password hash of the admin with this e-mail, or None: what a sign-in checks
    with no transaction open, before :func:`authenticate` decides."""
    return session.scalar(
        select(DashboardAdminRow.password_hash).where(
            DashboardAdminRow.email == email.strip().lower()
        )
    )


def authenticate(
    session: Session, email: str, password: str, checked: hashing.PasswordCheck | None = None
) -> DashboardAdminRow | None:
    """The admin with this e-mail and password, or None; the same work either way.

    ``checked`` is the check made before the transaction (from :func:`password_hash_of`, with no
    lock held during the hash); it is made again here only if the stored hash changed since.
    """
    row = session.scalars(
        select(DashboardAdminRow).where(DashboardAdminRow.email == email.strip().lower())
    ).first()
    stored = row.password_hash if row is not None else None
    if checked is None or checked.stored_hash != stored:
        # For an unknown e-mail this spends the time of a real check, so that the answer's
        # timing does not tell which e-mail addresses have an account.
        checked = hashing.check_password(stored, password)
    if row is None or not checked.matches:
        return None
    if checked.rehashed is not None:
        # Made with other Argon2id parameters than those in use: renewed now, the one moment
        # the password is known (committed with the session the sign-in starts).
        row.password_hash = checked.rehashed
    return row


def change_password(
    session: Session, now: datetime, admin: DashboardAdminRow, current: str, new: str
) -> None:
    """Change the admin's password; their other sessions end."""
    if not hashing.verify_password(admin.password_hash, current):
        raise InvalidInput("current_password: this is not your current password")
    check_password_policy(new)
    admin.password_hash = hashing.hash_password(new)
    admin.updated_at = now
    for other in session.scalars(
        select(DashboardSessionRow).where(
            DashboardSessionRow.admin_id == admin.id, DashboardSessionRow.revoked_at.is_(None)
        )
    ):
        other.revoked_at = now
    session.flush()


def start_session(session: Session, now: datetime, admin: DashboardAdminRow) -> NewSession:
    secret = secrets.token_urlsafe(32)
    row = DashboardSessionRow(
        id=ids.prefixed_id("dse", 24),
        secret_hash=hashing.hash_token(secret),
        admin_id=admin.id,
        csrf_token=new_csrf_token(),
        created_at=now,
        last_active_at=now,
        expires_at=now + ABSOLUTE_LIFETIME,
        revoked_at=None,
    )
    admin.last_login_at = now
    session.add(row)
    session.flush()
    return NewSession(row, secret)


def find_live_session(
    session: Session, now: datetime, secret: str | None
) -> tuple[DashboardSessionRow, DashboardAdminRow] | None:
    """The session a cookie opens and its admin, if it is still live: not revoked, not past its
    absolute or idle lifetime. Finding it counts as activity."""
    if not secret or len(secret) > 128:
        return None
    row = session.scalars(
        select(DashboardSessionRow).where(
            DashboardSessionRow.secret_hash == hashing.hash_token(secret)
        )
    ).first()
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        return None
    if row.last_active_at + IDLE_LIFETIME <= now:
        return None
    admin = session.get(DashboardAdminRow, row.admin_id)
    if admin is None:
        return None
    row.last_active_at = now
    return row, admin


def end_session(row: DashboardSessionRow, now: datetime) -> None:
    row.revoked_at = now


def ensure_dashboard_client(session: Session, now: datetime, audience: str) -> ClientRow:
    """The dashboard's own system client, with a grant for the Management API.

    It has no secret: nothing can obtain a token for it at the token endpoint. The dashboard,
    being the tenant, mints its short-lived tokens itself (see ``readiness.py``).
    """
    client = session.scalars(
        select(ClientRow).where(
            ClientRow.name == DASHBOARD_CLIENT_NAME, ClientRow.is_system.is_(True)
        )
    ).first()
    if client is None:
        client = ClientRow(
            client_id=ids.client_id(),
            name=DASHBOARD_CLIENT_NAME,
            description="The tenant's dashboard; it has no secret and gets no token from outside",
            app_type="non_interactive",
            is_first_party=True,
            callbacks=[],
            allowed_logout_urls=[],
            web_origins=[],
            allowed_origins=[],
            grant_types=[],
            token_endpoint_auth_method="client_secret_post",
            client_secret_hash=None,
            jwt_configuration={"alg": "RS256", "lifetime_in_seconds": 300},
            client_metadata={},
            home_realm_discovery=False,
            is_system=True,
            created_at=now,
            updated_at=now,
        )
        session.add(client)
        session.flush()
    granted = session.scalars(
        select(ClientGrantRow).where(
            ClientGrantRow.client_id == client.client_id, ClientGrantRow.audience == audience
        )
    ).first()
    if granted is None:
        session.add(
            ClientGrantRow(
                id=ids.prefixed_id("cgr"),
                client_id=client.client_id,
                audience=audience,
                scope=list(MANAGEMENT_SCOPE_NAMES),
                created_at=now,
            )
        )
        session.flush()
    return client
