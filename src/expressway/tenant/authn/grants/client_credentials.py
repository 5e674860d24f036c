"""``client_credentials`` (RFC 6749 §4.4): a client acting on its own behalf.

The client must be allowed the grant, name an API as ``audience``, and hold a client grant for
it; the token carries the requested scopes, all of which the client grant must include, or all
of the client grant's scopes when none are requested.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from expressway.oauth.errors import InvalidRequest, InvalidScope, UnauthorizedClient
from expressway.oauth.scopes import parse_scope
from expressway.tenant.authn import hot_rows
from expressway.tenant.authn.grants.common import record_exchange
from expressway.tenant.authn.tokens import issue_access_token
from expressway.tenant.rows import ClientRow
from expressway.tenant.runtime import TenantRuntime

GRANT_TYPE = "client_credentials"
SUCCESS_LOG = "seccft"
FAILURE_LOG = "feccft"


def handle(
    runtime: TenantRuntime, session: Session, client: ClientRow, params: Mapping[str, str]
) -> dict[str, Any]:
    if GRANT_TYPE not in client.grant_types:
        raise UnauthorizedClient("the client is not allowed the client_credentials grant")
    audience = params.get("audience")
    if not audience:
        raise InvalidRequest("audience is required for client_credentials")
    # The API and the client grant change rarely: read through the cache (see hot_rows).
    api = hot_rows.for_sessions(runtime.sessions).api_grant(session, client.client_id, audience)
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
    token = issue_access_token(
        runtime,
        subject=f"{client.client_id}@clients",
        client_id=client.client_id,
        audience=audience,
        scopes=scopes,
        lifetime=api.token_lifetime,
        extra_claims={"gty": "client-credentials"},
    )
    record_exchange(
        runtime,
        session,
        type=SUCCESS_LOG,
        description="Client Credentials for Access Token",
        client=client,
        details={"audience": audience, "scope": " ".join(scopes)},
    )
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": api.token_lifetime,
        "scope": " ".join(scopes),
    }
