"""The discovery document of an org's OpenID provider (OpenID Connect Discovery 1.0 §3)."""

from __future__ import annotations

from typing import Any

from expressway.oauth.scopes import OIDC_SCOPES
from expressway.workforce.oidc.clients import SUPPORTED_AUTH_METHODS


def provider_metadata(issuer: str) -> dict[str, Any]:
    """What is true of every org's provider, keyed by the org's ``issuer``.

    Only what is served is published: a client that reads an endpoint here may call it.
    """
    return {
        "issuer": issuer,
        "authorization_endpoint": f"{issuer}/oauth2/v1/authorize",
        "token_endpoint": f"{issuer}/oauth2/v1/token",
        "userinfo_endpoint": f"{issuer}/oauth2/v1/userinfo",
        "end_session_endpoint": f"{issuer}/oauth2/v1/logout",
        "jwks_uri": f"{issuer}/oauth2/v1/keys",
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": list(OIDC_SCOPES),
        "token_endpoint_auth_methods_supported": list(SUPPORTED_AUTH_METHODS),
        "claims_supported": [
            "iss",
            "sub",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "amr",
            "at_hash",
            "sid",
            "name",
            "given_name",
            "family_name",
            "preferred_username",
            "updated_at",
            "email",
            "email_verified",
        ],
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login", "consent"],
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "authorization_response_iss_parameter_supported": True,
    }
