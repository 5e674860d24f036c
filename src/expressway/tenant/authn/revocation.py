"""``/oauth/revoke`` (RFC 7009): a client gives back a refresh token it no longer needs.

The client authenticates as at the token endpoint (a public client by its client_id). A refresh
token of this client is revoked with its whole family, so that no rotated successor outlives
it. Everything else is answered 200 and changes nothing (RFC 7009 §2.2): an unknown token, an
access token (a self-contained JWT that lives out its short lifetime), or a token of another
client, whose existence the answer must not reveal.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from expressway.oauth.client_auth import read_client_credentials
from expressway.oauth.errors import OAuthError
from expressway.tenant.authn.client_authentication import authenticate_client
from expressway.tenant.authn.endpoints import (
    NO_STORE,
    oauth_error_response,
    read_parameters,
    request_origin,
)
from expressway.tenant.authn.grants.common import (
    RequestOrigin,
    record_exchange,
    required,
    set_request_origin,
)
from expressway.tenant.management.context import get_runtime
from expressway.tenant.rows import UserRow
from expressway.tenant.runtime import TenantRuntime
from expressway.tenant.services import refresh_tokens

router = APIRouter(tags=["Authentication API"])

SUCCESS_LOG = "srrt"


@router.post("/oauth/revoke")
async def revoke(request: Request) -> Response:
    try:
        params = await read_parameters(request)
    except OAuthError as error:
        return oauth_error_response(error)
    # The database work runs off the event loop (see the token endpoint for why).
    return await run_in_threadpool(
        _revoke,
        get_runtime(request),
        request_origin(request),
        request.headers.get("authorization"),
        params,
    )


def _revoke(
    runtime: TenantRuntime,
    origin: RequestOrigin,
    authorization: str | None,
    params: dict[str, str],
) -> Response:
    try:
        presented = read_client_credentials(authorization, params)
        token = required(params, "token")
        with runtime.sessions() as session:
            set_request_origin(session, origin)
            client = authenticate_client(runtime, session, presented, ip=origin.ip)
            row = refresh_tokens.find_for_exchange(session, token)
            if row is not None and row.client_id == client.client_id:
                now = runtime.clock.now()
                revoked = refresh_tokens.revoke_family(session, now, row.family_id)
                record_exchange(
                    runtime,
                    session,
                    type=SUCCESS_LOG,
                    description="Revoked a refresh token and its rotated family",
                    client=client,
                    user=session.get(UserRow, row.user_id),
                    details={"revoked": revoked},
                )
            session.commit()
    except OAuthError as error:
        return oauth_error_response(error)
    return Response(status_code=200, headers=NO_STORE)
