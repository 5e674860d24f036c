"""Hashing, sealing, keys and settings: the small parts every secret passes through."""

from __future__ import annotations

import base64
import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from hypothesis import given
from hypothesis import strategies as st
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import RSAKey

from expressway import hashing, jose, json_text
from expressway.config import Settings
from expressway.sealing import Sealer, SealError


def test_a_password_hash_is_argon2id_and_verifies_only_its_password() -> None:
    stored = hashing.hash_password("correct horse")
    assert stored.startswith("$argon2id$")
    assert hashing.verify_password(stored, "correct horse")
    assert not hashing.verify_password(stored, "Correct horse")
    assert not hashing.verify_password("not a hash", "correct horse")


def test_a_token_digest_verifies_only_its_token() -> None:
    digest = hashing.hash_token("tok_abc")
    assert "tok_abc" not in digest
    assert hashing.verify_token(digest, "tok_abc")
    assert not hashing.verify_token(digest, "tok_abd")


def test_a_sealed_value_opens_only_with_the_same_key_and_purpose() -> None:
    sealed = Sealer("key-one", "signing").seal(b"private")
    assert b"private" not in sealed.encode()
    assert Sealer("key-one", "signing").open(sealed) == b"private"
    with pytest.raises(SealError):
        Sealer("key-two", "signing").open(sealed)
    with pytest.raises(SealError):
        Sealer("key-one", "other-purpose").open(sealed)


def test_a_value_sealed_under_a_fallback_key_opens_and_is_resealed_under_the_current_one() -> None:
    """Rotation: the replaced key still opens its values, new values are sealed under the
    current key only, and ``reseal`` moves an old value to it (once)."""
    old = Sealer("key-one", "signing").seal(b"private")
    rotated = Sealer("key-two", "signing", fallbacks=["key-one"])
    assert rotated.open(old) == b"private"
    assert Sealer("key-two", "signing").open(rotated.seal(b"new")) == b"new"
    with pytest.raises(SealError):
        Sealer("key-one", "signing").open(rotated.seal(b"new"))
    resealed = rotated.reseal(old)
    assert resealed is not None
    assert Sealer("key-two", "signing").open(resealed) == b"private"
    assert rotated.reseal(resealed) is None
    with pytest.raises(SealError, match="EXPRESSWAY_SECRET_KEY_FALLBACKS"):
        Sealer("key-three", "signing", fallbacks=["key-two"]).reseal(old)
    with pytest.raises(SealError):
        Sealer("key-two", "other-purpose", fallbacks=["key-one"]).open(old)


def _rsa_pem(bits: int, fmt: serialization.PublicFormat) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    return key.public_key().public_bytes(serialization.Encoding.PEM, fmt).decode()


def test_spki_and_pkcs1_public_keys_read_as_the_same_key() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    spki = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    pkcs1 = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.PKCS1
    )
    assert (
        jose.read_public_key(spki.decode()).thumbprint
        == jose.read_public_key(pkcs1.decode()).thumbprint
    )


@pytest.mark.parametrize(
    ("pem", "complaint"),
    [
        ("hello", "not a valid PEM"),
        (_rsa_pem(1024, serialization.PublicFormat.SubjectPublicKeyInfo), "1024-bit"),
        (
            ec.generate_private_key(ec.SECP256R1())
            .public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode(),
            "RSA",
        ),
        (
            rsa.generate_private_key(public_exponent=65537, key_size=2048)
            .private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            .decode(),
            "private key",
        ),
    ],
)
def test_unacceptable_public_keys_are_refused_saying_why(pem: str, complaint: str) -> None:
    with pytest.raises(jose.KeyFormatError, match=complaint):
        jose.read_public_key(pem)


def test_alg_none_and_hmac_tokens_are_refused_even_with_a_matching_key_set() -> None:
    """A verifier holding public keys must never accept an unsigned or HMAC-signed token."""
    key = jose.generate_signing_key("k1")
    keys = jose.key_set([jose.public_jwk(key)])
    header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0"  # {"alg":"none","typ":"JWT"}
    with pytest.raises(jose.JoseFailure, match="alg"):
        jose.verify_jwt(f"{header}.eyJzdWIiOiJ4In0.", keys)
    hs_header = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"  # {"alg":"HS256","typ":"JWT"}
    with pytest.raises(jose.JoseFailure, match="alg"):
        jose.verify_jwt(f"{hs_header}.eyJzdWIiOiJ4In0.c2ln", keys)


def test_a_signed_jwt_is_byte_for_byte_what_joserfc_encodes() -> None:
    """RS256 signatures are deterministic, so the token sign_jwt assembles must be exactly the
    one joserfc's own JWT encoder makes from the same header and claims."""
    key = jose.generate_signing_key("k1")
    claims = {"iss": "https://t/", "sub": "c@clients", "aud": ["a", "b"], "exp": 9, "na": "é"}
    for typ in ("JWT", "at+jwt"):
        expected = jwt.encode({"alg": "RS256", "typ": typ, "kid": "k1"}, dict(claims), key)
        assert jose.sign_jwt(claims, key, typ=typ) == expected
    # PS256 is randomised: the token verifies, with its header as given.
    ps_key = jose.generate_signing_key("k2", alg="PS256")
    token = jose.sign_jwt(claims, ps_key, alg="PS256")
    header, verified = jose.verify_jwt(token, jose.key_set([jose.public_jwk(ps_key)]))
    assert header == {"alg": "PS256", "typ": "JWT", "kid": "k2"}
    assert verified == claims
    # A key made for another algorithm signs nothing.
    with pytest.raises(JoseError):
        jose.sign_jwt(claims, key, alg="PS256")


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**64 - 1) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@given(st.dictionaries(st.text(max_size=12), json_values, max_size=8))
def test_json_is_written_as_json_writes_it(claims: dict[str, object]) -> None:
    expected = json.dumps(claims, ensure_ascii=False, separators=(",", ":")).encode()
    assert json_text.compact(claims) == expected
    assert json_text.compact_text(claims) == expected.decode()


def test_what_orjson_cannot_write_is_written_by_json_and_what_json_refuses_is_refused() -> None:
    # Past 64 bits, and a key that is not a string: json writes them.
    assert (
        json_text.compact({"n": 2**70, "m": {1: "x"}})
        == b'{"n":1180591620717411303424,"m":{"1":"x"}}'
    )
    # JSON has no words for NaN and the infinities: null, as the Management API answers them.
    assert json_text.compact({"x": float("nan"), "y": float("inf")}) == b'{"x":null,"y":null}'
    # A datetime is no JSON: refused, where orjson alone would write it as a string.
    with pytest.raises(TypeError, match="datetime"):
        json_text.compact({"at": datetime.now(UTC)})


#: JSON that json.loads reads and RFC 7519 section 7.2 (RFC 8259 in UTF-8) cannot hold.
NOT_STRICT_JSON = [
    b'{"exp":NaN}',
    b'{"exp":Infinity}',
    b'{"exp":1e400}',
    b'{"sub":"\\ud800"}',
    b'{"sub":"\xff"}',
    '{"sub":"x"}'.encode("utf-16-le"),
    b"[" * 2000,
]


def _segment(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


@pytest.mark.parametrize("payload", NOT_STRICT_JSON)
def test_a_token_whose_claims_are_not_strict_json_is_refused(payload: bytes) -> None:
    """RFC 7519 section 7.2: the claims are JSON in UTF-8, read by orjson, which refuses what
    json.loads takes; peeked at before verification, they are read alike."""
    token = f"{_b64({'alg': 'RS256'})}.{_segment(payload)}.c2ln"
    with pytest.raises(jose.JoseFailure, match="not a compact JWS"):
        jose.read_jwt(token)
    with pytest.raises(jose.JoseFailure, match="not a compact JWS"):
        jose.peek_claims(token)


@pytest.mark.parametrize(
    "header",
    [
        b'{"alg":"RS256","kid":NaN}',
        b'{"alg":"RS256","kid":-Infinity}',
        b'{"alg":"RS256","kid":1e400}',
        b'{"alg":"RS256","kid":"\\udc00"}',
        '{"alg":"RS256"}'.encode("utf-32-be"),
    ],
)
def test_a_token_whose_header_is_not_strict_json_is_refused(header: bytes) -> None:
    """RFC 7515 section 4: the header is a JSON object in UTF-8; joserfc reads it with
    json.loads, which took NaN, 1e400, a lone surrogate and UTF-32."""
    token = f"{_segment(header)}.{_b64({'sub': 'x'})}.c2ln"
    with pytest.raises(jose.JoseFailure, match="not a compact JWS"):
        jose.read_jwt(token)
    with pytest.raises(jose.JoseFailure, match="not a compact JWS"):
        jose.peek_header(token)


client_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@given(client_json)
def test_a_client_json_text_is_read_as_json_reads_it(value: object) -> None:
    """What RFC 8259 allows is read as :func:`json.loads` reads it, integers of any size
    exact."""
    text = json.dumps(value, ensure_ascii=False)
    assert json_text.parse(text.encode()) == json.loads(text) == value
    assert json_text.parse(text) == value


def test_an_integer_past_64_bits_is_read_exact() -> None:
    assert json_text.parse(b'{"n": 1180591620717411303424}') == {"n": 2**70}
    assert json_text.parse(b"[-1180591620717411303424]") == [-(2**70)]


@pytest.mark.parametrize("word", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_the_infinities_are_refused_naming_them_and_where(word: str) -> None:
    """RFC 8259 section 6: "Numeric values that cannot be represented in the grammar below (such
    as Infinity and NaN) are not permitted"; json.loads takes them."""
    text = f'{{"s": "{word}, \\"{word}", "n": [1, {word}]}}'
    with pytest.raises(json.JSONDecodeError) as refused:
        json_text.parse(text.encode())
    assert refused.value.msg == f"{word} is not JSON (RFC 8259 has no NaN, Infinity or -Infinity)"
    assert refused.value.pos == text.rindex(word)


@pytest.mark.parametrize("number", ["1e400", "-1e400", "0.0001e400", "1" + "0" * 400 + ".0"])
def test_a_number_beyond_a_double_is_refused_not_read_as_an_infinity(number: str) -> None:
    text = f'{{"a": 1e300, "b": {number}}}'
    with pytest.raises(json.JSONDecodeError) as refused:
        json_text.parse(text)
    assert refused.value.msg.startswith(f"the number {number[:40]}")
    assert "too large" in refused.value.msg
    assert refused.value.pos == text.index(number, 10)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b'{"a": "\xff"}', "the text is not valid UTF-8"),
        (b'{"a": "\xed\xa0\x80"}', "the text is not valid UTF-8"),
        (b"[" * 100_000, "the text is nested too deeply"),
        (b"1" * 5_000, "an integer has more than 4300 digits"),
        (b"{nope", "Expecting property name enclosed in double quotes"),
    ],
)
def test_what_json_loads_refuses_is_refused_as_a_decoding_error(raw: bytes, problem: str) -> None:
    """Invalid UTF-8, nesting too deep and an integer too long, which json.loads refuses with
    other exceptions than a decoding error, are decoding errors too."""
    with pytest.raises(json.JSONDecodeError) as refused:
        json_text.parse(raw)
    assert refused.value.msg == problem


@pytest.mark.parametrize(
    "text",
    [
        '{"a": "\\ud800"}',
        '{"a": ["ok", "x\\uDC00y"]}',
        '{"\\uDBFF": 1}',
        '{"a": "\\ud83d\\u0041"}',
    ],
)
def test_a_lone_surrogate_escape_is_refused_as_a_decoding_error(text: str) -> None:
    """json.loads reads "\\ud800" as a string no UTF-8 (so no database) can hold."""
    with pytest.raises(json.JSONDecodeError) as refused:
        json_text.parse(text)
    assert refused.value.msg == "a string holds a lone surrogate (\\uD800 to \\uDFFF not in a pair)"
    assert refused.value.pos == text.index("\\u")


@pytest.mark.parametrize(
    "encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"]
)
def test_a_text_in_utf_16_or_utf_32_is_refused_naming_its_encoding(encoding: str) -> None:
    """RFC 8259 section 8.1: JSON exchanged between systems must be UTF-8; json.loads detects
    UTF-16 and UTF-32 (with or without a byte order mark) and reads them."""
    with pytest.raises(json.JSONDecodeError) as refused:
        json_text.parse('{"a": 1}'.encode(encoding))
    named = encoding.upper()
    assert refused.value.msg == f"the text is {named}, not UTF-8 (RFC 8259 section 8.1)"
    assert refused.value.pos == 0


def test_a_utf_8_byte_order_mark_is_ignored() -> None:
    """RFC 8259 section 8.1: a reader may ignore it rather than treat it as an error."""
    assert json_text.parse(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}


def test_a_surrogate_pair_and_an_escaped_backslash_before_u_d800_are_read() -> None:
    assert json_text.parse('{"a": "\\ud83d\\ude00"}') == {"a": "\U0001f600"}
    assert json_text.parse('{"a": "\\\\ud800"}') == {"a": "\\ud800"}


def _b64(data: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


@pytest.mark.parametrize(
    ("token", "complaint"),
    [
        ("abc", "not a compact JWS"),
        ("a.b.c.d", "not a compact JWS"),
        (f"{_b64({'typ': 'JWT'})}.{_b64({})}.c2ln", "not a compact JWS"),
        (f"{_b64({'alg': 'RS256'})}.!!!.c2ln", "not a compact JWS"),
        (f"{_b64({'alg': 'RS256'})}.{_b64([1])}.c2ln", "payload is not a JSON object"),
        # joserfc takes a header that is a list holding "alg"; reading it was a 500.
        (f"{_b64(['alg'])}.{_b64({})}.c2ln", "header is not a JSON object"),
        (f"{_b64({'alg': 'RS256', 'crit': ['exp']})}.{_b64({})}.c2ln", "crit"),
        (f"{_b64({'alg': 'ES256'})}.{_b64({})}.c2ln", "alg 'ES256' is not accepted"),
    ],
)
def test_a_token_is_read_once_and_refused_saying_why(token: str, complaint: str) -> None:
    with pytest.raises(jose.JoseFailure, match=complaint):
        jose.read_jwt(token)


def test_a_token_read_once_verifies_only_with_its_key() -> None:
    key, other = jose.generate_signing_key("k1"), jose.generate_signing_key("k2")
    token = jose.sign_jwt({"sub": "x", "exp": 9}, key)
    read = jose.read_jwt(token)
    assert read.header["kid"] == "k1"
    assert read.claims == {"sub": "x", "exp": 9}
    public, other_public = (jose.public_key(jose.public_jwk(k)) for k in (key, other))
    assert read.verifies_with(public)
    assert not read.verifies_with(other_public)
    with pytest.raises(jose.JoseFailure, match="bad_signature"):
        read.verify(other_public)
    # A key set is searched by the header's kid.
    read.verify(jose.key_set([jose.public_jwk(other), jose.public_jwk(key)]))
    tampered = token[: token.rindex(".") + 1] + "A" * 342
    assert not jose.read_jwt(tampered).verifies_with(public)


def test_a_keys_fitness_is_settled_per_key_object_and_a_refusal_is_never_remembered() -> None:
    """sign_jwt and verify settle once per key object what joserfc checks before each RSA
    operation (the key suits the algorithm and allows the operation): a key refused is refused
    at every use, and each key object signs and verifies with its own key."""
    key = jose.generate_signing_key("k1")
    claims = {"sub": "x", "exp": 9}
    token = jose.sign_jwt(claims, key)
    jwk = jose.public_jwk(key)
    for _ in range(2):
        # A key meant for encryption, or whose key_ops leave out verify, verifies nothing.
        without_use = {name: value for name, value in jwk.items() if name != "use"}
        for unfit in ({**jwk, "use": "enc"}, {**without_use, "key_ops": ["encrypt"]}):
            with pytest.raises(jose.JoseFailure):
                jose.read_jwt(token).verify(RSAKey.import_key(unfit))
        # A public key signs nothing, nor does a private key for another algorithm.
        with pytest.raises(JoseError):
            jose.sign_jwt(claims, RSAKey.import_key(jwk))
        with pytest.raises(JoseError):
            jose.sign_jwt(claims, key, alg="PS256")
    # Many key objects, each fresh, one after the other: each verifies with its own key only.
    other = jose.generate_signing_key("k2")
    other_token = jose.sign_jwt(claims, other)
    for index in range(2 * jose._OPERATIONS_KEPT + 10):
        mine = index % 2 == 0
        public = RSAKey.import_key(jwk if mine else jose.public_jwk(other))
        assert jose.read_jwt(token).verifies_with(public) is mine
        assert jose.read_jwt(other_token).verifies_with(public) is not mine
    assert len(jose._OPERATIONS) <= jose._OPERATIONS_KEPT


def test_tokens_with_one_header_read_it_alike_each_with_a_copy_of_its_own() -> None:
    """read_jwt keeps what a header segment reads as, and verify whether it passed the header
    rules: each token still gets a header of its own, and a header refused is refused at every
    use."""
    key = jose.generate_signing_key("k1")
    public = jose.public_key(jose.public_jwk(key))
    first, second = (jose.read_jwt(jose.sign_jwt({"sub": sub, "exp": 9}, key)) for sub in "ab")
    assert first.header == second.header == {"typ": "JWT", "alg": "RS256", "kid": "k1"}
    first.header["kid"] = "changed"
    assert second.header["kid"] == "k1"
    second.verify(public)
    # A kid that is not a string breaks RFC 7515's rules for it.
    signing_input = (
        base64.urlsafe_b64encode(b'{"alg":"RS256","kid":5}').rstrip(b"=")
        + b"."
        + base64.urlsafe_b64encode(b'{"sub":"c","exp":9}').rstrip(b"=")
    )
    signature = key.get_op_key("sign").sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    token = (signing_input + b"." + base64.urlsafe_b64encode(signature).rstrip(b"=")).decode()
    for _ in range(2):
        with pytest.raises(jose.JoseFailure, match="invalid_header_value"):
            jose.read_jwt(token).verify(public)


def test_a_jwk_that_is_not_an_rsa_public_key_is_refused() -> None:
    with pytest.raises(jose.JoseFailure):
        jose.public_key({"kty": "RSA", "n": "not base64!"})
    with pytest.raises(jose.JoseFailure):
        jose.public_key({"kty": "oct", "k": "c2VjcmV0"})


def test_claims_are_checked_for_expiry_issuer_and_audience() -> None:
    claims = {"exp": 100, "iss": "https://a/", "aud": ["x", "y"]}
    jose.check_claims(claims, now=99, issuer="https://a/", audience="y")
    with pytest.raises(jose.JoseFailure, match="expired"):
        jose.check_claims(claims, now=100)
    with pytest.raises(jose.JoseFailure, match="iss"):
        jose.check_claims(claims, now=0, issuer="https://b/")
    with pytest.raises(jose.JoseFailure, match="aud"):
        jose.check_claims(claims, now=0, audience="z")
    with pytest.raises(jose.JoseFailure, match="exp"):
        jose.check_claims({"exp": "soon"}, now=0)


def test_a_generated_secret_key_is_written_once_and_readable_only_by_its_owner(
    tmp_path: Path,
) -> None:
    settings = Settings(data_dir=tmp_path)
    first = settings.resolved_secret_key()
    assert Settings(data_dir=tmp_path).resolved_secret_key() == first
    mode = (tmp_path / "secret.key").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600


def test_the_issuer_ends_with_a_slash_and_the_management_audience_follows_it() -> None:
    settings = Settings(tenant_public_url="https://tenant.example.com/")
    assert settings.tenant_issuer == "https://tenant.example.com/"
    assert settings.management_audience == "https://tenant.example.com/api/v2/"
