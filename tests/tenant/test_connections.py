"""``/api/v2/connections`` and ``/api/v2/connections/{id}/clients``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select

from expressway import ids
from expressway.tenant.rows import (
    ClientRow,
    ConnectionClientRow,
    ConnectionRow,
    LogEventRow,
    ScimConfigurationRow,
    UserRow,
)
from expressway.tenant.services import connections as service
from tests.conftest import BACKENDS, Tenant, auth0_error

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)

UPSTREAM_SECRET = "upstream-secret-0123456789-abcdefghij"


def okta(name: str = "acme-okta", **options: Any) -> dict[str, Any]:
    return {
        "name": name,
        "strategy": "okta",
        "options": {
            "domain": "acme.okta.example",
            "client_id": "0oa-upstream",
            "client_secret": UPSTREAM_SECRET,
            **options,
        },
    }


def insert_client(tenant: Tenant, name: str = "SaaS app") -> str:
    """A client inserted directly, as clients are not this module's subject."""
    now = datetime.now(UTC)
    client_id = ids.client_id()
    with tenant.runtime.sessions() as session:
        session.add(
            ClientRow(
                client_id=client_id,
                name=name,
                app_type="regular_web",
                is_first_party=True,
                callbacks=[],
                allowed_logout_urls=[],
                web_origins=[],
                allowed_origins=[],
                grant_types=["authorization_code"],
                token_endpoint_auth_method="client_secret_post",
                jwt_configuration={"alg": "RS256"},
                client_metadata={},
                home_realm_discovery=False,
                is_system=False,
                created_at=now,
                updated_at=now,
            )
        )
        session.commit()
    return client_id


def test_an_okta_connection_is_created_with_auth0_defaults_and_read_back(tenant: Tenant) -> None:
    """Scope defaults to "openid profile email", type to back_channel, realms to the name."""
    api = tenant.api()
    created = api.post("/connections", json={**okta(), "display_name": "Acme"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["id"].startswith("con_")
    assert body["name"] == "acme-okta"
    assert body["display_name"] == "Acme"
    assert body["strategy"] == "okta"
    assert body["realms"] == ["acme-okta"]
    assert body["enabled_clients"] == []
    assert body["options"]["scope"] == "openid profile email"
    assert body["options"]["type"] == "back_channel"
    assert body["options"]["domain"] == "acme.okta.example"
    assert api.get(f"/connections/{body['id']}").json() == body


def test_the_upstream_client_secret_is_sealed_at_rest_and_never_returned(tenant: Tenant) -> None:
    """Auth0 returns options.client_secret; Expressway keeps it sealed, for the federation code."""
    api = tenant.api()
    created = api.post("/connections", json=okta())
    assert UPSTREAM_SECRET not in created.text
    assert UPSTREAM_SECRET not in api.get(f"/connections/{created.json()['id']}").text
    assert UPSTREAM_SECRET not in api.get("/connections").text
    with tenant.runtime.sessions() as session:
        row = session.get(ConnectionRow, created.json()["id"])
        assert row is not None
        assert "client_secret" not in row.options
        assert row.client_secret_sealed is not None
        assert UPSTREAM_SECRET not in row.client_secret_sealed
        assert service.read_client_secret(tenant.runtime, row) == UPSTREAM_SECRET
        assert service.read_client_secret(tenant.runtime.secret_sealer, row) == UPSTREAM_SECRET
        logged = " ".join(str(e.details) for e in session.scalars(select(LogEventRow)))
        assert UPSTREAM_SECRET not in logged


def test_an_options_update_replaces_the_options_but_keeps_the_secret(tenant: Tenant) -> None:
    """PATCH options replaces the object, as in Auth0; the unseen secret survives its omission."""
    api = tenant.api()
    connection = api.post("/connections", json=okta(icon_url="https://acme.example/i.png")).json()
    updated = api.patch(
        f"/connections/{connection['id']}",
        json={"options": {"issuer": "https://acme.okta.example", "client_id": "0oa-other"}},
    )
    assert updated.status_code == 200, updated.text
    options = updated.json()["options"]
    assert options["client_id"] == "0oa-other"
    assert "icon_url" not in options
    assert "domain" not in options
    with tenant.runtime.sessions() as session:
        row = session.get(ConnectionRow, connection["id"])
        assert row is not None
        assert service.read_client_secret(tenant.runtime, row) == UPSTREAM_SECRET
    api.patch(
        f"/connections/{connection['id']}",
        json={"options": {"domain": "acme.okta.example", "client_id": "c", "client_secret": "new"}},
    )
    with tenant.runtime.sessions() as session:
        row = session.get(ConnectionRow, connection["id"])
        assert row is not None
        assert service.read_client_secret(tenant.runtime, row) == "new"


def test_domain_aliases_are_normalised_to_lower_case_domains(tenant: Tenant) -> None:
    """Home Realm Discovery matches e-mail domains, which are case-insensitive."""
    created = tenant.api().post(
        "/connections",
        json=okta(domain_aliases=["Acme.Example", "acme.example", "EU.acme.example"]),
    )
    assert created.json()["options"]["domain_aliases"] == ["acme.example", "eu.acme.example"]


BAD_OKTA_OPTIONS = [
    ({"domain_aliases": ["not a domain"]}, "domain_aliases"),
    ({"domain_aliases": ["acme"]}, "domain_aliases"),
    ({"scope": "profile email"}, "openid"),
    ({"domain": "https://acme.okta.example/"}, "options.domain"),
    ({"issuer": "ftp://acme.example"}, "options.issuer"),
    ({"connection_settings": {"pkce": "sometimes"}}, "options.connection_settings.pkce"),
    ({"favourite_colour": "blue"}, "options.favourite_colour"),
    ({"client_id": 42}, "options.client_id"),
]


def test_bad_okta_options_are_refused_naming_the_option(tenant: Tenant) -> None:
    """Every bad option is a 400 that says which one, and nothing is created."""
    api = tenant.api()
    for options, named in BAD_OKTA_OPTIONS:
        response = api.post("/connections", json=okta(**options))
        assert response.status_code == 400, (options, response.text)
        assert named in auth0_error(response)["message"], options
    assert api.get("/connections", params={"name": "acme-okta"}).json() == []


def test_an_okta_connection_needs_a_domain_or_an_issuer_and_a_secret(tenant: Tenant) -> None:
    """Without them no login could ever reach the Okta org."""
    api = tenant.api()
    nowhere = api.post(
        "/connections", json={"name": "a", "strategy": "okta", "options": {"client_id": "c"}}
    )
    assert nowhere.status_code == 400
    assert "options.domain or options.issuer" in auth0_error(nowhere)["message"]
    secretless = api.post(
        "/connections",
        json={"name": "a", "strategy": "okta", "options": {"client_id": "c", "domain": "a.b.c"}},
    )
    assert secretless.status_code == 400
    assert "client_secret" in auth0_error(secretless)["message"]


def test_an_oidc_connection_takes_a_front_channel_without_a_secret(tenant: Tenant) -> None:
    """front_channel uses the implicit response of the id_token: no client secret is needed."""
    created = tenant.api().post(
        "/connections",
        json={
            "name": "generic-oidc",
            "strategy": "oidc",
            "options": {
                "discovery_url": "https://idp.example/.well-known/openid-configuration",
                "client_id": "rp",
                "type": "front_channel",
                "scope": "openid email",
            },
        },
    )
    assert created.status_code == 201, created.text
    assert created.json()["options"]["type"] == "front_channel"


def test_an_unsupported_strategy_is_refused_naming_it(tenant: Tenant) -> None:
    response = tenant.api().post("/connections", json={"name": "saml", "strategy": "samlp"})
    assert response.status_code == 400
    message = auth0_error(response)["message"]
    assert "strategy" in message
    assert "samlp" in message


def test_a_name_outside_auth0s_rule_is_refused(tenant: Tenant) -> None:
    """Letters, digits and "-", starting and ending with a letter or digit, 128 at most."""
    api = tenant.api()
    for name in ["-acme", "acme-", "acme_okta", "acme okta", "a" * 129]:
        response = api.post("/connections", json=okta(name))
        assert response.status_code == 400, name
        assert "name" in auth0_error(response)["message"], name


def test_a_taken_name_is_a_409_whatever_its_case(tenant: Tenant) -> None:
    api = tenant.api()
    assert api.post("/connections", json=okta("acme-okta")).status_code == 201
    again = api.post("/connections", json=okta("ACME-Okta"))
    assert again.status_code == 409
    assert "ACME-Okta" in auth0_error(again)["message"]


def test_name_and_strategy_cannot_be_changed(tenant: Tenant) -> None:
    api = tenant.api()
    connection = api.post("/connections", json=okta()).json()
    for field in ("name", "strategy"):
        response = api.patch(f"/connections/{connection['id']}", json={field: "oidc"})
        assert response.status_code == 400, field
        assert field in auth0_error(response)["message"]
    assert api.get(f"/connections/{connection['id']}").json() == connection


def test_display_name_flags_realms_and_metadata_are_updated(tenant: Tenant) -> None:
    api = tenant.api()
    connection = api.post("/connections", json=okta()).json()
    updated = api.patch(
        f"/connections/{connection['id']}",
        json={
            "display_name": "Acme SSO",
            "show_as_button": True,
            "is_domain_connection": True,
            "realms": ["acme.example"],
            "metadata": {"customer": "acme"},
        },
    ).json()
    assert updated["display_name"] == "Acme SSO"
    assert updated["show_as_button"] is True
    assert updated["is_domain_connection"] is True
    assert updated["realms"] == ["acme.example"]
    assert updated["metadata"] == {"customer": "acme"}
    assert updated["options"] == connection["options"]


def test_more_than_ten_metadata_properties_are_refused(tenant: Tenant) -> None:
    metadata = {f"k{n}": "v" for n in range(11)}
    response = tenant.api().post("/connections", json={**okta(), "metadata": metadata})
    assert response.status_code == 400
    assert "metadata" in auth0_error(response)["message"]


def test_the_list_filters_by_strategy_and_name(tenant: Tenant) -> None:
    api = tenant.api()
    api.post("/connections", json=okta("acme-okta"))
    api.post("/connections", json=okta("globex-okta"))
    names = {c["name"] for c in api.get("/connections", params={"strategy": "okta"}).json()}
    assert names == {"acme-okta", "globex-okta"}
    both = api.get("/connections", params=[("strategy", "okta"), ("strategy", "auth0")]).json()
    assert len(both) == 3
    named = api.get("/connections", params={"name": "globex-okta"}).json()
    assert [c["name"] for c in named] == ["globex-okta"]
    assert "enabled_clients" not in named[0]


def test_offset_paging_answers_with_totals(tenant: Tenant) -> None:
    api = tenant.api()
    for n in range(3):
        api.post("/connections", json=okta(f"okta-{n}"))
    page = api.get("/connections", params={"page": 1, "per_page": 2, "include_totals": "true"})
    body = page.json()
    assert body["total"] == 4  # three here and the database connection
    assert body["start"] == 2
    assert len(body["connections"]) == 2


def test_checkpoint_paging_walks_every_connection_once(tenant: Tenant) -> None:
    """``take`` pages by checkpoint: ``next`` is the ``from`` of the following page."""
    api = tenant.api()
    for n in range(4):
        api.post("/connections", json=okta(f"okta-{n}"))
    seen: list[str] = []
    params: dict[str, Any] = {"take": 2, "include_totals": "true"}
    while True:
        page = api.get("/connections", params=params).json()
        assert "total" not in page
        seen += [c["id"] for c in page["connections"]]
        if "next" not in page:
            break
        params["from"] = page["next"]
    assert len(seen) == len(set(seen)) == 5


def test_deleting_a_connection_takes_its_users_links_and_scim_with_it(tenant: Tenant) -> None:
    """As in Auth0, a deleted connection's users are deleted with it."""
    api = tenant.api()
    client_id = insert_client(tenant)
    connection = api.post("/connections", json={**okta(), "enabled_clients": [client_id]}).json()
    api.post(f"/connections/{connection['id']}/scim-configuration")
    now = datetime.now(UTC)
    with tenant.runtime.sessions() as session:
        session.add(
            UserRow(
                user_id="okta|acme-okta|00u1",
                connection="acme-okta",
                provider="okta",
                email="ada@acme.example",
                email_key="ada@acme.example",
                app_metadata={},
                user_metadata={},
                created_at=now,
                updated_at=now,
            )
        )
        session.commit()
    assert api.delete(f"/connections/{connection['id']}").status_code == 204
    missing = api.get(f"/connections/{connection['id']}")
    assert missing.status_code == 404
    assert auth0_error(missing)["errorCode"] == "inexistent_connection"
    with tenant.runtime.sessions() as session:
        assert session.get(UserRow, "okta|acme-okta|00u1") is None
        assert session.scalars(select(ConnectionClientRow)).all() == []
        assert session.scalars(select(ScimConfigurationRow)).all() == []
        assert session.get(ClientRow, client_id) is not None


def test_a_connection_is_enabled_and_disabled_for_clients(tenant: Tenant) -> None:
    """PATCH /connections/{id}/clients takes Auth0's [{client_id, status}] and answers 204."""
    api = tenant.api()
    first, second = insert_client(tenant, "one"), insert_client(tenant, "two")
    connection = api.post("/connections", json=okta()).json()
    path = f"/connections/{connection['id']}/clients"
    enabled = api.patch(
        path, json=[{"client_id": first, "status": True}, {"client_id": second, "status": True}]
    )
    assert enabled.status_code == 204, enabled.text
    assert {c["client_id"] for c in api.get(path).json()["clients"]} == {first, second}
    api.patch(path, json=[{"client_id": first, "status": False}])
    assert api.get(path).json() == {"clients": [{"client_id": second}]}
    assert api.get(f"/connections/{connection['id']}").json()["enabled_clients"] == [second]


def test_enabled_clients_page_by_checkpoint(tenant: Tenant) -> None:
    """``next`` is where the following page starts; the pages cover every client once."""
    api = tenant.api()
    clients = [insert_client(tenant, f"app {n}") for n in range(3)]
    connection = api.post("/connections", json={**okta(), "enabled_clients": clients}).json()
    path = f"/connections/{connection['id']}/clients"
    first = api.get(path, params={"take": 2}).json()
    rest = api.get(path, params={"take": 2, "from": first["next"]}).json()
    assert len(first["clients"]) == 2
    assert "next" not in rest
    assert rest["clients"] == [{"client_id": first["next"]}]
    seen = [c["client_id"] for c in first["clients"] + rest["clients"]]
    assert sorted(seen) == sorted(clients)


def test_an_unknown_client_changes_nothing_and_is_named(tenant: Tenant) -> None:
    """A failed write changes nothing: the known client in the same request stays disabled."""
    api = tenant.api()
    known = insert_client(tenant)
    connection = api.post("/connections", json=okta()).json()
    path = f"/connections/{connection['id']}/clients"
    response = api.patch(
        path,
        json=[{"client_id": known, "status": True}, {"client_id": "nobody", "status": True}],
    )
    assert response.status_code == 400
    assert "nobody" in auth0_error(response)["message"]
    assert api.get(path).json() == {"clients": []}


def test_a_malformed_enabled_clients_body_is_a_400(tenant: Tenant) -> None:
    api = tenant.api()
    connection = api.post("/connections", json=okta()).json()
    for body in [
        {"client_id": "x", "status": True},
        [{"client_id": "x", "status": "yes"}],
        [{"client_id": "x"}],
        [{"client_id": "x", "status": True, "extra": 1}],
        [{"client_id": "x", "status": True}] * 51,
    ]:
        response = api.patch(f"/connections/{connection['id']}/clients", json=body)
        assert response.status_code == 400, body
        auth0_error(response)


def test_unknown_connections_are_404_everywhere(tenant: Tenant) -> None:
    api = tenant.api()
    for method, path in [
        ("GET", "/connections/con_nope"),
        ("PATCH", "/connections/con_nope"),
        ("DELETE", "/connections/con_nope"),
        ("GET", "/connections/con_nope/clients"),
    ]:
        response = api.request(method, path, json={} if method == "PATCH" else None)
        assert response.status_code == 404, (method, path)
        assert "con_nope" in auth0_error(response)["message"]


def test_malformed_json_and_unknown_properties_are_400s(tenant: Tenant) -> None:
    api = tenant.api()
    malformed = api.post(
        "/connections", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert malformed.status_code == 400
    unknown = api.post("/connections", json={**okta(), "colour": "blue"})
    assert unknown.status_code == 400
    assert "colour" in auth0_error(unknown)["message"]


def test_connection_writes_are_logged_and_need_their_scopes(tenant: Tenant) -> None:
    """Every write is a sapi event naming the connection; reading needs read:connections."""
    created = tenant.api().post("/connections", json=okta()).json()
    with tenant.runtime.sessions() as session:
        events = session.scalars(
            select(LogEventRow).where(LogEventRow.connection_id == created["id"])
        ).all()
        assert [(e.type, e.description, e.connection) for e in events] == [
            ("sapi", "Create a connection", "acme-okta")
        ]
    reader = tenant.api(scope="read:connections")
    assert reader.get("/connections").status_code == 200
    refused = reader.post("/connections", json=okta("other"))
    assert refused.status_code == 403
    assert "create:connections" in auth0_error(refused)["message"]
