"""Proof Key for Code Exchange (RFC 7636), S256 only.

``plain`` is refused: it sends the verifier itself as the challenge, so anyone who sees the
authorization request (a proxy log, a browser history) can redeem the code, which is what PKCE
exists to prevent (RFC 9700 §2.1.1 says to use S256).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from expressway.oauth.errors import InvalidRequest

S256 = "S256"
#: RFC 7636 §4.2: BASE64URL(SHA256(verifier)) without padding is always 43 characters.
_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")
#: RFC 7636 §4.1: 43 to 128 characters from the unreserved set.
_VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")


def s256_challenge(verifier: str) -> str:
    """The S256 ``code_challenge`` of a verifier (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def check_challenge_format(challenge: str | None, method: str | None, *, required: bool) -> None:
    """Raise :class:`InvalidRequest` unless the authorization request's PKCE parameters are usable.

    A ``code_challenge_method`` without a challenge is refused too, as is a challenge without a
    method: RFC 7636 §4.3 defaults a missing method to ``plain``, which is not accepted.
    """
    if challenge is None:
        if method is not None:
            raise InvalidRequest("code_challenge_method was sent without a code_challenge")
        if required:
            raise InvalidRequest(
                "code_challenge is required for this client (PKCE, RFC 7636, method S256)"
            )
        return
    if method is None:
        raise InvalidRequest(
            "code_challenge_method is required and must be S256 (plain is not accepted)"
        )
    if method != S256:
        raise InvalidRequest(f"code_challenge_method {method} is not supported; use S256")
    if not _CHALLENGE.fullmatch(challenge):
        raise InvalidRequest(
            "code_challenge must be the 43-character base64url SHA-256 of the code verifier"
        )


def verify_code_verifier(verifier: str, challenge: str, method: str) -> bool:
    """Whether ``verifier`` is the one the S256 ``challenge`` was made from (RFC 7636 §4.6)."""
    if method != S256 or not _VERIFIER.fullmatch(verifier):
        return False
    # Constant-time, so that the comparison does not reveal how much of a guess was right.
    return hmac.compare_digest(s256_challenge(verifier), challenge)
