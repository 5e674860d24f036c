"""PKCE (RFC 7636), S256 only."""

from __future__ import annotations

import base64
import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from expressway.oauth.errors import InvalidRequest
from expressway.oauth.pkce import check_challenge_format, s256_challenge, verify_code_verifier

# RFC 7636 Appendix B.
RFC_VERIFIER = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
RFC_CHALLENGE = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"

verifiers = st.text(
    alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~",
    min_size=43,
    max_size=128,
)


def test_the_rfc_example_challenge_is_computed_and_verified() -> None:
    """RFC 7636 Appendix B."""
    assert s256_challenge(RFC_VERIFIER) == RFC_CHALLENGE
    assert verify_code_verifier(RFC_VERIFIER, RFC_CHALLENGE, "S256")


def test_an_s256_challenge_is_accepted_and_none_is_accepted_when_optional() -> None:
    check_challenge_format(RFC_CHALLENGE, "S256", required=True)
    check_challenge_format(None, None, required=False)


@pytest.mark.parametrize(
    ("challenge", "method", "required", "named"),
    [
        (None, None, True, "code_challenge is required"),
        (RFC_CHALLENGE, None, False, "S256"),
        (RFC_CHALLENGE, "plain", False, "plain"),
        (RFC_CHALLENGE, "s256", False, "s256"),
        (None, "S256", False, "without a code_challenge"),
        (RFC_CHALLENGE[:-1], "S256", False, "43-character"),
        (RFC_CHALLENGE + "A", "S256", False, "43-character"),
        (RFC_CHALLENGE[:-1] + "=", "S256", False, "43-character"),
        (RFC_CHALLENGE[:-1] + "+", "S256", False, "43-character"),
    ],
)
def test_unusable_pkce_parameters_are_refused(
    challenge: str | None, method: str | None, required: bool, named: str
) -> None:
    """plain is refused (RFC 9700 §2.1.1), and a missing method means plain (RFC 7636 §4.3)."""
    with pytest.raises(InvalidRequest, match=named):
        check_challenge_format(challenge, method, required=required)


def test_plain_is_never_verified() -> None:
    """Even a verifier equal to its "challenge" fails under plain."""
    assert not verify_code_verifier(RFC_VERIFIER, RFC_VERIFIER, "plain")


@given(verifier=verifiers)
def test_every_valid_verifier_verifies_against_its_own_challenge(verifier: str) -> None:
    challenge = s256_challenge(verifier)
    check_challenge_format(challenge, "S256", required=True)
    assert verify_code_verifier(verifier, challenge, "S256")


@given(verifier=verifiers, other=verifiers)
def test_a_different_verifier_does_not_verify(verifier: str, other: str) -> None:
    assert verify_code_verifier(other, s256_challenge(verifier), "S256") == (other == verifier)


@given(verifier=st.text(max_size=200))
def test_a_verifier_outside_rfc_7636_syntax_never_verifies(verifier: str) -> None:
    """RFC 7636 §4.1: 43 to 128 unreserved characters; anything else is refused, even when the
    challenge is its true SHA-256."""
    digest = hashlib.sha256(verifier.encode()).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    valid = 43 <= len(verifier) <= 128 and all(
        c.isascii() and (c.isalnum() or c in "-._~") for c in verifier
    )
    assert verify_code_verifier(verifier, challenge, "S256") == valid
