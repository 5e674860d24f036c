"""Users who sign in through an upstream IdP (``okta`` and ``oidc`` connections): created just in
time on their first login, their profile refreshed from the upstream's claims on the next ones.

The user id is ``{strategy}|{connection}|{sub}`` as in Auth0, so the same upstream subject on two
connections is two users, and a subject can never take over a database user. Profile values come
from the ID token and userinfo claims through the connection's ``options.attribute_map``; a value
that does not fit the profile (wrong type, too long, a NUL character) is left out rather than
failing the login, since the upstream, not the user, chose it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from expressway.tenant.errors import Conflict, InvalidInput
from expressway.tenant.rows import ConnectionRow, UserRow

#: Auth0's ``basic_profile`` mapping mode: the standard claims copied onto the user's root.
BASIC_PROFILE = (
    "email",
    "email_verified",
    "name",
    "given_name",
    "family_name",
    "nickname",
    "picture",
)
#: The user columns' lengths: a longer upstream value is dropped, never truncated into a lie.
_MAX_LENGTHS = {
    "email": 320,
    "name": 300,
    "given_name": 150,
    "family_name": 150,
    "nickname": 300,
    "picture": 2048,
}
_EMAIL = re.compile(r"^[^\s@]{1,64}@[^\s@.]+(\.[^\s@.]+)+$")
#: ``${context.tokenset.claim}`` (the ID token's claims) or ``${context.userinfo.claim}``.
_PLACEHOLDER = re.compile(r"\$\{context\.(tokenset|userinfo)\.([A-Za-z0-9_:.-]{1,128})\}")
MAX_USER_ID_LENGTH = 255


@dataclass(frozen=True)
class FederatedProfile:
    """The root attributes an upstream login sets; ``None`` means "the upstream sent none"."""

    email: str | None = None
    email_verified: bool = False
    name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    nickname: str | None = None
    picture: str | None = None


def federated_user_id(strategy: str, connection_name: str, subject: str) -> str:
    return f"{strategy}|{connection_name}|{subject}"


def _render(template: str, tokenset: Mapping[str, Any], userinfo: Mapping[str, Any]) -> Any:
    """A use_map attribute: a literal, one placeholder (its value as sent), or a text with some."""
    whole = _PLACEHOLDER.fullmatch(template)
    if whole is not None:
        source = tokenset if whole[1] == "tokenset" else userinfo
        return source.get(whole[2])

    def substitute(match: re.Match[str]) -> str:
        source = tokenset if match[1] == "tokenset" else userinfo
        value = source.get(match[2])
        return "" if value is None else str(value)

    return _PLACEHOLDER.sub(substitute, template).strip()


def _clean(attribute: str, value: Any) -> Any:
    if attribute == "email_verified":
        if isinstance(value, bool):
            return value
        # Some IdPs send the JSON string instead of the boolean.
        return value == "true" if value in ("true", "false") else None
    if not isinstance(value, str) or not value or "\x00" in value:
        return None
    if len(value) > _MAX_LENGTHS[attribute]:
        return None
    if attribute == "email" and not _EMAIL.match(value):
        return None
    return value


def map_profile(
    attribute_map: Mapping[str, Any] | None,
    id_token_claims: Mapping[str, Any],
    userinfo: Mapping[str, Any],
) -> FederatedProfile:
    """The profile an upstream login gives, per the connection's ``attribute_map``.

    ``basic_profile`` (the default) and ``bind_all`` copy the standard claims, userinfo winning
    over the ID token; ``use_map`` takes only ``attributes``, whose entries override the copied
    claims in the other modes too. Attributes outside the user's root profile are not kept:
    Expressway's users have no store for arbitrary upstream attributes yet.
    """
    mode = (attribute_map or {}).get("mapping_mode") or "basic_profile"
    attributes = (attribute_map or {}).get("attributes") or {}
    values: dict[str, Any] = {}
    if mode != "use_map":
        merged = {**id_token_claims, **userinfo}
        values = {name: merged.get(name) for name in BASIC_PROFILE}
    for name, template in attributes.items():
        if name in BASIC_PROFILE and isinstance(template, str):
            values[name] = _render(template, id_token_claims, userinfo)
    cleaned = {name: _clean(name, value) for name, value in values.items()}
    cleaned["email_verified"] = bool(cleaned.get("email_verified"))
    return FederatedProfile(**{k: v for k, v in cleaned.items() if v is not None})


def _email_taken(session: Session, connection: str, email: str, user_id: str) -> bool:
    return (
        session.scalars(
            select(UserRow.user_id).where(
                UserRow.connection == connection,
                UserRow.email_key == email.lower(),
                UserRow.user_id != user_id,
            )
        ).first()
        is not None
    )


def _email_conflict(connection: ConnectionRow, email: str) -> Conflict:
    return Conflict(
        f"another user of the connection {connection.name} already has the e-mail {email}",
        code="email_conflict",
    )


def _set_profile(row: UserRow, profile: FederatedProfile) -> None:
    for name, value in asdict(profile).items():
        setattr(row, name, value)
    row.email_key = profile.email.lower() if profile.email else None
    # As for database users: without a name, the e-mail stands in for it.
    row.name = profile.name or profile.email
    row.nickname = profile.nickname or (profile.email.split("@", 1)[0] if profile.email else None)


def provision(
    session: Session,
    now: datetime,
    connection: ConnectionRow,
    subject: str,
    profile: FederatedProfile,
) -> UserRow:
    """The user behind an upstream login: created on the first, updated on the next ones.

    The connection's ``set_user_root_attributes`` decides the updates as in Auth0:
    ``on_each_login`` (the default) refreshes the profile every time, ``on_first_login`` only
    at creation, ``never_on_login`` never (the profile is then managed through the API alone).
    Raises :class:`Conflict` when another user of the connection holds the e-mail.
    """
    user_id = federated_user_id(connection.strategy, connection.name, subject)
    if len(user_id) > MAX_USER_ID_LENGTH:
        raise InvalidInput(f"the upstream sub makes a user id longer than {MAX_USER_ID_LENGTH}")
    policy = connection.options.get("set_user_root_attributes", "on_each_login")
    row = session.get(UserRow, user_id)
    if row is None:
        row = UserRow(
            user_id=user_id,
            connection=connection.name,
            provider=connection.strategy,
            password_hash=None,
            blocked=False,
            app_metadata={},
            user_metadata={},
            last_login=None,
            logins_count=0,
            created_at=now,
            updated_at=now,
        )
        _set_profile(row, profile if policy != "never_on_login" else FederatedProfile())
        session.add(row)
    elif policy == "on_each_login":
        _set_profile(row, profile)
        row.updated_at = now
    # Without autoflush: the check must run before the new profile reaches the database.
    with session.no_autoflush:
        if row.email and _email_taken(session, connection.name, row.email, user_id):
            raise _email_conflict(connection, row.email)
    # The check above catches nearly every duplicate; the unique constraint catches the two
    # concurrent first logins that both passed it.
    try:
        session.flush()
    except IntegrityError as exc:
        raise _email_conflict(connection, row.email or "") from exc
    return row


def find_by_subject(session: Session, connection: ConnectionRow, subject: str) -> UserRow | None:
    return session.get(UserRow, federated_user_id(connection.strategy, connection.name, subject))


def find_by_email(session: Session, connection: ConnectionRow, email: str) -> UserRow | None:
    return session.scalars(
        select(UserRow).where(
            UserRow.connection == connection.name, UserRow.email_key == email.lower()
        )
    ).first()
