"""Keys, JWKS, JWT signing and verification: the only module that touches :mod:`joserfc`.

Everything else in Expressway passes PEM text or JWK dictionaries in and gets claims out, so the
rules about which algorithms are acceptable live here, in one place.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal, NamedTuple, TypeGuard

import orjson
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jws
from joserfc.errors import JoseError
from joserfc.jwa import JWSAlgModel, RSAAlgorithm, RSAPSSAlgorithm
from joserfc.jwk import KeySet, RSAKey
from joserfc.jws import CompactSignature, JWSRegistry
from joserfc.util import json_b64encode, urlsafe_b64decode, urlsafe_b64encode

from expressway import json_text

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


class AlgorithmRefused(JoseFailure):
    """The token's header names an algorithm that is not accepted where it was presented."""

    def __init__(self, alg: object) -> None:
        super().__init__(f"alg {alg!r} is not accepted")
        self.alg = alg


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
    """The compact JWS of ``claims`` (a JWT), signed with ``key``.

    The same bytes as joserfc's ``jwt.encode`` (``tests/test_primitives.py`` compares them),
    and the same signature (joserfc's algorithm, with its check that the key suits it), without
    the registry and claims objects that call builds for every token, and with the header
    encoded once per key: together about 10 µs of a token's CPU.
    """
    operation = _operation(_registry((alg,)).get_alg(alg), key, "sign")
    payload = json_text.compact(claims)
    signing_input = _header_segment(typ, alg, key.kid) + urlsafe_b64encode(payload)
    signature = operation.native.sign(signing_input, operation.padding, operation.hash)
    return (signing_input + b"." + urlsafe_b64encode(signature)).decode("ascii")


@dataclass(frozen=True, eq=False)
class _Operation:
    """A key's ``sign`` or ``verify`` with one of joserfc's RSA algorithms, settled once: the
    ``cryptography`` key the JWK holds for it, and the algorithm's padding and hash."""

    key: RSAKey
    native: Any
    padding: Any
    hash: Any


#: :func:`_operation`'s answers, by the key object's id, the algorithm and the operation.
_OPERATIONS: dict[tuple[int, str, str], _Operation] = {}
#: Entries kept at most: every signing key and every client key in use, many times over.
_OPERATIONS_KEPT = 1024


def _operation(algorithm: JWSAlgModel, key: RSAKey, name: Literal["sign", "verify"]) -> _Operation:
    """What joserfc's ``algorithm.sign`` or ``verify`` does with ``key`` before the RSA
    operation, done once per key: its check that the key suits the algorithm (``use``, ``kty``,
    ``alg``) and that it allows the operation (``key_ops``, a private key to sign), and the
    ``cryptography`` key it takes. Both depend on the key and the algorithm alone, and a token
    request did them twice for every token it issued (34 thousand instructions of the 642
    thousand a token ran beside its RSA, ``bench/token_instructions.py``); the RSA operation
    itself is ``cryptography``'s, called as joserfc calls it.

    A joserfc key is not hashable (it compares by value), so the entries go by the object's
    id, each holding its key, which keeps the id from being reused while the entry stands."""
    entry = _OPERATIONS.get((id(key), algorithm.name, name))
    if entry is not None and entry.key is key:
        return entry
    if not isinstance(algorithm, RSAAlgorithm | RSAPSSAlgorithm):
        raise JoseFailure(f"alg {algorithm.name!r} is not an RSA algorithm")
    algorithm.check_key(key)
    entry = _Operation(key, key.get_op_key(name), algorithm.padding, algorithm.hash_alg())
    if len(_OPERATIONS) >= _OPERATIONS_KEPT:
        _OPERATIONS.clear()
    _OPERATIONS[id(key), algorithm.name, name] = entry
    return entry


@lru_cache(maxsize=64)
def _header_segment(typ: str, alg: str, kid: str | None) -> bytes:
    # The header and its dot, in the order joserfc's encoder writes a JWT's header (typ first).
    return json_b64encode({"typ": typ, "alg": alg, "kid": kid}) + b"."


def key_set(jwks: Iterable[Mapping[str, Any]]) -> KeySet:
    return KeySet([public_key(k) for k in jwks])


def public_key(jwk: Mapping[str, Any]) -> RSAKey:
    """The RSA key a JWK describes, imported once per distinct JWK (see :func:`_imported_key`);
    :class:`JoseFailure` if it describes none."""
    try:
        key = _imported_key(json.dumps(dict(jwk), sort_keys=True))
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise JoseFailure("the JWK is not a usable RSA key") from exc
    if not isinstance(key, RSAKey):
        raise JoseFailure("the JWK is not an RSA key")
    return key


@lru_cache(maxsize=256)
def _imported_key(canonical_jwk: str) -> RSAKey:
    # Importing an RSA key rebuilds it from its numbers, about 0.1 ms, and a client's key is
    # imported again on every token request it authenticates; the JWK's text names the key
    # exactly, so the same text is the same key. The cache is bounded: varying a header's kid
    # only evicts entries.
    return RSAKey.import_key(json.loads(canonical_jwk))


def peek_header(token: str) -> dict[str, Any]:
    """The unverified JOSE header of a compact JWS, for choosing a key; never trust it further."""
    return _peek_segment(token, 0, "header")


def peek_claims(token: str) -> dict[str, Any]:
    """The unverified claims of a compact JWS, for a caller with a reason to read them before
    (or without) verifying them; never trust them further."""
    return _peek_segment(token, 1, "payload")


def _peek_segment(token: str, index: int, name: str) -> dict[str, Any]:
    """The JSON object the segment ``index`` of a compact JWS encodes, read as :func:`read_jwt`
    reads a JWT's claims (orjson), so that a token reads the same whether peeked at or read:
    UTF-8 only, and no ``NaN``, ``Infinity``, number beyond a double or lone surrogate, which
    :func:`json.loads` takes and the JSON of RFC 7515 and RFC 7519 cannot hold."""
    try:
        segment = token.split(".", 2)[index]
        value = orjson.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, IndexError) as exc:
        raise JoseFailure("token is not a compact JWS") from exc
    if not isinstance(value, dict):
        raise JoseFailure(f"token {name} is not a JSON object")
    return value


class SignedJwt(NamedTuple):
    """A compact JWS read once: its header and its claims, which say nothing until
    :meth:`verify` has passed with a key the caller trusts.

    A caller that must look inside a token before it can choose the key (a client assertion
    names its client in ``sub``) reads it with :func:`read_jwt` and verifies what it read,
    rather than decoding it twice. A named tuple, not a frozen dataclass, whose ``__init__``
    sets each field through ``object.__setattr__``: one is read for every token request, and
    built so in a sixth of the time.
    """

    header: dict[str, Any]
    claims: dict[str, Any]
    #: The segments as they came, for :meth:`verify`: the header's; the header's and the
    #: payload's with the dot between them; the signature's.
    header_segment: bytes
    signing_input: bytes
    signature_segment: bytes
    #: The payload the claims were read from, and the registry it was read under.
    payload: bytes
    registry: JWSRegistry

    def verify(self, keys: KeySet | RSAKey) -> None:
        """Check the signature with ``keys`` (a key set is searched by the header's ``kid``);
        raise :class:`JoseFailure` when it does not verify.

        With one key, this is joserfc's ``validate_compact`` for that key without the compact
        signature object it reads again: the registry's header checks (once for a header,
        :func:`_check_header`), joserfc's algorithm for the header's ``alg`` with its checks of
        the key (once for a key, :func:`_operation`), and the signature verified by
        ``cryptography`` as that algorithm verifies it; a key set goes through
        ``validate_compact`` itself.
        """
        try:
            if isinstance(keys, KeySet):
                verified = jws.validate_compact(self._compact(), keys, registry=self.registry)
            else:
                _check_header(self.registry, self.header_segment, self.header)
                operation = _operation(self.registry.get_alg(self.header["alg"]), keys, "verify")
                signature = _signature(self.signature_segment)
                verified = signature is not None and _verifies(
                    operation, self.signing_input, signature
                )
        except JoseError as exc:
            raise JoseFailure(f"signature verification failed ({exc.error})") from exc
        except (ValueError, RecursionError) as exc:
            raise JoseFailure("token is malformed") from exc
        if not verified:
            raise JoseFailure("signature verification failed (bad_signature)")

    def verifies_with(self, key: RSAKey) -> bool:
        try:
            self.verify(key)
        except JoseFailure:
            return False
        return True

    def _compact(self) -> CompactSignature:
        """The token as joserfc's ``extract_compact`` reads it."""
        payload_segment = self.signing_input[len(self.header_segment) + 1 :]
        compact = CompactSignature(dict(self.header), self.payload)
        compact.segments.update(
            {
                "header": self.header_segment,
                "payload": payload_segment,
                "signature": self.signature_segment,
            }
        )
        return compact


def _verifies(operation: _Operation, signing_input: bytes, signature: bytes) -> bool:
    # As joserfc's RSA algorithms verify: a bad signature is False, not an error.
    try:
        operation.native.verify(signature, signing_input, operation.padding, operation.hash)
    except InvalidSignature:
        return False
    return True


def _signature(segment: bytes) -> bytes | None:
    """The signature a segment encodes; None, which verifies nothing (as in joserfc's
    ``verify_compact``), when it is not base64url."""
    try:
        return urlsafe_b64decode(segment)
    except (TypeError, ValueError):
        return None


@lru_cache(maxsize=16)
def _registry(algorithms: tuple[str, ...]) -> JWSRegistry:
    # What joserfc's jwt.decode builds for each call, built once for each list of algorithms.
    return JWSRegistry(algorithms=list(algorithms))


def read_jwt(
    token: str,
    *,
    algorithms: Iterable[str] = ASYMMETRIC_ALGORITHMS,
    max_length: int = MAX_TOKEN_LENGTH,
) -> SignedJwt:
    """Read a compact JWS whose payload is a JWT's claims, without verifying it.

    Refused here, with :class:`JoseFailure`: a token over ``max_length`` characters, one that is
    not a compact JWS, an ``alg`` that is not one of ``algorithms`` (and never one outside
    :data:`ASYMMETRIC_ALGORITHMS`), a ``crit`` header, an unencoded payload (RFC 7797's ``b64``),
    a header or payload that is not a JSON object.

    The segments are split and bounded as joserfc's ``extract_compact`` does (its registry's
    size limits, its strict base64url), and the header and the claims are both read by orjson:
    UTF-8 only, no ``NaN``, ``Infinity``, number beyond a double, lone surrogate or nesting past
    1,024 levels (none of which RFC 7515 and RFC 7519 allow), where joserfc reads the header
    with :func:`json.loads`, which takes them all, and passes a header that is a list holding
    ``"alg"``. ``tests/test_jws_reading.py`` holds this reading to joserfc's. Read so, a client
    assertion took 7.0 µs instead of 11.1 (``extract_compact``, then the header read again).
    """
    if len(token) > max_length:
        raise JoseFailure(f"token is longer than {max_length} characters")
    allowed = tuple(a for a in algorithms if a in ASYMMETRIC_ALGORITHMS)
    registry = _registry(allowed)
    try:
        value = token.encode()
        registry.validate_compact_value_size(value)
        segments = value.split(b".")
        if len(segments) != 3:
            raise JoseFailure("token is not a compact JWS")
        header_segment, payload_segment, signature_segment = segments
        registry.validate_header_size(header_segment)
        registry.validate_signature_size(signature_segment)
        registry.validate_payload_size(payload_segment)
        header = dict(_header(header_segment))
        payload = urlsafe_b64decode(payload_segment)
        claims = orjson.loads(payload)
    except (JoseError, ValueError, RecursionError) as exc:
        raise JoseFailure("token is not a compact JWS") from exc
    if header["alg"] not in allowed:
        raise AlgorithmRefused(header["alg"])
    if "crit" in header:
        raise JoseFailure("crit header parameters are not supported")
    if header.get("b64", True) is not True:
        # RFC 7797 section 6: an unencoded payload must be named in crit, which is refused.
        raise JoseFailure("an unencoded payload (b64 header parameter) is not supported")
    if not isinstance(claims, dict):
        raise JoseFailure("token payload is not a JSON object")
    return SignedJwt(
        header,
        claims,
        header_segment,
        header_segment + b"." + payload_segment,
        signature_segment,
        payload,
        registry,
    )


@lru_cache(maxsize=256)
def _header(segment: bytes) -> dict[str, Any]:
    """The JOSE header a header segment encodes: a JSON object naming an ``alg``, read as
    :func:`read_jwt` reads a token (else ``ValueError`` or :class:`JoseFailure`, never
    remembered). Kept for the segment: a signer's tokens all carry the same header, and a
    client assertion's was decoded and read for every token request. Never handed out itself
    (:func:`read_jwt` gives each token a copy)."""
    header = orjson.loads(urlsafe_b64decode(segment))
    if not isinstance(header, dict):
        raise JoseFailure("token header is not a JSON object")
    if "alg" not in header:
        raise JoseFailure("token is not a compact JWS: its header names no alg")
    return header


#: The header segments whose header passed a registry's ``check_header``, by the registry's id
#: and the segment, each with its registry (which keeps the id from being reused meanwhile).
_HEADERS_CHECKED: dict[tuple[int, bytes], JWSRegistry] = {}
#: Entries kept at most, as :data:`_OPERATIONS_KEPT`.
_HEADERS_CHECKED_KEPT = 1024


def _check_header(registry: JWSRegistry, segment: bytes, header: dict[str, Any]) -> None:
    """``registry.check_header(header)`` (its header parameters' rules: ``crit``, each
    registered parameter's type), once for a header segment that passed it: the check reads
    nothing but the header, which the segment gives exactly. A header refused is refused at
    every use."""
    if _HEADERS_CHECKED.get((id(registry), segment)) is registry:
        return
    registry.check_header(header)
    if len(_HEADERS_CHECKED) >= _HEADERS_CHECKED_KEPT:
        _HEADERS_CHECKED.clear()
    _HEADERS_CHECKED[id(registry), segment] = registry


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
    signed = read_jwt(token, algorithms=algorithms, max_length=max_length)
    signed.verify(keys)
    return dict(signed.header), dict(signed.claims)


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
