"""A machine client that authenticates with ``private_key_jwt`` (RFC 7523), made through the
Management API, and its client assertions."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from joserfc import jwt
from joserfc.jwk import RSAKey

#: A Management API call: method, path under ``/api/v2``, JSON body; the answer's JSON.
Call = Callable[[str, str, Any], Any]


def private_key_jwt_client(call: Call, api: str) -> tuple[str, str, rsa.RSAPrivateKey]:
    """The API ``api`` (scope ``read``) and a machine client authenticated by ``private_key_jwt``
    with an activated RS256 key and a grant for it: the client's id, its key's ``kid`` and the
    private key."""
    call("POST", "/resource-servers", {"identifier": api, "scopes": [{"value": "read"}]})
    client = call(
        "POST",
        "/clients",
        {
            "name": "Replicated machine",
            "app_type": "non_interactive",
            "grant_types": ["client_credentials"],
        },
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    client_id = str(client["client_id"])
    credential = call(
        "POST",
        f"/clients/{client_id}/credentials",
        {"credential_type": "public_key", "pem": pem, "alg": "RS256"},
    )
    call(
        "PATCH",
        f"/clients/{client_id}",
        {
            "client_authentication_methods": {
                "private_key_jwt": {"credentials": [{"id": credential["id"]}]}
            }
        },
    )
    call("POST", "/client-grants", {"client_id": client_id, "audience": api, "scope": ["read"]})
    return client_id, str(credential["kid"]), key


def client_assertion(client_id: str, kid: str, key: rsa.RSAPrivateKey, audience: str) -> str:
    """A fresh assertion (its own ``jti``) for the tenant whose issuer is ``audience``."""
    now = int(time.time())
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return jwt.encode(
        {"alg": "RS256", "kid": kid},
        {
            "iss": client_id,
            "sub": client_id,
            "aud": audience,
            "iat": now,
            "exp": now + 60,
            "jti": secrets.token_urlsafe(16),
        },
        RSAKey.import_key(private),
    )
