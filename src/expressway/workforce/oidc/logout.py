"""``/orgs/{org}/oauth2/v1/logout`` (OpenID Connect RP-Initiated Logout 1.0).

The ``id_token_hint`` (which Okta requires) names the client; a ``post_logout_redirect_uri`` is
followed only if that client registered it, otherwise a page says so.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from expressway.jose import JoseFailure
from expressway.oauth.errors import InvalidRequest
from expressway.oauth.redirect_uris import is_registered_redirect_uri
from expressway.workforce.oidc import clients, tokens
from expressway.workforce.oidc.web import (
    SESSION_COOKIE,
    ErrorPage,
    clear_cookie,
    error_page,
    log_client,
    message_page,
    redirect_with,
    runtime_of,
    single_values,
)
from expressway.workforce.rows import OrgRow, UserRow
from expressway.workforce.runtime import WorkforceRuntime
from expressway.workforce.services import orgs, sessions
from expressway.workforce.system_log import Event, Party, record

router = APIRouter(prefix="/orgs/{org}/oauth2/v1", tags=["OpenID Connect"])


def _checked_destination(
    runtime: WorkforceRuntime, session: Session, org: OrgRow, params: dict[str, str]
) -> str | None:
    hint = params.get("id_token_hint")
    if hint is None:
        raise ErrorPage("Bad request", "The 'id_token_hint' parameter is required.")
    try:
        claims = tokens.verify_own_token(runtime, org.id, runtime.org_url(org.name), hint, now=None)
    except JoseFailure as exc:
        raise ErrorPage(
            "Bad request", "The 'id_token_hint' parameter is not an ID token of this org."
        ) from exc
    destination = params.get("post_logout_redirect_uri")
    if destination is None:
        return None
    audience = claims.get("aud")
    app = clients.find_client(session, org.id, audience if isinstance(audience, str) else None)
    if app is None or not is_registered_redirect_uri(
        destination, clients.post_logout_redirect_uris(app)
    ):
        raise ErrorPage(
            "Bad request",
            "The 'post_logout_redirect_uri' parameter must be a Sign-out redirect URI in the "
            "client app settings.",
        )
    return destination


@router.get("/logout", summary="End the user's session (RP-initiated logout)")
def logout(org: str, request: Request) -> Response:
    runtime = runtime_of(request)
    now = runtime.clock.now()
    with runtime.sessions() as session:
        org_row = orgs.get_by_name(session, org)
        try:
            params = single_values(list(request.query_params.multi_items()))
            destination = _checked_destination(runtime, session, org_row, params)
        except InvalidRequest as exc:
            return error_page(org_row.name, ErrorPage("Bad request", exc.description))
        except ErrorPage as failure:
            return error_page(org_row.name, failure)
        user_session = sessions.find_active(
            session, now, org_row.id, request.cookies.get(SESSION_COOKIE)
        )
        if user_session is not None:
            sessions.end(user_session, now)
            user = session.get(UserRow, user_session.user_id)
            if user is not None:
                record(
                    session,
                    org_row.id,
                    now,
                    Event(
                        "user.session.end",
                        "User logout from Okta",
                        Party.of_user(user),
                        client=log_client(request),
                    ),
                )
        session.commit()
    response: Response
    if destination is None:
        response = message_page(org_row.name, "Signed out", "You have been signed out.")
    else:
        response = redirect_with(destination, {"state": params.get("state")})
    clear_cookie(runtime, response, org_row.name, SESSION_COOKIE)
    return response
