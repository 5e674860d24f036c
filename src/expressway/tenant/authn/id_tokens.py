"""ID tokens (OpenID Connect Core §2, §3.1.3.6, §5.4), signed RS256 with the tenant's key."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from expressway import jose
from expressway.oauth.scopes import released_claims
from expressway.tenant.rows import ClientRow, OrganizationRow, UserRow
from expressway.tenant.runtime import TenantRuntime

#: Auth0's default ID token lifetime (ten hours), when the client sets none.
DEFAULT_ID_TOKEN_LIFETIME = 36000


@dataclass(frozen=True)
class IdTokenContext:
    """What the login established, that the ID token states."""

    user: UserRow
    client: ClientRow
    scopes: list[str]
    auth_time: datetime
    session_id: str | None
    organization: OrganizationRow | None
    nonce: str | None = None


def access_token_hash(access_token: str) -> str:
    """``at_hash`` (OIDC Core §3.1.3.6): the left half of the SHA-256 of the token, base64url."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


def user_claims(user: UserRow, scopes: Iterable[str]) -> dict[str, Any]:
    """The claims about the user that the granted OIDC scopes release, leaving out empty ones."""
    values: dict[str, Any] = {
        "name": user.name,
        "family_name": user.family_name,
        "given_name": user.given_name,
        "nickname": user.nickname,
        "picture": user.picture,
        # OIDC Core §5.1: seconds since the epoch.
        "updated_at": int(user.updated_at.timestamp()),
        "email": user.email,
        "email_verified": user.email_verified if user.email else None,
    }
    return {claim: values[claim] for claim in released_claims(scopes) if values[claim] is not None}


def issue_id_token(runtime: TenantRuntime, context: IdTokenContext, access_token: str) -> str:
    now = runtime.clock.timestamp()
    lifetime = context.client.jwt_configuration.get("lifetime_in_seconds")
    claims: dict[str, Any] = {
        **user_claims(context.user, context.scopes),
        "iss": runtime.settings.tenant_issuer,
        "sub": context.user.user_id,
        "aud": context.client.client_id,
        "azp": context.client.client_id,
        "iat": now,
        "exp": now + (lifetime if isinstance(lifetime, int) else DEFAULT_ID_TOKEN_LIFETIME),
        "auth_time": int(context.auth_time.timestamp()),
        "at_hash": access_token_hash(access_token),
    }
    if context.nonce is not None:
        claims["nonce"] = context.nonce
    if context.session_id is not None:
        claims["sid"] = context.session_id
    if context.organization is not None:
        claims["org_id"] = context.organization.id
        claims["org_name"] = context.organization.name
    return jose.sign_jwt(claims, runtime.signing_keys.current())
