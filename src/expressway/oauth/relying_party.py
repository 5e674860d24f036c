"""The rules of an OpenID Connect relying party, without I/O: what to send and what to accept.

A relying party that uses these functions starts a login with :func:`new_login` and
:func:`authorization_url`, reads the provider's discovery document with :func:`read_metadata`,
checks the redirect back with :func:`check_authorization_response`, authenticates at the token
endpoint with :func:`basic_authorization`, and, once the ID token's signature verifies, checks
its claims with :func:`check_id_token_claims` (OpenID Connect Core §3.1.3.7) and binds the access
token to it with :func:`check_access_token_hash`. Fetching documents and keys is the caller's job.

Every refusal is a :class:`RelyingPartyError` whose message says what was wrong, in words an
application developer can act on.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from expressway.oauth.pkce import S256, s256_challenge

#: Clock skew tolerated between the provider and us when checking ``exp`` and ``iat``.
CLOCK_SKEW = 60
#: ``sub`` is at most 255 ASCII characters (OpenID Connect Core §2).
MAX_SUBJECT_LENGTH = 255


class RelyingPartyError(Exception):
    """What the provider sent (or did not send) was refused; the message says why."""


@dataclass(frozen=True)
class AuthorizationError(RelyingPartyError):
    """The provider answered the authorization request with an error (RFC 6749 §4.1.2.1)."""

    error: str
    description: str | None = None
    #: Expressway's extension: space-separated cause codes (SPEC §4.1).
    cause: str | None = None

    def __str__(self) -> str:
        return f"{self.error}: {self.description or ''}".rstrip(": ")


@dataclass(frozen=True)
class ProviderMetadata:
    """The parts of a discovery document a code-flow relying party uses."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    end_session_endpoint: str | None
    token_endpoint_auth_methods: tuple[str, ...]
    code_challenge_methods: tuple[str, ...]


@dataclass(frozen=True)
class PendingLogin:
    """The secrets of one login, kept by the relying party until the provider sends the browser
    back: ``state`` against CSRF on the callback, ``nonce`` against ID token replay, and the PKCE
    verifier against code interception."""

    state: str
    nonce: str
    code_verifier: str


def new_login() -> PendingLogin:
    return PendingLogin(
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        # 64 characters: inside RFC 7636 §4.1's 43..128, from the unreserved set.
        code_verifier=secrets.token_urlsafe(48),
    )


def _url(document: Mapping[str, Any], name: str, *, required: bool) -> str | None:
    value = document.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or urlsplit(value).scheme not in ("https", "http"):
        raise RelyingPartyError(f"the discovery document has no usable {name}")
    if not urlsplit(value).hostname:
        raise RelyingPartyError(f"the discovery document's {name} is not an absolute URL")
    return value


def _strings(document: Mapping[str, Any], name: str, default: tuple[str, ...]) -> tuple[str, ...]:
    value = document.get(name)
    if not isinstance(value, list):
        return default
    return tuple(item for item in value if isinstance(item, str))


def read_metadata(document: Mapping[str, Any], expected_issuer: str) -> ProviderMetadata:
    """Read a discovery document, refusing one that is not the expected issuer's.

    The issuer must match exactly (Discovery §4.3): a document for another issuer would make us
    accept that issuer's tokens as the expected one's.
    """
    issuer = document.get("issuer")
    if issuer != expected_issuer:
        raise RelyingPartyError(
            f"the discovery document is for the issuer {issuer!r}, not {expected_issuer!r}"
        )
    methods = _strings(document, "code_challenge_methods_supported", ())
    if S256 not in methods:
        raise RelyingPartyError("the provider does not support PKCE with S256")
    return ProviderMetadata(
        issuer=expected_issuer,
        authorization_endpoint=str(_url(document, "authorization_endpoint", required=True)),
        token_endpoint=str(_url(document, "token_endpoint", required=True)),
        jwks_uri=str(_url(document, "jwks_uri", required=True)),
        end_session_endpoint=_url(document, "end_session_endpoint", required=False),
        # Discovery §3: when absent, client_secret_basic is the default.
        token_endpoint_auth_methods=_strings(
            document, "token_endpoint_auth_methods_supported", ("client_secret_basic",)
        ),
        code_challenge_methods=methods,
    )


def authorization_url(
    metadata: ProviderMetadata,
    login: PendingLogin,
    *,
    client_id: str,
    redirect_uri: str,
    scope: str,
    extra: Mapping[str, str | None] | None = None,
) -> str:
    """The authorization request of the code flow with PKCE S256 (RFC 6749 §4.1.1, RFC 7636).

    ``extra`` parameters (``audience``, ``organization``, ``login_hint``…) are added when not
    None; they cannot replace the ones this function sets, which carry the login's protections.
    """
    params: dict[str, str] = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": scope,
        "state": login.state,
        "nonce": login.nonce,
        "code_challenge": s256_challenge(login.code_verifier),
        "code_challenge_method": S256,
    }
    for name, value in (extra or {}).items():
        if value is not None and name not in params:
            params[name] = value
    endpoint = metadata.authorization_endpoint
    separator = "&" if urlsplit(endpoint).query else "?"
    return endpoint + separator + urlencode(params)


def check_authorization_response(
    params: Mapping[str, str], login: PendingLogin, *, issuer: str
) -> str:
    """The ``code`` of the redirect back, once it is known to answer ``login``; or raise.

    ``state`` is checked first, also on error answers: an error that does not carry our state
    was not caused by our request. An ``iss`` parameter, when present, must be the issuer
    (RFC 9207, against mix-up attacks).
    """
    state = params.get("state")
    # Constant-time: the state is a secret that a forged callback would have to guess.
    if state is None or not hmac.compare_digest(state.encode(), login.state.encode()):
        raise RelyingPartyError("the state does not match the sign-in this browser started")
    given_issuer = params.get("iss")
    if given_issuer is not None and given_issuer != issuer:
        raise RelyingPartyError(f"the response comes from {given_issuer!r}, not {issuer!r}")
    error = params.get("error")
    if error is not None:
        raise AuthorizationError(
            error=error,
            description=params.get("error_description"),
            cause=params.get("error_cause"),
        )
    code = params.get("code")
    if not code:
        raise RelyingPartyError("the response carries neither a code nor an error")
    return code


def basic_authorization(client_id: str, client_secret: str) -> str:
    """The ``Authorization`` header of ``client_secret_basic``.

    RFC 6749 §2.3.1: both parts are form-encoded before they are joined and base64-encoded.
    """
    pair = f"{quote(client_id, safe='')}:{quote(client_secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode()).decode()


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def check_id_token_claims(
    claims: Mapping[str, Any],
    *,
    issuer: str,
    client_id: str,
    nonce: str,
    now: int,
    leeway: int = CLOCK_SKEW,
) -> str:
    """OpenID Connect Core §3.1.3.7, items 2-4 and 9-11: answer ``sub``, or raise.

    The signature (items 6-8) is the caller's to verify first, with the provider's keys.
    """
    if claims.get("iss") != issuer:
        raise RelyingPartyError(f"the ID token's iss {claims.get('iss')!r} is not {issuer!r}")
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if client_id not in audiences:
        raise RelyingPartyError(f"the ID token's aud {aud!r} does not include our client_id")
    azp = claims.get("azp")
    if len(audiences) > 1 and azp is None:
        raise RelyingPartyError("the ID token has several audiences but no azp")
    if azp is not None and azp != client_id:
        raise RelyingPartyError(f"the ID token's azp {azp!r} is not our client_id")
    exp = _number(claims.get("exp"))
    if exp is None:
        raise RelyingPartyError("the ID token has no exp")
    if exp + leeway <= now:
        raise RelyingPartyError("the ID token is expired")
    iat = _number(claims.get("iat"))
    if iat is None:
        raise RelyingPartyError("the ID token has no iat")
    if iat - leeway > now:
        raise RelyingPartyError("the ID token was issued in the future")
    given_nonce = claims.get("nonce")
    # The nonce binds the token to the login this browser started; compared in constant time.
    if not isinstance(given_nonce, str) or not hmac.compare_digest(
        given_nonce.encode(), nonce.encode()
    ):
        raise RelyingPartyError("the ID token's nonce is missing or not the one sent")
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub or len(sub) > MAX_SUBJECT_LENGTH or "\x00" in sub:
        raise RelyingPartyError("the ID token's sub is missing or not a usable identifier")
    return sub


def access_token_hash(access_token: str) -> str:
    """``at_hash`` for SHA-256 algorithms (OpenID Connect Core §3.1.3.6): the left half of the
    digest, base64url without padding."""
    digest = hashlib.sha256(access_token.encode()).digest()
    return base64.urlsafe_b64encode(digest[: len(digest) // 2]).rstrip(b"=").decode()


def check_access_token_hash(claims: Mapping[str, Any], access_token: str, alg: str) -> None:
    """When the ID token carries ``at_hash``, it must be the access token's (§3.1.3.8): an access
    token swapped in transit then no longer matches the ID token that came with it."""
    at_hash = claims.get("at_hash")
    if at_hash is None:
        return
    if alg not in ("RS256", "PS256"):
        raise RelyingPartyError(f"at_hash cannot be checked for the algorithm {alg}")
    if not isinstance(at_hash, str) or not hmac.compare_digest(
        at_hash.encode(), access_token_hash(access_token).encode()
    ):
        raise RelyingPartyError("the ID token's at_hash does not match the access token")
