"""An OpenID Connect relying party of the upstream identity providers behind ``okta`` and
``oidc`` connections: discovery, the authorization URL, the code exchange, ID token validation
(OpenID Connect Core §3.1.3.7) and the upstream's signing keys.

Discovery documents and key sets are cached per issuer for :data:`METADATA_TTL` seconds; a token
signed with a key id the cache does not know makes one fresh fetch of the key set, so an upstream
that rotates its keys is followed at once. The HTTP client comes from a factory given to
:class:`UpstreamClient`, so tests serve a fake upstream through ``httpx.MockTransport`` and
interop tests talk to a real provider on loopback.

This module knows nothing of the tenant's database: it takes a :class:`RelyingParty` (what a
connection says about its upstream) and answers verified claims or raises :class:`UpstreamError`
with a reason meant for the tenant's log, never for the browser.
"""

from __future__ import annotations

import base64
import hmac
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import httpx

from expressway import jose, json_text
from expressway.oauth.pkce import S256, s256_challenge
from expressway.web.outbound import http_client

#: Seconds a discovery document and key set are trusted before they are fetched again.
METADATA_TTL = 3600
#: Clock skew tolerated between the upstream and us when checking ``exp`` and ``iat``.
CLOCK_SKEW = 60
#: Largest upstream response read: discovery, keys, tokens and userinfo are all far smaller.
MAX_RESPONSE_BYTES = 512 * 1024
HTTP_TIMEOUT = 10.0
DISCOVERY_SUFFIX = "/.well-known/openid-configuration"
#: Hosts on which an ``http://`` upstream is accepted. An IdP on loopback is one running on the
#: developer's own machine (``expressway demo``, the workforce IdP on localhost, the interop
#: tests' provider): no network lies between it and us to read or change the traffic, which is
#: what TLS protects against. Any other host must be reached over https.
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


class UpstreamError(Exception):
    """The upstream could not be used, or what it sent was refused; the message says why."""


@dataclass(frozen=True)
class RelyingParty:
    """What a connection says about its upstream provider and our registration there."""

    discovery_url: str
    client_id: str
    client_secret: str | None
    scope: str
    #: Whether to send a PKCE challenge; always S256 (RFC 7636 §4.2: a client able to use S256
    #: must), even when the connection says ``plain``.
    pkce: bool
    #: The issuer the connection names; ``None`` when only a discovery URL was given, in which
    #: case the discovery document's issuer is taken as it is.
    issuer: str | None = None
    #: Endpoints the connection sets explicitly, preferred to the discovered ones.
    endpoint_overrides: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ProviderMetadata:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    token_endpoint_auth_methods: tuple[str, ...]


@dataclass(frozen=True)
class UpstreamIdentity:
    """A verified upstream login: the ID token's claims and, when offered, the userinfo claims."""

    subject: str
    id_token_claims: dict[str, Any]
    userinfo: dict[str, Any]


@dataclass
class _CachedProvider:
    metadata: ProviderMetadata
    fetched_at: int
    keys: list[dict[str, Any]] | None = None
    keys_fetched_at: int = 0


_CacheKey = tuple[str, tuple[tuple[str, str], ...]]


def _cache_key(rp: RelyingParty) -> _CacheKey:
    # Two connections to one upstream share its cache, unless one overrides an endpoint.
    return rp.discovery_url, tuple(sorted(rp.endpoint_overrides.items()))


def default_http_client() -> httpx.Client:
    # No redirects: a discovery or token endpoint that redirects elsewhere is misconfigured, and
    # following it would send our client secret to a host nobody configured.
    return http_client(timeout=HTTP_TIMEOUT)


def discovery_url_for(issuer: str) -> str:
    """OpenID Connect Discovery §4: the issuer, without its trailing slash, plus the suffix."""
    return issuer.rstrip("/") + DISCOVERY_SUFFIX


def check_upstream_url(name: str, url: str) -> None:
    """Refuse a URL that is not https, unless http on loopback (see :data:`LOOPBACK_HOSTS`)."""
    parts = urlsplit(url)
    if not parts.hostname:
        raise UpstreamError(f"{name} {url!r} is not an absolute URL")
    if parts.scheme == "https":
        return
    if parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS:
        return
    raise UpstreamError(f"{name} {url!r} must use https")


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def check_id_token_claims(
    claims: Mapping[str, Any], *, issuer: str, client_id: str, nonce: str, now: int
) -> str:
    """OpenID Connect Core §3.1.3.7, items 2-4 and 9-11: answer the ``sub``, or raise."""
    if claims.get("iss") != issuer:
        raise UpstreamError(f"id_token iss {claims.get('iss')!r} is not the issuer {issuer!r}")
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if client_id not in audiences:
        raise UpstreamError(f"id_token aud {aud!r} does not include our client_id")
    azp = claims.get("azp")
    if len(audiences) > 1 and azp is None:
        raise UpstreamError("id_token has several audiences but no azp")
    if azp is not None and azp != client_id:
        raise UpstreamError(f"id_token azp {azp!r} is not our client_id")
    exp = _number(claims.get("exp"))
    if exp is None:
        raise UpstreamError("id_token exp is missing")
    if exp + CLOCK_SKEW <= now:
        raise UpstreamError("id_token is expired")
    iat = _number(claims.get("iat"))
    if iat is None:
        raise UpstreamError("id_token iat is missing")
    if iat - CLOCK_SKEW > now:
        raise UpstreamError("id_token iat is in the future")
    given_nonce = claims.get("nonce")
    # The nonce binds the token to the login we started; compared in constant time.
    if not isinstance(given_nonce, str) or not hmac.compare_digest(
        given_nonce.encode(), nonce.encode()
    ):
        raise UpstreamError("id_token nonce is missing or not the one sent")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > 255 or "\x00" in sub:
        raise UpstreamError("id_token sub is missing or not a usable identifier")
    return sub


def _usable_keys(jwks: list[dict[str, Any]], kid: str | None) -> list[dict[str, Any]]:
    """The signing keys a token with this ``kid`` may be verified with."""
    signing = [key for key in jwks if key.get("kty") == "RSA" and key.get("use", "sig") == "sig"]
    if kid is None:
        # Without a kid the choice would be a guess; one key leaves none to make.
        return signing if len(signing) == 1 else []
    return [key for key in signing if key.get("kid") == kid]


class UpstreamClient:
    """Talks to upstream providers; holds their discovery documents and keys, per issuer."""

    def __init__(
        self,
        http: Callable[[], httpx.Client] = default_http_client,
        metadata_ttl: int = METADATA_TTL,
    ) -> None:
        self._http = http
        self._ttl = metadata_ttl
        self._lock = threading.Lock()
        self._providers: dict[_CacheKey, _CachedProvider] = {}

    # --- HTTP ---

    def _call(
        self, method: str, url: str, what: str, **arguments: Any
    ) -> tuple[int, dict[str, Any]]:
        """Send a request; answer its status and JSON object, read up to
        :data:`MAX_RESPONSE_BYTES` so that a hostile upstream cannot fill our memory."""
        try:
            with (
                self._http() as client,
                client.stream(method, url, **arguments) as response,
            ):
                body = b""
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > MAX_RESPONSE_BYTES:
                        raise UpstreamError(f"{what} answered more than {MAX_RESPONSE_BYTES} bytes")
        except httpx.HTTPError as exc:
            raise UpstreamError(
                f"{what} {url} could not be reached ({type(exc).__name__})"
            ) from exc
        try:
            # json.loads takes NaN and lone surrogates, which would reach a user's profile and
            # a JSON column that cannot hold them.
            document = json_text.parse(body)
        except ValueError as exc:
            raise UpstreamError(
                f"{what} did not answer JSON (HTTP {response.status_code})"
            ) from exc
        if not isinstance(document, dict):
            raise UpstreamError(f"{what} did not answer a JSON object")
        return response.status_code, document

    def _get_json(
        self, url: str, what: str, headers: dict[str, str] | None = None
    ) -> dict[str, Any]:
        status, document = self._call(
            "GET", url, what, headers={"Accept": "application/json", **(headers or {})}
        )
        if status != 200:
            raise UpstreamError(f"{what} {url} answered HTTP {status}")
        return document

    # --- Discovery and keys ---

    def _discover(self, rp: RelyingParty) -> ProviderMetadata:
        check_upstream_url("the discovery URL", rp.discovery_url)
        document = self._get_json(rp.discovery_url, "the upstream discovery document")
        issuer = document.get("issuer")
        if not isinstance(issuer, str) or not issuer:
            raise UpstreamError("the upstream discovery document names no issuer")
        # Discovery §4.3: the document must be the configured issuer's. A trailing slash is the
        # one difference tolerated, since admins type the issuer both ways.
        if rp.issuer is not None and issuer.rstrip("/") != rp.issuer.rstrip("/"):
            raise UpstreamError(
                f"the upstream discovery document is for {issuer!r}, not {rp.issuer!r}"
            )
        check_upstream_url("the upstream issuer", issuer)
        endpoints: dict[str, str | None] = {}
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri", "userinfo_endpoint"):
            value = rp.endpoint_overrides.get(name) or document.get(name)
            if value is None and name == "userinfo_endpoint":
                endpoints[name] = None
                continue
            if not isinstance(value, str) or not value:
                raise UpstreamError(f"the upstream discovery document has no {name}")
            check_upstream_url(f"the upstream {name}", value)
            endpoints[name] = value
        methods = document.get("token_endpoint_auth_methods_supported")
        return ProviderMetadata(
            issuer=issuer,
            authorization_endpoint=str(endpoints["authorization_endpoint"]),
            token_endpoint=str(endpoints["token_endpoint"]),
            jwks_uri=str(endpoints["jwks_uri"]),
            userinfo_endpoint=endpoints["userinfo_endpoint"],
            # Discovery §3: when absent, client_secret_basic is the default.
            token_endpoint_auth_methods=(
                tuple(m for m in methods if isinstance(m, str))
                if isinstance(methods, list)
                else ("client_secret_basic",)
            ),
        )

    def provider(self, rp: RelyingParty, now: int) -> ProviderMetadata:
        """The upstream's discovery document, from the cache while it is fresh."""
        with self._lock:
            cached = self._providers.get(_cache_key(rp))
        if cached is not None and now - cached.fetched_at < self._ttl:
            return cached.metadata
        metadata = self._discover(rp)
        with self._lock:
            self._providers[_cache_key(rp)] = _CachedProvider(metadata, now)
        return metadata

    def _fetch_keys(self, metadata: ProviderMetadata) -> list[dict[str, Any]]:
        document = self._get_json(metadata.jwks_uri, "the upstream JWKS")
        keys = document.get("keys")
        if not isinstance(keys, list):
            raise UpstreamError("the upstream JWKS has no keys array")
        return [key for key in keys if isinstance(key, dict)]

    def _keys(
        self, rp: RelyingParty, metadata: ProviderMetadata, now: int, *, fresh: bool
    ) -> list[dict[str, Any]]:
        with self._lock:
            cached = self._providers.get(_cache_key(rp))
        if (
            not fresh
            and cached is not None
            and cached.keys is not None
            and now - cached.keys_fetched_at < self._ttl
        ):
            return cached.keys
        keys = self._fetch_keys(metadata)
        with self._lock:
            entry = self._providers.get(_cache_key(rp))
            if entry is None or entry.metadata != metadata:
                entry = _CachedProvider(metadata, now)
                self._providers[_cache_key(rp)] = entry
            entry.keys = keys
            entry.keys_fetched_at = now
        return keys

    def verify_signature(
        self, rp: RelyingParty, metadata: ProviderMetadata, token: str, now: int
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Verify ``token``'s signature with the upstream's keys; answer ``(header, claims)``.

        A ``kid`` the cached key set lacks makes one fresh fetch (the upstream rotated its keys);
        a kid still unknown after it is refused. Every token that reaches this point has used up
        a single-use state or is a signed request, so the refetch cannot be driven in a loop.
        """
        try:
            kid = jose.peek_header(token).get("kid")
        except jose.JoseFailure as exc:
            raise UpstreamError(str(exc)) from exc
        if kid is not None and not isinstance(kid, str):
            raise UpstreamError("the token's kid is not a string")
        candidates = _usable_keys(self._keys(rp, metadata, now, fresh=False), kid)
        if not candidates:
            candidates = _usable_keys(self._keys(rp, metadata, now, fresh=True), kid)
        if not candidates:
            raise UpstreamError(f"no upstream signing key has the kid {kid!r}")
        try:
            keys = jose.key_set(candidates)
        # joserfc raises its own errors or ValueError for a key it cannot read; either way the
        # upstream published a key that cannot verify anything.
        except Exception as exc:
            raise UpstreamError(f"the upstream key {kid!r} cannot be read") from exc
        try:
            return jose.verify_jwt(token, keys)
        except jose.JoseFailure as exc:
            raise UpstreamError(str(exc)) from exc

    # --- The login ---

    def authorization_url(
        self,
        rp: RelyingParty,
        metadata: ProviderMetadata,
        *,
        redirect_uri: str,
        state: str,
        nonce: str,
        code_verifier: str | None,
        login_hint: str | None = None,
    ) -> str:
        params = {
            "response_type": "code",
            "client_id": rp.client_id,
            "redirect_uri": redirect_uri,
            "scope": rp.scope,
            "state": state,
            "nonce": nonce,
        }
        if rp.pkce and code_verifier is not None:
            params["code_challenge"] = s256_challenge(code_verifier)
            params["code_challenge_method"] = S256
        if login_hint:
            params["login_hint"] = login_hint
        endpoint = metadata.authorization_endpoint
        separator = "&" if urlsplit(endpoint).query else "?"
        return endpoint + separator + urlencode(params)

    def _token_request(
        self, rp: RelyingParty, metadata: ProviderMetadata, form: dict[str, str]
    ) -> tuple[dict[str, str], dict[str, str]]:
        """The form and headers that authenticate us at the token endpoint."""
        methods = metadata.token_endpoint_auth_methods
        headers = {"Accept": "application/json"}
        if rp.client_secret is None:
            return {**form, "client_id": rp.client_id}, headers
        if "client_secret_basic" in methods:
            # RFC 6749 §2.3.1: both parts are form-encoded before they are joined and encoded.
            pair = f"{quote(rp.client_id, safe='')}:{quote(rp.client_secret, safe='')}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
            return form, headers
        if "client_secret_post" in methods:
            return {**form, "client_id": rp.client_id, "client_secret": rp.client_secret}, headers
        raise UpstreamError(
            "the upstream token endpoint accepts neither client_secret_basic nor client_secret_post"
        )

    def _exchange(
        self,
        rp: RelyingParty,
        metadata: ProviderMetadata,
        code: str,
        redirect_uri: str,
        code_verifier: str | None,
    ) -> dict[str, Any]:
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        if rp.pkce and code_verifier is not None:
            form["code_verifier"] = code_verifier
        form, headers = self._token_request(rp, metadata, form)
        status, body = self._call(
            "POST",
            metadata.token_endpoint,
            "the upstream token endpoint",
            data=form,
            headers=headers,
        )
        if status != 200:
            raise UpstreamError(
                f"the upstream token endpoint answered HTTP {status}: "
                f"{str(body.get('error'))[:100]} {str(body.get('error_description', ''))[:300]}"
            )
        return body

    def _userinfo(self, metadata: ProviderMetadata, access_token: str, sub: str) -> dict[str, Any]:
        if metadata.userinfo_endpoint is None:
            return {}
        claims = self._get_json(
            metadata.userinfo_endpoint,
            "the upstream userinfo endpoint",
            headers={"Authorization": f"Bearer {access_token}"},
        )
        # OpenID Connect Core §5.3.2: a userinfo answer about someone else must not be used.
        if claims.get("sub") != sub:
            raise UpstreamError("the upstream userinfo sub is not the id_token sub")
        return claims

    def redeem_code(
        self,
        rp: RelyingParty,
        metadata: ProviderMetadata,
        *,
        code: str,
        redirect_uri: str,
        code_verifier: str | None,
        nonce: str,
        now: int,
    ) -> UpstreamIdentity:
        """Exchange ``code``, validate the ID token strictly, and read userinfo."""
        tokens = self._exchange(rp, metadata, code, redirect_uri, code_verifier)
        id_token = tokens.get("id_token")
        if not isinstance(id_token, str) or not id_token:
            raise UpstreamError("the upstream token response has no id_token")
        _, claims = self.verify_signature(rp, metadata, id_token, now)
        sub = check_id_token_claims(
            claims, issuer=metadata.issuer, client_id=rp.client_id, nonce=nonce, now=now
        )
        access_token = tokens.get("access_token")
        token_type = tokens.get("token_type")
        userinfo: dict[str, Any] = {}
        if isinstance(access_token, str) and access_token:
            if not isinstance(token_type, str) or token_type.lower() != "bearer":
                raise UpstreamError(f"the upstream token_type {token_type!r} is not Bearer")
            userinfo = self._userinfo(metadata, access_token, sub)
        return UpstreamIdentity(subject=sub, id_token_claims=claims, userinfo=userinfo)
