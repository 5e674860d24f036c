"""``/api/v2/clients/{id}/credentials`` and their activation for ``private_key_jwt``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from fastapi.testclient import TestClient

from expressway import jose
from expressway.tenant.rows import ClientCredentialRow
from tests.conftest import BACKENDS, Tenant, auth0_error

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)


@cache
def _rsa_key(index: int, bits: int) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=bits)


def _spki(index: int = 0, bits: int = 2048) -> str:
    return (
        _rsa_key(index, bits)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _pkcs1(index: int = 0) -> str:
    return (
        _rsa_key(index, 2048)
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.PKCS1)
        .decode()
    )


def _certificate(index: int = 0) -> str:
    key = _rsa_key(index, 2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "oin.example")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def _client(api: TestClient, **fields: Any) -> str:
    response = api.post("/clients", json={"name": "Okta OIN", **fields})
    assert response.status_code == 201, response.text
    client_id: str = response.json()["client_id"]
    return client_id


def _upload(api: TestClient, client_id: str, **fields: Any) -> dict[str, Any]:
    body = {"credential_type": "public_key", "pem": _spki(), "alg": "RS256", **fields}
    response = api.post(f"/clients/{client_id}/credentials", json=body)
    assert response.status_code == 201, response.text
    credential: dict[str, Any] = response.json()
    return credential


def _activate(api: TestClient, client_id: str, *credential_ids: str) -> Any:
    return api.patch(
        f"/clients/{client_id}",
        json={
            "client_authentication_methods": {
                "private_key_jwt": {"credentials": [{"id": i} for i in credential_ids]}
            }
        },
    )


def test_an_uploaded_key_is_answered_in_auth0s_shape_with_the_thumbprint_as_kid(
    tenant: Tenant,
) -> None:
    """RFC 7638: without a kid, the key's JWK thumbprint names it."""
    api = tenant.api()
    client_id = _client(api, app_type="express_configuration")
    credential = _upload(api, client_id, name="OIN key")
    assert credential["id"].startswith("cred_")
    assert credential["kid"] == jose.read_public_key(_spki()).thumbprint
    assert credential["alg"] == "RS256"
    assert credential["credential_type"] == "public_key"
    assert credential["name"] == "OIN key"
    assert credential["expires_at"] is None
    assert {"created_at", "updated_at"} <= set(credential)
    assert "pem" not in credential
    assert api.get(f"/clients/{client_id}/credentials/{credential['id']}").json() == credential
    assert api.get(f"/clients/{client_id}/credentials").json() == [credential]


@pytest.mark.parametrize("pem", [_pkcs1, _certificate], ids=["pkcs1", "x509"])
def test_a_pkcs1_key_or_a_certificate_is_accepted_as_the_same_key(tenant: Tenant, pem: Any) -> None:
    api = tenant.api()
    client_id = _client(api)
    credential = _upload(api, client_id, pem=pem(), kid="given-kid-0001", alg="PS256")
    assert credential["kid"] == "given-kid-0001"
    assert credential["alg"] == "PS256"
    with tenant.runtime.sessions() as session:
        row = session.get(ClientCredentialRow, credential["id"])
        assert row is not None
        assert row.thumbprint == jose.read_public_key(_spki()).thumbprint
        assert "CERTIFICATE" not in row.pem


def _ec_key() -> str:
    return (
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _private_key() -> str:
    return (
        _rsa_key(0, 2048)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )


def test_a_weak_or_wrong_key_or_bad_field_is_refused_naming_it(tenant: Tenant) -> None:
    """Weak, non-RSA, private or unreadable keys name pem; other bad fields name themselves."""
    api = tenant.api()
    client_id = _client(api)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"pem": _spki(9, bits=1024)}, "pem"),
        ({"pem": _ec_key()}, "pem"),
        ({"pem": _private_key()}, "pem"),
        ({"pem": "not a pem"}, "pem"),
        ({"alg": "HS256"}, "alg"),
        ({"credential_type": "x509_cert"}, "credential_type"),
        ({"kid": "short"}, "kid"),
        ({"expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"expires_at": "2031-01-01T00:00:00"}, "expires_at"),
        ({"private_key": "x"}, "private_key"),
    ]
    for changes, named in cases:
        body = {"credential_type": "public_key", "pem": _spki(), **changes}
        response = api.post(f"/clients/{client_id}/credentials", json=body)
        assert response.status_code == 400, changes
        assert named in auth0_error(response)["message"], changes
    assert api.get(f"/clients/{client_id}/credentials").json() == []


def test_a_duplicate_kid_or_key_on_a_client_is_a_409(tenant: Tenant) -> None:
    api = tenant.api()
    client_id = _client(api)
    _upload(api, client_id, kid="oin-key-0001")
    same_kid = api.post(
        f"/clients/{client_id}/credentials",
        json={"credential_type": "public_key", "pem": _spki(1), "kid": "oin-key-0001"},
    )
    assert same_kid.status_code == 409
    assert "oin-key-0001" in auth0_error(same_kid)["message"]
    same_key = api.post(
        f"/clients/{client_id}/credentials", json={"credential_type": "public_key", "pem": _spki()}
    )
    assert same_key.status_code == 409


def test_activation_keeps_the_order_given_and_shows_on_the_client(tenant: Tenant) -> None:
    api = tenant.api()
    client_id = _client(api, app_type="express_configuration")
    first = _upload(api, client_id)["id"]
    second = _upload(api, client_id, pem=_spki(1))["id"]
    activated = _activate(api, client_id, second, first)
    assert activated.status_code == 200, activated.text
    methods = api.get(f"/clients/{client_id}").json()["client_authentication_methods"]
    assert methods == {"private_key_jwt": {"credentials": [{"id": second}, {"id": first}]}}
    with tenant.runtime.sessions() as session:
        row = session.get(ClientCredentialRow, second)
        assert row is not None
        assert row.active_position == 0


def test_an_empty_list_deactivates_every_credential(tenant: Tenant) -> None:
    api = tenant.api()
    client_id = _client(api, app_type="express_configuration")
    credential = _upload(api, client_id)["id"]
    _activate(api, client_id, credential)
    cleared = _activate(api, client_id).json()
    assert cleared["client_authentication_methods"] == {"private_key_jwt": {"credentials": []}}
    assert cleared["token_endpoint_auth_method"] is None


def test_a_regular_client_moved_to_private_key_jwt_loses_its_secret(tenant: Tenant) -> None:
    api = tenant.api()
    client_id = _client(api, app_type="non_interactive")
    credential = _upload(api, client_id)["id"]
    moved = _activate(api, client_id, credential).json()
    assert moved["token_endpoint_auth_method"] is None
    assert moved["client_authentication_methods"]["private_key_jwt"]["credentials"] == [
        {"id": credential}
    ]
    assert api.post(f"/clients/{client_id}/rotate-secret").status_code == 400


def test_a_credential_of_another_client_cannot_be_activated(tenant: Tenant) -> None:
    api = tenant.api()
    mine = _client(api, app_type="express_configuration")
    other = _client(api, app_type="express_configuration")
    foreign = _upload(api, other)["id"]
    response = _activate(api, mine, foreign)
    assert response.status_code == 400
    assert foreign in auth0_error(response)["message"]
    assert api.get(f"/clients/{mine}/credentials/{foreign}").status_code == 404


def test_private_key_jwt_and_a_token_endpoint_auth_method_are_mutually_exclusive(
    tenant: Tenant,
) -> None:
    api = tenant.api()
    client_id = _client(api)
    credential = _upload(api, client_id)["id"]
    response = api.patch(
        f"/clients/{client_id}",
        json={
            "token_endpoint_auth_method": "client_secret_post",
            "client_authentication_methods": {
                "private_key_jwt": {"credentials": [{"id": credential}]}
            },
        },
    )
    assert response.status_code == 400
    assert "mutually exclusive" in auth0_error(response)["message"]


def test_activating_needs_update_client_credentials(tenant: Tenant) -> None:
    api = tenant.api()
    client_id = _client(api, app_type="express_configuration")
    credential = _upload(api, client_id)["id"]
    response = _activate(tenant.api(scope="update:clients"), client_id, credential)
    assert response.status_code == 403
    assert "update:client_credentials" in auth0_error(response)["message"]


def test_deleting_an_active_credential_takes_it_off_the_active_list(tenant: Tenant) -> None:
    api = tenant.api()
    client_id = _client(api, app_type="express_configuration")
    kept = _upload(api, client_id)["id"]
    dropped = _upload(api, client_id, pem=_spki(1))["id"]
    _activate(api, client_id, kept, dropped)
    assert api.delete(f"/clients/{client_id}/credentials/{dropped}").status_code == 204
    methods = api.get(f"/clients/{client_id}").json()["client_authentication_methods"]
    assert methods["private_key_jwt"]["credentials"] == [{"id": kept}]
    assert api.get(f"/clients/{client_id}/credentials/{dropped}").status_code == 404


def test_expires_at_is_changed_with_patch_and_cleared_with_null(tenant: Tenant) -> None:
    api = tenant.api()
    client_id = _client(api)
    credential = _upload(api, client_id, expires_at="2040-01-01T00:00:00Z")
    assert credential["expires_at"].startswith("2040-01-01T00:00:00")
    path = f"/clients/{client_id}/credentials/{credential['id']}"
    moved = api.patch(path, json={"expires_at": "2041-06-01T12:00:00+02:00"}).json()
    assert moved["expires_at"].startswith("2041-06-01T10:00:00")
    assert api.patch(path, json={"expires_at": None}).json()["expires_at"] is None
    past = api.patch(path, json={"expires_at": "2001-01-01T00:00:00Z"})
    assert past.status_code == 400
    assert "expires_at" in auth0_error(past)["message"]


def test_an_oin_client_can_be_created_with_its_key_inline(tenant: Tenant) -> None:
    """Auth0 takes whole public keys in client_authentication_methods on create."""
    api = tenant.api()
    created = api.post(
        "/clients",
        json={
            "name": "Machine",
            "app_type": "non_interactive",
            "client_authentication_methods": {
                "private_key_jwt": {
                    "credentials": [{"credential_type": "public_key", "pem": _spki()}]
                }
            },
        },
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert "client_secret" not in body
    [active] = body["client_authentication_methods"]["private_key_jwt"]["credentials"]
    listed = api.get(f"/clients/{body['client_id']}/credentials").json()
    assert [c["id"] for c in listed] == [active["id"]]


def test_an_inline_weak_key_is_refused_and_no_client_is_made(tenant: Tenant) -> None:
    api = tenant.api()
    response = api.post(
        "/clients",
        json={
            "name": "Machine",
            "client_authentication_methods": {
                "private_key_jwt": {
                    "credentials": [{"credential_type": "public_key", "pem": _spki(9, bits=1024)}]
                }
            },
        },
    )
    assert response.status_code == 400
    assert "credentials[0]: pem" in auth0_error(response)["message"]
    assert [c["name"] for c in api.get("/clients").json()] == ["Expressway Management Client"]


def test_credentials_of_an_unknown_client_are_a_404(tenant: Tenant) -> None:
    response = tenant.api().get("/clients/nobody/credentials")
    assert response.status_code == 404
    assert "nobody" in auth0_error(response)["message"]


def test_each_credential_call_needs_its_scope(tenant: Tenant) -> None:
    api = tenant.api()
    client_id = _client(api)
    narrow = tenant.api(scope="read:clients")
    listed = narrow.get(f"/clients/{client_id}/credentials")
    assert listed.status_code == 403
    assert "read:client_credentials" in auth0_error(listed)["message"]
    created = narrow.post(
        f"/clients/{client_id}/credentials", json={"credential_type": "public_key", "pem": _spki()}
    )
    assert created.status_code == 403
