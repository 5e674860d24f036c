"""The clients of an org's OpenID provider: its ACTIVE ``OPENID_CONNECT`` app instances."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from expressway import hashing
from expressway.oauth.client_auth import PresentedCredentials
from expressway.oauth.errors import InvalidClient
from expressway.workforce.rows import AppRow, AppUserRow
from expressway.workforce.services import apps

#: The methods this provider verifies; an app registered with another cannot use the token
#: endpoint until it is supported.
SUPPORTED_AUTH_METHODS = ("client_secret_basic", "client_secret_post", "none")
MAX_CLIENT_ID_LENGTH = 100


def find_client(session: Session, org_id: str, client_id: str | None) -> AppRow | None:
    """The org's active OIDC app whose ``client_id`` this is; another org's is never found."""
    if not client_id or len(client_id) > MAX_CLIENT_ID_LENGTH:
        return None
    return session.scalars(
        select(AppRow).where(
            AppRow.org_id == org_id,
            AppRow.client_id == client_id,
            AppRow.status == apps.ACTIVE,
            AppRow.sign_on_mode == apps.OPENID_CONNECT,
        )
    ).first()


def oauth_client(app: AppRow) -> dict[str, Any]:
    client = app.settings.get("oauthClient")
    return client if isinstance(client, dict) else {}


def redirect_uris(app: AppRow) -> list[Any]:
    return list(oauth_client(app).get("redirect_uris") or [])


def post_logout_redirect_uris(app: AppRow) -> list[Any]:
    return list(oauth_client(app).get("post_logout_redirect_uris") or [])


def grant_types(app: AppRow) -> list[Any]:
    return list(oauth_client(app).get("grant_types") or [])


def authenticate(session: Session, org_id: str, presented: PresentedCredentials) -> AppRow:
    """The client that ``presented`` proves to be, by the method it registered (RFC 6749 §2.3)."""
    app = find_client(session, org_id, presented.client_id)
    if app is None:
        raise InvalidClient("The client is unknown, inactive, or not an OIDC app of this org.")
    registered = app.token_endpoint_auth_method or "client_secret_basic"
    if registered not in SUPPORTED_AUTH_METHODS:
        raise InvalidClient(f"The client's authentication method {registered} is not supported.")
    if presented.method != registered:
        raise InvalidClient(
            f"The client must authenticate with {registered}, not {presented.method}."
        )
    if registered != "none" and not (
        app.client_secret_hash
        and presented.secret is not None
        and hashing.verify_token(app.client_secret_hash, presented.secret)
    ):
        raise InvalidClient("The client secret is not valid.")
    return app


def is_assigned(session: Session, app: AppRow, user_id: str) -> bool:
    return session.get(AppUserRow, (app.id, user_id)) is not None
