"""Access tokens (RFC 9068 JWTs signed with the tenant's current key) and the token response of
the grants a user gave (``authorization_code``, ``refresh_token``).

What a user-delegated token may carry, in order:

1. the OpenID Connect scopes asked for (``openid profile email``; ``offline_access`` only when a
   refresh token is issued with it);
2. without an API audience, nothing else: the token is for ``{issuer}userinfo``, as Auth0's are;
3. with one, the scopes asked for that the API defines; and when the API enforces RBAC (or is the
   Management API, whose scopes no user gets by asking), only those the user holds through a
   role, which the ``permissions`` claim lists too.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from joserfc.jwk import RSAKey
from sqlalchemy.orm import Session

from expressway import jose
from expressway.oauth.errors import InvalidGrant
from expressway.oauth.scopes import OIDC_SCOPES, format_scope
from expressway.tenant.authn.id_tokens import IdTokenContext, issue_id_token
from expressway.tenant.rows import ClientRow, ResourceServerRow
from expressway.tenant.runtime import TenantRuntime
from expressway.tenant.services import resource_servers
from expressway.tenant.services.rbac import permissions_for

#: Lifetime of a token whose only audience is ``/userinfo`` (Auth0's default, a day).
USERINFO_TOKEN_LIFETIME = 86400


def issue_access_token(
    runtime: TenantRuntime,
    *,
    subject: str,
    client_id: str,
    audience: str | list[str],
    scopes: Iterable[str],
    lifetime: int,
    extra_claims: dict[str, Any] | None = None,
) -> str:
    claims = access_token_claims(
        runtime,
        subject=subject,
        client_id=client_id,
        audience=audience,
        scopes=scopes,
        lifetime=lifetime,
        extra_claims=extra_claims,
    )
    return sign_access_token(claims, runtime.signing_keys.current())


def access_token_claims(
    runtime: TenantRuntime,
    *,
    subject: str,
    client_id: str,
    audience: str | list[str],
    scopes: Iterable[str],
    lifetime: int,
    extra_claims: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """An RFC 9068 access token's claims, to be signed by :func:`sign_access_token`."""
    now = runtime.clock.timestamp()
    return {
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


def sign_access_token(claims: dict[str, Any], key: RSAKey) -> str:
    """The signed access token. Safe in any thread: ``cryptography`` releases the interpreter
    lock while it signs, so a token signed in a pool thread costs the event loop nothing."""
    return jose.sign_jwt(claims, key, typ="at+jwt")


def userinfo_audience(runtime: TenantRuntime) -> str:
    return f"{runtime.settings.tenant_issuer}userinfo"


def find_api(
    runtime: TenantRuntime, session: Session, audience: str | None
) -> ResourceServerRow | None:
    """The API a grant names, or None for ``/userinfo`` only; ``invalid_grant`` if it is gone."""
    if audience is None or audience == userinfo_audience(runtime):
        return None
    api = resource_servers.find_by_identifier(session, audience)
    if api is None:
        raise InvalidGrant(f"the API {audience} the grant was made for no longer exists")
    return api


def allows_offline_access(
    granted: Iterable[str], client: ClientRow, api: ResourceServerRow | None
) -> bool:
    """A refresh token is issued when ``offline_access`` was granted, the client may use the
    ``refresh_token`` grant, and the API (if any) allows offline access."""
    return (
        "offline_access" in granted
        and "refresh_token" in client.grant_types
        and (api is None or api.allow_offline_access)
    )


@dataclass(frozen=True)
class AccessGrant:
    """The scopes and permissions an access token carries, and for which audience."""

    audience: str | list[str]
    scopes: list[str]
    permissions: list[str] | None
    lifetime: int


def evaluate_access(
    runtime: TenantRuntime,
    session: Session,
    context: IdTokenContext,
    api: ResourceServerRow | None,
    *,
    offline: bool,
) -> AccessGrant:
    """What the user's token may carry now, recomputed from the user's current roles."""
    asked = list(dict.fromkeys(context.scopes))
    oidc = [s for s in asked if s in OIDC_SCOPES and (offline or s != "offline_access")]
    if api is None:
        return AccessGrant(userinfo_audience(runtime), oidc, None, USERINFO_TOKEN_LIFETIME)
    defined = {s.get("value") for s in api.scopes if isinstance(s, dict)}
    api_scopes = [s for s in asked if s not in OIDC_SCOPES and s in defined]
    permissions: list[str] | None = None
    if api.enforce_policies or api.is_system:
        organization_id = context.organization.id if context.organization else None
        held = permissions_for(session, context.user.user_id, organization_id, api.identifier)
        api_scopes = [s for s in api_scopes if s in held]
        permissions = api_scopes
    # With openid, the token also serves /userinfo, as Auth0's do.
    audience: str | list[str] = (
        [api.identifier, userinfo_audience(runtime)] if "openid" in asked else api.identifier
    )
    return AccessGrant(audience, oidc + api_scopes, permissions, api.token_lifetime)


def token_response(
    runtime: TenantRuntime,
    context: IdTokenContext,
    access: AccessGrant,
    refresh_token: str | None,
) -> dict[str, Any]:
    """The token endpoint's answer (RFC 6749 §5.1, OIDC Core §3.1.3.3) for a user's grant."""
    claims: dict[str, Any] = {"auth_time": int(context.auth_time.timestamp())}
    if access.permissions is not None:
        claims["permissions"] = access.permissions
    if context.organization is not None:
        claims["org_id"] = context.organization.id
        claims["org_name"] = context.organization.name
    access_token = issue_access_token(
        runtime,
        subject=context.user.user_id,
        client_id=context.client.client_id,
        audience=access.audience,
        scopes=access.scopes,
        lifetime=access.lifetime,
        extra_claims=claims,
    )
    body: dict[str, Any] = {"access_token": access_token}
    if "openid" in access.scopes:
        body["id_token"] = issue_id_token(runtime, context, access_token)
    if refresh_token is not None:
        body["refresh_token"] = refresh_token
    body.update(scope=format_scope(access.scopes), expires_in=access.lifetime, token_type="Bearer")
    return body
