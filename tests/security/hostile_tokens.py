"""A corpus of hostile JWTs: one builder per kind of attack, each turning the genuine token of
some place (its claims, its signing key) into the attack on it.

Signatures are made with joserfc (through :mod:`expressway.jose`) or, for the one forgery joserfc
refuses to make (an HMAC keyed with an RSA public key), with :mod:`cryptography`'s HMAC. Only the
unsigned ``alg: none`` token and the broken encodings are put together by hand, since they are
not signatures at all.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from cryptography.hazmat.primitives import hashes, hmac
from joserfc import jws
from joserfc.jwk import RSAKey
from joserfc.registry import HeaderParameter

from expressway import jose

#: Made once: RSA keys are slow to generate. The attacker's own key, and a key that carries the
#: kid of the genuine one (another tenant's, another client's or another IdP's key).
ATTACKER_KEY = jose.generate_signing_key("attacker-1")
_IMPOSTOR_KEYS: dict[str, RSAKey] = {}


@dataclass(frozen=True)
class Genuine:
    """The token a place accepts: its claims, header ``typ`` and the key that signs it."""

    claims: dict[str, Any]
    key: RSAKey
    now: int
    typ: str = "JWT"
    alg: str = "RS256"
    #: Claims that identify one use, refreshed for every token built (``jti``).
    fresh: tuple[str, ...] = field(default=("jti",))

    def with_claims(self, **changes: Any) -> Genuine:
        """This genuine token with ``changes`` (a ``None`` value removes the claim)."""
        claims = {**self.claims, **changes}
        return replace(self, claims={k: v for k, v in claims.items() if v is not None})

    def sign(
        self,
        *,
        key: RSAKey | None = None,
        header: dict[str, Any] | None = None,
        registry: jws.JWSRegistry | None = None,
    ) -> str:
        """The token, signed (by ``key`` instead when given, with extra ``header`` parameters)."""
        claims = {**self.claims, **{name: secrets.token_urlsafe(16) for name in self.fresh}}
        protected = {"alg": self.alg, "typ": self.typ, "kid": self.key.kid, **(header or {})}
        return jws.serialize_compact(
            protected,
            json.dumps(claims).encode(),
            key or self.key,
            algorithms=[self.alg],
            registry=registry,
        )


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _payload(genuine: Genuine) -> str:
    claims = {**genuine.claims, **{name: secrets.token_urlsafe(16) for name in genuine.fresh}}
    return _b64(json.dumps(claims).encode())


def genuine(token: Genuine) -> str:
    """The token the place accepts (to show that the refusals below are not for another reason)."""
    return token.sign()


def alg_none(token: Genuine) -> str:
    """RFC 8725 §2.1: an unsigned token, ``alg: none``, with the genuine claims."""
    header = _b64(json.dumps({"alg": "none", "typ": token.typ}).encode())
    return f"{header}.{_payload(token)}."


def hs256_keyed_with_the_public_key(token: Genuine) -> str:
    """RFC 8725 §2.1: key confusion, an HMAC whose secret is the verifier's public key (PEM)."""
    header = _b64(json.dumps({"alg": "HS256", "typ": token.typ, "kid": token.key.kid}).encode())
    signing_input = f"{header}.{_payload(token)}".encode()
    public_pem = token.key.as_pem(private=False)
    mac = hmac.HMAC(
        public_pem if isinstance(public_pem, bytes) else public_pem.encode(), hashes.SHA256()
    )
    mac.update(signing_input)
    return f"{signing_input.decode()}.{_b64(mac.finalize())}"


def unknown_kid(token: Genuine) -> str:
    """Signed by a key the verifier never saw, under a kid it does not know."""
    return token.sign(key=ATTACKER_KEY, header={"kid": "attacker-1"})


_EXTENSION = "urn:example:must-understand"
#: joserfc signs a ``crit`` extension only when told that it exists.
_EXTENDED = jws.JWSRegistry(header_registry={_EXTENSION: HeaderParameter("an extension", "bool")})


def crit_header(token: Genuine) -> str:
    """RFC 7515 §4.1.11: a ``crit`` extension the verifier does not understand, genuinely signed."""
    return token.sign(header={"crit": [_EXTENSION], _EXTENSION: True}, registry=_EXTENDED)


def nested_jws(token: Genuine) -> str:
    """A genuinely signed JWS whose payload is another JWS (``cty: JWT``, RFC 7519 §5.2) signed by
    the attacker: a verifier that unwraps it would trust the inner claims."""
    inner = token.sign(key=ATTACKER_KEY, header={"kid": "attacker-1"})
    protected = {"alg": token.alg, "typ": token.typ, "kid": token.key.kid, "cty": "JWT"}
    return jws.serialize_compact(protected, inner.encode(), token.key, algorithms=[token.alg])


def expired(token: Genuine) -> str:
    """``exp`` an hour ago (beyond any clock skew)."""
    return token.with_claims(iat=token.now - 7200, exp=token.now - 3600).sign()


def not_yet_valid(token: Genuine) -> str:
    """``nbf`` and ``iat`` an hour ahead."""
    ahead = token.now + 3600
    return token.with_claims(nbf=ahead, iat=ahead, exp=ahead + 120).sign()


def wrong_audience(token: Genuine) -> str:
    """Genuinely signed, but for another recipient."""
    return token.with_claims(aud="https://attacker.example/").sign()


def wrong_issuer(token: Genuine) -> str:
    """Genuinely signed, but naming another issuer."""
    return token.with_claims(iss="https://attacker.example/").sign()


def issuer_is_not_subject(token: Genuine) -> str:
    """RFC 7523 §3: a client assertion whose ``sub`` is another client."""
    return token.with_claims(sub="another-client").sign()


def oversized(token: Genuine) -> str:
    """Genuinely signed, but 64 KiB long."""
    return token.with_claims(padding="A" * 65_536).sign()


def broken_base64(token: Genuine) -> str:
    """The genuine token with characters outside base64url in its payload."""
    header, payload, signature = token.sign().split(".")
    return f"{header}.{payload[:8]}*%!{payload[8:]}.{signature}"


def deeply_nested_header(token: Genuine) -> str:
    """A header that is 5,000 nested JSON arrays: parsing it must fail as a refusal, not crash."""
    header = _b64(("[" * 5000 + "]" * 5000).encode())
    return f"{header}.{_payload(token)}.{_b64(b'signature')}"


def another_tenants_key(token: Genuine) -> str:
    """A valid signature, by a key that carries the genuine key's kid but belongs to someone
    else (another tenant, another client, another IdP)."""
    kid = token.key.kid or "key"
    impostor = _IMPOSTOR_KEYS.get(kid)
    if impostor is None:
        impostor = _IMPOSTOR_KEYS[kid] = jose.generate_signing_key(kid)
    return token.sign(key=impostor)


Builder = Callable[[Genuine], str]

#: Every kind that does not depend on the place, by name.
CORPUS: dict[str, Builder] = {
    "alg_none": alg_none,
    "hs256_keyed_with_the_public_key": hs256_keyed_with_the_public_key,
    "unknown_kid": unknown_kid,
    "crit_header": crit_header,
    "nested_jws": nested_jws,
    "expired": expired,
    "not_yet_valid": not_yet_valid,
    "wrong_audience": wrong_audience,
    "wrong_issuer": wrong_issuer,
    "oversized": oversized,
    "broken_base64": broken_base64,
    "deeply_nested_header": deeply_nested_header,
    "another_tenants_key": another_tenants_key,
}
#: Kinds that mean something only where the token is a client assertion (RFC 7523 §3).
ASSERTION_ONLY: dict[str, Builder] = {"issuer_is_not_subject": issuer_is_not_subject}
