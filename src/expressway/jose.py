"""Keys, JWKS, JWT signing and verification: the only module that touches :mod:`joserfc`.

Everything else in Expressway passes PEM text or JWK dictionaries in and gets claims out, so the
rules about which algorithms are acceptable live here, in one place.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, TypeGuard

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, RSAKey

#: Asymmetric algorithms Expressway signs and verifies with. Never ``none``, never HMAC: a token
#: verified with a key set of public keys must not be forgeable with one of those public keys.
ASYMMETRIC_ALGORITHMS = ("RS256", "RS384", "PS256")
MIN_RSA_BITS = 2048
#: The default bound on a token's length: far above any token seen in practice (an access
#: token listing hundreds of permissions is under 100 KB), so that a token's size bounds the work
#: done before any key is involved. Callers that know their tokens are small pass a lower one.
MAX_TOKEN_LENGTH = 262_144


class JoseFailure(Exception):
    """A token or key was refused; the message says why, for logs and error descriptions."""


class KeyFormatError(ValueError):
    """A PEM could not be read as an acceptable public key."""


@dataclass(frozen=True)
class PublicKeyInfo:
    """An uploaded public key, normalised."""

    spki_pem: str
    jwk: dict[str, Any]
    bits: int
    thumbprint: str


def generate_signing_key(kid: str, alg: str = "RS256", bits: int = 2048) -> RSAKey:
    return RSAKey.generate_key(bits, parameters={"kid": kid, "use": "sig", "alg": alg})


def private_key_to_pem(key: RSAKey) -> bytes:
    pem = key.as_pem(private=True)
    return pem if isinstance(pem, bytes) else pem.encode()


def private_key_from_pem(pem: bytes, kid: str, alg: str = "RS256") -> RSAKey:
    return RSAKey.import_key(pem, parameters={"kid": kid, "use": "sig", "alg": alg})


def public_jwk(key: RSAKey) -> dict[str, Any]:
    return dict(key.as_dict(private=False))


def read_public_key(pem: str) -> PublicKeyInfo:
    """Read an RSA public key given as SPKI, PKCS#1 or inside an X.509 certificate.

    Raises :class:`KeyFormatError` naming what is wrong: not PEM, not RSA, or fewer than 2048 bits.
    """
    data = pem.strip().encode()
    public_key: Any
    try:
        if b"BEGIN CERTIFICATE" in data:
            public_key = x509.load_pem_x509_certificate(data).public_key()
        elif b"PRIVATE KEY" in data:
            raise KeyFormatError("pem holds a private key; upload only the public key")
        else:
            public_key = serialization.load_pem_public_key(data)
    except KeyFormatError:
        raise
    except (ValueError, TypeError) as exc:
        raise KeyFormatError("pem is not a valid PEM public key or X.509 certificate") from exc
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise KeyFormatError("pem must hold an RSA public key")
    if public_key.key_size < MIN_RSA_BITS:
        raise KeyFormatError(
            f"pem holds a {public_key.key_size}-bit RSA key; "
            f"at least {MIN_RSA_BITS} bits are required"
        )
    spki = public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    key = RSAKey.import_key(spki)
    return PublicKeyInfo(
        spki_pem=spki,
        jwk=dict(key.as_dict(private=False)),
        bits=public_key.key_size,
        thumbprint=key.thumbprint(),
    )


def sign_jwt(
    claims: Mapping[str, Any], key: RSAKey, *, alg: str = "RS256", typ: str = "JWT"
) -> str:
    header = {"alg": alg, "typ": typ, "kid": key.kid}
    return jwt.encode(header, dict(claims), key, algorithms=[alg])


def key_set(jwks: Iterable[Mapping[str, Any]]) -> KeySet:
    return KeySet([_imported_key(json.dumps(dict(k), sort_keys=True)) for k in jwks])


@lru_cache(maxsize=256)
def _imported_key(canonical_jwk: str) -> RSAKey:
    # Importing an RSA key rebuilds it from its numbers, about 0.1 ms, and a client's key is
    # imported again on every token request it authenticates; the JWK's text names the key
    # exactly, so the same text is the same key. The cache is bounded: varying a header's kid
    # only evicts entries.
    return RSAKey.import_key(json.loads(canonical_jwk))


def peek_header(token: str) -> dict[str, Any]:
    """The unverified JOSE header of a compact JWS, for choosing a key; never trust it further."""
    import base64

    try:
        head = token.split(".", 1)[0]
        padded = head + "=" * (-len(head) % 4)
        header = json.loads(base64.urlsafe_b64decode(padded))
    # A header of thousands of nested arrays exhausts the parser's recursion: a bad token too.
    except (ValueError, IndexError, RecursionError) as exc:
        raise JoseFailure("token is not a compact JWS") from exc
    if not isinstance(header, dict):
        raise JoseFailure("token header is not a JSON object")
    return header


def verify_jwt(
    token: str,
    keys: KeySet,
    *,
    algorithms: Iterable[str] = ASYMMETRIC_ALGORITHMS,
    max_length: int = MAX_TOKEN_LENGTH,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Verify the signature of ``token`` with ``keys``; answer ``(header, claims)``.

    Only the signature is checked here: the caller checks ``iss``, ``aud``, ``exp`` and the rest
    with :func:`check_claims`, because each caller's rules for them differ.
    """
    if len(token) > max_length:
        raise JoseFailure(f"token is longer than {max_length} characters")
    allowed = [a for a in algorithms if a in ASYMMETRIC_ALGORITHMS]
    header = peek_header(token)
    if header.get("alg") not in allowed:
        raise JoseFailure(f"alg {header.get('alg')!r} is not accepted")
    if "crit" in header:
        raise JoseFailure("crit header parameters are not supported")
    try:
        decoded = jwt.decode(token, keys, algorithms=allowed)
    except JoseError as exc:
        raise JoseFailure(f"signature verification failed ({exc.error})") from exc
    except (ValueError, RecursionError) as exc:
        raise JoseFailure("token is malformed") from exc
    return dict(decoded.header), dict(decoded.claims)


def _is_time(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def check_claims(
    claims: Mapping[str, Any],
    *,
    now: int,
    issuer: str | None = None,
    audience: str | Iterable[str] | None = None,
    leeway: int = 0,
) -> None:
    """Check ``exp`` (required), ``nbf``, ``iss`` and ``aud``; raise :class:`JoseFailure`."""
    exp = claims.get("exp")
    # JSON parsers accept NaN and Infinity; a NaN exp compares false with everything, so it
    # would never expire. Only finite numbers are times.
    if not _is_time(exp):
        raise JoseFailure("exp is missing or not a number")
    if exp + leeway <= now:
        raise JoseFailure("token is expired")
    nbf = claims.get("nbf")
    if nbf is not None and not _is_time(nbf):
        raise JoseFailure("nbf is not a number")
    if isinstance(nbf, int | float) and nbf - leeway > now:
        raise JoseFailure("token is not yet valid")
    if issuer is not None and claims.get("iss") != issuer:
        raise JoseFailure("iss is not the expected issuer")
    if audience is not None:
        expected = {audience} if isinstance(audience, str) else set(audience)
        aud = claims.get("aud")
        listed = aud if isinstance(aud, list) else [aud]
        given = {value for value in listed if isinstance(value, str)}
        if not expected & given:
            raise JoseFailure("aud is not the expected audience")
