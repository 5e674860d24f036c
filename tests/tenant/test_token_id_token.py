"""ID tokens from the code exchange (OIDC Core §2, §3.1.3.6, §3.1.3.7, §5.4)."""

from __future__ import annotations

import base64
import hashlib

import pytest

from tests.conftest import BACKENDS, Tenant
from tests.tenant.token_flows import (
    claims,
    make_app,
    make_user,
    sign_in,
    start_session,
    verified,
)

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)


def test_an_id_token_carries_every_claim_oidc_core_requires_signed_rs256_by_the_tenant(
    tenant: Tenant,
) -> None:
    """OIDC Core §2 and §3.1.3.7: iss, sub, aud, exp, iat, auth_time, nonce, azp; with sid."""
    api = tenant.api()
    user_id = make_user(api)
    app = make_app(api)
    session_id, _ = start_session(tenant, user_id)
    body = sign_in(tenant, app, user_id, nonce="n-0S6_WzA2Mj", session_id=session_id)
    header, id_token = verified(tenant, body["id_token"])
    assert header["alg"] == "RS256"
    assert header["kid"] == tenant.runtime.signing_keys.current().kid
    assert id_token["iss"] == "http://localhost:8401/"
    assert id_token["sub"] == user_id
    assert id_token["aud"] == id_token["azp"] == app.client_id
    assert id_token["nonce"] == "n-0S6_WzA2Mj"
    assert id_token["sid"] == session_id
    assert id_token["exp"] - id_token["iat"] == 36000
    assert id_token["auth_time"] <= id_token["iat"]


def test_at_hash_is_the_left_half_of_the_access_tokens_sha256(tenant: Tenant) -> None:
    """OIDC Core §3.1.3.6."""
    api = tenant.api()
    body = sign_in(tenant, make_app(api), make_user(api))
    digest = hashlib.sha256(body["access_token"].encode()).digest()
    expected = base64.urlsafe_b64encode(digest[:16]).rstrip(b"=").decode()
    assert claims(tenant, body["id_token"])["at_hash"] == expected


def test_a_request_without_a_nonce_gets_an_id_token_without_one(tenant: Tenant) -> None:
    """OIDC Core §2: nonce only when the authentication request had one."""
    api = tenant.api()
    body = sign_in(tenant, make_app(api), make_user(api), nonce=None)
    assert "nonce" not in claims(tenant, body["id_token"])


def test_profile_and_email_claims_are_released_only_by_their_scopes(tenant: Tenant) -> None:
    """OIDC Core §5.4: profile releases name and friends, email releases email and its state."""
    api = tenant.api()
    user_id = make_user(api, given_name="Jane", nickname="jd")
    app = make_app(api)
    both = claims(tenant, sign_in(tenant, app, user_id, scope="openid profile email")["id_token"])
    assert both["name"] == "Jane Doe"
    assert both["given_name"] == "Jane"
    assert both["nickname"] == "jd"
    assert isinstance(both["updated_at"], int)
    assert both["email"] == "jane@example.com"
    assert both["email_verified"] is False
    bare = claims(tenant, sign_in(tenant, app, user_id, scope="openid")["id_token"])
    assert not {"name", "given_name", "email", "email_verified", "updated_at"} & set(bare)


def test_the_client_sets_the_id_token_lifetime(tenant: Tenant) -> None:
    """Auth0's jwt_configuration.lifetime_in_seconds."""
    api = tenant.api()
    app = make_app(api, jwt_configuration={"lifetime_in_seconds": 600})
    id_token = claims(tenant, sign_in(tenant, app, make_user(api))["id_token"])
    assert id_token["exp"] - id_token["iat"] == 600
