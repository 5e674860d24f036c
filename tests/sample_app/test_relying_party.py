"""The relying party's rules without I/O (``expressway.oauth.relying_party``)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from expressway.oauth.relying_party import (
    AuthorizationError,
    RelyingPartyError,
    authorization_url,
    basic_authorization,
    check_authorization_response,
    check_id_token_claims,
    new_login,
    read_metadata,
)
from tests.sample_app.fake_tenant import ISSUER, FakeTenant, query

NOW = 1_800_000_000


def _claims(**overrides: Any) -> dict[str, Any]:
    return {
        "iss": ISSUER,
        "aud": "client",
        "sub": "auth0|1",
        "exp": NOW + 60,
        "iat": NOW,
        "nonce": "n",
        **overrides,
    }


def test_extra_parameters_cannot_replace_the_protections_of_the_request() -> None:
    """state, nonce and the PKCE challenge come from the login, whatever extras are passed."""
    login = new_login()
    url = authorization_url(
        read_metadata(FakeTenant().metadata(), ISSUER),
        login,
        client_id="client",
        redirect_uri="https://app.example/callback",
        scope="openid",
        extra={"state": "attacker", "nonce": "attacker", "organization": "org_1", "audience": None},
    )
    params = query(url)
    assert params["state"] == login.state
    assert params["nonce"] == login.nonce
    assert params["organization"] == "org_1"
    assert "audience" not in params


def test_a_provider_without_s256_is_refused() -> None:
    """RFC 9700 §2.1.1: the app always uses PKCE with S256."""
    document = {**FakeTenant().metadata(), "code_challenge_methods_supported": ["plain"]}
    with pytest.raises(RelyingPartyError, match="S256"):
        read_metadata(document, ISSUER)


def test_client_secret_basic_form_encodes_both_parts() -> None:
    """RFC 6749 §2.3.1: a colon in the secret must not split the pair."""
    header = basic_authorization("a:b", "c d/é")
    decoded = base64.b64decode(header.removeprefix("Basic ")).decode()
    assert decoded == "a%3Ab:c%20d%2F%C3%A9"


def test_an_error_answer_is_refused_unless_it_carries_our_state() -> None:
    """An error with another state was not caused by our request; with ours, it is reported."""
    login = new_login()
    with pytest.raises(RelyingPartyError, match="state"):
        check_authorization_response({"error": "access_denied"}, login, issuer=ISSUER)
    with pytest.raises(AuthorizationError) as raised:
        check_authorization_response(
            {"error": "access_denied", "state": login.state, "error_cause": "consent_denied"},
            login,
            issuer=ISSUER,
        )
    assert raised.value.cause == "consent_denied"


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"aud": ["client", "other"]}, "no azp"),
        ({"aud": ["client", "other"], "azp": "other"}, "azp"),
        ({"exp": "tomorrow"}, "no exp"),
        ({"iat": None}, "no iat"),
        ({"nonce": None}, "nonce"),
        ({"sub": "x" * 256}, "sub"),
    ],
)
def test_id_token_claims_outside_the_rules_are_refused(
    overrides: dict[str, Any], reason: str
) -> None:
    """OpenID Connect Core §3.1.3.7 items 3-4 and 9-11, and §2 on sub."""
    with pytest.raises(RelyingPartyError, match=reason):
        check_id_token_claims(
            _claims(**overrides), issuer=ISSUER, client_id="client", nonce="n", now=NOW
        )


def test_id_token_claims_within_the_clock_skew_are_accepted() -> None:
    """A minute of skew either way is tolerated; the subject is answered."""
    claims = _claims(exp=NOW - 30, iat=NOW + 30, aud=["client", "other"], azp="client")
    assert check_id_token_claims(claims, issuer=ISSUER, client_id="client", nonce="n", now=NOW) == (
        "auth0|1"
    )
