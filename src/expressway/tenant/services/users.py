"""Users: creation on the database connection, profile and password changes, search.

A user's ``user_id`` is ``{provider}|{id}`` as in Auth0: ``auth0|`` and 24 hex characters for the
database connection. Passwords are kept only as Argon2id hashes (:mod:`expressway.hashing`).
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from expressway import hashing
from expressway.tenant.errors import Conflict, InvalidInput, NotFound, OperationNotSupported
from expressway.tenant.rows import ConnectionRow, OrganizationMemberRow, OrganizationRow, UserRow
from expressway.tenant.services import backchannel_logout, login_sessions, throttling
from expressway.tenant.services.metadata import merge_metadata

DATABASE_STRATEGY = "auth0"
MIN_PASSWORD_LENGTH = 8
#: Auth0 caps metadata too; a cap keeps one user from bloating every read of the users table.
MAX_METADATA_BYTES = 16 * 1024
PROFILE_FIELDS = ("username", "name", "given_name", "family_name", "nickname", "picture")

_EMAIL = re.compile(r"^[^\s@]{1,64}@[^\s@.]+(\.[^\s@.]+)+$")


@dataclass
class NewUser:
    connection: str
    email: str | None = None
    password: str | None = None
    #: The id without its ``auth0|`` prefix; random when not given.
    user_id: str | None = None
    email_verified: bool = False
    blocked: bool = False
    username: str | None = None
    name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    nickname: str | None = None
    picture: str | None = None
    app_metadata: dict[str, Any] = field(default_factory=dict)
    user_metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class UserChanges:
    """A PATCH: ``None`` means "not given"; profile fields named in ``cleared`` are removed.

    Metadata is merged key by key as in Auth0: a key set to ``None`` is removed, and an empty
    object clears the metadata.
    """

    connection: str | None = None
    email: str | None = None
    password: str | None = None
    email_verified: bool | None = None
    blocked: bool | None = None
    profile: dict[str, str] = field(default_factory=dict)
    cleared: frozenset[str] = frozenset()
    app_metadata: dict[str, Any] | None = None
    user_metadata: dict[str, Any] | None = None


@dataclass(frozen=True)
class UserQuery:
    """The subset of Auth0's Lucene user search that Expressway answers."""

    email: str | None = None
    connection: str | None = None


_QUERY_TERM = re.compile(
    r'\s*(?P<field>email|connection):(?:"(?P<quoted>[^"\\]+)"|(?P<bare>[^\s"\\()\[\]{}:*?~^!/]+))\s*'
)
_QUERY_AND = re.compile(r"AND\s+")
SUPPORTED_QUERIES = (
    'email:"jane@example.com", email:jane@example.com or connection:"Connection-Name", '
    "optionally joined with AND"
)


def _unsupported(q: str) -> InvalidInput:
    shown = q if len(q) <= 100 else q[:100] + "…"
    return InvalidInput(
        f"Query validation error: unsupported q {shown!r}. Supported: {SUPPORTED_QUERIES}.",
        code="invalid_query_string",
    )


def parse_query(q: str) -> UserQuery:
    """Read ``q``; anything beyond exact e-mail and connection terms is refused, not guessed."""
    terms: dict[str, str] = {}
    position = 0
    while True:
        term = _QUERY_TERM.match(q, position)
        if term is None or term["field"] in terms:
            raise _unsupported(q)
        terms[term["field"]] = term["quoted"] or term["bare"]
        if term.end() == len(q):
            return UserQuery(email=terms.get("email"), connection=terms.get("connection"))
        joined = _QUERY_AND.match(q, term.end())
        if joined is None:
            raise _unsupported(q)
        position = joined.end()


def listing(query: UserQuery, connection: str | None = None) -> Select[UserRow]:
    statement = select(UserRow).order_by(UserRow.created_at, UserRow.user_id)
    if query.email is not None:
        statement = statement.where(UserRow.email_key == query.email.lower())
    for name in (query.connection, connection):
        if name is not None:
            statement = statement.where(UserRow.connection == name)
    return statement


def find(session: Session, user_id: str) -> UserRow:
    row = session.get(UserRow, user_id)
    if row is None:
        raise NotFound("The user does not exist.", code="inexistent_user")
    return row


def find_all(session: Session, user_ids: list[str]) -> list[UserRow]:
    """The users named in a request body, every one of which must exist."""
    wanted = list(dict.fromkeys(user_ids))
    rows = {
        row.user_id: row
        for row in session.scalars(select(UserRow).where(UserRow.user_id.in_(wanted)))
    }
    missing = [user_id for user_id in wanted if user_id not in rows]
    if missing:
        raise InvalidInput(f"users: these users do not exist: {', '.join(missing)}")
    return [rows[user_id] for user_id in wanted]


def find_by_email(session: Session, email: str) -> list[UserRow]:
    """Every user with this e-mail, on any connection, whatever its case."""
    return list(
        session.scalars(
            select(UserRow)
            .where(UserRow.email_key == email.lower())
            .order_by(UserRow.created_at, UserRow.user_id)
        )
    )


def organizations_of(user_id: str) -> Select[OrganizationRow]:
    return (
        select(OrganizationRow)
        .join(OrganizationMemberRow, OrganizationMemberRow.organization_id == OrganizationRow.id)
        .where(OrganizationMemberRow.user_id == user_id)
        .order_by(OrganizationRow.name)
    )


def check_password_policy(password: str) -> None:
    """Auth0's "fair" policy: 8 characters or more, with 3 of lower, upper, digit, special."""
    kinds = (
        any(c.islower() for c in password),
        any(c.isupper() for c in password),
        any(c.isdigit() for c in password),
        any(not c.isalnum() for c in password),
    )
    if len(password) < MIN_PASSWORD_LENGTH or sum(kinds) < 3:
        raise InvalidInput(
            "PasswordStrengthError: Password is too weak. It needs at least "
            f"{MIN_PASSWORD_LENGTH} characters, with at least 3 of: lower case letters (a-z), "
            "upper case letters (A-Z), numbers (0-9), special characters (e.g. !@#$%^&*).",
            code="invalid_password",
        )


def _check_email(email: str) -> None:
    if not _EMAIL.match(email):
        raise InvalidInput(f"email: {email!r} is not a valid e-mail address")


def _check_metadata(name: str, metadata: dict[str, Any]) -> dict[str, Any]:
    if len(json.dumps(metadata)) > MAX_METADATA_BYTES:
        raise InvalidInput(f"{name}: must be at most {MAX_METADATA_BYTES} bytes of JSON")
    return metadata


def _merge_metadata(name: str, current: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    if not patch:
        return {}
    return _check_metadata(name, merge_metadata(current, patch))


def _email_taken(session: Session, connection: str, email: str) -> bool:
    return (
        session.scalars(
            select(UserRow.user_id).where(
                UserRow.connection == connection, UserRow.email_key == email.lower()
            )
        ).first()
        is not None
    )


def _flush_unless_duplicate(session: Session, conflict: Conflict) -> None:
    # The checks before this catch nearly every duplicate; the unique constraints catch the
    # two concurrent requests that both passed them.
    try:
        session.flush()
    except IntegrityError as exc:
        raise conflict from exc


def _user_exists() -> Conflict:
    return Conflict("The user already exists.", code="auth0_idp_error")


def create(session: Session, now: datetime, new: NewUser) -> UserRow:
    """Create a user on a database connection, with a password that meets the policy."""
    connection = session.scalars(
        select(ConnectionRow).where(ConnectionRow.name == new.connection)
    ).first()
    if connection is None:
        raise InvalidInput(
            f"The connection does not exist: {new.connection}",
            code="inexistent_connection",
        )
    if connection.strategy != DATABASE_STRATEGY:
        raise OperationNotSupported(
            f"connection: users can be created only on database connections; "
            f"{connection.name!r} is an {connection.strategy!r} connection"
        )
    if new.email is None:
        raise InvalidInput("email: is required on a database connection")
    if new.password is None:
        raise InvalidInput("password: is required on a database connection")
    _check_email(new.email)
    check_password_policy(new.password)
    user_id = f"{DATABASE_STRATEGY}|{new.user_id or secrets.token_hex(12)}"
    if session.get(UserRow, user_id) is not None or _email_taken(
        session, connection.name, new.email
    ):
        raise _user_exists()
    row = UserRow(
        user_id=user_id,
        connection=connection.name,
        provider=DATABASE_STRATEGY,
        email=new.email,
        email_key=new.email.lower(),
        email_verified=new.email_verified,
        username=new.username,
        name=new.name or new.email,
        given_name=new.given_name,
        family_name=new.family_name,
        nickname=new.nickname or new.email.split("@", 1)[0],
        picture=new.picture,
        password_hash=hashing.hash_password(new.password),
        blocked=new.blocked,
        app_metadata=_check_metadata("app_metadata", new.app_metadata),
        user_metadata=_check_metadata("user_metadata", new.user_metadata),
        last_login=None,
        logins_count=0,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    _flush_unless_duplicate(session, _user_exists())
    return row


def update(session: Session, now: datetime, row: UserRow, changes: UserChanges) -> UserRow:
    """Apply a PATCH; every check runs before anything changes, the password hash last."""
    if changes.connection is not None and changes.connection != row.connection:
        raise InvalidInput(
            f"connection: the user belongs to the connection {row.connection!r}, "
            f"not {changes.connection!r}"
        )
    if changes.password is not None:
        if row.provider != DATABASE_STRATEGY:
            raise OperationNotSupported(
                f"password: users of the {row.connection!r} connection sign in upstream and "
                "have no password here"
            )
        check_password_policy(changes.password)
    email_conflict = Conflict("The specified new email already exists")
    if changes.email is not None and changes.email.lower() != row.email_key:
        _check_email(changes.email)
        if _email_taken(session, row.connection, changes.email):
            raise email_conflict
        # A new address has not been verified, unless the caller says it has.
        row.email_verified = False
    if changes.email is not None:
        row.email = changes.email
        row.email_key = changes.email.lower()
    if changes.app_metadata is not None:
        row.app_metadata = _merge_metadata("app_metadata", row.app_metadata, changes.app_metadata)
    if changes.user_metadata is not None:
        row.user_metadata = _merge_metadata(
            "user_metadata", row.user_metadata, changes.user_metadata
        )
    if changes.email_verified is not None:
        row.email_verified = changes.email_verified
    if changes.blocked is not None:
        row.blocked = changes.blocked
    for name, value in changes.profile.items():
        setattr(row, name, value)
    for name in changes.cleared:
        setattr(row, name, None)
    if changes.password is not None:
        row.password_hash = hashing.hash_password(changes.password)
        # A new password lifts brute-force blocks, as in Auth0: the guessing was at the old one.
        throttling.lift_account_blocks(session, row.email_key or "", connection=row.connection)
    row.updated_at = now
    _flush_unless_duplicate(session, email_conflict)
    return row


def remove(session: Session, now: datetime, row: UserRow) -> None:
    """Delete a user; the database drops their sessions, refresh tokens, roles and memberships
    (ON DELETE CASCADE).

    Their sessions are ended first, in this transaction, as Auth0's ``account-deleted``: the
    applications that subscribe to it get a Logout Token. The outbox row holds the token's
    ``sub`` and ``sid`` and refers to neither the user nor the session, so it outlives both.
    """
    login_sessions.revoke_user_sessions(
        session, now, row.user_id, initiator=backchannel_logout.ACCOUNT_DELETED
    )
    session.delete(row)
    session.flush()
