"""``POST /oauth/token`` with ``authorization_code`` (RFC 6749 §4.1.3, RFC 7636, OIDC §3.1.3)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from expressway.tenant.rows import AuthorizationCodeRow, RefreshTokenRow
from tests.conftest import BACKENDS, Tenant
from tests.tenant.token_flows import (
    API,
    EVERYTHING,
    claims,
    exchange,
    log_types,
    make_api,
    make_app,
    make_user,
    mint_code,
    pkce_pair,
    refresh,
    sign_in,
    verified,
)

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)


def test_a_code_is_exchanged_for_an_access_token_an_id_token_and_a_refresh_token(
    tenant: Tenant,
) -> None:
    """RFC 6749 §5.1 and OIDC Core §3.1.3.3: the whole answer, in Auth0's shape."""
    api = tenant.api()
    make_api(api)
    user_id = make_user(api)
    app = make_app(api)
    verifier, challenge = pkce_pair()
    code = mint_code(
        tenant, app, user_id, scope=f"{EVERYTHING} read:reports", audience=API, challenge=challenge
    )
    response = exchange(tenant, app, code, verifier)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {
        "access_token",
        "id_token",
        "refresh_token",
        "scope",
        "expires_in",
        "token_type",
    }
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "openid profile email offline_access read:reports"
    header, access = verified(tenant, body["access_token"])
    assert header["typ"] == "at+jwt"
    assert access["sub"] == user_id
    assert access["aud"] == [API, "http://localhost:8401/userinfo"]
    assert access["client_id"] == access["azp"] == app.client_id
    assert access["scope"] == body["scope"]
    assert access["exp"] - access["iat"] == body["expires_in"]
    assert "permissions" not in access, "the API does not enforce RBAC"
    assert claims(tenant, body["id_token"])["aud"] == app.client_id
    assert log_types(tenant)[-1] == "seacft"


def test_without_an_audience_the_access_token_is_for_userinfo_as_auth0s_are(
    tenant: Tenant,
) -> None:
    """Auth0: a login without ``audience`` gets a token for ``{issuer}userinfo`` only."""
    api = tenant.api()
    body = sign_in(tenant, make_app(api), make_user(api), scope="openid email")
    access = claims(tenant, body["access_token"])
    assert access["aud"] == "http://localhost:8401/userinfo"
    assert access["scope"] == "openid email"
    assert body["expires_in"] == 86400


def test_without_openid_there_is_no_id_token(tenant: Tenant) -> None:
    """OIDC Core §3.1.2.1: an ID token answers only a request with the openid scope."""
    api = tenant.api()
    make_api(api)
    body = sign_in(tenant, make_app(api), make_user(api), scope="read:reports", audience=API)
    assert "id_token" not in body
    assert claims(tenant, body["access_token"])["aud"] == API


@pytest.mark.parametrize(
    ("client_fields", "api_fields", "scope"),
    [
        ({}, {}, "openid profile"),
        ({"grant_types": ["authorization_code"]}, {}, EVERYTHING),
        ({}, {"allow_offline_access": False}, EVERYTHING),
    ],
    ids=["offline_access-not-asked", "client-without-refresh-grant", "api-disallows-offline"],
)
def test_a_refresh_token_needs_offline_access_the_grant_type_and_the_apis_consent(
    tenant: Tenant, client_fields: dict[str, object], api_fields: dict[str, object], scope: str
) -> None:
    """Auth0: offline_access asked, refresh_token allowed to the client, and to the API."""
    api = tenant.api()
    make_api(api, **api_fields)
    app = make_app(api, **client_fields)
    body = sign_in(tenant, app, make_user(api), scope=scope, audience=API)
    assert "refresh_token" not in body
    assert "offline_access" not in body["scope"].split()


def test_a_reused_code_is_refused_and_the_refresh_tokens_of_its_first_exchange_revoked(
    tenant: Tenant,
) -> None:
    """RFC 6749 §4.1.2: a code used twice has leaked; what it gave is revoked."""
    api = tenant.api()
    app = make_app(api)
    user_id = make_user(api)
    verifier, challenge = pkce_pair()
    code = mint_code(tenant, app, user_id, challenge=challenge)
    first = exchange(tenant, app, code, verifier).json()
    again = exchange(tenant, app, code, verifier)
    assert again.status_code == 400
    assert again.json()["error"] == "invalid_grant"
    assert "already been used" in again.json()["error_description"]
    with tenant.runtime.sessions() as session:
        rows = list(session.scalars(select(RefreshTokenRow)))
    assert len(rows) == 1
    assert rows[0].revoked_at is not None
    assert refresh(tenant, app, first["refresh_token"]).json()["error"] == "invalid_grant"
    assert "feacft" in log_types(tenant)


def test_a_redirect_uri_other_than_the_authorization_requests_is_refused(tenant: Tenant) -> None:
    """RFC 6749 §4.1.3: redirect_uri must be identical to the one the code was issued for."""
    api = tenant.api()
    app = make_app(api)
    verifier, challenge = pkce_pair()
    code = mint_code(tenant, app, make_user(api), challenge=challenge)
    wrong = exchange(tenant, app, code, verifier, redirect_uri="https://app.example/callback/")
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    assert "redirect_uri" in wrong.json()["error_description"]
    missing = exchange(tenant, app, code, verifier, redirect_uri=None)
    assert missing.json()["error"] == "invalid_request"
    assert exchange(tenant, app, code, verifier).status_code == 200, "a refusal leaves the code"


def test_a_code_with_a_challenge_needs_its_verifier(tenant: Tenant) -> None:
    """RFC 7636 §4.6: without the verifier, or with another one, invalid_grant."""
    api = tenant.api()
    app = make_app(api)
    verifier, challenge = pkce_pair()
    code = mint_code(tenant, app, make_user(api), challenge=challenge)
    missing = exchange(tenant, app, code, None)
    assert missing.json()["error"] == "invalid_grant"
    assert "code_verifier is required" in missing.json()["error_description"]
    wrong = exchange(tenant, app, code, pkce_pair()[0])
    assert wrong.json()["error"] == "invalid_grant"
    assert "does not match" in wrong.json()["error_description"]
    assert exchange(tenant, app, code, verifier).status_code == 200


def test_a_plain_challenge_never_verifies(tenant: Tenant) -> None:
    """RFC 9700 §2.1.1: only S256; a plain challenge stored by mistake redeems nothing."""
    api = tenant.api()
    app = make_app(api)
    verifier, _ = pkce_pair()
    code = mint_code(tenant, app, make_user(api), challenge=verifier, method="plain")
    response = exchange(tenant, app, code, verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_a_verifier_for_a_code_without_a_challenge_is_refused(tenant: Tenant) -> None:
    """RFC 9700 §4.8.2: a verifier without a stored challenge is a PKCE downgrade."""
    api = tenant.api()
    app = make_app(api)
    code = mint_code(tenant, app, make_user(api))
    response = exchange(tenant, app, code, pkce_pair()[0])
    assert response.json()["error"] == "invalid_grant"
    assert exchange(tenant, app, code, None).status_code == 200, "a confidential client may skip"


def test_a_public_client_authenticates_by_client_id_and_must_use_pkce(tenant: Tenant) -> None:
    """RFC 6749 §2.1, RFC 9700 §2.1.1: a public client's code is protected by PKCE alone."""
    api = tenant.api()
    app = make_app(api, public=True)
    assert app.client_secret is None
    user_id = make_user(api)
    without = exchange(tenant, app, mint_code(tenant, app, user_id), None)
    assert without.status_code == 400
    assert without.json()["error"] == "invalid_grant"
    assert "PKCE" in without.json()["error_description"]
    assert sign_in(tenant, app, user_id)["access_token"]


def test_a_confidential_client_cannot_authenticate_with_its_client_id_alone(
    tenant: Tenant,
) -> None:
    """Only a client registered with token_endpoint_auth_method none may skip authentication."""
    api = tenant.api()
    app = make_app(api)
    verifier, challenge = pkce_pair()
    code = mint_code(tenant, app, make_user(api), challenge=challenge)
    response = exchange(tenant, app, code, verifier, client_secret=None)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_a_code_presented_by_another_client_is_refused_and_stays_usable(tenant: Tenant) -> None:
    """RFC 6749 §4.1.3: the code is bound to the client it was issued to."""
    api = tenant.api()
    app = make_app(api)
    other = make_app(api, name="Other")
    verifier, challenge = pkce_pair()
    code = mint_code(tenant, app, make_user(api), challenge=challenge)
    response = exchange(tenant, other, code, verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert exchange(tenant, app, code, verifier).status_code == 200


def test_an_expired_code_is_refused(tenant: Tenant) -> None:
    """RFC 6749 §4.1.2: codes are short-lived."""
    api = tenant.api()
    app = make_app(api)
    verifier, challenge = pkce_pair()
    code = mint_code(
        tenant, app, make_user(api), challenge=challenge, lifetime=timedelta(seconds=-1)
    )
    response = exchange(tenant, app, code, verifier)
    assert response.json()["error"] == "invalid_grant"
    assert "expired" in response.json()["error_description"]


def test_an_unknown_code_is_invalid_grant(tenant: Tenant) -> None:
    api = tenant.api()
    app = make_app(api)
    response = exchange(tenant, app, "not-a-code", None)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_a_user_blocked_after_signing_in_gets_no_tokens(tenant: Tenant) -> None:
    """A block takes effect at once, even on a code already issued."""
    api = tenant.api()
    app = make_app(api)
    user_id = make_user(api)
    verifier, challenge = pkce_pair()
    code = mint_code(tenant, app, user_id, challenge=challenge)
    assert api.patch(f"/users/{user_id}", json={"blocked": True}).status_code == 200
    response = exchange(tenant, app, code, verifier)
    assert response.json()["error"] == "invalid_grant"
    assert "blocked" in response.json()["error_description"]


def test_a_client_without_the_grant_type_is_unauthorized(tenant: Tenant) -> None:
    """RFC 6749 §5.2: unauthorized_client."""
    api = tenant.api()
    app = make_app(api, app_type="non_interactive", callbacks=[])
    response = exchange(tenant, app, "whatever", None)
    assert response.status_code == 403
    assert response.json()["error"] == "unauthorized_client"


def test_the_code_is_marked_used_only_by_a_successful_exchange(tenant: Tenant) -> None:
    """The code's row records its use and the refresh family the exchange started."""
    api = tenant.api()
    app = make_app(api)
    verifier, challenge = pkce_pair()
    code = mint_code(tenant, app, make_user(api), challenge=challenge)
    exchange(tenant, app, code, None)
    with tenant.runtime.sessions() as session:
        assert session.scalars(select(AuthorizationCodeRow.used_at)).one() is None
    exchange(tenant, app, code, verifier)
    with tenant.runtime.sessions() as session:
        row = session.scalars(select(AuthorizationCodeRow)).one()
        family = session.scalars(select(RefreshTokenRow.family_id)).one()
    assert row.used_at is not None
    assert row.refresh_family_id == family


def test_a_code_for_an_api_deleted_since_is_refused(tenant: Tenant) -> None:
    api = tenant.api()
    make_api(api)
    app = make_app(api)
    verifier, challenge = pkce_pair()
    code = mint_code(tenant, app, make_user(api), audience=API, challenge=challenge)
    server_id = next(s["id"] for s in api.get("/resource-servers").json() if s["identifier"] == API)
    assert api.delete(f"/resource-servers/{server_id}").status_code == 204
    response = exchange(tenant, app, code, verifier)
    assert response.json()["error"] == "invalid_grant"
    assert API in response.json()["error_description"]
