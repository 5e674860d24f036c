"""The Logout Token rules shared by the tenant and its applications (Back-Channel Logout 1.0)."""

from __future__ import annotations

import pytest

from expressway.oauth.backchannel_logout import (
    TOKEN_TYPE,
    LogoutTokenError,
    check_logout_token,
    logout_token_claims,
)

ISSUER = "https://tenant.example/"
NOW = 1_800_000_000


def _claims(**changes: object) -> dict[str, object]:
    claims = logout_token_claims(
        issuer=ISSUER, audience="client-1", subject="auth0|1", session_id="ses_1", now=NOW, jti="j1"
    )
    return {**claims, **changes}


def test_the_tokens_the_provider_builds_pass_the_receivers_checks() -> None:
    """§2.4 and §2.6 agree: what the tenant sends, its applications accept."""
    subject = check_logout_token(
        {"typ": TOKEN_TYPE}, _claims(), issuer=ISSUER, client_id="client-1", now=NOW + 5
    )
    assert (subject.sub, subject.sid, subject.jti) == ("auth0|1", "ses_1", "j1")
    assert "nonce" not in _claims()


def test_an_audience_list_naming_the_client_is_accepted_and_one_without_it_is_not() -> None:
    """§2.6 step 3 (ID token rules): aud may be a list; it must contain the client_id."""
    header = {"typ": "application/logout+jwt"}
    check_logout_token(
        header, _claims(aud=["other", "client-1"]), issuer=ISSUER, client_id="client-1", now=NOW
    )
    with pytest.raises(LogoutTokenError, match="aud"):
        check_logout_token(
            header, _claims(aud=["other"]), issuer=ISSUER, client_id="client-1", now=NOW
        )


@pytest.mark.parametrize("value", [True, "1800000000", None])
def test_iat_must_be_a_number(value: object) -> None:
    """iat is a NumericDate (RFC 7519 §2); a boolean or a string is none."""
    with pytest.raises(LogoutTokenError, match="iat"):
        check_logout_token(
            {"typ": TOKEN_TYPE}, _claims(iat=value), issuer=ISSUER, client_id="client-1", now=NOW
        )
