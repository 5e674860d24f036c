"""``client_credentials`` (RFC 6749 §4.4): a client acting on its own behalf.

The client must be allowed the grant, name an API as ``audience``, and hold a client grant for
it; the token carries the requested scopes, all of which the client grant must include, or all
of the client grant's scopes when none are requested.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from sqlalchemy.orm import Session

from expressway.oauth.errors import InvalidRequest, InvalidScope, UnauthorizedClient
from expressway.oauth.scopes import parse_scope
from expressway.tenant.authn import hot_rows
from expressway.tenant.authn.grants.common import record_exchange
from expressway.tenant.authn.tokens import access_token_claims, sign_access_token
from expressway.tenant.rows import ClientRow
from expressway.tenant.runtime import TenantRuntime

GRANT_TYPE = "client_credentials"
SUCCESS_LOG = "seccft"
FAILURE_LOG = "feccft"
DESCRIPTION = "Client Credentials for Access Token"


class Exchange(NamedTuple):
    """A checked ``client_credentials`` request: the access token's claims, still to be signed
    (:func:`~expressway.tenant.authn.tokens.sign_access_token`), and what its log says."""

    claims: dict[str, Any]
    expires_in: int
    details: dict[str, Any]

    def body(self, token: str) -> dict[str, Any]:
        """The token response (RFC 6749 §5.1) once ``token``, the signed claims, is at hand."""
        return {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": self.claims["scope"],
        }


def handle(
    runtime: TenantRuntime, session: Session, client: ClientRow, params: Mapping[str, str]
) -> dict[str, Any]:
    # The API and the client grant change rarely: read through the cache (see hot_rows).
    cache = hot_rows.for_sessions(runtime.sessions)
    exchange = check(
        runtime,
        client,
        params,
        lambda audience: cache.api_grant(session, client.client_id, audience),
    )
    record_exchange(
        runtime,
        session,
        type=SUCCESS_LOG,
        description=DESCRIPTION,
        client=client,
        details=exchange.details,
    )
    return exchange.body(sign_access_token(exchange.claims, runtime.signing_keys.current()))


def check(
    runtime: TenantRuntime,
    client: ClientRow,
    params: Mapping[str, str],
    api_grant: Callable[[str], hot_rows.ApiGrant | None],
) -> Exchange:
    """The token's claims for an authenticated ``client``, or the OAuth error that refuses it;
    reads nothing but the API and client grant of ``audience``, through ``api_grant``."""
    if GRANT_TYPE not in client.grant_types:
        raise UnauthorizedClient("the client is not allowed the client_credentials grant")
    audience = params.get("audience")
    if not audience:
        raise InvalidRequest("audience is required for client_credentials")
    api = api_grant(audience)
    if api is None:
        raise InvalidRequest(f"no API has the identifier {audience}")
    if api.granted is None:
        raise UnauthorizedClient(
            f"the client has no client grant for {audience}; "
            "create one with POST /api/v2/client-grants"
        )
    granted = api.granted
    requested = params.get("scope")
    if requested is None:
        scopes = list(granted)
    else:
        asked = parse_scope(requested)
        missing = [s for s in asked if s not in granted]
        if missing:
            raise InvalidScope(f"the client grant does not include: {' '.join(missing)}")
        scopes = [s for s in granted if s in asked]
    claims = access_token_claims(
        runtime,
        subject=f"{client.client_id}@clients",
        client_id=client.client_id,
        audience=audience,
        scopes=scopes,
        lifetime=api.token_lifetime,
        extra_claims={"gty": "client-credentials"},
    )
    return Exchange(
        claims=claims,
        expires_in=api.token_lifetime,
        details={"audience": audience, "scope": claims["scope"]},
    )
