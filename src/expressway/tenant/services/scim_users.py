"""SCIM users: the tenant users a connection's IdP provisions (RFC 7644 §3.3 to §3.6).

A SCIM user is a tenant user of that connection. Its ``user_id`` is the one an SSO login through
the connection gives (``okta|{connection}|{id}``, :func:`federated_users.federated_user_id`),
where the id is the SCIM attribute the connection's SCIM configuration names
(``user_id_attribute``, ``externalId`` by default: the Okta user id, which is also the ``sub`` of
Okta's ID tokens), or ``userName`` when the payload has none. So a user who signed in before being
provisioned is adopted, not duplicated. The user's profile follows the configuration's mapping;
the full resource is kept beside it.

``active: false`` blocks the tenant user and ends their sessions and refresh tokens at once;
``active: true`` unblocks them. A new user joins every organization the connection is enabled on.
"""

from __future__ import annotations

import functools
import json
import re
import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, NamedTuple, cast

import sqlalchemy as sa
from pydantic import BaseModel, ValidationError
from scim2_models import Path as ScimPath
from scim2_models import SCIMException
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from expressway import json_text
from expressway.scim import errors as scim_errors
from expressway.scim.errors import ScimError
from expressway.scim.patch import apply_patch
from expressway.scim.resources import (
    USER_URN,
    UserResource,
    stored_form,
    user_name_key,
)
from expressway.storage.sqlite_driver import SessionStatement
from expressway.tenant.rows import (
    ConnectionRow,
    OrganizationConnectionRow,
    OrganizationMemberRow,
    ScimConfigurationRow,
    ScimGroupMemberRow,
    ScimGroupRow,
    ScimUserRow,
    UserRow,
)
from expressway.tenant.services import (
    backchannel_logout,
    login_sessions,
    refresh_tokens,
    users,
)
from expressway.tenant.services.federated_users import MAX_USER_ID_LENGTH, federated_user_id
from expressway.tenant.services.scim_queries import Indexed, Kind
from expressway.tenant.services.scim_resources import ScimKind, checked_name

#: The user columns' lengths: a longer SCIM value is left out, never truncated into a lie.
_PROFILE_LENGTHS = {
    "email": 320,
    "name": 300,
    "given_name": 150,
    "family_name": 150,
    "nickname": 300,
    "picture": 2048,
}
_EMAIL = re.compile(r"^[^\s@]{1,64}@[^\s@.]+(\.[^\s@.]+)+$")
_APP_METADATA = "app_metadata."

COLUMNS = {
    f"{USER_URN}:id".lower(): Indexed(ScimUserRow.id, Kind.EXACT),
    f"{USER_URN}:userName".lower(): Indexed(ScimUserRow.user_name_key, Kind.KEY),
    f"{USER_URN}:externalId".lower(): Indexed(ScimUserRow.external_id, Kind.EXACT),
    f"{USER_URN}:active".lower(): Indexed(ScimUserRow.active, Kind.BOOLEAN),
    f"{USER_URN}:meta.created".lower(): Indexed(ScimUserRow.created_at, Kind.DATETIME),
    f"{USER_URN}:meta.lastModified".lower(): Indexed(ScimUserRow.updated_at, Kind.DATETIME),
}


def new_scim_id() -> str:
    return uuid.uuid4().hex


# --- Reading ---


#: The groups of the members a condition names, in the order a user's ``groups`` lists them.
_GROUPS_OF_MEMBERS = (
    sa.select(ScimGroupMemberRow.member_id, ScimGroupRow.id, ScimGroupRow.display_name)
    .join(ScimGroupRow, ScimGroupRow.id == ScimGroupMemberRow.group_id)
    .order_by(ScimGroupRow.display_name_key, ScimGroupRow.id)
)
#: The query of :func:`group_memberships`, built once (it runs for every user answered).
_MEMBERSHIPS = _GROUPS_OF_MEMBERS.where(
    ScimGroupMemberRow.member_id.in_(sa.bindparam("ids", expanding=True))
)
#: The same for one user (a lookup's, a read's, a write's answer), on SQLite's cursor: through
#: the session, the query cost a lookup a fifth of its CPU.
_MEMBERSHIPS_OF_ONE = SessionStatement(
    _GROUPS_OF_MEMBERS.where(ScimGroupMemberRow.member_id == sa.bindparam("id"))
)


def group_memberships(
    session: Session, scim_ids: Sequence[str]
) -> dict[str, list[tuple[str, str]]]:
    """For each user, the groups they are in: ``(group id, group displayName)``."""
    found: dict[str, list[tuple[str, str]]] = {scim_id: [] for scim_id in scim_ids}
    if not scim_ids:
        return found
    rows = (
        _MEMBERSHIPS_OF_ONE.run(session, {"id": scim_ids[0]})
        if len(scim_ids) == 1
        else session.execute(_MEMBERSHIPS, {"ids": list(scim_ids)})
    )
    for member_id, group_id, display_name in rows:
        found[member_id].append((group_id, display_name))
    return found


def _group_of_user(group: tuple[str, str], base_url: str) -> dict[str, Any]:
    group_id, display = group
    return {
        "value": group_id,
        "$ref": f"{base_url}/Groups/{group_id}",
        "display": display,
        "type": "direct",
    }


#: SCIM users as :mod:`scim_resources` reads them; ``groups`` comes from the group members.
USERS: ScimKind[ScimUserRow, UserResource] = ScimKind(
    name="User",
    row=ScimUserRow,
    model=UserResource,
    columns=COLUMNS,
    name_attribute="userName",
    name_key=ScimUserRow.user_name_key,
    key_of=user_name_key,
    related="groups",
    load_related=group_memberships,
    related_item=_group_of_user,
)


# --- Writing ---


#: The User's attributes by the lower-cased name a path starts with.
_ROOT_FIELDS = {
    str(field.serialization_alias or name).lower(): name
    for name, field in UserResource.model_fields.items()
}


#: The User's schema extensions (the enterprise one) by the lower-cased URN of their schema.
_EXTENSION_FIELDS = {
    alias.lower(): name
    for name, field in UserResource.model_fields.items()
    if (alias := field.serialization_alias) and alias.lower().startswith("urn:")
}


@functools.lru_cache(maxsize=1024)
def _root_field(path: str) -> str | None:
    """The field of the attribute a path starts with: ``photos`` for ``photos[type eq
    "photo"].value``, the enterprise extension's for ``urn:…:enterprise:2.0:User:department``;
    ``None`` for a path with the core schema's URN, which is left to scim2-models."""
    lowered = path.strip().lower()
    for urn, field in _EXTENSION_FIELDS.items():
        if lowered.startswith(f"{urn}:"):
            return field
    return _ROOT_FIELDS.get(re.split(r"[.\[]", lowered, maxsplit=1)[0].strip())


#: An attribute name (RFC 7644 §3.10 ``ATTRNAME``), alone or with one sub-attribute.
_PLAIN_PATH = re.compile(r"([A-Za-z][A-Za-z0-9_-]*)(?:\.([A-Za-z][A-Za-z0-9_-]*))?")


def _sub_fields(model: type[BaseModel]) -> dict[str, str]:
    return {
        str(field.serialization_alias or name).lower(): name
        for name, field in model.model_fields.items()
    }


@functools.lru_cache(maxsize=1024)
def _plain_fields(path: str) -> tuple[str, str | None] | None:
    """The fields a path reads when it names a core attribute of the User (``title``), or a
    sub-attribute of a single-valued complex one (``name.givenName``): read with ``getattr``,
    they answer what scim2-models' ``Path.get`` does, without walking the path's grammar.
    ``None`` for any other path (a filter, a URN, a multi-valued attribute's sub-attribute),
    which is left to scim2-models."""
    matched = _PLAIN_PATH.fullmatch(path)
    if matched is None:
        return None
    root, sub = _ROOT_FIELDS.get(matched[1].lower()), matched[2]
    if root is None or sub is None:
        return None if root is None else (root, None)
    item = UserResource.get_field_root_type(root)
    if UserResource.get_field_multiplicity(root) or not (
        isinstance(item, type) and issubclass(item, BaseModel)
    ):
        return None
    field = _sub_fields(item).get(sub.lower())
    return None if field is None else (root, field)


#: A sub-attribute of the primary value of a multi-valued attribute (``emails[primary eq
#: true].value``), the filter every default mapping of an e-mail or a phone number uses.
_PRIMARY_PATH = re.compile(
    r"([A-Za-z][A-Za-z0-9_-]*)\[\s*primary\s+eq\s+true\s*\]\.([A-Za-z][A-Za-z0-9_-]*)",
    re.IGNORECASE,
)


@functools.lru_cache(maxsize=1024)
def _primary_fields(path: str) -> tuple[str, str] | None:
    """The fields a path reads when it is a sub-attribute of a multi-valued attribute's primary
    value: read with ``getattr`` from the first item marked primary, they answer what
    scim2-models' ``Path.get`` does (the first of its list), without evaluating the filter,
    which was a twentieth of a create's CPU. ``None`` for any other path."""
    matched = _PRIMARY_PATH.fullmatch(path)
    root = _ROOT_FIELDS.get(matched[1].lower()) if matched is not None else None
    if matched is None or root is None or not UserResource.get_field_multiplicity(root):
        return None
    item = UserResource.get_field_root_type(root)
    if not (isinstance(item, type) and issubclass(item, BaseModel)):
        return None
    fields = _sub_fields(item)
    field = fields.get(matched[2].lower())
    return None if field is None or "primary" not in fields else (root, field)


#: Reads a value of a User.
Reader = Callable[[UserResource], Any]


def _first(value: Any) -> Any:
    """A multi-valued attribute's first value stands for it."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


@functools.lru_cache(maxsize=1024)
def _reader(path: str) -> Reader:
    """What reads the value at a SCIM path: ``None`` when the path means nothing for a User.

    Most of a mapping names attributes the IdP did not send, or plain ones (``userName``,
    ``name.givenName``); neither needs the path evaluated, which is most of the cost of
    applying a mapping. Which of the kinds a path is gets decided once per path."""
    plain = _plain_fields(path)
    if plain is not None:
        root, sub = plain
        if sub is None:
            return lambda resource: _first(getattr(resource, root))
        attribute: str = sub

        def read_sub(resource: UserResource) -> Any:
            value = getattr(resource, root)
            return None if value is None else _first(getattr(value, attribute))

        return read_sub
    primary = _primary_fields(path)
    if primary is not None:
        root, sub = primary

        def read_primary(resource: UserResource) -> Any:
            items = getattr(resource, root) or []
            return next((getattr(item, sub) for item in items if item.primary is True), None)

        return read_primary
    root_field = _root_field(path)

    def read_path(resource: UserResource) -> Any:
        if root_field is not None and getattr(resource, root_field) in (None, []):
            return None
        try:
            value = ScimPath[UserResource](path).get(resource)
        except (SCIMException, ValidationError, ValueError, TypeError, AttributeError, LookupError):
            # A mapping is configuration: one that means nothing for a User maps nothing.
            return None
        return _first(value)

    return read_path


def _value_at(resource: UserResource, path: str) -> Any:
    """The value at a SCIM path, or ``None`` when the path means nothing for a User."""
    return _reader(path)(resource)


def _clean(attribute: str, value: Any) -> str | None:
    if not isinstance(value, str) or not value or "\x00" in value:
        return None
    if len(value) > _PROFILE_LENGTHS[attribute]:
        return None
    if attribute == "email" and not _EMAIL.match(value):
        return None
    return value


def _fallback_email(resource: UserResource) -> str | None:
    emails = sorted(resource.emails or [], key=lambda e: not e.primary)
    for email in emails:
        cleaned = _clean("email", str(email.value) if email.value else None)
        if cleaned:
            return cleaned
    return None


def _fallback_name(resource: UserResource, email: str | None) -> str | None:
    name = resource.name
    joined = " ".join(p for p in (name.given_name, name.family_name) if p) if name else ""
    for candidate in (resource.display_name, name.formatted if name else None, joined, email):
        cleaned = _clean("name", candidate)
        if cleaned:
            return cleaned
    return None


def _json_scalar(value: Any) -> Any:
    if isinstance(value, (str, int, float, bool)):  # a tuple is checked faster than a union
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    return None


class _Mapped(NamedTuple):
    """One item of a mapping that maps something: a profile column or a key of
    ``app_metadata``, and what reads its value."""

    column: str | None
    metadata_key: str | None
    read: Reader


@functools.lru_cache(maxsize=64)
def _compiled(mapping_text: bytes) -> tuple[_Mapped, ...]:
    """A configuration's mapping (as compact JSON, which keys the cache) as the items that map
    something, in order: an item that is not an object, or whose ``auth0`` or ``scim`` is not a
    string, or names neither a profile column nor a key of ``app_metadata``, maps nothing.
    Decided once per mapping, and each path's reader once per path: applying Auth0's default
    mapping (26 items) to a user took 24 µs reading the items and the paths again every time,
    and takes 10."""
    compiled = []
    for item in json.loads(mapping_text):
        if not isinstance(item, dict):
            continue
        target, source = item.get("auth0"), item.get("scim")
        if not isinstance(target, str) or not isinstance(source, str):
            continue
        if target in _PROFILE_LENGTHS:
            compiled.append(_Mapped(target, None, _reader(source)))
        elif target.startswith(_APP_METADATA) and len(target) > len(_APP_METADATA):
            compiled.append(_Mapped(None, target[len(_APP_METADATA) :], _reader(source)))
    return tuple(compiled)


def _profile(resource: UserResource, mapping: list[Any], app_metadata: Any) -> dict[str, Any]:
    """The tenant user's profile columns from the resource, through the configuration's mapping;
    ``app_metadata`` is the user's current one (mapped keys are set or removed in a copy).

    Root attributes the mapping does not fill fall back as for federated users: the e-mail
    marked primary (else the first), and a name from displayName or the name's parts.
    """
    root: dict[str, str | None] = {}
    metadata = dict(app_metadata or {})
    for column, metadata_key, read in _compiled(json_text.compact(mapping)):
        # Most mapped attributes are not sent: None needs no cleaning.
        value = read(resource)
        if column is not None:
            root[column] = None if value is None else _clean(column, value)
        elif value is None or (value := _json_scalar(value)) is None:
            metadata.pop(metadata_key, None)
        else:
            metadata[metadata_key] = value
    email = root.get("email") or _fallback_email(resource)
    return {
        "email": email,
        "email_key": email.lower() if email else None,
        "name": root.get("name") or _fallback_name(resource, email),
        "given_name": root.get("given_name"),
        "family_name": root.get("family_name"),
        "nickname": root.get("nickname") or (email.split("@", 1)[0] if email else None),
        "picture": root.get("picture"),
        # A new dict, not an in-place change: the JSON column only notices assignment.
        "app_metadata": metadata,
    }


def _apply_profile(user: UserRow, resource: UserResource, mapping: list[Any]) -> None:
    """:func:`_profile` set on the tenant user."""
    for column, value in _profile(resource, mapping, user.app_metadata).items():
        setattr(user, column, value)


def _set_active(session: Session, now: datetime, user: UserRow, active: bool) -> None:
    """``active: false`` blocks the user and ends every session and refresh token they hold."""
    if user.blocked == (not active):
        return
    user.blocked = not active
    if not active:
        # Deprovisioning is Auth0's "account-deactivated" back-channel logout initiator.
        login_sessions.revoke_user_sessions(
            session, now, user.user_id, initiator=backchannel_logout.ACCOUNT_DEACTIVATED
        )
        refresh_tokens.revoke_user_refresh_tokens(session, now, user.user_id)


#: The query of :func:`_check_email`, built once (it runs on every write of a user).
_EMAIL_HOLDER = sa.select(UserRow.user_id).where(
    UserRow.connection == sa.bindparam("connection"),
    UserRow.email_key == sa.bindparam("email_key"),
    UserRow.user_id != sa.bindparam("user_id"),
)


def _check_email(session: Session, connection: ConnectionRow, user: UserRow) -> None:
    if not user.email_key:
        return
    with session.no_autoflush:
        taken = session.scalar(
            _EMAIL_HOLDER,
            {"connection": connection.name, "email_key": user.email_key, "user_id": user.user_id},
        )
    if taken is not None:
        raise _email_taken(connection, user.email)


def _email_taken(connection: ConnectionRow, email: str | None) -> ScimError:
    return scim_errors.uniqueness(
        f"another user of the connection {connection.name} already has the e-mail {email}"
    )


def _flush(session: Session) -> None:
    """Flush, turning a uniqueness race lost to a concurrent request into a 409."""
    try:
        session.flush()
    except IntegrityError as exc:
        raise scim_errors.uniqueness("a user with this userName or e-mail already exists") from exc


def _subject(resource: UserResource, config: ScimConfigurationRow) -> str:
    value = _value_at(resource, config.user_id_attribute or "externalId")
    if isinstance(value, str) and value.strip():
        return value
    return str(resource.user_name)


#: The statement of :func:`_join_organizations`, built once: the user becomes a member of every
#: organization the connection is enabled on where they are not one yet, in one round trip.
_JOIN_ORGANIZATIONS = SessionStatement(
    sa.insert(cast(sa.Table, OrganizationMemberRow.__table__)).from_select(
        ["organization_id", "user_id", "created_at"],
        sa.select(
            OrganizationConnectionRow.organization_id,
            sa.bindparam("user_id", type_=OrganizationMemberRow.user_id.type),
            sa.bindparam("now", type_=OrganizationMemberRow.created_at.type),
        ).where(
            OrganizationConnectionRow.connection_id == sa.bindparam("connection_id"),
            ~sa.exists().where(
                OrganizationMemberRow.organization_id == OrganizationConnectionRow.organization_id,
                OrganizationMemberRow.user_id == sa.bindparam("user_id"),
            ),
        ),
    )
)


def _join_organizations(
    session: Session, now: datetime, connection: ConnectionRow, user_id: str
) -> None:
    """What ``organizations.add_members`` does for each of the connection's organizations, for
    a user known to exist (written earlier in this transaction)."""
    try:
        _JOIN_ORGANIZATIONS.run(
            session, {"user_id": user_id, "now": now, "connection_id": connection.id}
        )
    except IntegrityError as exc:
        raise scim_errors.uniqueness(
            "The organization's members were changed concurrently; retry"
        ) from exc


_USERS_TABLE = cast(sa.Table, UserRow.__table__)
_SCIM_USERS_TABLE = cast(sa.Table, ScimUserRow.__table__)
#: The two inserts of a create, built once, run on SQLite's cursor (:class:`SessionStatement`):
#: a statement built per call cost SQLAlchemy its construction and its cache key (about 3% of a
#: create's CPU) before the cached compilation, and its execution several times SQLite's work.
_INSERT_USER = SessionStatement(_USERS_TABLE.insert())
_INSERT_SCIM_USER = SessionStatement(_SCIM_USERS_TABLE.insert())


class NewScimUser(NamedTuple):
    """A SCIM user :func:`create` wrote: its row's values, each column by its name. Not an
    instance of :class:`ScimUserRow`: made and filled through the ORM's instrumentation, one
    cost 17 µs, to be read once by the answer (``tests/tenant/scim`` checks that the columns
    are the row's)."""

    id: str
    connection_id: str
    user_id: str
    user_name: str
    user_name_key: str
    external_id: str | None
    active: bool
    resource: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    version: int


#: A new user's row before its profile: every column, as the ORM would write an object made
#: with only these set (the others NULL).
_NEW_USER: dict[str, Any] = {column.key: None for column in _USERS_TABLE.columns} | {
    "email_verified": False,
    "blocked": False,
    "user_metadata": {},
    "logins_count": 0,
}


def _scalar(query: sa.Select[Any], label: str) -> sa.Label[Any]:
    return query.limit(1).scalar_subquery().label(label)


#: Everything a create checks before it writes, in one statement built once (Core, on the
#: tables: no ORM entity to load): who holds the userName in the connection, whether the user
#: id is a tenant user already and a SCIM user already, and which other user of the connection
#: holds the e-mail. Three ORM reads took a quarter of a create's interpreter time.
_BEFORE_CREATE = SessionStatement(
    sa.select(
        _scalar(
            sa.select(_SCIM_USERS_TABLE.c.id).where(
                _SCIM_USERS_TABLE.c.connection_id == sa.bindparam("connection_id"),
                _SCIM_USERS_TABLE.c.user_name_key == sa.bindparam("key"),
            ),
            "name_holder",
        ),
        _scalar(
            sa.select(_USERS_TABLE.c.user_id).where(
                _USERS_TABLE.c.user_id == sa.bindparam("user_id")
            ),
            "user_id",
        ),
        _scalar(
            sa.select(_SCIM_USERS_TABLE.c.id).where(
                _SCIM_USERS_TABLE.c.user_id == sa.bindparam("user_id")
            ),
            "scim_id",
        ),
        _scalar(
            sa.select(_USERS_TABLE.c.user_id).where(
                _USERS_TABLE.c.connection == sa.bindparam("connection"),
                _USERS_TABLE.c.email_key == sa.bindparam("email_key"),
                _USERS_TABLE.c.user_id != sa.bindparam("user_id"),
            ),
            "email_holder",
        ),
    )
)


def create(
    session: Session,
    now: datetime,
    connection: ConnectionRow,
    config: ScimConfigurationRow,
    resource: UserResource,
) -> NewScimUser:
    """Provision a user; raises ``uniqueness`` (409) when the userName, the user id or the
    e-mail is taken in the connection."""
    user_name = checked_name("userName", resource.user_name, resource.external_id)
    key = user_name_key(user_name)
    user_id = federated_user_id(connection.strategy, connection.name, _subject(resource, config))
    profile = _profile(resource, config.mapping, {})
    [(name_holder, existing_user, scim_id, email_holder)] = _BEFORE_CREATE.run(
        session,
        {
            "connection_id": connection.id,
            "key": key,
            "user_id": user_id,
            "connection": connection.name,
            "email_key": profile["email_key"],
        },
    )
    if name_holder is not None:
        raise USERS.name_taken()
    if len(user_id) > MAX_USER_ID_LENGTH:
        raise scim_errors.invalid_value(
            f"the {config.user_id_attribute} makes a user id longer than {MAX_USER_ID_LENGTH}"
        )
    active = resource.active is not False
    if existing_user is None:
        if email_holder is not None:
            raise _email_taken(connection, profile["email"])
        # The tenant user first, for the SCIM row's foreign key. A brand-new user holds no
        # session or refresh token: ``active: false`` only blocks it.
        _insert(
            session,
            _INSERT_USER,
            _NEW_USER
            | profile
            | {
                "user_id": user_id,
                "connection": connection.name,
                "provider": connection.strategy,
                "blocked": not active,
                "created_at": now,
                "updated_at": now,
            },
        )
    elif scim_id is not None:
        raise scim_errors.uniqueness(
            f"a user with this {config.user_id_attribute or 'externalId'} already exists"
        )
    else:
        # A user who signed in through the connection before being provisioned: adopted.
        user = session.get_one(UserRow, user_id)
        user.updated_at = now
        _apply_profile(user, resource, config.mapping)
        if email_holder is not None:
            raise _email_taken(connection, user.email)
        _set_active(session, now, user, active)
        _flush(session)
    created = NewScimUser(
        id=new_scim_id(),
        connection_id=connection.id,
        user_id=user_id,
        user_name=user_name,
        user_name_key=key,
        external_id=resource.external_id,
        active=active,
        resource=stored_form(resource),
        created_at=now,
        updated_at=now,
        version=1,
    )
    _insert(session, _INSERT_SCIM_USER, created._asdict())
    _join_organizations(session, now, connection, user_id)
    return created


def _insert(session: Session, insert: SessionStatement, values: dict[str, Any]) -> None:
    """Write a new row by one Core insert: nothing reads it back through the session, and the
    unit of work's bookkeeping costs more than the insert (a lost uniqueness race is a 409)."""
    try:
        insert.run(session, values)
    except IntegrityError as exc:
        raise scim_errors.uniqueness("a user with this userName or e-mail already exists") from exc


def replace(
    session: Session,
    now: datetime,
    connection: ConnectionRow,
    config: ScimConfigurationRow,
    row: ScimUserRow,
    resource: UserResource,
) -> ScimUserRow:
    """Replace the user's attributes with ``resource`` (RFC 7644 §3.5.1). The tenant user id
    never changes: it was fixed when the user was provisioned."""
    user_name = checked_name("userName", resource.user_name, resource.external_id)
    key = user_name_key(user_name)
    USERS.check_name_free(session, connection.id, key, row.id)
    user = session.get(UserRow, row.user_id)
    if user is None:  # pragma: no cover - the foreign key deletes the SCIM row with the user
        raise scim_errors.not_found(f"User {row.id} not found")
    _apply_profile(user, resource, config.mapping)
    _check_email(session, connection, user)
    active = resource.active is not False
    _set_active(session, now, user, active)
    user.updated_at = now
    row.user_name = user_name
    row.user_name_key = key
    row.external_id = resource.external_id
    row.active = active
    row.resource = stored_form(resource)
    row.updated_at = now
    row.version += 1
    _flush(session)
    return row


def patch(
    session: Session,
    now: datetime,
    connection: ConnectionRow,
    config: ScimConfigurationRow,
    row: ScimUserRow,
    operations: Any,
    base_url: str,
) -> bool:
    """Apply a PatchOp (RFC 7644 §3.5.2); answers whether anything changed (a no-op PATCH
    changes nothing, not even the version)."""
    resource = USERS.to_resource(row, base_url)
    resource.meta = None
    if not apply_patch(operations, resource):
        return False
    replace(session, now, connection, config, row, resource)
    return True


def remove(session: Session, now: datetime, row: ScimUserRow) -> None:
    """Delete the SCIM user and the tenant user (their sessions, memberships and roles go with
    them through the foreign keys, once :func:`users.remove` has ended the sessions as Auth0's
    ``account-deleted`` back-channel logout initiator)."""
    user = session.get(UserRow, row.user_id)
    session.delete(row)
    session.flush()
    if user is not None:
        users.remove(session, now, user)
