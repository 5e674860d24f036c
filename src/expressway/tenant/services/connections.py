"""Connections: where users come from (the database, an Okta org, any OpenID provider), the
clients each one is enabled for, and its inbound SCIM configuration and tokens.

Upstream client secrets are sealed at rest with the runtime's secret sealer and never leave this
module except through :func:`read_client_secret`, which the federation code calls when it talks to
the upstream IdP. SCIM tokens are shown once, when minted; only their SHA-256 digest is kept.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import bindparam, delete, func, or_, select
from sqlalchemy import update as update_rows
from sqlalchemy.orm import Session

from expressway import hashing, ids
from expressway.sealing import Sealer
from expressway.tenant.errors import Conflict, InvalidInput, NotFound
from expressway.tenant.rows import (
    ClientRow,
    ConnectionClientRow,
    ConnectionDomainAliasRow,
    ConnectionRow,
    ScimConfigurationRow,
    ScimTokenRow,
    UserRow,
)
from expressway.tenant.runtime import TenantRuntime
from expressway.tenant.services import backchannel_logout, login_sessions

SUPPORTED_STRATEGIES = ("auth0", "okta", "oidc")
#: The strategies of upstream identity providers, the only ones that take SCIM provisioning.
ENTERPRISE_STRATEGIES = ("okta", "oidc")
DEFAULT_SCOPE = "openid profile email"
MAX_METADATA_PROPERTIES = 10
MAX_ACTIVE_SCIM_TOKENS = 2
#: Auth0 refuses SCIM tokens that live 15 minutes or less.
MIN_SCIM_TOKEN_LIFETIME = 900
#: Prefix of every SCIM token, so that a leaked one is recognisable by secret scanners.
SCIM_TOKEN_PREFIX = "ewscim_"
#: Auth0's SCIM token scopes, and the same verbs on Groups, which Expressway's SCIM server serves.
SCIM_TOKEN_SCOPES = tuple(
    f"{verb}:{resource}"
    for resource in ("users", "groups")
    for verb in ("get", "post", "put", "patch", "delete")
)
DEFAULT_SCIM_USER_ID_ATTRIBUTE = "externalId"
#: Auth0's default mapping between a user profile and the SCIM User schema.
DEFAULT_SCIM_MAPPING: tuple[dict[str, str], ...] = (
    {"auth0": "preferred_username", "scim": "userName"},
    {"auth0": "email", "scim": "emails[primary eq true].value"},
    {"auth0": "app_metadata.external_id", "scim": "externalId"},
    {"auth0": "blocked", "scim": "active"},
    {"auth0": "name", "scim": "displayName"},
    {"auth0": "given_name", "scim": "name.givenName"},
    {"auth0": "family_name", "scim": "name.familyName"},
    {"auth0": "app_metadata.middle_name", "scim": "name.middleName"},
    {"auth0": "app_metadata.honorific_prefix", "scim": "name.honorificPrefix"},
    {"auth0": "app_metadata.honorific_suffix", "scim": "name.honorificSuffix"},
    {"auth0": "nickname", "scim": "nickName"},
    {"auth0": "picture", "scim": 'photos[type eq "photo"].value'},
    {"auth0": "app_metadata.primary_phone_number", "scim": "phoneNumbers[primary eq true].value"},
    {"auth0": "app_metadata.mobile_phone_number", "scim": 'phoneNumbers[type eq "mobile"].value'},
    {"auth0": "app_metadata.street_address", "scim": 'addresses[type eq "work"].streetAddress'},
    {"auth0": "app_metadata.city", "scim": 'addresses[type eq "work"].locality'},
    {"auth0": "app_metadata.state", "scim": 'addresses[type eq "work"].region'},
    {"auth0": "app_metadata.postal_code", "scim": 'addresses[type eq "work"].postalCode'},
    {"auth0": "app_metadata.country", "scim": 'addresses[type eq "work"].country'},
    {"auth0": "app_metadata.title", "scim": "title"},
    {"auth0": "app_metadata.user_type", "scim": "userType"},
    {"auth0": "app_metadata.locale", "scim": "locale"},
    {"auth0": "app_metadata.preferred_language", "scim": "preferredLanguage"},
    {"auth0": "app_metadata.timezone", "scim": "timezone"},
    {
        "auth0": "app_metadata.employee_number",
        "scim": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
    },
    {
        "auth0": "app_metadata.department",
        "scim": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
    },
)

# Auth0's rule: letters, digits and "-", starting and ending with a letter or digit, 128 at most.
_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,126}[A-Za-z0-9])?")
_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_DOMAIN = re.compile(rf"(?:{_LABEL}\.)+(?:[a-z]{{2,63}}|xn--[a-z0-9-]{{1,59}})")
# An Okta org's host, as Auth0 wants ``options.domain``: no scheme, no path, an optional port.
_HOST = re.compile(rf"(?:{_LABEL}\.)*{_LABEL}(?::[0-9]{{1,5}})?")


# --- Options: one document per strategy, checked here so that every caller goes through it. ---

Text = Annotated[str, Field(max_length=255)]
Url = Annotated[str, Field(min_length=1, max_length=2048)]


class _Options(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class DatabaseOptions(_Options):
    brute_force_protection: bool | None = None
    disable_signup: bool | None = None
    requires_username: bool | None = None
    import_mode: bool | None = None
    passwordPolicy: Literal["none", "low", "fair", "good", "excellent"] | None = None  # noqa: N815


class AttributeMap(_Options):
    mapping_mode: Literal["basic_profile", "use_map", "bind_all"] | None = None
    userinfo_scope: Annotated[str, Field(max_length=1024)] | None = None
    attributes: (
        Annotated[dict[Text, Annotated[str, Field(max_length=1024)]], Field(max_length=100)] | None
    ) = None


class ConnectionSettings(_Options):
    pkce: Literal["auto", "S256", "plain", "disabled"] | None = None


class _UpstreamOptions(_Options):
    client_id: Text
    client_secret: Annotated[str, Field(min_length=1, max_length=1024)] | None = None
    issuer: Url | None = None
    scope: Annotated[str, Field(max_length=1024)] | None = None
    attribute_map: AttributeMap | None = None
    connection_settings: ConnectionSettings | None = None
    domain_aliases: Annotated[list[Text], Field(max_length=100)] | None = None
    icon_url: Url | None = None
    authorization_endpoint: Url | None = None
    token_endpoint: Url | None = None
    userinfo_endpoint: Url | None = None
    jwks_uri: Url | None = None
    set_user_root_attributes: (
        Literal["on_each_login", "on_first_login", "never_on_login"] | None
    ) = None
    non_persistent_attrs: Annotated[list[Text], Field(max_length=50)] | None = None


class OktaOptions(_UpstreamOptions):
    domain: Text | None = None
    type: Literal["back_channel"] | None = None


class OidcOptions(_UpstreamOptions):
    discovery_url: Url | None = None
    type: Literal["back_channel", "front_channel"] | None = None


_OPTIONS: dict[str, type[_Options]] = {
    "auth0": DatabaseOptions,
    "okta": OktaOptions,
    "oidc": OidcOptions,
}
_URL_OPTIONS = (
    "issuer",
    "discovery_url",
    "icon_url",
    "authorization_endpoint",
    "token_endpoint",
    "userinfo_endpoint",
    "jwks_uri",
)


def _describe(error: ValidationError, prefix: str) -> str:
    first = error.errors()[0]
    where = prefix + "".join(
        f"[{part}]" if isinstance(part, int) else f".{part}" for part in first["loc"]
    )
    if first["type"] == "extra_forbidden":
        return f"Payload validation error: 'Additional properties not allowed: {where}'."
    if first["type"] == "missing":
        return f"Payload validation error: 'Missing required property: {where}'."
    return f"Payload validation error: '{first['msg']}' on property {where}."


def _check_url(field: str, value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise InvalidInput(f"options.{field} must be an absolute https URL, not {value!r}")


def normalise_domain_aliases(aliases: list[str]) -> list[str]:
    """Lower-cased, de-duplicated e-mail domains, in the order given; refuses anything else."""
    normalised: list[str] = []
    for alias in aliases:
        domain = alias.strip().lower()
        if not _DOMAIN.fullmatch(domain):
            raise InvalidInput(
                f"options.domain_aliases: {alias!r} is not a domain name (such as acme.example)"
            )
        if domain not in normalised:
            normalised.append(domain)
    return normalised


def check_options(strategy: str, options: dict[str, Any]) -> dict[str, Any]:
    """The options document of ``strategy``, checked and normalised, ``client_secret`` included.

    Unknown properties are refused, as the rest of the Management API refuses them, so that a
    misspelt option fails loudly instead of being stored and ignored.
    """
    try:
        checked = _OPTIONS[strategy].model_validate(options)
    except ValidationError as exc:
        raise InvalidInput(_describe(exc, "options")) from exc
    document = checked.model_dump(exclude_none=True)
    if strategy not in ENTERPRISE_STRATEGIES:
        return document
    for field in _URL_OPTIONS:
        if field in document:
            _check_url(field, document[field])
    if strategy == "okta":
        if "domain" in document:
            document["domain"] = document["domain"].strip().lower()
            if not _HOST.fullmatch(document["domain"]):
                raise InvalidInput(
                    "options.domain must be the Okta org's host name, without scheme or path "
                    f"(such as acme.okta.com), not {options['domain']!r}"
                )
        if "domain" not in document and "issuer" not in document:
            raise InvalidInput(
                "options.domain or options.issuer is required for an okta connection"
            )
    elif "issuer" not in document and "discovery_url" not in document:
        raise InvalidInput(
            "options.issuer or options.discovery_url is required for an oidc connection"
        )
    document.setdefault("scope", DEFAULT_SCOPE)
    if "openid" not in document["scope"].split():
        raise InvalidInput(f"options.scope must include openid, not {document['scope']!r}")
    document.setdefault("type", "back_channel")
    if "domain_aliases" in document:
        document["domain_aliases"] = normalise_domain_aliases(document["domain_aliases"])
    return document


# --- Connections ---


@dataclass
class ConnectionSpec:
    """The writable fields of a connection; ``None`` means "not given"."""

    name: str | None = None
    strategy: str | None = None
    display_name: str | None = None
    options: dict[str, Any] | None = None
    realms: list[str] | None = None
    is_domain_connection: bool | None = None
    show_as_button: bool | None = None
    metadata: dict[str, str | None] | None = None
    enabled_clients: list[str] | None = None


def find(session: Session, connection_id: str) -> ConnectionRow:
    row = session.get(ConnectionRow, connection_id)
    if row is None:
        raise NotFound(
            f"No connection found by that id: {connection_id}", code="inexistent_connection"
        )
    return row


def find_by_name(session: Session, name: str) -> ConnectionRow | None:
    return session.scalars(select(ConnectionRow).where(ConnectionRow.name == name)).first()


def _check_name(session: Session, name: str) -> None:
    if not _NAME.fullmatch(name):
        raise InvalidInput(
            f"name: {name!r} is not a valid connection name; use letters, digits and '-', "
            "starting and ending with a letter or digit, 128 characters at most"
        )
    taken = session.scalars(
        select(ConnectionRow.id).where(func.lower(ConnectionRow.name) == name.lower())
    ).first()
    if taken is not None:
        raise Conflict(f"A connection with the same name already exists: {name}")


def _check_metadata(metadata: dict[str, str | None]) -> dict[str, str]:
    kept = {key: value for key, value in metadata.items() if value is not None}
    if len(kept) > MAX_METADATA_PROPERTIES:
        raise InvalidInput(
            f"metadata: at most {MAX_METADATA_PROPERTIES} properties are allowed, got {len(kept)}"
        )
    return kept


def _store_options(sealer: Sealer, row: ConnectionRow, options: dict[str, Any]) -> None:
    document = check_options(row.strategy, options)
    secret = document.pop("client_secret", None)
    if secret is not None:
        row.client_secret_sealed = sealer.seal(secret.encode())
    # Auth0 replaces the options object on update; the secret alone survives an options object
    # that leaves it out, since it is never shown and so cannot be sent back.
    if (
        row.strategy in ENTERPRISE_STRATEGIES
        and document.get("type") == "back_channel"
        and row.client_secret_sealed is None
    ):
        raise InvalidInput(
            f"options.client_secret is required for a back-channel {row.strategy} connection"
        )
    row.options = document


def _store_domain_aliases(session: Session, row: ConnectionRow) -> None:
    """Make the connection's rows of :class:`ConnectionDomainAliasRow` its options' domains."""
    wanted = set(row.options.get("domain_aliases") or [])
    session.flush()  # the connection first: its aliases refer to it
    stored = set(
        session.scalars(
            select(ConnectionDomainAliasRow.domain).where(
                ConnectionDomainAliasRow.connection_id == row.id
            )
        )
    )
    if stored - wanted:
        session.execute(
            delete(ConnectionDomainAliasRow).where(
                ConnectionDomainAliasRow.connection_id == row.id,
                ConnectionDomainAliasRow.domain.in_(stored - wanted),
            )
        )
    session.add_all(
        ConnectionDomainAliasRow(domain=domain, connection_id=row.id)
        for domain in sorted(wanted - stored)
    )


def _apply(session: Session, sealer: Sealer, row: ConnectionRow, spec: ConnectionSpec) -> None:
    if spec.display_name is not None:
        row.display_name = spec.display_name
    if spec.is_domain_connection is not None:
        row.is_domain_connection = spec.is_domain_connection
    if spec.show_as_button is not None:
        row.show_as_button = spec.show_as_button
    if spec.metadata is not None:
        row.connection_metadata = _check_metadata(spec.metadata)
    if spec.realms is not None:
        row.realms = list(dict.fromkeys(spec.realms)) or [row.name]
    if spec.options is not None:
        _store_options(sealer, row, spec.options)
        _store_domain_aliases(session, row)
    if spec.enabled_clients is not None:
        session.flush()
        set_enabled_clients(session, row, spec.enabled_clients)


def create(session: Session, now: datetime, sealer: Sealer, spec: ConnectionSpec) -> ConnectionRow:
    if spec.name is None:
        raise InvalidInput("Payload validation error: 'Missing required property: name'.")
    if spec.strategy is None:
        raise InvalidInput("Payload validation error: 'Missing required property: strategy'.")
    if spec.strategy not in SUPPORTED_STRATEGIES:
        raise InvalidInput(
            f"strategy: {spec.strategy!r} is not supported; use one of "
            + ", ".join(SUPPORTED_STRATEGIES)
        )
    _check_name(session, spec.name)
    row = ConnectionRow(
        id=ids.prefixed_id("con"),
        name=spec.name,
        display_name=None,
        strategy=spec.strategy,
        options={},
        client_secret_sealed=None,
        realms=[spec.name],
        is_domain_connection=False,
        show_as_button=None,
        connection_metadata={},
        created_at=now,
    )
    session.add(row)
    _apply(session, sealer, row, spec)
    if spec.options is None:
        _store_options(sealer, row, {})
    session.flush()
    return row


def update(
    session: Session, sealer: Sealer, row: ConnectionRow, spec: ConnectionSpec
) -> ConnectionRow:
    for field in ("name", "strategy"):
        if getattr(spec, field) is not None:
            raise InvalidInput(
                f"{field}: a connection's {field} cannot be changed; "
                "create a new connection instead"
            )
    _apply(session, sealer, row, spec)
    session.flush()
    return row


def remove(session: Session, now: datetime, row: ConnectionRow) -> None:
    """Delete the connection and, as Auth0 does, the users who came through it.

    Enabled clients, organization links and the SCIM configuration and tokens go with it through
    their foreign keys. The users' sessions are ended first, in this transaction, as for a user
    deleted on their own (:func:`expressway.tenant.services.users.remove`): the applications that
    subscribe to ``account-deleted`` get a Logout Token for each.
    """
    login_sessions.revoke_connection_users_sessions(
        session, now, row.name, initiator=backchannel_logout.ACCOUNT_DELETED
    )
    session.execute(delete(UserRow).where(UserRow.connection == row.name))
    session.delete(row)
    session.flush()


def read_client_secret(runtime_or_sealer: TenantRuntime | Sealer, row: ConnectionRow) -> str | None:
    """The upstream client secret of an ``okta`` or ``oidc`` connection, unsealed."""
    sealer = (
        runtime_or_sealer.secret_sealer
        if isinstance(runtime_or_sealer, TenantRuntime)
        else runtime_or_sealer
    )
    if row.client_secret_sealed is None:
        return None
    return sealer.open(row.client_secret_sealed).decode()


# --- Enabled clients ---


_ENABLED_CLIENT_IDS = (
    select(ConnectionClientRow.client_id)
    .where(ConnectionClientRow.connection_id == bindparam("connection_id"))
    .order_by(ConnectionClientRow.client_id)
)


def enabled_client_ids(session: Session, row: ConnectionRow) -> list[str]:
    # Built once: every Express Configure SSO run reads them.
    return list(session.scalars(_ENABLED_CLIENT_IDS, {"connection_id": row.id}))


def _check_clients_exist(session: Session, client_ids: list[str]) -> None:
    known = set(
        session.scalars(select(ClientRow.client_id).where(ClientRow.client_id.in_(client_ids)))
    )
    for client_id in client_ids:
        if client_id not in known:
            raise InvalidInput(f"client_id: the client {client_id} does not exist")


def change_enabled_clients(
    session: Session, row: ConnectionRow, changes: list[tuple[str, bool]]
) -> None:
    """Enable (``True``) or disable (``False``) the connection for each client named."""
    client_ids = [client_id for client_id, _ in changes]
    duplicates = sorted({c for c in client_ids if client_ids.count(c) > 1})
    if duplicates:
        raise InvalidInput(f"client_id: {duplicates[0]} is listed more than once")
    _check_clients_exist(session, client_ids)
    enabled = set(enabled_client_ids(session, row))
    for client_id, status in changes:
        if status and client_id not in enabled:
            session.add(ConnectionClientRow(connection_id=row.id, client_id=client_id))
        elif not status and client_id in enabled:
            session.execute(
                delete(ConnectionClientRow).where(
                    ConnectionClientRow.connection_id == row.id,
                    ConnectionClientRow.client_id == client_id,
                )
            )
    session.flush()


def set_enabled_clients(session: Session, row: ConnectionRow, client_ids: list[str]) -> None:
    """Make ``client_ids`` exactly the clients the connection is enabled for."""
    wanted = list(dict.fromkeys(client_ids))
    _check_clients_exist(session, wanted)
    current = set(enabled_client_ids(session, row))
    change_enabled_clients(
        session,
        row,
        [(c, True) for c in wanted] + [(c, False) for c in sorted(current - set(wanted))],
    )


# --- SCIM configuration ---


def find_scim_configuration(session: Session, row: ConnectionRow) -> ScimConfigurationRow:
    config = session.get(ScimConfigurationRow, row.id)
    if config is None:
        raise NotFound(
            f"The connection {row.name} has no SCIM configuration",
            code="inexistent_scim_configuration",
        )
    return config


def _check_mapping(mapping: list[dict[str, str]]) -> list[dict[str, str]]:
    seen: set[str] = set()
    for item in mapping:
        if item["scim"] in seen:
            raise InvalidInput(f"mapping: the SCIM attribute {item['scim']!r} is mapped twice")
        seen.add(item["scim"])
    return [{"auth0": item["auth0"], "scim": item["scim"]} for item in mapping]


def create_scim_configuration(
    session: Session,
    now: datetime,
    row: ConnectionRow,
    user_id_attribute: str | None = None,
    mapping: list[dict[str, str]] | None = None,
) -> ScimConfigurationRow:
    if row.strategy not in ENTERPRISE_STRATEGIES:
        raise InvalidInput(
            f"The connection {row.name} has strategy {row.strategy}; SCIM provisioning needs an "
            "enterprise connection (" + ", ".join(ENTERPRISE_STRATEGIES) + ")"
        )
    if session.get(ScimConfigurationRow, row.id) is not None:
        raise Conflict(f"The connection {row.name} already has a SCIM configuration")
    config = ScimConfigurationRow(
        connection_id=row.id,
        user_id_attribute=user_id_attribute or DEFAULT_SCIM_USER_ID_ATTRIBUTE,
        mapping=_check_mapping(mapping) if mapping is not None else list(DEFAULT_SCIM_MAPPING),
        created_at=now,
        updated_at=now,
    )
    session.add(config)
    session.flush()
    return config


def update_scim_configuration(
    session: Session,
    now: datetime,
    config: ScimConfigurationRow,
    user_id_attribute: str,
    mapping: list[dict[str, str]],
) -> ScimConfigurationRow:
    config.user_id_attribute = user_id_attribute
    config.mapping = _check_mapping(mapping)
    config.updated_at = now
    session.flush()
    return config


def remove_scim_configuration(session: Session, config: ScimConfigurationRow) -> None:
    """Switch SCIM off for the connection: its tokens stop working with it."""
    session.execute(delete(ScimTokenRow).where(ScimTokenRow.connection_id == config.connection_id))
    session.delete(config)
    session.flush()


# --- SCIM tokens ---


def _is_active(token: ScimTokenRow, now: datetime) -> bool:
    return token.valid_until is None or token.valid_until > now


def scim_tokens(session: Session, row: ConnectionRow) -> list[ScimTokenRow]:
    return list(
        session.scalars(
            select(ScimTokenRow)
            .where(ScimTokenRow.connection_id == row.id)
            .order_by(ScimTokenRow.created_at, ScimTokenRow.token_id)
        )
    )


def create_scim_token(
    session: Session,
    now: datetime,
    row: ConnectionRow,
    scopes: list[str] | None = None,
    token_lifetime: int | None = None,
) -> tuple[ScimTokenRow, str]:
    """Mint a SCIM bearer token for the connection; the token itself is returned only here."""
    if session.get(ScimConfigurationRow, row.id) is None:
        raise InvalidInput(
            f"The connection {row.name} has no SCIM configuration; create it first with "
            f"POST /api/v2/connections/{row.id}/scim-configuration"
        )
    for scope in scopes or ():
        if scope not in SCIM_TOKEN_SCOPES:
            raise InvalidInput(
                f"scopes: {scope!r} is not a SCIM token scope; use any of "
                + ", ".join(SCIM_TOKEN_SCOPES)
            )
    if token_lifetime is not None and token_lifetime <= MIN_SCIM_TOKEN_LIFETIME:
        raise InvalidInput(f"token_lifetime must be greater than {MIN_SCIM_TOKEN_LIFETIME} seconds")
    active = [t for t in scim_tokens(session, row) if _is_active(t, now)]
    if len(active) >= MAX_ACTIVE_SCIM_TOKENS:
        raise Conflict(
            f"The connection {row.name} already has {MAX_ACTIVE_SCIM_TOKENS} active SCIM tokens, "
            "the most it can have; delete one (DELETE /api/v2/connections/"
            f"{row.id}/scim-configuration/tokens/{{token_id}}) before creating another",
            code="too_many_scim_tokens",
        )
    token = SCIM_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token_row = ScimTokenRow(
        token_id=ids.prefixed_id("tok"),
        connection_id=row.id,
        token_hash=hashing.hash_token(token),
        scopes=list(dict.fromkeys(scopes)) if scopes else list(SCIM_TOKEN_SCOPES),
        created_at=now,
        valid_until=now + timedelta(seconds=token_lifetime) if token_lifetime else None,
        last_used_at=None,
    )
    session.add(token_row)
    session.flush()
    return token_row, token


def find_scim_token(session: Session, row: ConnectionRow, token_id: str) -> ScimTokenRow:
    token = session.get(ScimTokenRow, token_id)
    if token is None or token.connection_id != row.id:
        raise NotFound(
            f"The connection {row.name} has no SCIM token {token_id}", code="inexistent_scim_token"
        )
    return token


def remove_scim_token(session: Session, token: ScimTokenRow) -> None:
    session.delete(token)
    session.flush()


#: ``last_used_at`` is kept to the minute, as Auth0 keeps it: a token used again within a minute
#: of its stored use is not written, so a SCIM read stays a read-only transaction.
SCIM_TOKEN_USE_GRANULARITY = timedelta(minutes=1)


@dataclass(frozen=True)
class ScimCredentials:
    """What a SCIM request's bearer token opens: the token, the connection's SCIM configuration
    and the connection."""

    token: ScimTokenRow
    config: ScimConfigurationRow
    connection: ConnectionRow


def _active_token(now: datetime, connection_id: str, token: str) -> Any:
    return (
        ScimTokenRow.token_hash == hashing.hash_token(token),
        ScimTokenRow.connection_id == connection_id,
        or_(ScimTokenRow.valid_until.is_(None), ScimTokenRow.valid_until > now),
    )


#: The query of :func:`scim_credentials`, built once: on every SCIM request, building it cost
#: more than running it.
_SCIM_CREDENTIALS = (
    select(ScimTokenRow, ScimConfigurationRow, ConnectionRow)
    .join(ScimConfigurationRow, ScimConfigurationRow.connection_id == ScimTokenRow.connection_id)
    .join(ConnectionRow, ConnectionRow.id == ScimTokenRow.connection_id)
    .where(
        ScimTokenRow.token_hash == bindparam("digest"),
        ScimTokenRow.connection_id == bindparam("connection_id"),
        or_(ScimTokenRow.valid_until.is_(None), ScimTokenRow.valid_until > bindparam("now")),
    )
)


def scim_credentials(
    session: Session, now: datetime, connection_id: str, token: str
) -> ScimCredentials | None:
    """The active token of ``connection_id`` whose digest matches ``token``, with the SCIM
    configuration and the connection, in one query; ``None`` when any of them is missing.
    Nothing is written: see :func:`needs_use_mark`."""
    found = session.execute(
        _SCIM_CREDENTIALS,
        {"digest": hashing.hash_token(token), "connection_id": connection_id, "now": now},
    ).first()
    return None if found is None else ScimCredentials(*found)


def needs_use_mark(token: ScimTokenRow, now: datetime) -> bool:
    """Whether ``last_used_at`` is a minute or more behind ``now`` (or was never set)."""
    return token.last_used_at is None or now - token.last_used_at >= SCIM_TOKEN_USE_GRANULARITY


def mark_scim_token_used(session: Session, now: datetime, token_id: str) -> None:
    """Record a use of the token, unless a concurrent request recorded one within the minute."""
    session.execute(
        update_rows(ScimTokenRow)
        .where(
            ScimTokenRow.token_id == token_id,
            or_(
                ScimTokenRow.last_used_at.is_(None),
                ScimTokenRow.last_used_at <= now - SCIM_TOKEN_USE_GRANULARITY,
            ),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )


def authenticate_scim_token(
    session: Session, now: datetime, connection_id: str, token: str
) -> ScimTokenRow | None:
    """The active token of ``connection_id`` whose digest matches ``token``, marked as used (to
    the minute).

    The lookup is by digest, so no stored value is ever compared with the token itself; a token
    of another connection, or an expired one, authenticates nothing.
    """
    found = session.scalars(
        select(ScimTokenRow).where(*_active_token(now, connection_id, token))
    ).first()
    if found is not None and needs_use_mark(found, now):
        found.last_used_at = now
        session.flush()
    return found
