"""``/api/v2/clients``: applications, their secrets and the OIN client (SPEC §2.1)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient

from expressway import hashing
from expressway.tenant.rows import (
    ClientCredentialRow,
    ClientGrantRow,
    ClientRow,
    ConnectionClientRow,
    ConnectionProfileRow,
    ConnectionRow,
    LogEventRow,
    UserAttributeProfileRow,
)
from tests.conftest import BACKENDS, Tenant, auth0_error

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)

OIN_CALLBACK = "http://localhost:8402/admin/app/generic/oauth20redirect"


def _public_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _create(api: TestClient, **fields: Any) -> dict[str, Any]:
    response = api.post("/clients", json={"name": "Acme Analytics", **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _add_profiles(tenant: Tenant) -> tuple[str, str]:
    """A user attribute profile and a connection profile, made directly in the database."""
    now = datetime.now(UTC)
    with tenant.runtime.sessions() as session:
        session.add(
            UserAttributeProfileRow(
                id="uap_test",
                name="Users",
                user_id={},
                user_attributes={},
                created_at=now,
                updated_at=now,
            )
        )
        session.add(
            ConnectionProfileRow(
                id="cop_test",
                name="Okta",
                organization={},
                connection_name_prefix_template="con-{org_id}-",
                enabled_features=[],
                connection_config={},
                strategy_overrides={},
                created_at=now,
                updated_at=now,
            )
        )
        session.commit()
    return "uap_test", "cop_test"


def _express_configuration(oin_client_id: str, **changes: Any) -> dict[str, Any]:
    return {
        "initiate_login_uri_template": "https://app.example/login?org={organization_name}",
        "user_attribute_profile_id": "uap_test",
        "connection_profile_id": "cop_test",
        "enable_client": True,
        "enable_organization": True,
        "linked_clients": [],
        "okta_oin_client_id": oin_client_id,
        "admin_login_domain": "acme.example",
        **changes,
    }


def test_a_regular_web_app_is_created_with_a_secret_shown_only_in_the_create_answer(
    tenant: Tenant,
) -> None:
    """The secret is returned once, never on GET or list, and stored only as its digest."""
    api = tenant.api()
    created = _create(
        api,
        app_type="regular_web",
        callbacks=["https://app.example/callback"],
        description="The analytics app",
    )
    secret = created["client_secret"]
    assert len(secret) >= 64
    assert created["token_endpoint_auth_method"] == "client_secret_post"
    assert created["client_authentication_methods"] is None
    assert created["grant_types"] == ["authorization_code", "refresh_token", "client_credentials"]
    assert created["organization_usage"] == "deny"
    fetched = api.get(f"/clients/{created['client_id']}").json()
    assert "client_secret" not in fetched
    assert fetched["description"] == "The analytics app"
    assert all("client_secret" not in c for c in api.get("/clients").json())
    with tenant.runtime.sessions() as session:
        row = session.get(ClientRow, created["client_id"])
        assert row is not None
        assert row.client_secret_hash == hashing.hash_token(secret)
        dumped = session.execute(sa.text("SELECT * FROM clients")).all()
    assert secret not in repr(dumped)


def test_the_oin_client_gets_the_express_configuration_defaults(tenant: Tenant) -> None:
    """SPEC §2.1: workforce callback, both grants, organizations required, RS256, no secret."""
    created = _create(tenant.api(), name="Okta OIN", app_type="express_configuration")
    assert created["callbacks"] == [OIN_CALLBACK]
    assert created["grant_types"] == ["authorization_code", "client_credentials"]
    assert created["organization_usage"] == "require"
    assert created["organization_require_behavior"] == "pre_login_prompt"
    assert created["jwt_configuration"]["alg"] == "RS256"
    assert "client_secret" not in created
    assert created["token_endpoint_auth_method"] is None
    assert created["client_authentication_methods"] == {"private_key_jwt": {"credentials": []}}
    with tenant.runtime.sessions() as session:
        row = session.get(ClientRow, created["client_id"])
        assert row is not None
        assert row.client_secret_hash is None


def test_values_given_for_the_oin_client_win_over_its_defaults(tenant: Tenant) -> None:
    created = _create(
        tenant.api(),
        app_type="express_configuration",
        callbacks=["https://okta.example/admin/app/generic/oauth20redirect"],
        organization_require_behavior="post_login_prompt",
    )
    assert created["callbacks"] == ["https://okta.example/admin/app/generic/oauth20redirect"]
    assert created["organization_require_behavior"] == "post_login_prompt"
    assert created["organization_usage"] == "require"


def test_the_oin_client_cannot_be_given_a_secret(tenant: Tenant) -> None:
    """The OIN authenticates with private_key_jwt only."""
    response = tenant.api().post(
        "/clients",
        json={
            "name": "Okta OIN",
            "app_type": "express_configuration",
            "token_endpoint_auth_method": "client_secret_post",
        },
    )
    assert response.status_code == 400
    assert "token_endpoint_auth_method" in auth0_error(response)["message"]


def test_a_single_page_app_is_public_and_has_no_secret(tenant: Tenant) -> None:
    """RFC 8252 §8.5: code in a browser cannot keep a secret."""
    created = _create(tenant.api(), app_type="spa")
    assert created["token_endpoint_auth_method"] == "none"
    assert "client_secret" not in created
    assert "client_credentials" not in created["grant_types"]


def test_a_public_client_cannot_use_client_credentials(tenant: Tenant) -> None:
    response = tenant.api().post(
        "/clients",
        json={
            "name": "SPA",
            "token_endpoint_auth_method": "none",
            "grant_types": ["client_credentials"],
        },
    )
    assert response.status_code == 400
    assert "client_credentials" in auth0_error(response)["message"]


def test_an_unsupported_grant_type_is_refused_naming_it(tenant: Tenant) -> None:
    response = tenant.api().post("/clients", json={"name": "Old", "grant_types": ["implicit"]})
    assert response.status_code == 400
    assert "implicit" in auth0_error(response)["message"]


def test_a_saas_app_keeps_home_realm_discovery_and_its_express_configuration(
    tenant: Tenant,
) -> None:
    _add_profiles(tenant)
    api = tenant.api()
    oin = _create(api, name="Okta OIN", app_type="express_configuration")
    web = _create(api, name="Mobile", app_type="native")
    created = _create(
        api,
        app_type="regular_web",
        home_realm_discovery=True,
        express_configuration=_express_configuration(
            oin["client_id"],
            initiate_login_uri_template=(
                "https://app.example/login?org={organization_id}&c={connection_name}"
            ),
            linked_clients=[{"client_id": web["client_id"]}],
        ),
    )
    fetched = api.get(f"/clients/{created['client_id']}").json()
    assert fetched["home_realm_discovery"] is True
    config = fetched["express_configuration"]
    assert config["okta_oin_client_id"] == oin["client_id"]
    assert config["linked_clients"] == [{"client_id": web["client_id"]}]
    assert config["oin_submission_id"] is None
    assert config["connection_profile_id"] == "cop_test"


def test_an_unknown_login_template_variable_is_refused_naming_it(tenant: Tenant) -> None:
    _add_profiles(tenant)
    api = tenant.api()
    oin = _create(api, name="Okta OIN", app_type="express_configuration")
    response = api.post(
        "/clients",
        json={
            "name": "App",
            "express_configuration": _express_configuration(
                oin["client_id"],
                initiate_login_uri_template="https://app.example/{tenant}/{organization_name}",
            ),
        },
    )
    assert response.status_code == 400
    message = auth0_error(response)["message"]
    assert "initiate_login_uri_template" in message
    assert "{tenant}" in message


BAD_EXPRESS_CONFIGURATIONS = [
    ({"user_attribute_profile_id": "uap_missing"}, "user_attribute_profile_id"),
    ({"connection_profile_id": "cop_missing"}, "connection_profile_id"),
    ({"linked_clients": [{"client_id": "nobody"}]}, "linked_clients"),
    ({"admin_login_domain": "not a domain"}, "admin_login_domain"),
    ({"oin_submission_id": "sub_1"}, "oin_submission_id"),
    ({"initiate_login_uri_template": "https://app.example/{organization_name"}, "brace"),
]


def test_an_express_configuration_with_a_bad_reference_is_refused_naming_it(
    tenant: Tenant,
) -> None:
    """Missing profiles or clients, a bad domain, the read-only submission id: each named."""
    _add_profiles(tenant)
    api = tenant.api()
    oin = _create(api, name="Okta OIN", app_type="express_configuration")
    for changes, named in BAD_EXPRESS_CONFIGURATIONS:
        config = _express_configuration(oin["client_id"], **changes)
        response = api.post("/clients", json={"name": "App", "express_configuration": config})
        assert response.status_code == 400, changes
        assert named in auth0_error(response)["message"], changes
    assert len(api.get("/clients").json()) == 2  # the admin client and the OIN client


def test_okta_oin_client_id_must_name_an_express_configuration_client(tenant: Tenant) -> None:
    _add_profiles(tenant)
    api = tenant.api()
    regular = _create(api, name="Not the OIN", app_type="regular_web")
    response = api.post(
        "/clients",
        json={"name": "App", "express_configuration": _express_configuration(regular["client_id"])},
    )
    assert response.status_code == 400
    assert "okta_oin_client_id" in auth0_error(response)["message"]


def test_express_configuration_is_replaced_then_removed_with_null(tenant: Tenant) -> None:
    _add_profiles(tenant)
    api = tenant.api()
    oin = _create(api, name="Okta OIN", app_type="express_configuration")
    app = _create(api, express_configuration=_express_configuration(oin["client_id"]))
    path = f"/clients/{app['client_id']}"
    changed = api.patch(
        path,
        json={
            "express_configuration": _express_configuration(
                oin["client_id"], admin_login_domain="login.acme.example:8443"
            )
        },
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["express_configuration"]["admin_login_domain"] == (
        "login.acme.example:8443"
    )
    removed = api.patch(path, json={"express_configuration": None})
    assert removed.json()["express_configuration"] is None


def test_initiate_login_uri_is_https_or_loopback_http(tenant: Tenant) -> None:
    api = tenant.api()
    for uri in (
        "https://app.example/login",
        "http://localhost:3000/login",
        "http://127.0.0.1/login",
    ):
        assert api.post("/clients", json={"name": "App", "initiate_login_uri": uri}).is_success
    for uri in ("http://app.example/login", "javascript:alert(1)", "https://"):
        response = api.post("/clients", json={"name": "App", "initiate_login_uri": uri})
        assert response.status_code == 400, uri
        assert "initiate_login_uri" in auth0_error(response)["message"]


def test_a_callback_with_a_fragment_is_refused(tenant: Tenant) -> None:
    """RFC 6749 §3.1.2: a redirection URI must not include a fragment."""
    response = tenant.api().post(
        "/clients", json={"name": "App", "callbacks": ["https://app.example/cb#x"]}
    )
    assert response.status_code == 400
    assert "callbacks[0]" in auth0_error(response)["message"]


def test_client_metadata_merges_on_update_and_null_removes_a_key(tenant: Tenant) -> None:
    """Auth0: root-level merge; a null value deletes its key; at most ten keys."""
    api = tenant.api()
    created = _create(api, client_metadata={"tier": "gold", "region": "eu"})
    path = f"/clients/{created['client_id']}"
    merged = api.patch(path, json={"client_metadata": {"region": None, "owner": "ops"}}).json()
    assert merged["client_metadata"] == {"tier": "gold", "owner": "ops"}
    too_many = api.patch(path, json={"client_metadata": {f"k{n}": "v" for n in range(9)}})
    assert too_many.status_code == 400
    assert "client_metadata" in auth0_error(too_many)["message"]
    assert api.get(path).json()["client_metadata"] == {"tier": "gold", "owner": "ops"}


def test_a_non_string_metadata_value_is_refused(tenant: Tenant) -> None:
    response = tenant.api().post("/clients", json={"name": "App", "client_metadata": {"n": 1}})
    assert response.status_code == 400
    assert "client_metadata" in auth0_error(response)["message"]


BAD_BODIES = [
    ({"name": "App", "colour": "blue"}, "colour"),
    ({"name": "App", "is_first_party": "yes"}, "is_first_party"),
    ({"name": "x" * 256}, "name"),
    ({"name": "App", "description": "d" * 141}, "description"),
    ({"name": "App", "app_type": "mainframe"}, "app_type"),
    ({"name": "App", "callbacks": None}, "callbacks"),
    ({"name": "App", "callbacks": ["x" * 2049]}, "callbacks"),
    ({"name": "App", "jwt_configuration": {"alg": "HS256"}}, "jwt_configuration.alg"),
    ({"name": "App", "web_origins": ["not a url"]}, "web_origins[0]"),
    ({"description": "no name"}, "name"),
]


def test_bad_input_is_a_400_naming_the_property(tenant: Tenant) -> None:
    api = tenant.api()
    for body, named in BAD_BODIES:
        response = api.post("/clients", json=body)
        assert response.status_code == 400, body
        assert named in auth0_error(response)["message"], body
    assert len(api.get("/clients").json()) == 1


def test_malformed_json_is_a_400_not_a_500(tenant: Tenant) -> None:
    response = tenant.api().post(
        "/clients", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert auth0_error(response)["errorCode"] == "invalid_body"


@pytest.mark.parametrize("word", ["NaN", "Infinity", "-Infinity"])
def test_nan_or_an_infinity_is_refused_as_malformed_json_and_nothing_changes(
    tenant: Tenant, word: str
) -> None:
    """RFC 8259 has no NaN or Infinity: refused as a body that is not JSON, naming the word."""
    api = tenant.api()
    created = _create(api, jwt_configuration={"lifetime_in_seconds": 3600})
    path = f"/clients/{created['client_id']}"
    headers = {"Content-Type": "application/json"}
    number = float(word)
    for response in (
        api.post("/clients", content=json.dumps({"name": "Other", "x": number}), headers=headers),
        api.patch(
            path,
            content=json.dumps({"jwt_configuration": {"lifetime_in_seconds": number}}),
            headers=headers,
        ),
    ):
        assert response.status_code == 400, response.text
        error = auth0_error(response)
        assert error["errorCode"] == "invalid_body"
        assert error["message"] == (
            f"Invalid request payload JSON format: {word} is not JSON"
            " (RFC 8259 has no NaN, Infinity or -Infinity)"
        )
    assert api.get(path).json()["jwt_configuration"]["lifetime_in_seconds"] == 3600
    assert [c["name"] for c in api.get("/clients").json()].count("Other") == 0


def test_a_client_secret_cannot_be_chosen(tenant: Tenant) -> None:
    api = tenant.api()
    created = _create(api)
    response = api.patch(f"/clients/{created['client_id']}", json={"client_secret": "hunter2"})
    assert response.status_code == 400
    assert "rotate-secret" in auth0_error(response)["message"]


def test_an_unknown_client_is_a_404_naming_it(tenant: Tenant) -> None:
    api = tenant.api()
    for response in (
        api.get("/clients/auth0|nobody"),
        api.patch("/clients/nobody", json={"name": "x"}),
        api.delete("/clients/nobody"),
        api.post("/clients/nobody/rotate-secret"),
    ):
        assert response.status_code == 404
        assert "nobody" in auth0_error(response)["message"]


def test_rotating_a_secret_returns_a_new_one_once(tenant: Tenant) -> None:
    api = tenant.api()
    created = _create(api)
    rotated = api.post(f"/clients/{created['client_id']}/rotate-secret")
    assert rotated.status_code == 200
    assert rotated.json()["client_secret"] != created["client_secret"]
    assert "client_secret" not in api.get(f"/clients/{created['client_id']}").json()


def test_a_client_without_a_secret_has_none_to_rotate(tenant: Tenant) -> None:
    api = tenant.api()
    spa = _create(api, app_type="spa")
    response = api.post(f"/clients/{spa['client_id']}/rotate-secret")
    assert response.status_code == 400
    assert "none" in auth0_error(response)["message"]


def test_switching_to_a_public_client_ends_the_secret_and_back_issues_a_new_one(
    tenant: Tenant,
) -> None:
    """A client has a secret exactly while it authenticates with one."""
    api = tenant.api()
    created = _create(api, grant_types=["authorization_code"])
    path = f"/clients/{created['client_id']}"
    public = api.patch(path, json={"token_endpoint_auth_method": "none"})
    assert "client_secret" not in public.json()
    with tenant.runtime.sessions() as session:
        row = session.get(ClientRow, created["client_id"])
        assert row is not None
        assert row.client_secret_hash is None
    confidential = api.patch(path, json={"token_endpoint_auth_method": "client_secret_basic"})
    assert confidential.json()["client_secret"] != created["client_secret"]


def test_issuing_a_secret_through_patch_needs_update_client_keys(tenant: Tenant) -> None:
    api = tenant.api()
    spa = _create(api, app_type="spa")
    narrow = tenant.api(scope="update:clients")
    response = narrow.patch(
        f"/clients/{spa['client_id']}", json={"token_endpoint_auth_method": "client_secret_post"}
    )
    assert response.status_code == 403
    assert "update:client_keys" in auth0_error(response)["message"]
    assert api.get(f"/clients/{spa['client_id']}").json()["token_endpoint_auth_method"] == "none"


def test_a_failed_update_changes_nothing(tenant: Tenant) -> None:
    api = tenant.api()
    created = _create(api, callbacks=["https://app.example/cb"])
    response = api.patch(
        f"/clients/{created['client_id']}",
        json={"name": "Renamed", "callbacks": ["https://app.example/cb#frag"]},
    )
    assert response.status_code == 400
    fetched = api.get(f"/clients/{created['client_id']}").json()
    assert fetched["name"] == "Acme Analytics"
    assert fetched["callbacks"] == ["https://app.example/cb"]


def test_the_oin_client_cannot_become_an_ordinary_client(tenant: Tenant) -> None:
    api = tenant.api()
    oin = _create(api, app_type="express_configuration")
    response = api.patch(f"/clients/{oin['client_id']}", json={"app_type": "regular_web"})
    assert response.status_code == 400
    assert "app_type" in auth0_error(response)["message"]


def test_deleting_a_client_deletes_its_grants_credentials_and_connection_links(
    tenant: Tenant,
) -> None:
    """Foreign keys cascade on both backends (SQLite's are switched on per connection)."""
    api = tenant.api()
    api.post(
        "/resource-servers",
        json={"identifier": "https://orders.example", "scopes": [{"value": "read:orders"}]},
    )
    created = _create(api, app_type="non_interactive")
    client_id = created["client_id"]
    grant = api.post(
        "/client-grants",
        json={"client_id": client_id, "audience": "https://orders.example", "scope": []},
    )
    assert grant.status_code == 201
    credential = api.post(
        f"/clients/{client_id}/credentials",
        json={"credential_type": "public_key", "pem": _public_pem()},
    )
    assert credential.status_code == 201
    with tenant.runtime.sessions() as session:
        database = session.scalars(sa.select(ConnectionRow)).one()
        session.add(ConnectionClientRow(connection_id=database.id, client_id=client_id))
        session.commit()
    assert api.delete(f"/clients/{client_id}").status_code == 204
    assert api.get(f"/clients/{client_id}").status_code == 404
    with tenant.runtime.sessions() as session:
        assert session.get(ClientGrantRow, grant.json()["id"]) is None
        assert session.get(ClientCredentialRow, credential.json()["id"]) is None
        assert session.get(ConnectionClientRow, (database.id, client_id)) is None


def test_the_admin_client_cannot_be_deleted(tenant: Tenant) -> None:
    api = tenant.api()
    response = api.delete(f"/clients/{tenant.admin_client_id}")
    assert response.status_code == 400
    assert api.get(f"/clients/{tenant.admin_client_id}").status_code == 200


def test_an_oin_client_in_use_cannot_be_deleted_and_a_linked_client_is_unlinked(
    tenant: Tenant,
) -> None:
    _add_profiles(tenant)
    api = tenant.api()
    oin = _create(api, app_type="express_configuration")
    mobile = _create(api, app_type="native")
    app = _create(
        api,
        express_configuration=_express_configuration(
            oin["client_id"], linked_clients=[{"client_id": mobile["client_id"]}]
        ),
    )
    refused = api.delete(f"/clients/{oin['client_id']}")
    assert refused.status_code == 400
    assert app["client_id"] in auth0_error(refused)["message"]
    assert api.delete(f"/clients/{mobile['client_id']}").status_code == 204
    config = api.get(f"/clients/{app['client_id']}").json()["express_configuration"]
    assert config["linked_clients"] == []


def test_listing_filters_by_app_type_and_first_party_and_pages_with_totals(
    tenant: Tenant,
) -> None:
    api = tenant.api()
    _create(api, name="SPA", app_type="spa")
    _create(api, name="Web", app_type="regular_web", is_first_party=False)
    _create(api, name="M2M", app_type="non_interactive")
    spas = api.get("/clients", params={"app_type": "spa,regular_web"}).json()
    assert sorted(c["name"] for c in spas) == ["SPA", "Web"]
    third_party = api.get("/clients", params={"is_first_party": "false"}).json()
    assert [c["name"] for c in third_party] == ["Web"]
    page = api.get("/clients", params={"per_page": 2, "page": 1, "include_totals": "true"}).json()
    assert page["total"] == 4
    assert page["start"] == 2
    assert len(page["clients"]) == 2


def test_fields_selects_the_properties_returned(tenant: Tenant) -> None:
    api = tenant.api()
    created = _create(api)
    path = f"/clients/{created['client_id']}"
    only = api.get(path, params={"fields": "client_id,name"}).json()
    assert only == {"client_id": created["client_id"], "name": "Acme Analytics"}
    without = api.get(path, params={"fields": "callbacks", "include_fields": "false"}).json()
    assert "callbacks" not in without
    assert "name" in without


def test_each_write_needs_its_scope(tenant: Tenant) -> None:
    assert tenant.http.get("/api/v2/clients").status_code == 401
    narrow = tenant.api(scope="read:clients")
    assert narrow.get("/clients").status_code == 200
    refused = narrow.post("/clients", json={"name": "App"})
    assert refused.status_code == 403
    assert "create:clients" in auth0_error(refused)["message"]


def test_every_write_is_logged(tenant: Tenant) -> None:
    api = tenant.api()
    created = _create(api)
    api.patch(f"/clients/{created['client_id']}", json={"name": "Renamed"})
    api.post(f"/clients/{created['client_id']}/rotate-secret")
    api.delete(f"/clients/{created['client_id']}")
    with tenant.runtime.sessions() as session:
        rows = session.execute(sa.select(LogEventRow.description, LogEventRow.details)).all()
    descriptions = {description for description, _ in rows}
    assert {
        "Create a client",
        "Update a client",
        "Rotate a client secret",
        "Delete a client",
    } <= descriptions
    assert created["client_secret"] not in repr(rows)
