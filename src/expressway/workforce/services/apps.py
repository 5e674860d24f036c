"""App instances of an org. An ``oidc_client`` app is an OpenID Connect client of the org, with
its own ``client_id`` and (for confidential clients) a secret shown once and hashed at rest.

The rules a client's settings must keep are checked here in one place, and every fault is named
by its Okta property (``redirect_uris``, ``grant_types``…), so the OpenID provider can trust what
it reads back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import ColumnElement, Select, bindparam, select
from sqlalchemy.orm import Session

from expressway import hashing
from expressway.sealing import Sealer
from expressway.workforce import ids
from expressway.workforce.errors import DeleteAppForbidden, InvalidInput, NotFound
from expressway.workforce.rows import AppGroupRow, AppRow, AppUserRow
from expressway.workforce.services import queries
from expressway.workforce.services.queries import Attribute, Kind

ACTIVE = "ACTIVE"
INACTIVE = "INACTIVE"
OIDC_APP_NAME = "oidc_client"
OPENID_CONNECT = "OPENID_CONNECT"

APPLICATION_TYPES = ("web", "native", "browser", "service")
GRANT_TYPES = (
    "authorization_code",
    "implicit",
    "refresh_token",
    "client_credentials",
    "password",
    "interaction_code",
    "urn:ietf:params:oauth:grant-type:device_code",
    "urn:ietf:params:oauth:grant-type:token-exchange",
    "urn:ietf:params:oauth:grant-type:jwt-bearer",
    "urn:ietf:params:oauth:grant-type:saml2-bearer",
)
RESPONSE_TYPES = ("code", "token", "id_token")
AUTH_METHODS = (
    "client_secret_basic",
    "client_secret_post",
    "client_secret_jwt",
    "private_key_jwt",
    "none",
)
SECRET_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "client_secret_jwt")
MAX_URI_LENGTH = 1024

DEFAULT_USER_NAME_TEMPLATE: dict[str, Any] = {"template": "${source.login}", "type": "BUILT_IN"}
DEFAULT_ACCESSIBILITY: dict[str, Any] = {
    "selfService": False,
    "errorRedirectUrl": None,
    "loginRedirectUrl": None,
}


def default_visibility(name: str) -> dict[str, Any]:
    return {
        "autoSubmitToolbar": False,
        "hide": {"iOS": True, "web": True},
        "appLinks": {f"{name}_link": True},
    }


FILTER_ATTRIBUTES: dict[str, Attribute] = {
    "id": Attribute(AppRow.id, Kind.EXACT),
    "status": Attribute(AppRow.status, Kind.CODE),
    "name": Attribute(AppRow.name, Kind.EXACT),
    "lastUpdated": Attribute(AppRow.updated_at, Kind.DATE),
    "user.id": Attribute(
        AppUserRow.user_id,
        Kind.EXACT,
        related=lambda condition: AppRow.id.in_(select(AppUserRow.app_id).where(condition)),
    ),
    "group.id": Attribute(
        AppGroupRow.group_id,
        Kind.EXACT,
        related=lambda condition: AppRow.id.in_(select(AppGroupRow.app_id).where(condition)),
    ),
}


@dataclass
class AppSpec:
    """The writable parts of an app instance, as given; :func:`create` checks them."""

    name: str
    label: str
    sign_on_mode: str
    settings: dict[str, Any]
    accessibility: dict[str, Any] | None = None
    visibility: dict[str, Any] | None = None
    features: list[str] | None = None
    user_name_template: dict[str, Any] | None = None
    client_id: str | None = None
    token_endpoint_auth_method: str | None = None
    pkce_required: bool | None = None


@dataclass
class _Client:
    settings: dict[str, Any]
    auth_method: str
    pkce_required: bool


def _check_uri(name: str, uri: str, *, redirect: bool) -> None:
    try:
        parts = urlsplit(uri)
    except ValueError as exc:
        raise InvalidInput.field(name, f"{uri!r} is not a URI ({exc})") from exc
    if len(uri) > MAX_URI_LENGTH:
        raise InvalidInput.field(name, f"A URI is at most {MAX_URI_LENGTH} characters")
    if not parts.scheme or (parts.scheme in ("http", "https") and not parts.netloc):
        raise InvalidInput.field(name, f"{uri!r} is not an absolute URI")
    if redirect and parts.fragment:
        raise InvalidInput.field(name, f"{uri!r} has a fragment, which a redirect URI cannot")
    if "*" in parts.netloc:
        raise InvalidInput.field(name, f"{uri!r} has a wildcard, which is not supported")


def _check_client(spec: AppSpec) -> _Client:
    """The ``settings.oauthClient`` with Okta's defaults, once every rule holds."""
    given = spec.settings.get("oauthClient")
    if not isinstance(given, dict):
        raise InvalidInput.field("oauthClient", "The settings of an OIDC app need oauthClient")
    client = dict(given)
    application_type = client.setdefault("application_type", "web")
    if application_type not in APPLICATION_TYPES:
        raise InvalidInput.field("application_type", f"Use one of: {', '.join(APPLICATION_TYPES)}")
    grants = list(client.setdefault("grant_types", ["authorization_code"]))
    responses = list(client.setdefault("response_types", ["code"]))
    if not grants:
        raise InvalidInput.field("grant_types", "At least one grant type is required")
    for grant in grants:
        if grant not in GRANT_TYPES:
            raise InvalidInput.field("grant_types", f"{grant!r} is not a supported grant type")
    for response in responses:
        if response not in RESPONSE_TYPES:
            raise InvalidInput.field(
                "response_types", f"{response!r} is not a supported response type"
            )
    if application_type == "service" and grants != ["client_credentials"]:
        raise InvalidInput.field(
            "grant_types", "A service app uses client_credentials and no other grant type"
        )
    if application_type == "browser" and "client_credentials" in grants:
        raise InvalidInput.field("grant_types", "A browser app cannot use client_credentials")
    if "refresh_token" in grants and not {
        "authorization_code",
        "password",
        "urn:ietf:params:oauth:grant-type:device_code",
    }.intersection(grants):
        raise InvalidInput.field(
            "grant_types", "refresh_token needs authorization_code (or password or device_code)"
        )
    if "authorization_code" in grants and "code" not in responses:
        raise InvalidInput.field("response_types", "authorization_code needs the code response")
    if "code" in responses and "authorization_code" not in grants:
        raise InvalidInput.field("response_types", "code needs the authorization_code grant")
    if "implicit" in grants and not {"token", "id_token"}.intersection(responses):
        raise InvalidInput.field("response_types", "implicit needs token or id_token")
    redirect_uris = list(client.setdefault("redirect_uris", []))
    if {"authorization_code", "implicit"}.intersection(grants) and not redirect_uris:
        raise InvalidInput.field(
            "redirect_uris", "At least one redirect URI is required for browser sign-in grants"
        )
    for uri in redirect_uris:
        _check_uri("redirect_uris", uri, redirect=True)
    for uri in client.get("post_logout_redirect_uris") or []:
        _check_uri("post_logout_redirect_uris", uri, redirect=True)
    for name in ("initiate_login_uri", "client_uri", "logo_uri", "policy_uri", "tos_uri"):
        if client.get(name):
            _check_uri(name, client[name], redirect=False)
    client.setdefault("issuer_mode", "ORG_URL")

    default_method = "none" if application_type in ("browser", "native") else "client_secret_basic"
    method = spec.token_endpoint_auth_method or default_method
    if method not in AUTH_METHODS:
        raise InvalidInput.field("token_endpoint_auth_method", f"{method!r} is not supported")
    if application_type == "browser" and method != "none":
        raise InvalidInput.field(
            "token_endpoint_auth_method", "A browser app is a public client: use none"
        )
    if application_type == "service" and method == "none":
        raise InvalidInput.field(
            "token_endpoint_auth_method", "A service app must authenticate; none is not allowed"
        )
    if method == "private_key_jwt" and not (client.get("jwks") or client.get("jwks_uri")):
        raise InvalidInput.field(
            "jwks", "private_key_jwt needs the client's public keys (jwks or jwks_uri)"
        )
    pkce_required = (
        spec.pkce_required
        if spec.pkce_required is not None
        else application_type in ("browser", "native")
    )
    if method == "none" and not pkce_required:
        raise InvalidInput.field(
            "pkce_required", "A public client (token_endpoint_auth_method none) must use PKCE"
        )
    return _Client(settings=client, auth_method=method, pkce_required=pkce_required)


def _check_names(spec: AppSpec) -> None:
    if spec.name != OIDC_APP_NAME:
        raise InvalidInput.field(
            "name", f"{spec.name!r} is not an app of this org's catalog; use {OIDC_APP_NAME}"
        )
    if spec.sign_on_mode != OPENID_CONNECT:
        raise InvalidInput.field(
            "signOnMode", f"An {OIDC_APP_NAME} app signs on with {OPENID_CONNECT}"
        )
    if not spec.label.strip():
        raise InvalidInput.field("label", "The field cannot be left blank")


def _check_client_id_free(session: Session, client_id: str, app_id: str | None) -> None:
    taken = session.scalars(select(AppRow.id).where(AppRow.client_id == client_id)).first()
    if taken is not None and taken != app_id:
        raise InvalidInput.field(
            "client_id", "An object with this field already exists in the current organization"
        )


def _apply(row: AppRow, spec: AppSpec, client: _Client) -> None:
    row.label = spec.label
    row.settings = {"app": {}, **spec.settings, "oauthClient": client.settings}
    row.accessibility = spec.accessibility or dict(DEFAULT_ACCESSIBILITY)
    row.visibility = spec.visibility or default_visibility(row.name)
    row.features = list(spec.features or [])
    row.user_name_template = spec.user_name_template or dict(DEFAULT_USER_NAME_TEMPLATE)
    row.token_endpoint_auth_method = client.auth_method
    row.pkce_required = client.pkce_required


def _new_secret_if_needed(row: AppRow) -> str | None:
    """A secret for a client that authenticates with one and has none yet; shown once."""
    if row.token_endpoint_auth_method not in SECRET_AUTH_METHODS:
        row.client_secret_hash = None
        return None
    if row.client_secret_hash is not None:
        return None
    secret = ids.client_secret()
    row.client_secret_hash = hashing.hash_token(secret)
    return secret


def create(
    session: Session, org_id: str, now: datetime, spec: AppSpec, *, activate: bool = True
) -> tuple[AppRow, str | None]:
    """A new app instance and its client secret (``None`` for a public client)."""
    _check_names(spec)
    return _insert(session, org_id, now, spec, activate=activate, oin_submission_id=None)


def create_oin_instance(
    session: Session,
    org_id: str,
    now: datetime,
    spec: AppSpec,
    oin_submission_id: str,
    secret_sealer: Sealer,
) -> tuple[AppRow, str | None]:
    """A new, active instance of an OIN catalog app: ``spec.name`` is its catalog key. Its
    secret is also kept sealed, for Express Configure SSO to hand to the tenant."""
    if spec.sign_on_mode != OPENID_CONNECT:
        raise InvalidInput.field("signOnMode", f"An OIN app signs on with {OPENID_CONNECT}")
    row, secret = _insert(
        session, org_id, now, spec, activate=True, oin_submission_id=oin_submission_id
    )
    if secret is not None:
        row.client_secret_sealed = secret_sealer.seal(secret.encode())
        session.flush()
    return row, secret


def _insert(
    session: Session,
    org_id: str,
    now: datetime,
    spec: AppSpec,
    *,
    activate: bool,
    oin_submission_id: str | None,
) -> tuple[AppRow, str | None]:
    client = _check_client(spec)
    app_id = ids.okta_id(ids.APP, now)
    client_id = spec.client_id or app_id
    _check_client_id_free(session, client_id, None)
    row = AppRow(
        id=app_id,
        org_id=org_id,
        name=spec.name,
        status=ACTIVE if activate else INACTIVE,
        sign_on_mode=spec.sign_on_mode,
        client_id=client_id,
        client_secret_hash=None,
        oin_submission_id=oin_submission_id,
        express_configuration={},
        created_at=now,
        updated_at=now,
    )
    _apply(row, spec, client)
    secret = _new_secret_if_needed(row)
    session.add(row)
    session.flush()
    return row, secret


def replace(session: Session, row: AppRow, now: datetime, spec: AppSpec) -> str | None:
    """Okta's PUT: every writable property replaced; answers a new secret if one was made."""
    if spec.name != row.name:
        raise InvalidInput.field("name", "The app's name cannot be changed")
    _check_names(spec)
    if spec.client_id is not None and spec.client_id != row.client_id:
        raise InvalidInput.field("client_id", "The client id of an app cannot be changed")
    client = _check_client(spec)
    _apply(row, spec, client)
    row.updated_at = now
    secret = _new_secret_if_needed(row)
    session.flush()
    return secret


#: Built once: most requests of the admin API and the console find their app instance.
_APP_OF_ORG = select(AppRow).where(
    AppRow.org_id == bindparam("org_id"), AppRow.id == bindparam("app_id")
)


def find(session: Session, org_id: str, app_id: str) -> AppRow:
    row = session.scalars(_APP_OF_ORG, {"org_id": org_id, "app_id": app_id}).first()
    if row is None:
        raise NotFound(app_id, "AppInstance")
    return row


def set_status(row: AppRow, status: str, now: datetime) -> bool:
    """Activate or deactivate; answers whether anything changed (both are idempotent)."""
    if row.status == status:
        return False
    row.status = status
    row.updated_at = now
    return True


def remove(session: Session, row: AppRow) -> None:
    if row.status != INACTIVE:
        raise DeleteAppForbidden()
    session.delete(row)
    session.flush()


def list_statement(
    org_id: str, *, q: str | None = None, filter: str | None = None
) -> Select[AppRow]:
    conditions: list[ColumnElement[bool]] = [AppRow.org_id == org_id]
    if q is not None:
        conditions.append(queries.starts_with_any(q, [AppRow.label, AppRow.name]))
    if filter is not None:
        conditions.append(queries.condition("filter", filter, FILTER_ATTRIBUTES))
    return select(AppRow).where(*conditions).order_by(AppRow.id)


def apps_of_group_statement(org_id: str, group_id: str) -> Select[AppRow]:
    return (
        select(AppRow)
        .join(AppGroupRow, AppGroupRow.app_id == AppRow.id)
        .where(AppRow.org_id == org_id, AppGroupRow.group_id == group_id)
        .order_by(AppRow.id)
    )


def apps_of_user_statement(org_id: str, user_id: str) -> Select[AppRow]:
    return (
        select(AppRow)
        .join(AppUserRow, AppUserRow.app_id == AppRow.id)
        .where(AppRow.org_id == org_id, AppUserRow.user_id == user_id)
        .order_by(AppRow.id)
    )
