"""Applications (OAuth clients): their settings, their secret, and the public keys they sign
``private_key_jwt`` assertions with.

How a client authenticates is one column, ``token_endpoint_auth_method``: ``client_secret_post``,
``client_secret_basic``, ``none``, or ``private_key_jwt``. Auth0 shows the last one as a null
``token_endpoint_auth_method`` beside ``client_authentication_methods.private_key_jwt``; the
management module renders it that way. A client has a secret digest exactly when it authenticates
with a secret, so switching a client away from secrets also ends the secret it had.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import SplitResult, urlsplit

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from expressway import hashing, ids, jose
from expressway.tenant.errors import Conflict, InvalidInput, NotFound, OperationNotSupported
from expressway.tenant.rows import (
    ClientCredentialRow,
    ClientGrantRow,
    ClientRow,
    ConnectionProfileRow,
    UserAttributeProfileRow,
)
from expressway.tenant.services.backchannel_logout import OidcLogoutSpec, checked_oidc_logout
from expressway.tenant.services.metadata import merge_metadata

OIN_APP_TYPE = "express_configuration"
SECRET_METHODS = ("client_secret_post", "client_secret_basic")
PRIVATE_KEY_JWT = "private_key_jwt"
#: The grants the token endpoint implements; storing others would promise what it cannot do.
SUPPORTED_GRANT_TYPES = ("authorization_code", "refresh_token", "client_credentials")
CREDENTIAL_ALGS = jose.ASYMMETRIC_ALGORITHMS
LOGIN_TEMPLATE_VARIABLES = ("organization_name", "organization_id", "connection_name")
OIN_CALLBACK_PATH = "/admin/app/generic/oauth20redirect"
MAX_METADATA_KEYS = 10
DEFAULT_JWT_CONFIGURATION: dict[str, Any] = {"alg": "RS256", "lifetime_in_seconds": 36000}

_TEMPLATE_VARIABLE = re.compile(r"\{([^{}]*)\}")
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_DOMAIN = re.compile(rf"^(?:{_LABEL}\.)*{_LABEL}(?::[0-9]{{1,5}})?$")
_LOOPBACK_HOSTS = ("localhost", "127.0.0.1")
_OIN_KEY_NAME = re.compile(r"oin:([A-Za-z0-9_-]{1,64})")


@dataclass
class ExpressConfigurationSpec:
    """The SaaS app's Express Configuration settings, as written (``oin_submission_id`` is not)."""

    initiate_login_uri_template: str
    user_attribute_profile_id: str
    connection_profile_id: str
    enable_client: bool
    enable_organization: bool
    okta_oin_client_id: str
    admin_login_domain: str
    linked_clients: list[str] = field(default_factory=list)


@dataclass
class CredentialSpec:
    """A public key to upload for ``private_key_jwt``."""

    pem: str
    credential_type: str = "public_key"
    alg: str | None = None
    name: str | None = None
    kid: str | None = None
    expires_at: datetime | None = None


@dataclass
class ClientSpec:
    """The writable fields of a client.

    ``given`` names the fields the request carried: a given field whose value is ``None`` is being
    cleared (``description``, ``logo_uri``, ``initiate_login_uri``, ``express_configuration``,
    ``oidc_logout``, ``client_authentication_methods``, ``token_endpoint_auth_method``); other
    ``None`` fields are left as they are.
    """

    given: frozenset[str] = frozenset()
    name: str | None = None
    description: str | None = None
    app_type: str | None = None
    is_first_party: bool | None = None
    callbacks: list[str] | None = None
    allowed_logout_urls: list[str] | None = None
    web_origins: list[str] | None = None
    allowed_origins: list[str] | None = None
    grant_types: list[str] | None = None
    token_endpoint_auth_method: str | None = None
    organization_usage: str | None = None
    organization_require_behavior: str | None = None
    initiate_login_uri: str | None = None
    logo_uri: str | None = None
    home_realm_discovery: bool | None = None
    jwt_configuration: dict[str, Any] | None = None
    #: Merged into the client's metadata; a ``None`` value removes its key, ``{}`` removes all.
    client_metadata: dict[str, str | None] | None = None
    express_configuration: ExpressConfigurationSpec | None = None
    #: OpenID Connect Back-Channel Logout; replaced whole when given, cleared by ``None``.
    oidc_logout: OidcLogoutSpec | None = None
    #: ``client_authentication_methods.private_key_jwt.credentials`` on update: the ids of
    #: credentials already uploaded, in the order they are to be tried.
    private_key_jwt_credential_ids: list[str] | None = None
    #: The same on create, where Auth0 takes the public keys themselves.
    private_key_jwt_new_credentials: list[CredentialSpec] | None = None


@dataclass
class Issued:
    """A client after a write, and the secret that write issued: shown once, stored only hashed."""

    client: ClientRow
    secret: str | None = None


def find(session: Session, client_id: str) -> ClientRow:
    row = session.get(ClientRow, client_id)
    if row is None:
        raise NotFound(f"The client {client_id} does not exist", code="inexistent_client")
    return row


def create(
    session: Session, now: datetime, spec: ClientSpec, *, workforce_public_url: str
) -> Issued:
    """Create a client; an ``express_configuration`` client gets the OIN client's defaults."""
    if not spec.name:
        raise InvalidInput("name is required")
    is_oin = spec.app_type == OIN_APP_TYPE
    row = ClientRow(
        client_id=ids.client_id(),
        name=spec.name,
        app_type=spec.app_type,
        is_first_party=True,
        callbacks=[workforce_public_url.rstrip("/") + OIN_CALLBACK_PATH] if is_oin else [],
        allowed_logout_urls=[],
        web_origins=[],
        allowed_origins=[],
        grant_types=_default_grant_types(spec.app_type),
        token_endpoint_auth_method=_default_auth_method(spec.app_type),
        client_secret_hash=None,
        organization_usage="require" if is_oin else "deny",
        organization_require_behavior="pre_login_prompt" if is_oin else "no_prompt",
        home_realm_discovery=False,
        express_configuration=None,
        oidc_logout=None,
        jwt_configuration=dict(DEFAULT_JWT_CONFIGURATION),
        client_metadata={},
        is_system=False,
        created_at=now,
        updated_at=now,
    )
    _apply_settings(session, row, spec)
    session.add(row)
    session.flush()
    secret = _apply_authentication(session, now, row, spec, creating=True)
    _check_consistency(row)
    session.flush()
    return Issued(row, secret)


def update(session: Session, now: datetime, row: ClientRow, spec: ClientSpec) -> Issued:
    if spec.app_type is not None and (spec.app_type == OIN_APP_TYPE) != (
        row.app_type == OIN_APP_TYPE
    ):
        raise OperationNotSupported(
            "app_type: a client is the express_configuration (OIN) client only if it was "
            "created as one, and then stays one"
        )
    _apply_settings(session, row, spec)
    secret = _apply_authentication(session, now, row, spec, creating=False)
    _check_consistency(row)
    row.updated_at = now
    session.flush()
    return Issued(row, secret)


def rotate_secret(session: Session, now: datetime, row: ClientRow) -> Issued:
    """Issue a new secret; the old one stops working at once."""
    if row.token_endpoint_auth_method not in SECRET_METHODS:
        raise OperationNotSupported(
            f"The client authenticates with {row.token_endpoint_auth_method} and has no secret "
            "to rotate"
        )
    secret = _issue_secret(row)
    row.updated_at = now
    session.flush()
    return Issued(row, secret)


def remove(session: Session, row: ClientRow) -> None:
    """Delete a client with its grants and credentials, and unlink it from SaaS apps."""
    if row.is_system:
        raise OperationNotSupported(
            "The tenant's admin client cannot be deleted: the Management API is reached through it"
        )
    configured = [
        other
        for other in session.scalars(select(ClientRow).where(ClientRow.client_id != row.client_id))
        if other.express_configuration
    ]
    for other in configured:
        if other.express_configuration and (
            other.express_configuration.get("okta_oin_client_id") == row.client_id
        ):
            raise OperationNotSupported(
                f"The client is the OIN client of {other.name} ({other.client_id}); change that "
                "client's express_configuration first"
            )
    for other in configured:
        config = dict(other.express_configuration or {})
        linked = config.get("linked_clients") or []
        kept = [link for link in linked if link.get("client_id") != row.client_id]
        if len(kept) != len(linked):
            other.express_configuration = {**config, "linked_clients": kept}
    session.execute(delete(ClientGrantRow).where(ClientGrantRow.client_id == row.client_id))
    session.execute(
        delete(ClientCredentialRow).where(ClientCredentialRow.client_id == row.client_id)
    )
    session.delete(row)
    session.flush()


def active_credential_ids(session: Session, client_ids: Iterable[str]) -> dict[str, list[str]]:
    """Each client's credentials activated for ``private_key_jwt``, in their order."""
    wanted = list(client_ids)
    active: dict[str, list[str]] = {client_id: [] for client_id in wanted}
    if not wanted:
        return active
    rows = session.execute(
        select(ClientCredentialRow.client_id, ClientCredentialRow.id)
        .where(
            ClientCredentialRow.client_id.in_(wanted),
            ClientCredentialRow.active_position.is_not(None),
        )
        .order_by(ClientCredentialRow.active_position)
    )
    for client_id, credential_id in rows:
        active[client_id].append(credential_id)
    return active


# Credentials


def list_credentials(session: Session, client: ClientRow) -> list[ClientCredentialRow]:
    return list(
        session.scalars(
            select(ClientCredentialRow)
            .where(ClientCredentialRow.client_id == client.client_id)
            .order_by(ClientCredentialRow.created_at, ClientCredentialRow.id)
        )
    )


def find_credential(session: Session, client: ClientRow, credential_id: str) -> ClientCredentialRow:
    row = session.get(ClientCredentialRow, credential_id)
    if row is None or row.client_id != client.client_id:
        raise NotFound(
            f"The client {client.client_id} has no credential {credential_id}",
            code="inexistent_credential",
        )
    return row


def add_credential(
    session: Session, now: datetime, client: ClientRow, spec: CredentialSpec
) -> ClientCredentialRow:
    """Upload a public key; it is not used until activated on the client."""
    if spec.credential_type != "public_key":
        raise InvalidInput("credential_type: only public_key credentials are supported")
    alg = spec.alg or "RS256"
    if alg not in CREDENTIAL_ALGS:
        raise InvalidInput(f"alg: use one of {', '.join(CREDENTIAL_ALGS)}")
    try:
        key = jose.read_public_key(spec.pem)
    except jose.KeyFormatError as exc:
        raise InvalidInput(str(exc)) from exc
    expires_at = _future_utc(spec.expires_at, now)
    kid = spec.kid or key.thumbprint
    for other in list_credentials(session, client):
        if other.kid == kid:
            raise Conflict(f"kid: the client already has a credential with kid {kid} ({other.id})")
        if other.thumbprint == key.thumbprint:
            raise Conflict(f"pem: this public key is already the client's credential {other.id}")
    row = ClientCredentialRow(
        id=ids.prefixed_id("cred"),
        client_id=client.client_id,
        name=spec.name,
        credential_type="public_key",
        kid=kid,
        alg=alg,
        # Only the normalised public key is kept: whatever else the upload held (a certificate's
        # other blocks, a private key pasted after it) is never stored.
        pem=key.spki_pem,
        jwk=key.jwk,
        thumbprint=key.thumbprint,
        expires_at=expires_at,
        active_position=None,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict(f"kid: the client already has a credential with kid {kid}") from exc
    _link_oin_submission(session, client, spec.name)
    return row


def _link_oin_submission(session: Session, client: ClientRow, credential_name: str | None) -> None:
    """Record which OIN Wizard submission the OIN client's key comes from.

    ``oin_submission_id`` is read-only on the SaaS app: it is set here, when a key named
    ``oin:{submission_id}`` (the name the wizard's key carries) is uploaded to the OIN client,
    on every SaaS app whose ``express_configuration`` names that client.
    """
    if client.app_type != OIN_APP_TYPE or credential_name is None:
        return
    match = _OIN_KEY_NAME.fullmatch(credential_name)
    if match is None:
        return
    for application in session.scalars(
        select(ClientRow).where(ClientRow.okta_oin_client_id == client.client_id)
    ):
        config = application.express_configuration or {}
        application.express_configuration = {**config, "oin_submission_id": match[1]}
    session.flush()


def update_credential(
    session: Session, now: datetime, row: ClientCredentialRow, expires_at: datetime | None
) -> ClientCredentialRow:
    """Change when a credential expires; ``None`` means never."""
    row.expires_at = _future_utc(expires_at, now)
    row.updated_at = now
    session.flush()
    return row


def remove_credential(session: Session, row: ClientCredentialRow) -> None:
    """Delete a credential; if it was active, the client stops accepting it at once."""
    session.delete(row)
    session.flush()


# Rules


def _default_grant_types(app_type: str | None) -> list[str]:
    if app_type == OIN_APP_TYPE:
        return ["authorization_code", "client_credentials"]
    if app_type == "non_interactive":
        return ["client_credentials"]
    if app_type in ("spa", "native"):
        return ["authorization_code", "refresh_token"]
    return ["authorization_code", "refresh_token", "client_credentials"]


def _default_auth_method(app_type: str | None) -> str:
    if app_type == OIN_APP_TYPE:
        return PRIVATE_KEY_JWT
    # Code running in a browser or on a device cannot keep a secret (RFC 8252 §8.5), so public
    # clients get none rather than one that would leak.
    if app_type in ("spa", "native"):
        return "none"
    return "client_secret_post"


def _issue_secret(row: ClientRow) -> str:
    secret = ids.client_secret()
    row.client_secret_hash = hashing.hash_token(secret)
    return secret


def _apply_settings(session: Session, row: ClientRow, spec: ClientSpec) -> None:
    if spec.name is not None:
        row.name = spec.name
    if "description" in spec.given:
        row.description = spec.description
    if spec.app_type is not None:
        row.app_type = spec.app_type
    if spec.is_first_party is not None:
        row.is_first_party = spec.is_first_party
    if spec.callbacks is not None:
        for index, url in enumerate(spec.callbacks):
            parts = _absolute_url(f"callbacks[{index}]", url)
            if parts.fragment or url.endswith("#"):
                # RFC 6749 §3.1.2: the redirection endpoint URI MUST NOT include a fragment.
                raise InvalidInput(f"callbacks[{index}]: a callback URL cannot have a fragment")
        row.callbacks = list(spec.callbacks)
    if spec.allowed_logout_urls is not None:
        for index, url in enumerate(spec.allowed_logout_urls):
            _absolute_url(f"allowed_logout_urls[{index}]", url)
        row.allowed_logout_urls = list(spec.allowed_logout_urls)
    if spec.web_origins is not None:
        _check_origins("web_origins", spec.web_origins)
        row.web_origins = list(spec.web_origins)
    if spec.allowed_origins is not None:
        _check_origins("allowed_origins", spec.allowed_origins)
        row.allowed_origins = list(spec.allowed_origins)
    if spec.grant_types is not None:
        for index, grant_type in enumerate(spec.grant_types):
            if grant_type not in SUPPORTED_GRANT_TYPES:
                raise InvalidInput(
                    f"grant_types[{index}]: {grant_type} is not supported; use "
                    + ", ".join(SUPPORTED_GRANT_TYPES)
                )
        row.grant_types = list(dict.fromkeys(spec.grant_types))
    if spec.organization_usage is not None:
        row.organization_usage = spec.organization_usage
    if spec.organization_require_behavior is not None:
        row.organization_require_behavior = spec.organization_require_behavior
    if "initiate_login_uri" in spec.given:
        if spec.initiate_login_uri is not None:
            _check_login_uri("initiate_login_uri", spec.initiate_login_uri)
        row.initiate_login_uri = spec.initiate_login_uri
    if "logo_uri" in spec.given:
        if spec.logo_uri is not None:
            _web_url("logo_uri", spec.logo_uri)
        row.logo_uri = spec.logo_uri
    if spec.home_realm_discovery is not None:
        row.home_realm_discovery = spec.home_realm_discovery
    if spec.jwt_configuration is not None:
        row.jwt_configuration = {**row.jwt_configuration, **spec.jwt_configuration}
    if spec.client_metadata is not None:
        row.client_metadata = _merge_metadata(row.client_metadata, spec.client_metadata)
    if "express_configuration" in spec.given:
        row.express_configuration = _express_configuration(session, row, spec)
    if "oidc_logout" in spec.given:
        row.oidc_logout = checked_oidc_logout(spec.oidc_logout) if spec.oidc_logout else None


def _apply_authentication(
    session: Session, now: datetime, row: ClientRow, spec: ClientSpec, *, creating: bool
) -> str | None:
    """Set how the client authenticates; the secret this issued, if it issued one."""
    method = spec.token_endpoint_auth_method
    credentials_given = "client_authentication_methods" in spec.given
    wants_private_key_jwt = credentials_given and (
        spec.private_key_jwt_credential_ids is not None
        or spec.private_key_jwt_new_credentials is not None
    )
    if wants_private_key_jwt:
        if method is not None:
            raise InvalidInput(
                "client_authentication_methods and token_endpoint_auth_method are mutually "
                "exclusive: a private_key_jwt client has no token_endpoint_auth_method"
            )
        row.token_endpoint_auth_method = PRIVATE_KEY_JWT
        row.client_secret_hash = None
        credential_ids = list(spec.private_key_jwt_credential_ids or [])
        for index, new in enumerate(spec.private_key_jwt_new_credentials or []):
            try:
                credential_ids.append(add_credential(session, now, row, new).id)
            except (InvalidInput, Conflict) as exc:
                raise type(exc)(
                    f"client_authentication_methods.private_key_jwt.credentials[{index}]: "
                    f"{exc.message}"
                ) from exc
        _activate(session, now, row, credential_ids)
        return None
    if credentials_given and method is None and row.token_endpoint_auth_method == PRIVATE_KEY_JWT:
        raise InvalidInput(
            "client_authentication_methods: to stop using private_key_jwt, give the "
            "token_endpoint_auth_method to use instead"
        )
    if method is None:
        if "token_endpoint_auth_method" in spec.given and (
            row.token_endpoint_auth_method != PRIVATE_KEY_JWT
        ):
            raise InvalidInput(
                "token_endpoint_auth_method: null goes only with "
                "client_authentication_methods.private_key_jwt"
            )
        if creating and row.token_endpoint_auth_method in SECRET_METHODS:
            return _issue_secret(row)
        return None
    if row.app_type == OIN_APP_TYPE:
        raise InvalidInput(
            "token_endpoint_auth_method: the express_configuration (OIN) client authenticates "
            "with private_key_jwt only"
        )
    if row.token_endpoint_auth_method == PRIVATE_KEY_JWT:
        _activate(session, now, row, [])
    row.token_endpoint_auth_method = method
    if method not in SECRET_METHODS:
        row.client_secret_hash = None
        return None
    if row.client_secret_hash is None:
        return _issue_secret(row)
    return None


def _activate(session: Session, now: datetime, row: ClientRow, credential_ids: list[str]) -> None:
    """Make exactly ``credential_ids`` the client's active credentials, in that order."""
    where = "client_authentication_methods.private_key_jwt.credentials"
    owned = {
        credential.id: credential
        for credential in session.scalars(
            select(ClientCredentialRow).where(ClientCredentialRow.client_id == row.client_id)
        )
    }
    for index, credential_id in enumerate(credential_ids):
        credential = owned.get(credential_id)
        if credential is None:
            raise InvalidInput(
                f"{where}[{index}].id: {credential_id} is not a credential of this client"
            )
        if credential_id in credential_ids[:index]:
            raise InvalidInput(f"{where}[{index}].id: {credential_id} is listed twice")
        if credential.expires_at is not None and credential.expires_at <= now:
            raise InvalidInput(f"{where}[{index}].id: {credential_id} has expired")
    positions = {credential_id: index for index, credential_id in enumerate(credential_ids)}
    for credential in owned.values():
        position = positions.get(credential.id)
        if credential.active_position != position:
            credential.active_position = position


def _check_consistency(row: ClientRow) -> None:
    """Rules that tie fields together, checked on the client as the write leaves it."""
    if row.token_endpoint_auth_method == "none" and "client_credentials" in row.grant_types:
        raise InvalidInput(
            "grant_types: client_credentials needs a client that authenticates; this one has "
            "token_endpoint_auth_method none"
        )
    if row.token_endpoint_auth_method == PRIVATE_KEY_JWT and (
        row.jwt_configuration.get("alg") != "RS256"
    ):
        raise InvalidInput("jwt_configuration.alg: a private_key_jwt client must use RS256")


def _future_utc(expires_at: datetime | None, now: datetime) -> datetime | None:
    if expires_at is None:
        return None
    if expires_at <= now:
        raise InvalidInput("expires_at: must be in the future")
    return expires_at.astimezone(UTC)


def _merge_metadata(current: dict[str, Any], changes: dict[str, str | None]) -> dict[str, Any]:
    if not changes:
        return {}
    merged = merge_metadata(current, changes)
    if len(merged) > MAX_METADATA_KEYS:
        raise InvalidInput(f"client_metadata: at most {MAX_METADATA_KEYS} properties are allowed")
    return merged


def _split(field_name: str, url: str) -> SplitResult:
    try:
        parts = urlsplit(url)
        _ = parts.port  # reading it validates the port
    except ValueError as exc:
        raise InvalidInput(f"{field_name}: {url!r} is not a valid URL") from exc
    return parts


def _absolute_url(field_name: str, url: str) -> SplitResult:
    """A URL with a scheme; http(s) URLs also need a host (native apps use custom schemes)."""
    parts = _split(field_name, url)
    if not parts.scheme or (parts.scheme in ("http", "https") and not parts.hostname):
        raise InvalidInput(f"{field_name}: {url!r} is not an absolute URL")
    return parts


def _web_url(field_name: str, url: str) -> SplitResult:
    parts = _split(field_name, url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(f"{field_name}: {url!r} is not an http or https URL")
    return parts


def _check_origins(field_name: str, origins: list[str]) -> None:
    for index, origin in enumerate(origins):
        _web_url(f"{field_name}[{index}]", origin)


def _check_login_uri(field_name: str, url: str) -> None:
    """https, or http on the loopback host only (for development), as login links travel."""
    parts = _web_url(field_name, url)
    if parts.scheme == "http" and parts.hostname not in _LOOPBACK_HOSTS:
        raise InvalidInput(
            f"{field_name}: must be an https URL (http only for localhost or 127.0.0.1)"
        )


def _check_login_template(template: str) -> None:
    field_name = "express_configuration.initiate_login_uri_template"
    unknown = [
        name
        for name in _TEMPLATE_VARIABLE.findall(template)
        if name not in LOGIN_TEMPLATE_VARIABLES
    ]
    if unknown:
        raise InvalidInput(
            f"{field_name}: unknown variable "
            + ", ".join("{" + name + "}" for name in unknown)
            + "; the variables are "
            + ", ".join("{" + name + "}" for name in LOGIN_TEMPLATE_VARIABLES)
        )
    sample = _TEMPLATE_VARIABLE.sub("x", template)
    if "{" in sample or "}" in sample:
        raise InvalidInput(f"{field_name}: has an unmatched brace")
    _check_login_uri(field_name, sample)


def _express_configuration(
    session: Session, row: ClientRow, spec: ClientSpec
) -> dict[str, Any] | None:
    config = spec.express_configuration
    if config is None:
        return None
    where = "express_configuration"
    if row.app_type == OIN_APP_TYPE:
        raise InvalidInput(
            f"{where}: belongs on the SaaS application, not on the express_configuration "
            "(OIN) client"
        )
    _check_login_template(config.initiate_login_uri_template)
    if session.get(UserAttributeProfileRow, config.user_attribute_profile_id) is None:
        raise InvalidInput(
            f"{where}.user_attribute_profile_id: the user attribute profile "
            f"{config.user_attribute_profile_id} does not exist"
        )
    if session.get(ConnectionProfileRow, config.connection_profile_id) is None:
        raise InvalidInput(
            f"{where}.connection_profile_id: the connection profile "
            f"{config.connection_profile_id} does not exist"
        )
    oin = session.get(ClientRow, config.okta_oin_client_id)
    if oin is None or oin.app_type != OIN_APP_TYPE:
        raise InvalidInput(
            f"{where}.okta_oin_client_id: {config.okta_oin_client_id} is not a client with "
            f"app_type {OIN_APP_TYPE}"
        )
    for index, linked in enumerate(config.linked_clients):
        if linked == row.client_id:
            raise InvalidInput(f"{where}.linked_clients[{index}]: a client cannot link itself")
        if linked in config.linked_clients[:index]:
            raise InvalidInput(f"{where}.linked_clients[{index}]: {linked} is listed twice")
        if session.get(ClientRow, linked) is None:
            raise InvalidInput(
                f"{where}.linked_clients[{index}].client_id: the client {linked} does not exist"
            )
    if not _DOMAIN.match(config.admin_login_domain):
        raise InvalidInput(
            f"{where}.admin_login_domain: {config.admin_login_domain!r} is not a domain name"
        )
    previous = row.express_configuration or {}
    return {
        "initiate_login_uri_template": config.initiate_login_uri_template,
        "user_attribute_profile_id": config.user_attribute_profile_id,
        "connection_profile_id": config.connection_profile_id,
        "enable_client": config.enable_client,
        "enable_organization": config.enable_organization,
        "linked_clients": [{"client_id": linked} for linked in config.linked_clients],
        "okta_oin_client_id": config.okta_oin_client_id,
        "admin_login_domain": config.admin_login_domain,
        # Read-only: set when the OIN key is linked, kept across edits of the rest.
        "oin_submission_id": previous.get("oin_submission_id"),
    }
