"""``refresh_token`` with rotation (RFC 6749 §6, RFC 9700 §4.14.2, OIDC Core §12).

The checks, in order; each failure is ``invalid_grant`` unless it says otherwise:

1. the client may use the grant (``unauthorized_client``); ``refresh_token`` is present
   (``invalid_request``);
2. the token exists and was issued to this client;
3. it is not revoked;
4. it was not used before; if it was, its whole family is revoked, for a rotated-out token
   presented again means it was copied;
5. it has not expired;
6. ``scope``, when sent, only narrows the grant (``invalid_scope`` otherwise);
7. the user still exists and is not blocked, and is still a member of the organization they
   signed in to; the API (if any) still allows offline access.

The answer carries a new refresh token of the same family (with the grant's full scope, as RFC
6749 §6 requires) and an access token whose permissions are recomputed from the user's roles now.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from expressway.oauth.errors import InvalidGrant, UnauthorizedClient
from expressway.oauth.scopes import check_narrowing, parse_scope
from expressway.tenant.authn.grants.common import (
    ReuseDetected,
    active_user,
    login_organization,
    record_exchange,
    required,
)
from expressway.tenant.authn.id_tokens import IdTokenContext
from expressway.tenant.authn.tokens import (
    allows_offline_access,
    evaluate_access,
    find_api,
    token_response,
)
from expressway.tenant.rows import ClientRow
from expressway.tenant.runtime import TenantRuntime
from expressway.tenant.services import refresh_tokens

GRANT_TYPE = "refresh_token"
SUCCESS_LOG = "sertft"
FAILURE_LOG = "fertft"


def handle(
    runtime: TenantRuntime, session: Session, client: ClientRow, params: Mapping[str, str]
) -> dict[str, Any]:
    if GRANT_TYPE not in client.grant_types:
        raise UnauthorizedClient("the client is not allowed the refresh_token grant")
    presented = required(params, "refresh_token")
    now = runtime.clock.now()
    row = refresh_tokens.find_for_exchange(session, presented)
    if row is None or row.client_id != client.client_id:
        raise InvalidGrant("the refresh token is invalid")
    if row.revoked_at is not None:
        raise InvalidGrant("the refresh token has been revoked")
    if row.used_at is not None:
        refresh_tokens.revoke_family(session, now, row.family_id)
        raise ReuseDetected(
            "the refresh token was already exchanged for a newer one; "
            "every refresh token of this grant is now revoked"
        )
    if row.expires_at <= now:
        raise InvalidGrant("the refresh token has expired")
    granted = [s for s in row.scope if isinstance(s, str)]
    # An empty scope is read as none sent, as clients that always send the field mean.
    asked = parse_scope(params["scope"]) if params.get("scope") else granted
    check_narrowing(asked, granted)
    user = active_user(session, row.user_id)
    organization = login_organization(session, row.organization_id, user.user_id)
    api = find_api(runtime, session, row.audience)
    if not allows_offline_access(granted, client, api):
        raise InvalidGrant("the grant no longer allows offline access")
    context = IdTokenContext(
        user=user,
        client=client,
        scopes=asked,
        auth_time=row.auth_time,
        session_id=row.session_id,
        organization=organization,
    )
    access = evaluate_access(runtime, session, context, api, offline=True)
    successor = refresh_tokens.rotate(session, now, row)
    body = token_response(runtime, context, access, successor.token)
    record_exchange(
        runtime,
        session,
        type=SUCCESS_LOG,
        description="Refresh Token for Access Token",
        client=client,
        user=user,
        organization=organization,
        details={"audience": row.audience, "scope": body["scope"]},
    )
    return body
