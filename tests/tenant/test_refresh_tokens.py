"""``POST /oauth/token`` with ``refresh_token``: rotation and reuse detection (RFC 6749 §6,
RFC 9700 §4.14.2), and the revocation helpers other parts call."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from expressway import hashing
from expressway.tenant.rows import RefreshTokenRow
from expressway.tenant.services.refresh_tokens import (
    revoke_session_refresh_tokens,
    revoke_user_refresh_tokens,
)
from tests.conftest import BACKENDS, Tenant
from tests.tenant.token_flows import (
    API,
    EVERYTHING,
    App,
    claims,
    log_types,
    make_api,
    make_app,
    make_role,
    make_user,
    refresh,
    sign_in,
    start_session,
)

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)


def _signed_in(tenant: Tenant, scope: str = EVERYTHING, **fields: object) -> tuple[App, str, str]:
    """(app, user id, refresh token) after a code exchange."""
    api = tenant.api()
    app = make_app(api)
    user_id = make_user(api)
    body = sign_in(tenant, app, user_id, scope=scope, **fields)
    return app, user_id, body["refresh_token"]


def test_a_refresh_answers_new_tokens_and_a_new_refresh_token_of_the_same_family(
    tenant: Tenant,
) -> None:
    """Rotation: the presented token is marked used and a successor issued."""
    app, user_id, token = _signed_in(tenant)
    response = refresh(tenant, app, token)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["refresh_token"] != token
    assert body["scope"] == EVERYTHING
    assert body["token_type"] == "Bearer"
    id_token = claims(tenant, body["id_token"])
    assert id_token["sub"] == user_id
    assert "nonce" not in id_token, "OIDC Core §12.2: a refreshed ID token answers no request"
    with tenant.runtime.sessions() as session:
        old = session.scalars(
            select(RefreshTokenRow).where(RefreshTokenRow.token_hash == hashing.hash_token(token))
        ).one()
        new = session.scalars(
            select(RefreshTokenRow).where(
                RefreshTokenRow.token_hash == hashing.hash_token(body["refresh_token"])
            )
        ).one()
    assert old.used_at is not None
    assert new.family_id == old.family_id
    assert new.expires_at == old.expires_at, "rotation renews the token, not the grant"
    assert log_types(tenant)[-1] == "sertft"


def test_a_rotated_out_token_presented_again_revokes_the_whole_family(tenant: Tenant) -> None:
    """RFC 9700 §4.14.2: reuse means the token was copied; neither holder keeps the grant."""
    app, _, token = _signed_in(tenant)
    successor = refresh(tenant, app, token).json()["refresh_token"]
    reused = refresh(tenant, app, token)
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    assert "revoked" in reused.json()["error_description"]
    assert refresh(tenant, app, successor).json()["error"] == "invalid_grant"
    assert "fertft" in log_types(tenant)


def test_an_expired_refresh_token_is_refused(tenant: Tenant) -> None:
    app, _, token = _signed_in(tenant)
    past = tenant.runtime.clock.now() - timedelta(seconds=1)
    with tenant.runtime.sessions() as session:
        session.execute(update(RefreshTokenRow).values(expires_at=past))
        session.commit()
    response = refresh(tenant, app, token)
    assert response.json()["error"] == "invalid_grant"
    assert "expired" in response.json()["error_description"]


def test_a_narrowed_scope_is_granted_and_the_successor_keeps_the_whole_grant(
    tenant: Tenant,
) -> None:
    """RFC 6749 §6: scope may narrow the access token; the refresh token's scope is unchanged."""
    app, _, token = _signed_in(tenant)
    narrowed = refresh(tenant, app, token, scope="openid email").json()
    assert narrowed["scope"] == "openid email"
    assert claims(tenant, narrowed["access_token"])["scope"] == "openid email"
    assert "name" not in claims(tenant, narrowed["id_token"])
    again = refresh(tenant, app, narrowed["refresh_token"]).json()
    assert again["scope"] == EVERYTHING


def test_a_widened_scope_is_refused(tenant: Tenant) -> None:
    """RFC 6749 §6: the scope must not include any scope not originally granted."""
    app, _, token = _signed_in(tenant, scope="openid offline_access")
    response = refresh(tenant, app, token, scope="openid email")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
    assert "email" in response.json()["error_description"]
    assert refresh(tenant, app, token).status_code == 200, "a refusal leaves the token usable"


def test_a_blocked_user_can_no_longer_refresh(tenant: Tenant) -> None:
    app, user_id, token = _signed_in(tenant)
    assert tenant.api().patch(f"/users/{user_id}", json={"blocked": True}).status_code == 200
    response = refresh(tenant, app, token)
    assert response.json()["error"] == "invalid_grant"
    assert "blocked" in response.json()["error_description"]


def test_another_clients_refresh_token_is_invalid_grant(tenant: Tenant) -> None:
    app, _, token = _signed_in(tenant)
    other = make_app(tenant.api(), name="Other")
    assert refresh(tenant, other, token).json()["error"] == "invalid_grant"
    assert refresh(tenant, app, token).status_code == 200


def test_permissions_are_recomputed_from_the_users_roles_at_each_refresh(tenant: Tenant) -> None:
    """A role removed since the login takes its permissions out of the next access token."""
    api = tenant.api()
    make_api(api, enforce_policies=True)
    app = make_app(api)
    user_id = make_user(api)
    role = make_role(api, "Reader", "read:reports")
    api.post(f"/users/{user_id}/roles", json={"roles": [role]})
    body = sign_in(tenant, app, user_id, scope=f"{EVERYTHING} read:reports", audience=API)
    assert claims(tenant, body["access_token"])["permissions"] == ["read:reports"]
    api.request("DELETE", f"/users/{user_id}/roles", json={"roles": [role]}).raise_for_status()
    refreshed = refresh(tenant, app, body["refresh_token"]).json()
    assert claims(tenant, refreshed["access_token"])["permissions"] == []
    assert "read:reports" not in refreshed["scope"].split()


def test_revoke_user_refresh_tokens_ends_every_family_of_the_user(tenant: Tenant) -> None:
    """The helper that blocking and SCIM deprovisioning call."""
    app, user_id, token = _signed_in(tenant)
    with tenant.runtime.sessions() as session:
        assert revoke_user_refresh_tokens(session, tenant.runtime.clock.now(), user_id) == 1
        session.commit()
    assert refresh(tenant, app, token).json()["error"] == "invalid_grant"


def test_revoke_session_refresh_tokens_ends_only_that_sessions_tokens(tenant: Tenant) -> None:
    """The helper logout calls: tokens of another login session live on."""
    api = tenant.api()
    app = make_app(api)
    user_id = make_user(api)
    first, _ = start_session(tenant, user_id)
    second, _ = start_session(tenant, user_id)
    ended = sign_in(tenant, app, user_id, session_id=first)["refresh_token"]
    kept = sign_in(tenant, app, user_id, session_id=second)["refresh_token"]
    with tenant.runtime.sessions() as session:
        assert revoke_session_refresh_tokens(session, tenant.runtime.clock.now(), first) == 1
        session.commit()
    assert refresh(tenant, app, ended).json()["error"] == "invalid_grant"
    assert refresh(tenant, app, kept).status_code == 200


def test_a_missing_refresh_token_is_invalid_request(tenant: Tenant) -> None:
    app = make_app(tenant.api())
    response = tenant.http.post(
        "/oauth/token", data={"grant_type": "refresh_token", **app.credentials()}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
