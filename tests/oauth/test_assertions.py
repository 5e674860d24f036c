"""``private_key_jwt`` assertions checked against a client's keys, without a tenant around them."""

from __future__ import annotations

import base64
import json
import uuid

import pytest
from joserfc.jwk import RSAKey

from expressway import jose
from expressway.oauth import assertions
from expressway.oauth.errors import InvalidClient

NOW = 1_800_000_000
AUDIENCE = "https://tenant.example/oauth/token"


def _signed(key: RSAKey, **changes: object) -> str:
    claims = {
        "iss": "c1",
        "sub": "c1",
        "aud": AUDIENCE,
        "exp": NOW + 60,
        "jti": str(uuid.uuid4()),
    } | changes
    return jose.sign_jwt(claims, key)


def _public(key: RSAKey) -> RSAKey:
    return jose.public_key(jose.public_jwk(key))


def _check(assertion: str | jose.SignedJwt, keys: list[RSAKey | None]) -> str:
    verified = assertions.check_client_assertion(
        assertion, client_id="c1", public_keys=keys, audiences=[AUDIENCE], now=NOW
    )
    return verified.jti


def test_an_assertion_read_once_names_its_client_and_verifies_with_its_key() -> None:
    key = jose.generate_signing_key("signer")
    token = _signed(key, jti="j-1")
    read = assertions.read_client_assertion(token)
    assert assertions.unverified_client_id(read) == "c1"
    assert assertions.unverified_client_id(token) == "c1"
    assert _check(read, [_public(key)]) == "j-1"
    assert _check(token, [_public(key)]) == "j-1"


def test_a_kid_that_names_no_registered_key_is_a_hint_and_every_key_is_tried() -> None:
    signer = jose.generate_signing_key("the-wizards-own-kid")
    registered = jose.public_key({**jose.public_jwk(signer), "kid": "thumbprint"})
    other = _public(jose.generate_signing_key("other"))
    assert _check(_signed(signer), [other, registered]) != ""


def test_a_kid_that_names_a_registered_key_is_verified_with_that_key_only() -> None:
    signer = jose.generate_signing_key("k1")
    impostor = _public(jose.generate_signing_key("k1"))  # same kid, another key
    with pytest.raises(InvalidClient) as refused:
        _check(_signed(signer), [impostor, _public(jose.generate_signing_key("k2"))])
    assert refused.value.cause == assertions.CAUSE_PUBLIC_KEY_MISMATCH


def test_a_key_that_could_not_be_imported_counts_as_a_key_and_verifies_nothing() -> None:
    signer = jose.generate_signing_key("k1")
    with pytest.raises(InvalidClient) as refused:
        _check(_signed(signer), [None])
    assert refused.value.cause == assertions.CAUSE_PUBLIC_KEY_MISMATCH
    assert _check(_signed(signer), [None, _public(signer)]) != ""
    with pytest.raises(InvalidClient) as missing:
        _check(_signed(signer), [])
    assert missing.value.cause == assertions.CAUSE_PUBLIC_KEY_MISSING


def _unsigned(header: dict[str, object]) -> str:
    def part(data: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part(header)}.{part({'sub': 'c1'})}.c2ln"


@pytest.mark.parametrize(
    ("assertion", "words"),
    [
        ("x" * 2049, "longer than 2048 bytes"),
        ("not-a-jwt", "client_assertion is not a JWT"),
        (_unsigned({"alg": "HS256"}), "alg 'HS256' is not accepted; use one of RS256"),
        (_unsigned({"alg": "none"}), "alg 'none' is not accepted"),
        (_unsigned({"alg": "RS256", "crit": ["b64"]}), "crit header parameters"),
    ],
)
def test_an_assertion_that_cannot_be_read_is_refused_saying_why(assertion: str, words: str) -> None:
    with pytest.raises(InvalidClient, match=words):
        assertions.read_client_assertion(assertion)


def test_a_refused_assertion_still_names_the_client_its_failure_is_counted_against() -> None:
    assert assertions.unverified_client_id(_unsigned({"alg": "HS256"})) == "c1"
    assert assertions.unverified_client_id("not-a-jwt") is None


def test_an_assertion_whose_claims_are_not_json_names_no_client() -> None:
    """RFC 7519 section 7.2: claims holding NaN are not JSON, before verification as after
    (json.loads took them and named the client)."""
    header, _, signature = _unsigned({"alg": "RS256"}).split(".")
    claims = base64.urlsafe_b64encode(b'{"sub":"c1","exp":NaN}').rstrip(b"=").decode()
    assert assertions.unverified_client_id(f"{header}.{claims}.{signature}") is None
