"""``POST /oauth/token`` with ``client_credentials`` (RFC 6749 §4.4) and the tenant's keys."""

from __future__ import annotations

import base64
import json
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from expressway import jose
from expressway.tenant.authn.endpoints import MAX_PARAMETERS_BYTES, form_pairs
from tests.conftest import Tenant


def _form(tenant: Tenant, **overrides: str) -> dict[str, str]:
    form = {
        "grant_type": "client_credentials",
        "client_id": tenant.admin_client_id,
        "client_secret": tenant.admin_client_secret,
        "audience": tenant.runtime.settings.management_audience,
    }
    form.update(overrides)
    return {k: v for k, v in form.items() if v != ""}


#: Text a form field may hold: what escapes (%, +, &, =, ;), spaces, non-ASCII, broken escapes.
_FORM_TEXT = st.lists(st.sampled_from([*"ab%+&=; é€/:2F", "%2", "%zz", "%C3%A9"]), max_size=12).map(
    "".join
)


@given(st.lists(st.tuples(_FORM_TEXT, _FORM_TEXT)), _FORM_TEXT)
def test_a_form_is_read_as_the_standard_librarys_parser_reads_it(
    fields: list[tuple[str, str]], raw: str
) -> None:
    for text in (urlencode(fields), raw, f"{raw}&{urlencode(fields)}&&"):
        latin = text.encode("utf-8").decode("latin-1")
        assert form_pairs(latin) == parse_qsl(latin, keep_blank_values=True)


def test_an_access_token_is_an_rfc9068_jwt_verifiable_with_the_published_jwks(
    tenant: Tenant,
) -> None:
    """RFC 9068 §2: typ at+jwt, iss, sub, aud, exp, iat, jti, client_id, scope."""
    response = tenant.http.post("/oauth/token", data=_form(tenant, scope="read:roles read:users"))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "read:roles read:users"
    jwks = tenant.http.get("/.well-known/jwks.json").json()["keys"]
    header, claims = jose.verify_jwt(body["access_token"], jose.key_set(jwks))
    assert header["typ"] == "at+jwt"
    assert claims["iss"] == "http://localhost:8401/"
    assert claims["aud"] == "http://localhost:8401/api/v2/"
    assert claims["sub"] == f"{tenant.admin_client_id}@clients"
    assert claims["client_id"] == tenant.admin_client_id
    assert claims["exp"] - claims["iat"] == body["expires_in"]
    assert claims["jti"]


def test_client_secret_basic_is_accepted(tenant: Tenant) -> None:
    """RFC 6749 §2.3.1: the id and secret in an HTTP Basic header."""
    credentials = f"{tenant.admin_client_id}:{tenant.admin_client_secret}".encode()
    response = tenant.http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "audience": tenant.runtime.settings.management_audience,
        },
        headers={"Authorization": "Basic " + base64.b64encode(credentials).decode()},
    )
    assert response.status_code == 200, response.text


def test_json_bodies_are_accepted_as_auth0_does(tenant: Tenant) -> None:
    response = tenant.http.post("/oauth/token", json=_form(tenant))
    assert response.status_code == 200, response.text


def test_a_wrong_secret_is_invalid_client_with_401_and_a_challenge(tenant: Tenant) -> None:
    response = tenant.http.post("/oauth/token", data=_form(tenant, client_secret="wrong"))
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert "Basic" in response.headers["www-authenticate"]


def test_an_unknown_client_reads_exactly_like_a_wrong_secret(tenant: Tenant) -> None:
    """No answer tells an attacker which client ids exist."""
    wrong_secret = tenant.http.post("/oauth/token", data=_form(tenant, client_secret="wrong"))
    unknown = tenant.http.post("/oauth/token", data=_form(tenant, client_id="nobody"))
    assert unknown.status_code == wrong_secret.status_code == 401
    assert unknown.json() == wrong_secret.json()


def test_two_authentication_methods_at_once_are_refused(tenant: Tenant) -> None:
    """RFC 6749 §2.3: a client must not use more than one method in a request."""
    credentials = f"{tenant.admin_client_id}:{tenant.admin_client_secret}".encode()
    response = tenant.http.post(
        "/oauth/token",
        data=_form(tenant),
        headers={"Authorization": "Basic " + base64.b64encode(credentials).decode()},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


@pytest.mark.parametrize(
    ("overrides", "status", "error"),
    [
        ({"grant_type": ""}, 400, "invalid_request"),
        ({"grant_type": "password"}, 400, "unsupported_grant_type"),
        ({"audience": ""}, 400, "invalid_request"),
        ({"audience": "https://nothing.example"}, 400, "invalid_request"),
        ({"scope": "read:roles delete:everything"}, 400, "invalid_scope"),
    ],
)
def test_bad_token_requests_get_rfc6749_errors(
    tenant: Tenant, overrides: dict[str, str], status: int, error: str
) -> None:
    response = tenant.http.post("/oauth/token", data=_form(tenant, **overrides))
    assert response.status_code == status
    body = response.json()
    assert body["error"] == error
    assert body["error_description"]


def test_a_repeated_parameter_is_refused(tenant: Tenant) -> None:
    """RFC 6749 §3.2: parameters must not be included more than once."""
    response = tenant.http.post(
        "/oauth/token",
        content="grant_type=client_credentials&grant_type=client_credentials",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert "grant_type" in response.json()["error_description"]


def test_a_body_that_is_neither_a_form_nor_json_is_refused(tenant: Tenant) -> None:
    response = tenant.http.post(
        "/oauth/token", content=b"\x00\x01", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_broken_json_is_refused_not_crashed_on(tenant: Tenant) -> None:
    response = tenant.http.post(
        "/oauth/token", content=b"{oops", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400


def test_a_body_past_the_limit_is_refused_unread(tenant: Tenant) -> None:
    """The form is read up to MAX_PARAMETERS_BYTES: a megabyte of padding is a 400 in RFC 6749's
    shape, not a body held in memory whole."""
    padding = "x" * (MAX_PARAMETERS_BYTES + 1)
    response = tenant.http.post(
        "/oauth/token",
        content=f"grant_type=client_credentials&padding={padding}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert str(MAX_PARAMETERS_BYTES) in response.json()["error_description"]


def test_form_values_are_percent_decoded_as_utf8(tenant: Tenant) -> None:
    """``+`` is a space and ``%XX`` escapes are UTF-8, as a browser encodes a form: the refusal
    quotes the audience decoded."""
    form = "&".join(f"{k}={v}" for k, v in _form(tenant).items() if k != "audience")
    response = tenant.http.post(
        "/oauth/token",
        content=f"{form}&audience=https%3A%2F%2Fnowhere.example%2Fcaf%C3%A9+au+lait",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400, response.text
    assert "https://nowhere.example/café au lait" in response.json()["error_description"]


def test_json_that_is_not_utf8_is_refused_not_crashed_on(tenant: Tenant) -> None:
    response = tenant.http.post(
        "/oauth/token",
        content=b'{"grant_type": "\xff\xfe',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


def test_a_json_null_parameter_is_taken_as_not_sent(tenant: Tenant) -> None:
    """Auth0's SDKs send ``"organization": null`` with a client-credentials request."""
    response = tenant.http.post("/oauth/token", json={**_form(tenant), "organization": None})
    assert response.status_code == 200, response.text
    jwks = tenant.http.get("/.well-known/jwks.json").json()["keys"]
    _, claims = jose.verify_jwt(response.json()["access_token"], jose.key_set(jwks))
    assert "org_id" not in claims


def test_a_json_parameter_of_another_type_is_refused(tenant: Tenant) -> None:
    response = tenant.http.post("/oauth/token", json={**_form(tenant), "organization": 7})
    assert response.status_code == 400
    assert "organization" in response.json()["error_description"]


@pytest.mark.parametrize("word", ["NaN", "Infinity", "-Infinity"])
def test_nan_or_an_infinity_in_a_json_body_is_refused_as_not_json(
    tenant: Tenant, word: str
) -> None:
    """RFC 8259 has no NaN or Infinity: ``invalid_request`` naming the word (the fast path's
    answer and the endpoint's are the same)."""
    response = tenant.http.post(
        "/oauth/token",
        content=json.dumps({**_form(tenant), "organization": float(word)}),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_request",
        "error_description": f"the request body is not valid JSON: {word} is not JSON"
        " (RFC 8259 has no NaN, Infinity or -Infinity)",
    }


def test_discovery_names_the_issuer_and_its_endpoints(tenant: Tenant) -> None:
    """OpenID Connect Discovery 1.0 §3: issuer equals the URL the document was fetched under."""
    document = tenant.http.get("/.well-known/openid-configuration").json()
    assert document["issuer"] == "http://localhost:8401/"
    assert document["token_endpoint"] == "http://localhost:8401/oauth/token"
    assert document["jwks_uri"] == "http://localhost:8401/.well-known/jwks.json"


def test_the_jwks_publishes_the_current_and_next_keys_without_private_parts(tenant: Tenant) -> None:
    keys = tenant.http.get("/.well-known/jwks.json").json()["keys"]
    assert len(keys) == 2
    for key in keys:
        assert key["kty"] == "RSA"
        assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key)


def test_a_token_for_another_audience_is_refused_by_the_management_api(tenant: Tenant) -> None:
    """The Management API accepts only tokens whose aud is its own identifier."""
    from expressway.tenant.authn.tokens import issue_access_token

    other = issue_access_token(
        tenant.runtime,
        subject="x@clients",
        client_id=tenant.admin_client_id,
        audience="https://other.example",
        scopes=["read:resource_servers"],
        lifetime=60,
    )
    response = tenant.http.get(
        "/api/v2/resource-servers", headers={"Authorization": f"Bearer {other}"}
    )
    assert response.status_code == 401


def test_an_expired_management_token_is_refused(tenant: Tenant) -> None:
    from expressway.tenant.authn.tokens import issue_access_token

    expired = issue_access_token(
        tenant.runtime,
        subject="x@clients",
        client_id=tenant.admin_client_id,
        audience=tenant.runtime.settings.management_audience,
        scopes=["read:resource_servers"],
        lifetime=-1,
    )
    response = tenant.http.get(
        "/api/v2/resource-servers", headers={"Authorization": f"Bearer {expired}"}
    )
    assert response.status_code == 401
    assert "expired" in response.json()["message"]


def test_a_token_signed_by_another_key_is_refused(tenant: Tenant) -> None:
    stranger = jose.generate_signing_key("stranger")
    forged = jose.sign_jwt(
        {
            "iss": "http://localhost:8401/",
            "aud": tenant.runtime.settings.management_audience,
            "exp": tenant.runtime.clock.timestamp() + 60,
            "scope": "read:resource_servers",
        },
        stranger,
    )
    response = tenant.http.get(
        "/api/v2/resource-servers", headers={"Authorization": f"Bearer {forged}"}
    )
    assert response.status_code == 401


def test_every_answer_carries_the_security_headers(tenant: Tenant) -> None:
    """Nothing the tenant serves may be framed or content-sniffed."""
    for response in (
        tenant.http.get("/.well-known/jwks.json"),
        tenant.http.get("/api/v2/resource-servers"),
        tenant.http.post("/oauth/token", data={}),
    ):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
