"""The sample app: the SaaS vendor's own web app, a confidential client of the tenant.

Pages:

- ``/``: signed out, a form asking only for the work e-mail, which starts the login with
  ``login_hint`` and lets the tenant's Home Realm Discovery route the user; signed in, who the
  user is and in which organization, from the verified ID and access tokens.
- ``/login``: starts the login; ``organization``, ``connection`` and ``login_hint`` pass through
  to ``/authorize``. This is the initiate login URI the IdP dashboard opens.
- ``/callback``: finishes it; every refusal, the tenant's or ours, is a readable page.
- ``/logout``: ends the local session, then the tenant's (``/v2/logout`` with ``returnTo``).
- ``POST /backchannel-logout``: OpenID Connect Back-Channel Logout 1.0. The tenant posts a Logout
  Token when the user's session there ends (they signed out of another app, their IdP's
  Universal Logout, an admin): once it verifies, every local session of that ``sid`` (or, without
  one, of that ``sub``) ends. Register ``{public url}/backchannel-logout`` in the client's
  ``oidc_logout.backchannel_logout_urls``.

It talks to the tenant over HTTP only, like any application would.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import cast
from urllib.parse import parse_qs, urlencode

import httpx
from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse, RedirectResponse, Response

from expressway import __version__
from expressway.clock import Clock, SystemClock
from expressway.config import Settings
from expressway.oauth.backchannel_logout import CLOCK_SKEW as LOGOUT_CLOCK_SKEW
from expressway.oauth.express_configuration import CAUSES
from expressway.oauth.relying_party import AuthorizationError, RelyingPartyError
from expressway.sample_app.oidc import (
    LOGIN_COOKIE,
    LOGIN_LIFETIME,
    SESSION_COOKIE,
    Registration,
    TenantClient,
    TenantUnavailable,
    default_http_client,
    open_login,
    seal_login,
)
from expressway.sample_app.sessions import LocalSession, SeenTokens, SessionStore
from expressway.web.cookies import clear_cookie, set_session_cookie
from expressway.web.proxies import TrustedProxyHeaders
from expressway.web.security import install_security_headers
from expressway.web.slashes import slash_redirect
from expressway.web.templates import Pages

pages = Pages("expressway.sample_app")

#: The parameters ``/login`` passes through to ``/authorize``, with their longest accepted value.
PASS_THROUGH = {"organization": 256, "connection": 128, "login_hint": 320}
#: The callback parameters read, with their longest accepted value.
CALLBACK_PARAMETERS = {
    "code": 2048,
    "state": 512,
    "iss": 2048,
    "error": 256,
    "error_description": 2048,
    "error_cause": 1024,
}
BACKCHANNEL_PATH = "/backchannel-logout"
#: Largest back-channel logout request read: one form field holding one signed JWT.
MAX_LOGOUT_REQUEST_BYTES = 16 * 1024


class NotConfigured(ValueError):
    """The sample app lacks its client's registration in the tenant."""


class BadRequest(Exception):
    """A parameter is repeated or too long; the message names it."""


def _single_values(request: Request, limits: Mapping[str, int]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name, value in request.query_params.multi_items():
        if name not in limits:
            continue
        if name in values:
            raise BadRequest(f"The parameter {name} is repeated.")
        if len(value) > limits[name] or "\x00" in value:
            raise BadRequest(f"The parameter {name} is longer than {limits[name]} characters.")
        values[name] = value
    return values


async def _not_found_or_redirect(request: Request, exc: Exception) -> Response:
    """FastAPI's answer to a routing error, but for a path with a stray trailing slash, which
    is redirected to the one without (:mod:`expressway.web.slashes`)."""
    error = cast(HTTPException, exc)
    if error.status_code == 404 and (redirect := slash_redirect(request)) is not None:
        return redirect
    return await http_exception_handler(request, error)


def registration_of(settings: Settings) -> Registration:
    if not settings.sample_app_client_id or settings.sample_app_client_secret is None:
        raise NotConfigured(
            "the sample app needs its client in the tenant: set EXPRESSWAY_SAMPLE_APP_CLIENT_ID "
            "and EXPRESSWAY_SAMPLE_APP_CLIENT_SECRET (a regular_web client whose callback is "
            f"{settings.sample_app_public_url.rstrip('/')}/callback)"
        )
    return Registration(
        issuer=settings.tenant_issuer,
        client_id=settings.sample_app_client_id,
        client_secret=settings.sample_app_client_secret.get_secret_value(),
        redirect_uri=settings.sample_app_public_url.rstrip("/") + "/callback",
        audience=settings.sample_app_audience,
    )


def create_app(
    settings: Settings,
    *,
    http: Callable[[], httpx.Client] = default_http_client,
    clock: Clock | None = None,
) -> FastAPI:
    """The sample app; raises :class:`NotConfigured` without a client id and secret."""
    registration = registration_of(settings)
    clock = clock or SystemClock()
    tenant = TenantClient(registration, clock, http)
    login_sealer = settings.sealer("sample-app-login")
    sessions = SessionStore()
    seen_logout_tokens = SeenTokens()
    public_url = settings.sample_app_public_url.rstrip("/")
    secure = public_url.startswith("https://")

    app = FastAPI(
        title="Expressway sample app",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        # Answered by the 404 handler, with a relative Location (expressway.web.slashes).
        redirect_slashes=False,
    )
    app.add_exception_handler(HTTPException, _not_found_or_redirect)
    install_security_headers(app)
    app.add_middleware(TrustedProxyHeaders, trusted=settings.trusted_proxy_networks)
    # The server-side sessions, reachable from outside the requests (tests, an operator shell).
    app.state.sessions = sessions

    def problem(title: str, message: str, *, status_code: int, **extra: object) -> Response:
        response = pages.render(
            "problem.html",
            status_code=status_code,
            title=title,
            message=message,
            error=extra.get("error"),
            description=extra.get("description"),
            causes=extra.get("causes", []),
        )
        clear_cookie(response, LOGIN_COOKIE, secure=secure)
        return response

    @app.get("/")
    def home(request: Request) -> Response:
        local = sessions.find(request.cookies.get(SESSION_COOKIE), clock.timestamp())
        if local is None:
            return pages.render("signed_out.html", title="Sign in")
        return pages.render("signed_in.html", title="Signed in", user=local.signed_in)

    @app.get("/login")
    def login(request: Request) -> Response:
        try:
            params = _single_values(request, {**PASS_THROUGH, "iss": 2048})
        except BadRequest as error:
            return problem("This sign-in link is not valid", str(error), status_code=400)
        # OpenID Connect Core §4: a login initiated by a third party may name the issuer it is
        # for; we have only one, and starting a login at another would be a mix-up.
        issuer = params.pop("iss", None)
        if issuer is not None and issuer != registration.issuer:
            return problem(
                "This sign-in link is for another identity provider",
                f"It names the issuer {issuer}; this app signs in with {registration.issuer}.",
                status_code=400,
            )
        extra = {name: value for name, value in params.items() if value}
        try:
            pending, url = tenant.start(extra)
        except RelyingPartyError as error:
            return problem(
                "The identity provider cannot be reached",
                f"Sign-in cannot start: {error}.",
                status_code=502,
            )
        response = RedirectResponse(url, status_code=302)
        response.headers["Cache-Control"] = "no-store"
        set_session_cookie(
            response,
            LOGIN_COOKIE,
            seal_login(login_sealer, pending, clock.timestamp()),
            secure=secure,
            max_age=LOGIN_LIFETIME,
        )
        return response

    @app.get("/callback")
    def callback(request: Request) -> Response:
        try:
            params = _single_values(request, CALLBACK_PARAMETERS)
        except BadRequest as error:
            return problem("Sign-in failed", str(error), status_code=400)
        pending = open_login(login_sealer, request.cookies.get(LOGIN_COOKIE), clock.timestamp())
        if pending is None:
            return problem(
                "Sign-in failed",
                "This browser has no sign-in in progress, or it took longer than "
                f"{LOGIN_LIFETIME // 60} minutes. Start again.",
                status_code=400,
            )
        try:
            completed = tenant.finish(params, pending)
        except AuthorizationError as error:
            codes = (error.cause or "").split()
            return problem(
                "The identity provider refused the sign-in",
                "The tenant answered with an error.",
                status_code=400,
                error=error.error,
                description=error.description,
                causes=[(code, CAUSES.get(code)) for code in codes],
            )
        except TenantUnavailable as error:
            return problem("The identity provider cannot be reached", f"{error}.", status_code=502)
        except RelyingPartyError as error:
            return problem(
                "Sign-in refused",
                f"What the tenant sent back was not accepted: {error}.",
                status_code=400,
            )
        now = clock.timestamp()
        signed_in = completed.signed_in
        # A session id planted in the browser before sign-in is never the one after it.
        sessions.end(request.cookies.get(SESSION_COOKIE))
        cookie = sessions.open(
            LocalSession(
                signed_in=signed_in,
                sid=signed_in.session_id,
                refresh_token=completed.refresh_token,
                expires_at=signed_in.expires_at,
            ),
            now,
        )
        response = RedirectResponse("/", status_code=303)
        set_session_cookie(
            response,
            SESSION_COOKIE,
            cookie,
            secure=secure,
            max_age=max(0, signed_in.expires_at - now),
        )
        clear_cookie(response, LOGIN_COOKIE, secure=secure)
        return response

    @app.api_route("/logout", methods=["GET", "POST"])
    def logout(request: Request) -> Response:
        sessions.end(request.cookies.get(SESSION_COOKIE))
        query = urlencode({"client_id": registration.client_id, "returnTo": f"{public_url}/"})
        response = RedirectResponse(f"{registration.issuer}v2/logout?{query}", status_code=303)
        clear_cookie(response, SESSION_COOKIE, secure=secure)
        clear_cookie(response, LOGIN_COOKIE, secure=secure)
        return response

    def logout_refused(description: str) -> Response:
        # §2.8: 400 for a request that cannot be acted on; never cached (§2.8 as well).
        return JSONResponse(
            {"error": "invalid_request", "error_description": description},
            status_code=400,
            headers={"Cache-Control": "no-store"},
        )

    @app.post(BACKCHANNEL_PATH)
    async def backchannel_logout(request: Request) -> Response:
        """OpenID Connect Back-Channel Logout 1.0 §2.5-2.8: end the sessions the tenant names."""
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type != "application/x-www-form-urlencoded":
            return logout_refused("the request must be application/x-www-form-urlencoded")
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_LOGOUT_REQUEST_BYTES:
                return logout_refused(f"the request is over {MAX_LOGOUT_REQUEST_BYTES} bytes")
        try:
            form = parse_qs(body.decode("ascii"), max_num_fields=10, strict_parsing=True)
        except ValueError:
            return logout_refused("the request body is not a form")
        tokens = form.get("logout_token", [])
        if len(tokens) != 1 or not tokens[0]:
            return logout_refused("the request must carry one logout_token")
        try:
            subject = await run_in_threadpool(tenant.check_logout_token, tokens[0])
        except RelyingPartyError as error:
            return logout_refused(str(error))
        now = clock.timestamp()
        if not seen_logout_tokens.first_use(subject.jti, subject.exp + LOGOUT_CLOCK_SKEW, now):
            return logout_refused("the logout token was already used (jti replayed)")
        sessions.end_matching(sub=subject.sub, sid=subject.sid)
        return Response(status_code=200, headers={"Cache-Control": "no-store"})

    return app
