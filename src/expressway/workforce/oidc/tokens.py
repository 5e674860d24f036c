"""The JWTs an org's provider issues: ID tokens for clients, access tokens for ``/userinfo``.

Both are signed RS256 with the org's current key. Like Okta's org authorization server, an access
token's audience is the issuer itself: it is good for this org's endpoints and nothing else, and
an ID token (whose audience is a client) is never taken for one.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from expressway import jose
from expressway.workforce.rows import AppRow, UserRow
from expressway.workforce.runtime import WorkforceRuntime

ACCESS_TOKEN_LIFETIME = 3600
ID_TOKEN_LIFETIME = 3600


@dataclass(frozen=True)
class Grant:
    """Who signed in to which client, when, and for which scopes."""

    issuer: str
    app: AppRow
    user: UserRow
    scopes: list[str]
    authenticated_at: datetime
    session_id: str | None


def user_claims(user: UserRow, scopes: list[str]) -> dict[str, Any]:
    """The claims about ``user`` that ``scopes`` release (OIDC Core §5.4), in Okta's names."""
    claims: dict[str, Any] = {"sub": user.id}
    if "profile" in scopes:
        claims.update(
            name=f"{user.first_name} {user.last_name}".strip(),
            given_name=user.first_name,
            family_name=user.last_name,
            preferred_username=user.login,
            updated_at=int(user.updated_at.timestamp()),
        )
    if "email" in scopes:
        claims.update(email=user.email, email_verified=True)
    return claims


def _half_hash(token: str) -> str:
    """``at_hash`` (OIDC Core §3.1.3.6): the left half of the SHA-256, base64url."""
    digest = hashlib.sha256(token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode("ascii")


def access_token(runtime: WorkforceRuntime, grant: Grant, now: int) -> str:
    claims = {
        "ver": 1,
        "jti": "AT." + secrets.token_urlsafe(24),
        "iss": grant.issuer,
        "aud": grant.issuer,
        "sub": grant.user.login,
        "iat": now,
        "exp": now + ACCESS_TOKEN_LIFETIME,
        "cid": grant.app.client_id,
        "uid": grant.user.id,
        "scp": grant.scopes,
        "auth_time": int(grant.authenticated_at.timestamp()),
    }
    return jose.sign_jwt(claims, runtime.signing_keys.current(grant.app.org_id))


def id_token(
    runtime: WorkforceRuntime, grant: Grant, now: int, *, nonce: str | None, access: str
) -> str:
    claims: dict[str, Any] = {
        **user_claims(grant.user, grant.scopes),
        "ver": 1,
        "iss": grant.issuer,
        "aud": grant.app.client_id,
        "iat": now,
        "exp": now + ID_TOKEN_LIFETIME,
        "jti": "ID." + secrets.token_urlsafe(24),
        "amr": ["pwd"],
        "idp": grant.app.org_id,
        "auth_time": int(grant.authenticated_at.timestamp()),
        "at_hash": _half_hash(access),
    }
    if nonce is not None:
        claims["nonce"] = nonce
    if grant.session_id is not None:
        claims["sid"] = grant.session_id
    return jose.sign_jwt(claims, runtime.signing_keys.current(grant.app.org_id))


def verify_own_token(
    runtime: WorkforceRuntime, org_id: str, issuer: str, token: str, *, now: int | None
) -> dict[str, Any]:
    """The claims of a token this org signed; ``exp`` is checked unless ``now`` is ``None``.

    Raises :class:`expressway.jose.JoseFailure`.
    """
    header = jose.peek_header(token)
    keys = runtime.signing_keys.verification_keys(org_id, header.get("kid"))
    _, claims = jose.verify_jwt(token, keys, algorithms=["RS256"])
    if claims.get("iss") != issuer:
        raise jose.JoseFailure("iss is not this org's issuer")
    if now is not None:
        jose.check_claims(claims, now=now, issuer=issuer)
    return claims
