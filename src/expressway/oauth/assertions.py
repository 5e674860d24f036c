"""``private_key_jwt`` client authentication (RFC 7523 §2.2 and §3, OpenID Connect Core §9).

The rules, in the order they are checked; each failure is ``invalid_client`` with a description
that says which rule failed:

1. the assertion is at most 2048 bytes (a bound on work done before any key is involved);
2. its header names RS256, RS384 or PS256 (never ``none`` or an HMAC: a verifier that holds only
   public keys must not be tricked into using one as an HMAC secret), and no ``crit``;
3. the client has at least one active public key (cause ``public_key_missing``);
4. the signature verifies with one of them (cause ``public_key_mismatch``);
5. ``iss`` and ``sub`` are both the client id;
6. ``aud`` is the issuer (with or without its trailing slash) or the token endpoint URL;
7. ``exp`` is in the future and at most five minutes ahead; ``nbf``, when present, has passed;
8. ``jti`` is present; whether it was seen before is the caller's check, against shared storage.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from expressway import jose
from expressway.oauth.errors import InvalidClient

MAX_ASSERTION_BYTES = 2048
MAX_ASSERTION_LIFETIME = 300
ASSERTION_ALGORITHMS = ("RS256", "RS384", "PS256")
#: Seconds of clock difference tolerated between the client and us.
CLOCK_SKEW = 30

CAUSE_PUBLIC_KEY_MISSING = "public_key_missing"
CAUSE_PUBLIC_KEY_MISMATCH = "public_key_mismatch"


@dataclass(frozen=True)
class VerifiedAssertion:
    client_id: str
    jti: str
    expires_at: int
    kid: str | None


def unverified_client_id(assertion: str) -> str | None:
    """The ``sub`` of an assertion before verification, to find the client's keys by."""
    import base64
    import json

    try:
        payload = assertion.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, RecursionError):
        return None
    sub = claims.get("sub") if isinstance(claims, dict) else None
    return sub if isinstance(sub, str) else None


def _verify_with_any(
    assertion: str, kid: object, keys: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """The claims, if the assertion verifies with one of ``keys``; else None.

    The ``kid`` is a hint, not an identity: the key registered at the tenant carries the kid it
    was uploaded with (by default its thumbprint), while the signer names its key as it likes
    (the OIN wizard's own kid). When the hint names no registered key, each active key is tried.
    """
    if any(key.get("kid") == kid for key in keys):
        candidates = [keys]
    else:
        candidates = [[{**key, "kid": kid} if isinstance(kid, str) else key] for key in keys]
    for candidate in candidates:
        try:
            _, claims = jose.verify_jwt(
                assertion, jose.key_set(candidate), algorithms=ASSERTION_ALGORITHMS
            )
        except jose.JoseFailure:
            continue
        return claims
    return None


def check_client_assertion(
    assertion: str,
    *,
    client_id: str,
    public_jwks: Iterable[Mapping[str, Any]],
    audiences: Iterable[str],
    now: int,
) -> VerifiedAssertion:
    """Verify a client assertion against the client's active public keys."""
    if len(assertion.encode()) > MAX_ASSERTION_BYTES:
        raise InvalidClient(f"client_assertion is longer than {MAX_ASSERTION_BYTES} bytes")
    try:
        header = jose.peek_header(assertion)
    except jose.JoseFailure as exc:
        raise InvalidClient(f"client_assertion is not a JWT: {exc}") from exc
    if header.get("alg") not in ASSERTION_ALGORITHMS:
        raise InvalidClient(
            f"client_assertion alg {header.get('alg')!r} is not accepted; "
            f"use one of {', '.join(ASSERTION_ALGORITHMS)}"
        )
    keys = [dict(k) for k in public_jwks]
    if not keys:
        raise InvalidClient(
            "the client has no active public key for private_key_jwt",
            cause=CAUSE_PUBLIC_KEY_MISSING,
        )
    claims = _verify_with_any(assertion, header.get("kid"), keys)
    if claims is None:
        raise InvalidClient(
            "client_assertion does not verify with any of the client's active public keys",
            cause=CAUSE_PUBLIC_KEY_MISMATCH,
        )
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        raise InvalidClient("client_assertion iss and sub must both be the client_id")
    try:
        jose.check_claims(claims, now=now, audience=list(audiences), leeway=CLOCK_SKEW)
    except jose.JoseFailure as exc:
        raise InvalidClient(f"client_assertion is not acceptable: {exc}") from exc
    exp = int(claims["exp"])
    if exp - now > MAX_ASSERTION_LIFETIME + CLOCK_SKEW:
        raise InvalidClient(
            f"client_assertion exp is more than {MAX_ASSERTION_LIFETIME} seconds ahead"
        )
    jti = claims.get("jti")
    if not isinstance(jti, str) or not jti or len(jti) > 255:
        raise InvalidClient("client_assertion must carry a jti of at most 255 characters")
    kid = header.get("kid")
    return VerifiedAssertion(
        client_id=client_id, jti=jti, expires_at=exp, kid=kid if isinstance(kid, str) else None
    )
