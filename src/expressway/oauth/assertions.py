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

from collections.abc import Iterable, Sequence
from typing import NamedTuple

from joserfc.jwk import RSAKey

from expressway import jose
from expressway.oauth.errors import InvalidClient

MAX_ASSERTION_BYTES = 2048
MAX_ASSERTION_LIFETIME = 300
ASSERTION_ALGORITHMS = ("RS256", "RS384", "PS256")
#: Seconds of clock difference tolerated between the client and us.
CLOCK_SKEW = 30

CAUSE_PUBLIC_KEY_MISSING = "public_key_missing"
CAUSE_PUBLIC_KEY_MISMATCH = "public_key_mismatch"


class VerifiedAssertion(NamedTuple):
    client_id: str
    jti: str
    expires_at: int
    kid: str | None


def read_client_assertion(assertion: str) -> jose.SignedJwt:
    """Rules 1 and 2: the assertion read (its signature not yet checked), so that its ``sub`` can
    name the client whose keys verify it; raise :class:`InvalidClient` saying what is wrong."""
    if len(assertion.encode()) > MAX_ASSERTION_BYTES:
        raise InvalidClient(f"client_assertion is longer than {MAX_ASSERTION_BYTES} bytes")
    try:
        return jose.read_jwt(assertion, algorithms=ASSERTION_ALGORITHMS)
    except jose.AlgorithmRefused as exc:
        raise InvalidClient(
            f"client_assertion alg {exc.alg!r} is not accepted; "
            f"use one of {', '.join(ASSERTION_ALGORITHMS)}"
        ) from exc
    except jose.JoseFailure as exc:
        raise InvalidClient(f"client_assertion is not a JWT: {exc}") from exc


def unverified_client_id(assertion: str | jose.SignedJwt) -> str | None:
    """The ``sub`` of an assertion before verification, to find the client's keys by, or to
    count a refused assertion's failure against (which is why its text is read whatever its
    header says)."""
    if isinstance(assertion, jose.SignedJwt):
        claims = assertion.claims
    else:
        try:
            claims = jose.peek_claims(assertion)
        except jose.JoseFailure:
            return None
    sub = claims.get("sub")
    return sub if isinstance(sub, str) else None


def _verifies_with_any(
    assertion: jose.SignedJwt, kid: object, keys: Sequence[RSAKey | None]
) -> bool:
    """Whether the assertion verifies with one of ``keys``.

    The ``kid`` is a hint, not an identity: the key registered at the tenant carries the kid it
    was uploaded with (by default its thumbprint), while the signer names its key as it likes
    (the OIN wizard's own kid). When the hint names no registered key, each active key is tried.
    """
    named = [key for key in keys if key is not None and key.kid == kid]
    return any(key is not None and assertion.verifies_with(key) for key in named or keys)


def check_client_assertion(
    assertion: str | jose.SignedJwt,
    *,
    client_id: str,
    public_keys: Sequence[RSAKey | None],
    audiences: Iterable[str],
    now: int,
) -> VerifiedAssertion:
    """Verify a client assertion (its text, or as :func:`read_client_assertion` read it) against
    the client's active public keys; a None among them is an active key that could not be
    imported, which verifies nothing."""
    if isinstance(assertion, str):
        assertion = read_client_assertion(assertion)
    header = assertion.header
    if not public_keys:
        raise InvalidClient(
            "the client has no active public key for private_key_jwt",
            cause=CAUSE_PUBLIC_KEY_MISSING,
        )
    if not _verifies_with_any(assertion, header.get("kid"), public_keys):
        raise InvalidClient(
            "client_assertion does not verify with any of the client's active public keys",
            cause=CAUSE_PUBLIC_KEY_MISMATCH,
        )
    claims = assertion.claims
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        raise InvalidClient("client_assertion iss and sub must both be the client_id")
    try:
        jose.check_claims(claims, now=now, audience=audiences, leeway=CLOCK_SKEW)
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
