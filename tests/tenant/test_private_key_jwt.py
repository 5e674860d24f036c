"""``private_key_jwt`` at the token endpoint (RFC 7523 §2.2, §3; SPEC §2.2)."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from joserfc.jwk import RSAKey

from expressway import ids, jose
from expressway.oauth.client_auth import JWT_BEARER_ASSERTION
from expressway.tenant.rows import (
    ClientCredentialRow,
    ClientGrantRow,
    ClientRow,
    ResourceServerRow,
)
from tests.conftest import BACKENDS, Tenant

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)

API = "urn:auth0:express-configure"


@dataclass
class OinClient:
    client_id: str
    key: RSAKey


def _add_oin_client(tenant: Tenant, *, activate: bool = True) -> OinClient:
    """A client with a public key on file (activated or not) and a grant for the EC API."""
    key = jose.generate_signing_key("oin-key-1")
    now = tenant.runtime.clock.now()
    client_id = ids.client_id()
    with tenant.runtime.sessions() as session:
        session.add(
            ResourceServerRow(
                id=ids.random_id(24).lower(),
                identifier=API,
                name="Express Configuration",
                scopes=[{"value": "express_configure:sso", "description": "SSO"}],
                signing_alg="RS256",
                token_lifetime=600,
                token_lifetime_for_web=600,
                token_dialect="access_token",
                is_system=False,
                created_at=now,
            )
        )
        session.add(
            ClientRow(
                client_id=client_id,
                name="Okta OIN",
                app_type="express_configuration",
                callbacks=[],
                allowed_logout_urls=[],
                web_origins=[],
                allowed_origins=[],
                grant_types=["client_credentials", "authorization_code"],
                token_endpoint_auth_method="private_key_jwt",
                jwt_configuration={"alg": "RS256"},
                client_metadata={},
                created_at=now,
                updated_at=now,
            )
        )
        session.flush()
        public = jose.public_jwk(key)
        session.add(
            ClientCredentialRow(
                id=ids.prefixed_id("cred"),
                client_id=client_id,
                credential_type="public_key",
                kid=key.kid or "oin-key-1",
                alg="RS256",
                pem="(not needed here)",
                jwk=public,
                thumbprint=key.thumbprint(),
                active_position=0 if activate else None,
                created_at=now,
                updated_at=now,
            )
        )
        session.add(
            ClientGrantRow(
                id=ids.prefixed_id("cgr"),
                client_id=client_id,
                audience=API,
                scope=["express_configure:sso"],
                created_at=now,
            )
        )
        session.commit()
    return OinClient(client_id, key)


def _assertion(tenant: Tenant, oin: OinClient, **changes: Any) -> str:
    now = tenant.runtime.clock.timestamp()
    claims: dict[str, Any] = {
        "iss": oin.client_id,
        "sub": oin.client_id,
        "aud": "http://localhost:8401/",
        "iat": now,
        "exp": now + 120,
        "jti": secrets.token_urlsafe(16),
    }
    alg = changes.pop("alg", "RS256")
    key = changes.pop("key", oin.key)
    claims.update(changes)
    return jose.sign_jwt({k: v for k, v in claims.items() if v is not None}, key, alg=alg)


def _exchange(tenant: Tenant, assertion: str, **form: str) -> Any:
    return tenant.http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "audience": API,
            "client_assertion_type": JWT_BEARER_ASSERTION,
            "client_assertion": assertion,
            **form,
        },
    )


def test_a_signed_assertion_with_an_activated_key_gets_a_token(tenant: Tenant) -> None:
    oin = _add_oin_client(tenant)
    response = _exchange(tenant, _assertion(tenant, oin))
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "express_configure:sso"


@pytest.mark.parametrize(
    "audience",
    ["http://localhost:8401/", "http://localhost:8401", "http://localhost:8401/oauth/token"],
)
def test_the_issuer_with_or_without_its_slash_or_the_token_endpoint_is_a_valid_audience(
    tenant: Tenant, audience: str
) -> None:
    oin = _add_oin_client(tenant)
    assert _exchange(tenant, _assertion(tenant, oin, aud=audience)).status_code == 200


def test_a_replayed_jti_is_refused(tenant: Tenant) -> None:
    """SPEC §2.2: a jti is never accepted twice."""
    oin = _add_oin_client(tenant)
    assertion = _assertion(tenant, oin)
    assert _exchange(tenant, assertion).status_code == 200
    replay = _exchange(tenant, assertion)
    assert replay.status_code == 401
    assert "jti" in replay.json()["error_description"]


def test_a_client_without_an_activated_key_is_told_public_key_missing(tenant: Tenant) -> None:
    oin = _add_oin_client(tenant, activate=False)
    response = _exchange(tenant, _assertion(tenant, oin))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.json()["error_cause"] == "public_key_missing"


def test_an_assertion_signed_by_another_key_is_told_public_key_mismatch(tenant: Tenant) -> None:
    """The .pem uploaded is not the one the wizard generated."""
    oin = _add_oin_client(tenant)
    other = jose.generate_signing_key("oin-key-1")
    response = _exchange(tenant, _assertion(tenant, oin, key=other))
    assert response.status_code == 401
    assert response.json()["error_cause"] == "public_key_mismatch"


BadAssertion = Callable[[Tenant, OinClient], str]


def _unsigned(tenant: Tenant, oin: OinClient) -> str:
    good = _assertion(tenant, oin)
    _, payload, _ = good.split(".")
    return f"eyJhbGciOiJub25lIn0.{payload}."  # {"alg":"none"}


def _hs256_with_the_public_key(tenant: Tenant, oin: OinClient) -> str:
    """The classic key-confusion forgery: HMAC keyed with the RSA public key."""
    import base64
    import hashlib
    import hmac
    import json

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    now = tenant.runtime.clock.timestamp()
    header = b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = {"iss": oin.client_id, "sub": oin.client_id, "aud": "http://localhost:8401/",
              "exp": now + 60, "jti": "x"}  # fmt: skip
    payload = b64(json.dumps(claims).encode())
    secret = oin.key.as_pem(private=False)
    signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
    return f"{header}.{payload}.{b64(signature)}"


@pytest.mark.parametrize(
    ("make", "complaint"),
    [
        (_unsigned, "alg"),
        (_hs256_with_the_public_key, "alg"),
        (lambda t, o: _assertion(t, o, aud="https://elsewhere.example/"), "aud"),
        (lambda t, o: _assertion(t, o, iss="someone-else"), "iss"),
        (lambda t, o: _assertion(t, o, sub="someone-else"), "iss"),
        (lambda t, o: _assertion(t, o, exp=t.runtime.clock.timestamp() - 120), "expired"),
        (lambda t, o: _assertion(t, o, exp=t.runtime.clock.timestamp() + 3600), "five|300"),
        (lambda t, o: _assertion(t, o, nbf=t.runtime.clock.timestamp() + 600), "not yet"),
        (lambda t, o: _assertion(t, o, jti=None), "jti"),
        (lambda t, o: _assertion(t, o, padding="x" * 2100), "2048"),
        (lambda t, o: "not-a-jwt", "JWT"),
    ],
    ids=[
        "alg-none",
        "hs256-keyed-with-the-public-key",
        "wrong-aud",
        "wrong-iss",
        "sub-not-client",
        "expired",
        "exp-too-far-ahead",
        "not-yet-valid",
        "no-jti",
        "oversized",
        "garbage",
    ],
)
def test_a_bad_assertion_is_refused_saying_why(
    tenant: Tenant, make: BadAssertion, complaint: str
) -> None:
    oin = _add_oin_client(tenant)
    response = _exchange(tenant, make(tenant, oin), client_id=oin.client_id)
    assert response.status_code == 401, response.text
    body = response.json()
    assert body["error"] == "invalid_client"
    import re

    assert re.search(complaint, body["error_description"]), body


def test_a_replayed_jti_is_refused_by_a_second_server_on_the_same_database(tenant: Tenant) -> None:
    """The jti store is the database, so another replica refuses the replay too."""
    from fastapi.testclient import TestClient

    from expressway.tenant.app import create_app
    from expressway.tenant.runtime import TenantRuntime

    oin = _add_oin_client(tenant)
    assertion = _assertion(tenant, oin)
    assert _exchange(tenant, assertion).status_code == 200
    replica = TenantRuntime.from_settings(tenant.runtime.settings)
    with TestClient(create_app(replica), base_url="http://localhost:8401") as other:
        replay = other.post(
            "/oauth/token",
            data={
                "grant_type": "client_credentials",
                "audience": API,
                "client_assertion_type": JWT_BEARER_ASSERTION,
                "client_assertion": assertion,
            },
        )
    replica.engine.dispose()
    assert replay.status_code == 401
    assert "jti" in replay.json()["error_description"]


def test_a_refused_assertion_is_logged_with_its_cause(tenant: Tenant) -> None:
    from sqlalchemy import select

    from expressway.tenant.rows import LogEventRow

    oin = _add_oin_client(tenant, activate=False)
    _exchange(tenant, _assertion(tenant, oin))
    with tenant.runtime.sessions() as session:
        event = session.scalars(select(LogEventRow).where(LogEventRow.type == "feccft")).one()
    assert event.client_id == oin.client_id
    assert event.details["error_cause"] == "public_key_missing"


def test_a_kid_that_names_no_registered_key_is_a_hint_and_the_active_keys_are_tried(
    tenant: Tenant,
) -> None:
    """The OIN wizard names its key its own way; the key uploaded to the tenant carries the kid
    it was uploaded with. The signature decides, not the kid."""
    oin = _add_oin_client(tenant)
    renamed = jose.private_key_from_pem(jose.private_key_to_pem(oin.key), "the-wizards-own-kid")
    accepted = _exchange(tenant, _assertion(tenant, oin, key=renamed))
    assert accepted.status_code == 200, accepted.text
    stranger = jose.generate_signing_key("the-wizards-own-kid")
    refused = _exchange(tenant, _assertion(tenant, oin, key=stranger))
    assert refused.status_code == 401
    assert refused.json()["error_cause"] == "public_key_mismatch"
