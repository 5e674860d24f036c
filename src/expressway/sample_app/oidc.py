"""The sample app's OpenID Connect client of the tenant: a small, strict relying party.

The rules (what to send, what to accept) are :mod:`expressway.oauth.relying_party`'s; this module
adds the I/O: the tenant's discovery document and keys (cached, the keys fetched again once when a
token names a key id the cache does not know), the code exchange with ``client_secret_basic``,
the check of the tenant's Logout Tokens (OpenID Connect Back-Channel Logout 1.0, rules in
:mod:`expressway.oauth.backchannel_logout`), and the two cookies the app keeps:

- ``expressway_sample_login``: the pending login (state, nonce, PKCE verifier), for ten minutes,
  sealed with :class:`~expressway.sealing.Sealer` so the browser can neither read nor change it;
- ``expressway_sample_session``: a random id of a server-side session
  (:mod:`expressway.sample_app.sessions`), which a back-channel logout can end.

The HTTP client comes from a factory, so tests stand in for the tenant with
``httpx.MockTransport``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

import httpx

from expressway import jose, json_text
from expressway.clock import Clock
from expressway.oauth.backchannel_logout import (
    LogoutSubject,
    LogoutTokenError,
    check_logout_token,
)
from expressway.oauth.relying_party import (
    AuthorizationError,
    PendingLogin,
    ProviderMetadata,
    RelyingPartyError,
    authorization_url,
    basic_authorization,
    check_access_token_hash,
    check_authorization_response,
    check_id_token_claims,
    new_login,
    read_metadata,
)
from expressway.sealing import Sealer, SealError
from expressway.web.outbound import http_client

LOGIN_COOKIE = "expressway_sample_login"
SESSION_COOKIE = "expressway_sample_session"
#: How long the browser may take at the tenant's login pages.
LOGIN_LIFETIME = 600
#: The longest a local session lasts, however long the ID token would.
SESSION_LIFETIME = 8 * 3600
#: ``offline_access`` asks for a refresh token, which the tenant gives if the client may use the
#: ``refresh_token`` grant; it ends with the login session at the tenant.
SCOPE = "openid profile email offline_access"
#: Seconds the discovery document and the key set are trusted before they are fetched again.
METADATA_TTL = 3600
#: Largest answer read from the tenant: discovery, keys and tokens are all far smaller.
MAX_RESPONSE_BYTES = 256 * 1024
HTTP_TIMEOUT = 10.0
#: Caps on what a session keeps of the tokens' claims, to show on a page; the permissions past
#: the cap are counted, not kept.
MAX_CLAIM_LENGTH = 128
MAX_SCOPE_LENGTH = 400
MAX_AUDIENCES = 3
MAX_PERMISSIONS = 30
MAX_REFRESH_TOKEN_LENGTH = 2048
#: Longest sealed login cookie accepted.
MAX_LOGIN_COOKIE = 3800


class TenantUnavailable(RelyingPartyError):
    """The tenant did not answer, or not with what a provider answers."""


def default_http_client() -> httpx.Client:
    # No redirects: a token endpoint that redirects is misconfigured, and following it would
    # send the client secret to a host nobody configured.
    return http_client(timeout=HTTP_TIMEOUT)


@dataclass(frozen=True)
class Registration:
    """The sample app's registration at the tenant."""

    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str
    audience: str | None = None

    @property
    def access_token_audience(self) -> str:
        # Without an API, the tenant's access token is for its /userinfo, as Auth0's is.
        return self.audience or f"{self.issuer}userinfo"


@dataclass(frozen=True)
class SignedIn:
    """Who signed in and in which organization, as the verified tokens say."""

    subject: str
    name: str | None
    email: str | None
    organization_id: str | None
    organization_name: str | None
    #: ``None`` when the access token is opaque (not a JWT the app can verify).
    access_organization_id: str | None
    access_organization_name: str | None
    access_audience: list[str]
    scope: str
    permissions: list[str]
    more_permissions: int
    expires_at: int
    access_token_is_jwt: bool = True
    #: The ID token's ``sid``: the tenant's login session, named again by its Logout Tokens.
    session_id: str | None = None


@dataclass(frozen=True)
class Completed:
    """A finished sign-in: who, and the refresh token (kept on the server only)."""

    signed_in: SignedIn
    refresh_token: str | None


def _text(value: object) -> str | None:
    return value[:MAX_CLAIM_LENGTH] if isinstance(value, str) and value else None


def _audiences(claims: Mapping[str, Any]) -> list[str]:
    aud = claims.get("aud")
    values = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    return [v[:MAX_CLAIM_LENGTH] for v in values if isinstance(v, str)][:MAX_AUDIENCES]


# --- The cookies ---


def seal_login(sealer: Sealer, login: PendingLogin, now: int) -> str:
    return sealer.seal(json.dumps({**asdict(login), "started_at": now}).encode())


def open_login(sealer: Sealer, sealed: str | None, now: int) -> PendingLogin | None:
    """The pending login of this browser, or None when there is none, it was tampered with, or
    it is older than :data:`LOGIN_LIFETIME`."""
    data = _open(sealer, sealed)
    if data is None:
        return None
    started_at = data.get("started_at")
    if not isinstance(started_at, int) or not 0 <= now - started_at <= LOGIN_LIFETIME:
        return None
    try:
        return PendingLogin(
            state=str(data["state"]),
            nonce=str(data["nonce"]),
            code_verifier=str(data["code_verifier"]),
        )
    except KeyError:
        return None


def _open(sealer: Sealer, sealed: str | None) -> dict[str, Any] | None:
    if not sealed or len(sealed) > MAX_LOGIN_COOKIE:
        return None
    try:
        data = json.loads(sealer.open(sealed))
    except (SealError, ValueError):
        return None
    return data if isinstance(data, dict) else None


# --- The tenant ---


@dataclass
class _Cache:
    metadata: ProviderMetadata | None = None
    metadata_at: int = 0
    keys: list[dict[str, Any]] | None = None
    keys_at: int = 0


class TenantClient:
    """Talks to the tenant as the sample app's relying party."""

    def __init__(
        self,
        registration: Registration,
        clock: Clock,
        http: Callable[[], httpx.Client] = default_http_client,
    ) -> None:
        self.registration = registration
        self._clock = clock
        self._http = http
        self._lock = threading.Lock()
        self._cache = _Cache()

    def _call(self, method: str, url: str, what: str, **arguments: Any) -> tuple[int, Any]:
        """Send a request; answer its status and JSON body, read up to
        :data:`MAX_RESPONSE_BYTES` so that a broken tenant cannot fill our memory."""
        try:
            with self._http() as client, client.stream(method, url, **arguments) as response:
                body = b""
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_RESPONSE_BYTES:
                        raise TenantUnavailable(f"{what} answered more than {MAX_RESPONSE_BYTES} B")
        except httpx.HTTPError as exc:
            raise TenantUnavailable(f"{what} at {url} could not be reached") from exc
        try:
            return response.status_code, json_text.parse(body)
        except ValueError as exc:
            raise TenantUnavailable(
                f"{what} did not answer JSON (HTTP {response.status_code})"
            ) from exc

    def _get_object(self, url: str, what: str) -> dict[str, Any]:
        status, document = self._call("GET", url, what, headers={"Accept": "application/json"})
        if status != 200 or not isinstance(document, dict):
            raise TenantUnavailable(f"{what} at {url} answered HTTP {status}")
        return document

    def metadata(self) -> ProviderMetadata:
        now = self._clock.timestamp()
        with self._lock:
            cached, fetched_at = self._cache.metadata, self._cache.metadata_at
        if cached is not None and now - fetched_at < METADATA_TTL:
            return cached
        issuer = self.registration.issuer
        document = self._get_object(
            issuer.rstrip("/") + "/.well-known/openid-configuration", "the discovery document"
        )
        try:
            metadata = read_metadata(document, issuer)
        except RelyingPartyError as exc:
            raise TenantUnavailable(str(exc)) from exc
        with self._lock:
            self._cache = _Cache(metadata=metadata, metadata_at=now)
        return metadata

    def _keys(self, metadata: ProviderMetadata, *, fresh: bool) -> list[dict[str, Any]]:
        now = self._clock.timestamp()
        with self._lock:
            cached, fetched_at = self._cache.keys, self._cache.keys_at
        if not fresh and cached is not None and now - fetched_at < METADATA_TTL:
            return cached
        keys = self._get_object(metadata.jwks_uri, "the JWKS").get("keys")
        if not isinstance(keys, list):
            raise TenantUnavailable("the tenant's JWKS has no keys array")
        usable = [
            k
            for k in keys
            if isinstance(k, dict) and k.get("kty") == "RSA" and k.get("use", "sig") == "sig"
        ]
        with self._lock:
            self._cache.keys, self._cache.keys_at = usable, now
        return usable

    def verify(
        self, metadata: ProviderMetadata, token: str, what: str
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Verify ``token``'s signature with the tenant's keys; answer ``(header, claims)``.

        A key id the cached key set lacks makes one fresh fetch: the tenant rotated its keys.
        """
        try:
            kid = jose.peek_header(token).get("kid")
        except jose.JoseFailure as exc:
            raise RelyingPartyError(f"the {what} is not a JWT") from exc

        def matching(keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
            if kid is None:
                # Without a kid the choice would be a guess; one key leaves none to make.
                return keys if len(keys) == 1 else []
            return [key for key in keys if key.get("kid") == kid]

        candidates = matching(self._keys(metadata, fresh=False)) or matching(
            self._keys(metadata, fresh=True)
        )
        if not candidates:
            raise RelyingPartyError(f"the {what} is signed with a key the tenant does not publish")
        try:
            keys = jose.key_set(candidates)
        # joserfc raises its own errors or ValueError for a key it cannot read.
        except Exception as exc:
            raise TenantUnavailable("the tenant publishes a key that cannot be read") from exc
        try:
            return jose.verify_jwt(token, keys)
        except jose.JoseFailure as exc:
            raise RelyingPartyError(f"the {what}'s signature does not verify: {exc}") from exc

    # --- The login ---

    def start(self, extra: Mapping[str, str | None]) -> tuple[PendingLogin, str]:
        """A new pending login and the tenant's authorization URL for it."""
        registration = self.registration
        login = new_login()
        url = authorization_url(
            self.metadata(),
            login,
            client_id=registration.client_id,
            redirect_uri=registration.redirect_uri,
            scope=SCOPE,
            extra={"audience": registration.audience, **extra},
        )
        return login, url

    def _exchange(
        self, metadata: ProviderMetadata, code: str, login: PendingLogin
    ) -> dict[str, Any]:
        if "client_secret_basic" not in metadata.token_endpoint_auth_methods:
            raise TenantUnavailable(
                "the tenant's token endpoint does not accept client_secret_basic"
            )
        registration = self.registration
        status, body = self._call(
            "POST",
            metadata.token_endpoint,
            "the token endpoint",
            data={
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": registration.redirect_uri,
                "code_verifier": login.code_verifier,
            },
            headers={
                "Accept": "application/json",
                "Authorization": basic_authorization(
                    registration.client_id, registration.client_secret
                ),
            },
        )
        if not isinstance(body, dict):
            raise TenantUnavailable(f"the token endpoint answered HTTP {status} without an object")
        if status != 200:
            error = body.get("error")
            if not isinstance(error, str):
                raise TenantUnavailable(f"the token endpoint answered HTTP {status}")
            description, cause = body.get("error_description"), body.get("error_cause")
            raise AuthorizationError(
                error=error[:MAX_CLAIM_LENGTH],
                description=description[:2048] if isinstance(description, str) else None,
                cause=cause[:1024] if isinstance(cause, str) else None,
            )
        return body

    def finish(self, params: Mapping[str, str], login: PendingLogin) -> Completed:
        """Check the redirect back, redeem the code, and verify what the tenant sent."""
        registration = self.registration
        code = check_authorization_response(params, login, issuer=registration.issuer)
        metadata = self.metadata()
        tokens = self._exchange(metadata, code, login)
        id_token = tokens.get("id_token")
        access_token = tokens.get("access_token")
        if not isinstance(id_token, str) or not isinstance(access_token, str):
            raise RelyingPartyError("the token response lacks the id_token or access_token")
        token_type = tokens.get("token_type")
        if not isinstance(token_type, str) or token_type.lower() != "bearer":
            raise RelyingPartyError(f"the token_type {token_type!r} is not Bearer")
        header, claims = self.verify(metadata, id_token, "ID token")
        if header.get("typ") == "at+jwt":
            raise RelyingPartyError("the ID token is an access token")
        now = self._clock.timestamp()
        subject = check_id_token_claims(
            claims,
            issuer=registration.issuer,
            client_id=registration.client_id,
            nonce=login.nonce,
            now=now,
        )
        check_access_token_hash(claims, access_token, str(header.get("alg")))
        access = self._access_claims(metadata, access_token, subject, now)
        scope = tokens.get("scope")
        permissions = access.get("permissions") if access else None
        listed = (
            [p for p in permissions if isinstance(p, str)] if isinstance(permissions, list) else []
        )
        expires = claims["exp"]
        refresh_token = tokens.get("refresh_token")
        signed_in = SignedIn(
            subject=subject,
            name=_text(claims.get("name")),
            email=_text(claims.get("email")),
            organization_id=_text(claims.get("org_id")),
            organization_name=_text(claims.get("org_name")),
            access_organization_id=_text(access.get("org_id")) if access else None,
            access_organization_name=_text(access.get("org_name")) if access else None,
            access_audience=_audiences(access) if access else [],
            scope=(scope if isinstance(scope, str) else str((access or {}).get("scope", "")))[
                :MAX_SCOPE_LENGTH
            ],
            permissions=[p[:MAX_CLAIM_LENGTH] for p in listed[:MAX_PERMISSIONS]],
            more_permissions=max(0, len(listed) - MAX_PERMISSIONS),
            expires_at=min(int(expires), now + SESSION_LIFETIME),
            access_token_is_jwt=access is not None,
            session_id=_text(claims.get("sid")),
        )
        usable_refresh_token = (
            refresh_token
            if isinstance(refresh_token, str) and 0 < len(refresh_token) <= MAX_REFRESH_TOKEN_LENGTH
            else None
        )
        return Completed(signed_in, usable_refresh_token)

    # --- Back-channel logout ---

    def check_logout_token(self, token: str) -> LogoutSubject:
        """A Logout Token's subject, once it verifies with the tenant's keys and passes every
        check of Back-Channel Logout 1.0 §2.6 but the ``jti`` replay check (the caller's).

        Raises :class:`RelyingPartyError` naming what is wrong.
        """
        metadata = self.metadata()
        header, claims = self.verify(metadata, token, "logout token")
        try:
            return check_logout_token(
                header,
                claims,
                issuer=self.registration.issuer,
                client_id=self.registration.client_id,
                now=self._clock.timestamp(),
            )
        except LogoutTokenError as exc:
            raise RelyingPartyError(f"the logout token is refused: {exc}") from exc

    def _access_claims(
        self, metadata: ProviderMetadata, access_token: str, subject: str, now: int
    ) -> dict[str, Any] | None:
        """The access token's claims when it is a JWT (RFC 9068) the tenant signed for our
        audience; None when it is opaque, which a relying party must accept."""
        if access_token.count(".") != 2:
            return None
        _, claims = self.verify(metadata, access_token, "access token")
        try:
            jose.check_claims(
                claims,
                now=now,
                issuer=self.registration.issuer,
                audience=self.registration.access_token_audience,
            )
        except jose.JoseFailure as exc:
            raise RelyingPartyError(f"the access token is refused: {exc}") from exc
        if claims.get("sub") != subject:
            raise RelyingPartyError("the access token is about another user than the ID token")
        return claims
