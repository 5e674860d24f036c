"""``/userinfo`` (OIDC Core §5.3, RFC 6750 §3): claims for a bearer access token."""

from __future__ import annotations

import pytest

from expressway import jose
from expressway.tenant.authn.tokens import issue_access_token
from tests.conftest import BACKENDS, Tenant
from tests.tenant.token_flows import API, make_api, make_app, make_user, sign_in

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_userinfo_answers_the_claims_the_scopes_release_by_get_and_by_post(
    tenant: Tenant,
) -> None:
    """OIDC Core §5.3.1: both methods; sub always, profile and email claims by scope."""
    api = tenant.api()
    user_id = make_user(api)
    token = sign_in(tenant, make_app(api), user_id, scope="openid email")["access_token"]
    for response in (
        tenant.http.get("/userinfo", headers=_bearer(token)),
        tenant.http.post("/userinfo", headers=_bearer(token)),
    ):
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        assert response.headers["cache-control"] == "no-store"
        assert response.json() == {
            "sub": user_id,
            "email": "jane@example.com",
            "email_verified": False,
        }


def test_a_token_for_an_api_with_openid_also_opens_userinfo(tenant: Tenant) -> None:
    """Auth0: with openid, the API's token names {issuer}userinfo among its audiences."""
    api = tenant.api()
    make_api(api)
    user_id = make_user(api)
    body = sign_in(tenant, make_app(api), user_id, scope="openid profile", audience=API)
    response = tenant.http.get("/userinfo", headers=_bearer(body["access_token"]))
    assert response.json()["name"] == "Jane Doe"


@pytest.mark.parametrize(
    "token",
    ["not-a-jwt", "a.b.c", ""],
    ids=["garbage", "three-garbage-parts", "empty"],
)
def test_a_bad_token_is_401_with_a_bearer_challenge(tenant: Tenant, token: str) -> None:
    """RFC 6750 §3.1: invalid_token in WWW-Authenticate (a request without one: no error)."""
    response = tenant.http.get("/userinfo", headers=_bearer(token))
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer")
    if token:
        assert challenge == 'Bearer error="invalid_token"'


def test_an_expired_token_is_refused(tenant: Tenant) -> None:
    api = tenant.api()
    user_id = make_user(api)
    expired = issue_access_token(
        tenant.runtime,
        subject=user_id,
        client_id="x",
        audience="http://localhost:8401/userinfo",
        scopes=["openid"],
        lifetime=-1,
    )
    response = tenant.http.get("/userinfo", headers=_bearer(expired))
    assert response.status_code == 401
    assert "expired" in response.json()["error_description"]


def test_a_token_for_another_audience_is_refused(tenant: Tenant) -> None:
    """An API's token without openid is not a userinfo token."""
    api = tenant.api()
    make_api(api)
    body = sign_in(tenant, make_app(api), make_user(api), scope="read:reports", audience=API)
    response = tenant.http.get("/userinfo", headers=_bearer(body["access_token"]))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def test_an_id_token_is_not_accepted_as_an_access_token(tenant: Tenant) -> None:
    """Only typ at+jwt (RFC 9068 §4): an ID token in the wrong place is refused."""
    api = tenant.api()
    body = sign_in(tenant, make_app(api), make_user(api), scope="openid")
    response = tenant.http.get("/userinfo", headers=_bearer(body["id_token"]))
    assert response.status_code == 401


def test_a_token_signed_by_another_key_is_refused(tenant: Tenant) -> None:
    forged = jose.sign_jwt(
        {
            "iss": "http://localhost:8401/",
            "aud": "http://localhost:8401/userinfo",
            "sub": "auth0|someone",
            "exp": tenant.runtime.clock.timestamp() + 60,
            "scope": "openid",
        },
        jose.generate_signing_key("stranger"),
        typ="at+jwt",
    )
    assert tenant.http.get("/userinfo", headers=_bearer(forged)).status_code == 401


def test_a_token_without_openid_is_403_insufficient_scope(tenant: Tenant) -> None:
    """RFC 6750 §3.1: a valid token lacking the scope the resource needs."""
    api = tenant.api()
    token = sign_in(tenant, make_app(api), make_user(api), scope="email")["access_token"]
    response = tenant.http.get("/userinfo", headers=_bearer(token))
    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]


def test_a_blocked_users_token_is_refused(tenant: Tenant) -> None:
    api = tenant.api()
    user_id = make_user(api)
    token = sign_in(tenant, make_app(api), user_id, scope="openid")["access_token"]
    api.patch(f"/users/{user_id}", json={"blocked": True})
    response = tenant.http.get("/userinfo", headers=_bearer(token))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
