"""The discovery document of an org's OpenID provider (OpenID Connect Discovery 1.0 §3)."""

from __future__ import annotations

from typing import Any


def provider_metadata(issuer: str) -> dict[str, Any]:
    """What is true of every org's provider, keyed by the org's ``issuer``.

    Only what is served is published: a client that reads an endpoint here may call it.
    """
    return {
        "issuer": issuer,
        "jwks_uri": f"{issuer}/oauth2/v1/keys",
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }
