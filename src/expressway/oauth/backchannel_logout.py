"""OpenID Connect Back-Channel Logout 1.0, without I/O: the Logout Token the provider sends and
the checks the relying party makes on it.

The provider builds the claims with :func:`logout_token_claims` (§2.4) and signs them with the
JWT ``typ`` :data:`TOKEN_TYPE`. The relying party verifies the signature with the provider's
keys, then hands the header and claims to :func:`check_logout_token` (§2.6, steps 3 to 7; the
replay check of ``jti`` is the caller's, since it needs storage), which answers the ``sub`` and
``sid`` whose sessions to end, or raises :class:`LogoutTokenError` naming what is wrong.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: The ``events`` member that makes a JWT a Logout Token (§2.4).
EVENT = "http://schemas.openid.net/event/backchannel-logout"
#: Explicit typing (§2.4, RFC 8725 §3.11): an ID token can never pass for a Logout Token.
TOKEN_TYPE = "logout+jwt"
ACCEPTED_TOKEN_TYPES = (TOKEN_TYPE, "application/logout+jwt")
#: Seconds a Logout Token is valid: it is delivered at once, never stored by the receiver.
TOKEN_LIFETIME = 120
#: Oldest ``iat`` a receiver accepts (§2.6 step 7 leaves "recent" to the receiver).
MAX_TOKEN_AGE = 300
CLOCK_SKEW = 60
MAX_JTI_LENGTH = 255
MAX_SUBJECT_LENGTH = 255


class LogoutTokenError(Exception):
    """The Logout Token is refused; the message says why."""


@dataclass(frozen=True)
class LogoutSubject:
    """What a valid Logout Token asks to end: the sessions of ``sid``, or of ``sub``, or both."""

    sub: str | None
    sid: str | None
    jti: str
    exp: int


def logout_token_claims(
    *, issuer: str, audience: str, subject: str, session_id: str | None, now: int, jti: str
) -> dict[str, Any]:
    """The claims of a Logout Token (§2.4): never a ``nonce``, which would let it pass for an
    ID token at a relying party that does not check ``typ``."""
    claims: dict[str, Any] = {
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "exp": now + TOKEN_LIFETIME,
        "jti": jti,
        "sub": subject,
        "events": {EVENT: {}},
    }
    if session_id is not None:
        claims["sid"] = session_id
    return claims


def _number(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def _identifier(claims: Mapping[str, Any], name: str, max_length: int) -> str | None:
    value = claims.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > max_length or "\x00" in value:
        raise LogoutTokenError(f"{name} is not a usable identifier")
    return value


def check_logout_token(
    header: Mapping[str, Any],
    claims: Mapping[str, Any],
    *,
    issuer: str,
    client_id: str,
    now: int,
    max_age: int = MAX_TOKEN_AGE,
    leeway: int = CLOCK_SKEW,
) -> LogoutSubject:
    """§2.6 steps 3-7 on a token whose signature the caller verified: answer what to end."""
    if header.get("typ") not in ACCEPTED_TOKEN_TYPES:
        raise LogoutTokenError(f"the token's typ must be {TOKEN_TYPE}")
    if claims.get("iss") != issuer:
        raise LogoutTokenError(f"iss {claims.get('iss')!r} is not {issuer!r}")
    aud = claims.get("aud")
    audiences = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if client_id not in audiences:
        raise LogoutTokenError("aud does not include this client")
    iat = _number(claims.get("iat"))
    if iat is None:
        raise LogoutTokenError("iat is missing")
    if iat - leeway > now:
        raise LogoutTokenError("iat is in the future")
    if now - iat > max_age:
        raise LogoutTokenError(f"iat is more than {max_age} seconds old")
    exp = _number(claims.get("exp"))
    if exp is None:
        raise LogoutTokenError("exp is missing")
    if exp + leeway <= now:
        raise LogoutTokenError("the token is expired")
    events = claims.get("events")
    if not isinstance(events, dict) or not isinstance(events.get(EVENT), dict):
        raise LogoutTokenError(f"events must hold {EVENT} with an object value")
    # §2.6 step 6: a nonce means an ID token, which must never log anyone out.
    if "nonce" in claims:
        raise LogoutTokenError("a Logout Token must not carry a nonce")
    jti = _identifier(claims, "jti", MAX_JTI_LENGTH)
    if jti is None:
        raise LogoutTokenError("jti is missing")
    sub = _identifier(claims, "sub", MAX_SUBJECT_LENGTH)
    sid = _identifier(claims, "sid", MAX_SUBJECT_LENGTH)
    if sub is None and sid is None:
        raise LogoutTokenError("the token names neither sub nor sid")
    return LogoutSubject(sub=sub, sid=sid, jti=jti, exp=exp)
