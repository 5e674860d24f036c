"""``/.well-known/openid-configuration`` (OpenID Connect Discovery 1.0 §3, RFC 8414, RFC 9207)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Tenant

ISSUER = "http://localhost:8401/"


@pytest.fixture
def document(tenant: Tenant) -> dict[str, Any]:
    response = tenant.http.get("/.well-known/openid-configuration")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def test_every_endpoint_is_named_under_the_issuer(document: dict[str, Any]) -> None:
    """Discovery §3: issuer is the URL the document is under; the endpoints the tenant serves."""
    assert document["issuer"] == ISSUER
    assert document["authorization_endpoint"] == f"{ISSUER}authorize"
    assert document["token_endpoint"] == f"{ISSUER}oauth/token"
    assert document["userinfo_endpoint"] == f"{ISSUER}userinfo"
    assert document["jwks_uri"] == f"{ISSUER}.well-known/jwks.json"
    assert document["revocation_endpoint"] == f"{ISSUER}oauth/revoke"
    assert document["end_session_endpoint"] == f"{ISSUER}oidc/logout"


def test_the_required_metadata_is_present(document: dict[str, Any]) -> None:
    """Discovery §3: REQUIRED fields."""
    for field in (
        "issuer",
        "authorization_endpoint",
        "token_endpoint",
        "jwks_uri",
        "response_types_supported",
        "subject_types_supported",
        "id_token_signing_alg_values_supported",
    ):
        assert document[field], field


def test_the_capabilities_are_exactly_what_the_tenant_does(document: dict[str, Any]) -> None:
    """Code flow with S256 PKCE only, RS256, the three grants, the four client auth methods."""
    assert document["response_types_supported"] == ["code"]
    assert document["grant_types_supported"] == [
        "authorization_code",
        "refresh_token",
        "client_credentials",
    ]
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]
    assert document["subject_types_supported"] == ["public"]
    assert document["token_endpoint_auth_methods_supported"] == [
        "client_secret_basic",
        "client_secret_post",
        "private_key_jwt",
        "none",
    ]
    assert document["token_endpoint_auth_signing_alg_values_supported"] == [
        "RS256",
        "RS384",
        "PS256",
    ]
    assert set(document["scopes_supported"]) >= {"openid", "profile", "email", "offline_access"}
    assert {"sub", "iss", "aud", "auth_time", "nonce", "sid", "org_id"} <= set(
        document["claims_supported"]
    )


def test_unsupported_request_features_are_declared_off(document: dict[str, Any]) -> None:
    """Discovery §3 defaults some of these to true; saying false keeps strict clients honest."""
    assert document["request_parameter_supported"] is False
    assert document["request_uri_parameter_supported"] is False
    assert document["claims_parameter_supported"] is False
    assert document["authorization_response_iss_parameter_supported"] is True


def test_revocation_takes_the_client_authentication_of_the_token_endpoint(
    document: dict[str, Any],
) -> None:
    """RFC 8414 §2: the revocation endpoint's methods, the same as the token endpoint's."""
    assert (
        document["revocation_endpoint_auth_methods_supported"]
        == document["token_endpoint_auth_methods_supported"]
    )
    assert document["response_modes_supported"] == ["query"]
