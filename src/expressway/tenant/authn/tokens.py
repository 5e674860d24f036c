"""Access tokens: RFC 9068 JWTs signed with the tenant's current key."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from typing import Any

from expressway import jose
from expressway.tenant.runtime import TenantRuntime


def issue_access_token(
    runtime: TenantRuntime,
    *,
    subject: str,
    client_id: str,
    audience: str,
    scopes: Iterable[str],
    lifetime: int,
    extra_claims: dict[str, Any] | None = None,
) -> str:
    now = runtime.clock.timestamp()
    claims: dict[str, Any] = {
        "iss": runtime.settings.tenant_issuer,
        "sub": subject,
        "aud": audience,
        "iat": now,
        "exp": now + lifetime,
        "jti": secrets.token_urlsafe(16),
        "client_id": client_id,
        "azp": client_id,
        "scope": " ".join(scopes),
        **(extra_claims or {}),
    }
    return jose.sign_jwt(claims, runtime.signing_keys.current(), typ="at+jwt")
