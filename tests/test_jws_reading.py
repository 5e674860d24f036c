"""Reading a compact JWS: Expressway accepts the tokens joserfc accepts, and reads them alike.

joserfc is the reference: a token is good when ``jws.deserialize_compact`` verifies it with the
same key under a registry of RS256, RS384 and PS256, its header is an object without ``crit``,
and both its header and its payload are JSON objects as orjson reads JSON (UTF-8 only, no
``NaN``, ``Infinity``, number beyond a double or lone surrogate), which is stricter than the
:func:`json.loads` joserfc reads the header with. The tokens are a real signed token and that
token with a few of its parts changed, signed again over what changed, so that a change is
refused for how it reads, not for a signature that no longer matches.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import orjson
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from joserfc import jws
from joserfc.jwk import KeySet, RSAKey
from joserfc.jws import JWSRegistry
from joserfc.util import urlsafe_b64decode

from expressway import jose

KEY = jose.generate_signing_key("k1")
OTHER_KEY = jose.generate_signing_key("k2")
PUBLIC_KEY = jose.public_key(jose.public_jwk(KEY))
CLAIMS = {"sub": "x", "exp": 2_000_000_000}
TOKEN = jose.sign_jwt(CLAIMS, KEY)
HEADER = {"typ": "JWT", "alg": "RS256", "kid": "k1"}

#: What joserfc verifies with: the algorithms Expressway accepts, written out here so that a
#: change to Expressway's list is one this file notices.
ORACLE_REGISTRY = JWSRegistry(algorithms=["RS256", "RS384", "PS256"])
SIGNING_ALGORITHMS = ("RS256", "RS384", "PS256")
ALGORITHM_NAMES = ("RS256", "RS384", "PS256", "ES256", "HS256", "none", "rs256", "RS512")
B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

Reading = tuple[dict[str, Any], dict[str, Any]]

#: Text as a token may carry it: base64url, the characters around it, anything at all, and lone
#: surrogates (a Python string holds them; no UTF-8 can).
token_text = st.text(
    st.sampled_from(B64URL + ".=+/ ") | st.characters() | st.characters(categories=["Cs"]),
    max_size=24,
)

#: JSON values, and now and then one that json.dumps writes and orjson refuses (NaN, the
#: infinities, a lone surrogate, a number beyond a double) or reads as a double (an integer past
#: 64 bits).
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
    | st.sampled_from(
        [
            float("nan"),
            float("inf"),
            -float("inf"),
            "\ud800",
            "x\udfff",
            10**310,
            2**70 + 1,
            -(2**64) - 3,
        ]
    ),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=6,
)

HEADER_CHANGES = (
    "alg",
    "kid",
    "typ",
    "crit",
    "b64",
    "jwk",
    "parameters",
    "long header",
    "header shape",
)
PAYLOAD_CHANGES = ("claims", "long payload", "payload shape")
#: What changes in the real token: its header's or its claims' content, how they are written as
#: JSON (or any bytes in their place), how they are encoded as a segment, the key that signs,
#: the signature, the dots.
CHANGES = (
    *HEADER_CHANGES,
    "header writing",
    "header bytes",
    "header segment",
    *PAYLOAD_CHANGES,
    "payload writing",
    "payload bytes",
    "payload segment",
    "signer",
    "signature",
    "dots",
)


def _header(draw: st.DrawFn, changes: set[str]) -> object:
    """The real token's header, with: alg RS256, RS384, PS256, ES256, HS256, none, another name,
    another type or missing; kid another, of another type or absent; typ another or absent; crit,
    b64, jwk, other parameters (registered or not), a long parameter (the header about 512
    characters) added; a list, a string or any JSON value in place of the object."""
    header: dict[str, object] = dict(HEADER)
    for name, values in [
        (
            "alg",
            st.one_of(
                st.sampled_from(ALGORITHM_NAMES), st.sampled_from(SIGNING_ALGORITHMS), json_values
            ),
        ),
        ("kid", st.sampled_from(["k2", ""]) | json_values),
        ("typ", st.sampled_from(["at+jwt"]) | json_values),
    ]:
        if name in changes:
            if draw(st.integers(0, 4)):
                header[name] = draw(values)
            else:
                del header[name]
    if "signer" in changes and draw(st.booleans()):
        header["kid"] = "k2"
    if "crit" in changes:
        header["crit"] = draw(st.sampled_from([["b64"], ["exp"], [], "b64"]) | json_values)
    if "b64" in changes:
        header["b64"] = draw(st.sampled_from([True, False, "false"]) | json_values)
    if "jwk" in changes:
        header["jwk"] = draw(st.dictionaries(st.sampled_from(["kty", "n", "e"]), json_values))
    if "parameters" in changes:
        names = st.sampled_from(["jku", "x5u", "x5c", "x5t", "x5t#S256", "cty", "enc", "x"])
        values = st.sampled_from(["https://a.example/", ["c2ln"]]) | json_values
        header.update(draw(st.dictionaries(names, values, min_size=1, max_size=2)))
    if "long header" in changes:
        header["x5t"] = "a" * draw(st.integers(320, 360))
    if "header shape" in changes:
        return draw(st.sampled_from([list(header), [header], "alg"]) | json_values)
    return header


def _claims(draw: st.DrawFn, changes: set[str]) -> object:
    """The real token's claims, with others added, or a long one (the payload about 128,000
    characters); or a list, number, string or null instead."""
    claims: dict[str, object] = dict(CLAIMS)
    if "claims" in changes:
        claims |= draw(st.dictionaries(st.sampled_from(["sub", "exp", "aud", "x"]), json_values))
    if "long payload" in changes:
        claims["x"] = "a" * draw(st.integers(95_900, 96_050))
    if "payload shape" in changes:
        return draw(st.sampled_from([list(claims), [claims]]) | json_values)
    return claims


def _written(value: object, how: str = "compact") -> bytes:
    """``value`` as JSON text: compact, spaced, as UTF-8 (a lone surrogate then not UTF-8 at
    all), in UTF-16, after a byte order mark, or with a second ``alg`` after the first."""
    compact = json.dumps(value, separators=(",", ":")).encode()
    match how:
        case "spaced":
            return json.dumps(value, indent=1).encode()
        case "utf-8":
            return json.dumps(value, ensure_ascii=False).encode("utf-8", "surrogatepass")
        case "utf-16":
            return json.dumps(value).encode("utf-16")
        case "bom":
            return b"\xef\xbb\xbf" + compact
        case "second alg" if isinstance(value, dict) and value:
            return compact[:-1] + b',"alg":"HS256"}'
        case _:
            return compact


WRITINGS = ("spaced", "utf-8", "utf-16", "bom", "second alg")


def _b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _segment(draw: st.DrawFn, changes: set[str], name: str, value: object) -> str:
    """The header or payload segment of ``value``: any bytes in place of its JSON, or its JSON
    written otherwise; and encoded in base64url without padding, or otherwise: padded, in the
    standard alphabet ('+' and '/'), with a character put in, with its last character changed
    (trailing bits set), or arbitrary text in its place."""
    if f"{name} bytes" in changes:
        raw = draw(st.binary(max_size=24))
    elif f"{name} writing" in changes:
        raw = _written(value, draw(st.sampled_from(WRITINGS)))
    else:
        raw = _written(value)
    b64url = _b64url(raw)
    if f"{name} segment" not in changes:
        return b64url
    match draw(st.sampled_from(["padded", "standard", "inserted", "last", "text"])):
        case "padded":
            return base64.urlsafe_b64encode(raw).decode() + draw(st.sampled_from(["", "="]))
        case "standard":
            return base64.b64encode(raw).rstrip(b"=").decode()
        case "inserted":
            at = draw(st.integers(0, len(b64url)))
            return b64url[:at] + draw(st.sampled_from("+/=.-_~ \n")) + b64url[at:]
        case "last" if b64url:
            return b64url[:-1] + draw(st.sampled_from(B64URL))
        case _:
            return draw(token_text)


def _signature(signing_input: str, alg: object, key: RSAKey = KEY) -> str:
    """The signature segment over ``signing_input`` with ``alg`` when it is one Expressway signs
    with, RS256 otherwise."""
    algorithm = JWSRegistry.algorithms[alg if alg in SIGNING_ALGORITHMS else "RS256"]
    return _b64url(algorithm.sign(signing_input.encode("utf-8", "surrogatepass"), key))


def _signed(header: object, claims: object = CLAIMS) -> str:
    """A token of ``header`` and ``claims``, written compact and signed with :data:`KEY`."""
    signing_input = _b64url(_written(header)) + "." + _b64url(_written(claims))
    alg = header.get("alg") if isinstance(header, dict) else None
    return signing_input + "." + _signature(signing_input, alg)


@st.composite
def tokens(draw: st.DrawFn) -> str:
    """The real token with up to three of :data:`CHANGES`; signed again over what changed, with
    the header's alg when it is RS256, RS384 or PS256, by the key or another; then its signature
    flipped, truncated, padded, lengthened past 1,024 characters, replaced or emptied; a dot put
    in or taken out, or text appended."""
    count = draw(st.sampled_from([0, 1, 1, 1, 2, 2, 3]))
    changes = set(
        draw(st.lists(st.sampled_from(CHANGES), min_size=count, max_size=count, unique=True))
    )
    header_segment, payload_segment, signature_segment = TOKEN.split(".")
    header = _header(draw, changes)
    if changes & {*HEADER_CHANGES, "signer", "header writing", "header bytes", "header segment"}:
        header_segment = _segment(draw, changes, "header", header)
    if changes & {*PAYLOAD_CHANGES, "payload writing", "payload bytes", "payload segment"}:
        payload_segment = _segment(draw, changes, "payload", _claims(draw, changes))
    signing_input = header_segment + "." + payload_segment
    alg = header.get("alg") if isinstance(header, dict) else None
    if "signer" in changes:
        signature_segment = _signature(signing_input, alg, OTHER_KEY)
    elif signing_input + "." + signature_segment != TOKEN or alg != "RS256":
        signature_segment = _signature(signing_input, alg)
    if "signature" in changes:
        match draw(st.sampled_from(["flip", "truncate", "pad", "long", "text", "empty"])):
            case "flip":
                at = draw(st.integers(0, len(signature_segment) - 1))
                others = st.sampled_from(B64URL).filter(lambda c: c != signature_segment[at])
                signature_segment = (
                    signature_segment[:at] + draw(others) + signature_segment[at + 1 :]
                )
            case "truncate":
                signature_segment = signature_segment[: draw(st.integers(0, 341))]
            case "pad":
                signature_segment += "=="
            case "long":
                signature_segment += "A" * draw(st.integers(670, 700))
            case "text":
                signature_segment = draw(token_text)
            case _:
                signature_segment = ""
    token = signing_input + "." + signature_segment
    if "dots" in changes:
        match draw(st.sampled_from(["dot in", "dot out", "appended"])):
            case "dot in":
                at = draw(st.integers(0, len(token)))
                token = token[:at] + "." + token[at:]
            case "dot out":
                at = draw(st.sampled_from([i for i, c in enumerate(token) if c == "."]))
                token = token[:at] + token[at + 1 :]
            case _:
                token += draw(token_text)
    return token


def _as_orjson_reads(value: object) -> object:
    """``value`` with each integer outside 64 bits as the double orjson reads it as, where
    :func:`json.loads` reads it exactly."""
    if isinstance(value, dict):
        return {name: _as_orjson_reads(item) for name, item in value.items()}
    if isinstance(value, list):
        return [_as_orjson_reads(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64:
        return float(value)
    return value


def joserfc_reading(token: str, keys: RSAKey | KeySet) -> Reading | None:
    """The header and claims of ``token`` when joserfc verifies it with ``keys``, its header is
    an object without ``crit``, and orjson reads its header and its payload as objects (the
    header's integers past 64 bits then doubles); None otherwise."""
    try:
        signed = jws.deserialize_compact(token, keys, registry=ORACLE_REGISTRY)
    except Exception:
        return None
    header = signed.headers()
    if not isinstance(header, dict) or "crit" in header:
        return None
    try:
        strict_header = orjson.loads(urlsafe_b64decode(signed.segments["header"]))
        claims = orjson.loads(signed.payload)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(strict_header, dict) or not isinstance(claims, dict):
        return None
    as_read = _as_orjson_reads(header)
    assert isinstance(as_read, dict)
    return as_read, claims


def expressway_reading(token: str, keys: RSAKey | KeySet) -> Reading | None:
    """The header and claims of ``token`` when Expressway reads it and verifies it with ``keys``;
    None when it refuses it, which it does with :class:`jose.JoseFailure` and nothing else."""
    try:
        signed = jose.read_jwt(token)
        signed.verify(keys)
    except jose.JoseFailure:
        return None
    return signed.header, signed.claims


def _assert_read_alike(token: str, keys: RSAKey | KeySet) -> None:
    expected = joserfc_reading(token, keys)
    read = expressway_reading(token, keys)
    assert read == expected, (token, read, expected)
    if read is not None:
        # Peeked at before verification, an accepted token reads the same.
        assert (jose.peek_header(token), jose.peek_claims(token)) == read


_header_segment, _payload_segment, _signature_segment = TOKEN.split(".")

PUBLIC_KEYS = {
    "the key for RS256": PUBLIC_KEY,
    "the key for any alg": jose.public_key(
        {name: value for name, value in jose.public_jwk(KEY).items() if name != "alg"}
    ),
}


@pytest.mark.parametrize("key", PUBLIC_KEYS.values(), ids=PUBLIC_KEYS.keys())
@settings(max_examples=200, deadline=None)
@given(token=tokens())
@example(token=TOKEN)
@example(token=TOKEN + "=")
@example(token=f"{_header_segment}=.{_payload_segment}.{_signature_segment}")
@example(token=TOKEN[:-1])
@example(token=TOKEN + ".")
@example(token=TOKEN.replace(".", "", 1))
@example(token=_signed({**HEADER, "alg": "PS256"}))
@example(token=_signed({**HEADER, "b64": True}))
@example(token=_signed({**HEADER, "b64": False}))
@example(token=_signed({**HEADER, "b64": False, "crit": ["b64"]}))
@example(token=_signed({**HEADER, "jwk": {"n": 2**70 + 1}}))
@example(token=_signed(["alg"]))
@example(token=TOKEN + "\ud800")
@example(token=f"{_header_segment}.\ud800.{_signature_segment}")
def test_a_token_is_accepted_with_a_key_exactly_when_joserfc_accepts_it(
    key: RSAKey, token: str
) -> None:
    """Verified with one key (whose JWK names RS256, or no alg): a token Expressway accepts,
    joserfc accepts with the same header and claims; a token joserfc accepts (an object header
    without crit, strict JSON), Expressway accepts; whatever the token, Expressway refuses it
    with JoseFailure and nothing else."""
    _assert_read_alike(token, key)


KEY_SETS = {
    "the key alone": jose.key_set([jose.public_jwk(KEY)]),
    "the key among others": jose.key_set([jose.public_jwk(OTHER_KEY), jose.public_jwk(KEY)]),
}


@pytest.mark.parametrize("keys", KEY_SETS.values(), ids=KEY_SETS.keys())
@settings(max_examples=200, deadline=None)
@given(token=tokens())
@example(token=TOKEN)
@example(token=_signed({key: value for key, value in HEADER.items() if key != "kid"}))
@example(token=_signed({**HEADER, "kid": "k2"}))
@example(token=_signed({**HEADER, "b64": False}))
@example(token=TOKEN + "\ud800")
def test_a_token_is_accepted_with_a_key_set_exactly_when_joserfc_accepts_it(
    keys: KeySet, token: str
) -> None:
    """The same agreement with a key set, searched by the header's kid (a token without one
    verifies with a set of one key only, as joserfc finds its key)."""
    _assert_read_alike(token, keys)
