"""Reading client credentials from a token request (RFC 6749 §2.3, RFC 7523 §2.2)."""

from __future__ import annotations

import base64

import pytest

from expressway.oauth.client_auth import JWT_BEARER_ASSERTION, read_client_credentials
from expressway.oauth.errors import InvalidClient, InvalidRequest


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_basic_credentials_are_form_url_decoded() -> None:
    """RFC 6749 §2.3.1: the id and secret are form-urlencoded before base64."""
    presented = read_client_credentials(basic("my%3Aclient", "s%2Bcret"), {})
    assert presented.method == "client_secret_basic"
    assert presented.client_id == "my:client"
    assert presented.secret == "s+cret"


def test_a_secret_in_the_form_is_client_secret_post() -> None:
    presented = read_client_credentials(None, {"client_id": "c", "client_secret": "s"})
    assert (presented.method, presented.client_id, presented.secret) == (
        "client_secret_post",
        "c",
        "s",
    )


def test_an_assertion_is_private_key_jwt() -> None:
    presented = read_client_credentials(
        None, {"client_assertion_type": JWT_BEARER_ASSERTION, "client_assertion": "a.b.c"}
    )
    assert presented.method == "private_key_jwt"
    assert presented.assertion == "a.b.c"


def test_an_unknown_assertion_type_is_refused() -> None:
    with pytest.raises(InvalidClient):
        read_client_credentials(
            None, {"client_assertion_type": "urn:other", "client_assertion": "x"}
        )


def test_basic_that_is_not_base64_is_refused() -> None:
    with pytest.raises(InvalidClient):
        read_client_credentials("Basic ***", {})


def test_basic_and_post_together_are_refused() -> None:
    with pytest.raises(InvalidRequest):
        read_client_credentials(basic("c", "s"), {"client_id": "c", "client_secret": "s"})


def test_a_form_client_id_that_contradicts_basic_is_refused() -> None:
    with pytest.raises(InvalidClient):
        read_client_credentials(basic("c", "s"), {"client_id": "other"})


def test_no_credentials_is_the_none_method() -> None:
    assert read_client_credentials(None, {"client_id": "spa"}).method == "none"
