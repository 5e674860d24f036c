"""``authorization_code`` (RFC 6749 §4.1.3, RFC 7636 §4.5-4.6, OIDC Core §3.1.3).

The checks, in order; each failure is ``invalid_grant`` unless it says otherwise:

1. the client may use the grant (``unauthorized_client``); ``code`` and ``redirect_uri`` are
   present (``invalid_request``);
2. the code exists and was issued to this client (a code presented by another client tells it
   nothing and revokes nothing);
3. the code was not used before; if it was, the refresh-token family its first exchange
   started is revoked (RFC 6749 §4.1.2: a code seen twice has leaked);
4. the code has not expired;
5. ``redirect_uri`` is exactly the one of the authorization request;
6. PKCE: with a stored challenge, the verifier matches it (S256); without one, no verifier is
   sent (RFC 9700 §4.8.2, the downgrade attack) and the client is not public, for a public
   client's codes are protected by PKCE alone;
7. the login session the code came from has not ended since (a Logout Token already went to
   the applications of that session; this one must not get tokens from it afterwards);
8. the user still exists and is not blocked, and is still a member of the organization they
   signed in to.

Only then is the code marked used, in the transaction that issues the tokens; the row is locked
until it commits, so two concurrent exchanges of one code cannot both succeed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from expressway import hashing
from expressway.oauth.errors import InvalidGrant, UnauthorizedClient
from expressway.oauth.pkce import verify_code_verifier
from expressway.tenant.authn.client_authentication import is_public
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
from expressway.tenant.rows import AuthorizationCodeRow, ClientRow, LoginSessionRow
from expressway.tenant.runtime import TenantRuntime
from expressway.tenant.services import backchannel_logout, refresh_tokens

GRANT_TYPE = "authorization_code"
SUCCESS_LOG = "seacft"
FAILURE_LOG = "feacft"


#: The code, locked until the exchange commits (built once, as the session's reads by key are).
_CODE_BY_HASH = (
    select(AuthorizationCodeRow)
    .where(AuthorizationCodeRow.code_hash == bindparam("code_hash"))
    .with_for_update()
)


def handle(
    runtime: TenantRuntime, session: Session, client: ClientRow, params: Mapping[str, str]
) -> dict[str, Any]:
    if GRANT_TYPE not in client.grant_types:
        raise UnauthorizedClient("the client is not allowed the authorization_code grant")
    code = required(params, "code")
    redirect_uri = required(params, "redirect_uri")
    now = runtime.clock.now()
    row = session.scalars(_CODE_BY_HASH, {"code_hash": hashing.hash_token(code)}).first()
    if row is None:
        raise InvalidGrant("the authorization code is invalid")
    if row.client_id != client.client_id:
        raise InvalidGrant("the authorization code was issued to another client")
    if row.used_at is not None:
        if row.refresh_family_id is not None:
            refresh_tokens.revoke_family(session, now, row.refresh_family_id)
        raise ReuseDetected(
            "the authorization code has already been used; "
            "the refresh tokens its first exchange issued are revoked"
        )
    if row.expires_at <= now:
        raise InvalidGrant("the authorization code has expired")
    if redirect_uri != row.redirect_uri:
        raise InvalidGrant("redirect_uri differs from the one of the authorization request")
    _check_pkce(client, row, params.get("code_verifier"))
    if row.session_id is not None:
        login_session = session.get(LoginSessionRow, row.session_id)
        if login_session is None or login_session.revoked_at is not None:
            raise InvalidGrant("the login session of this authorization code has ended")
    user = active_user(session, row.user_id)
    organization = login_organization(session, row.organization_id, user.user_id)
    api = find_api(runtime, session, row.audience)
    granted = [s for s in row.scope if isinstance(s, str)]
    offline = allows_offline_access(granted, client, api)
    context = IdTokenContext(
        user=user,
        client=client,
        scopes=granted,
        auth_time=row.auth_time,
        session_id=row.session_id,
        organization=organization,
        nonce=row.nonce,
    )
    access = evaluate_access(runtime, session, context, api, offline=offline)
    refresh = None
    if offline:
        refresh = refresh_tokens.issue(
            session,
            now,
            client_id=client.client_id,
            user_id=user.user_id,
            session_id=row.session_id,
            scope=granted,
            audience=row.audience,
            organization_id=row.organization_id,
            auth_time=row.auth_time,
        )
        row.refresh_family_id = refresh.row.family_id
    row.used_at = now
    if row.session_id is not None:
        # The session now owes this client a Logout Token when it ends.
        backchannel_logout.record_client(session, now, row.session_id, client.client_id)
    body = token_response(runtime, context, access, refresh.token if refresh else None)
    record_exchange(
        runtime,
        session,
        type=SUCCESS_LOG,
        description="Authorization Code for Access Token",
        client=client,
        user=user,
        organization=organization,
        details={"audience": row.audience, "scope": body["scope"]},
    )
    return body


def _check_pkce(client: ClientRow, row: AuthorizationCodeRow, verifier: str | None) -> None:
    if row.code_challenge is None:
        if is_public(client):
            raise InvalidGrant(
                "a public client must use PKCE: the authorization request had no code_challenge"
            )
        if verifier is not None:
            raise InvalidGrant(
                "code_verifier was sent, but the authorization request had no code_challenge"
            )
        return
    if not verifier:
        raise InvalidGrant("code_verifier is required: the authorization request had a challenge")
    # A method other than S256 (``plain``) never verifies.
    if not verify_code_verifier(verifier, row.code_challenge, row.code_challenge_method or ""):
        raise InvalidGrant("code_verifier does not match the code_challenge (RFC 7636 §4.6)")
