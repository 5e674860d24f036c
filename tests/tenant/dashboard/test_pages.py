"""Each dashboard page renders, is accessible, and each form calls the tenant's services and
logs what it changed, as the Management API does."""

from __future__ import annotations

import re
from typing import Any

import pytest

from expressway.tenant.dashboard import listing
from expressway.tenant.dashboard import organizations as dashboard_organizations
from tests.conftest import BACKENDS, Tenant
from tests.tenant.browser import make_enterprise_connection
from tests.tenant.dashboard.conftest import Console, read_page, text_of

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)

PAGES = [
    "/applications",
    "/apis",
    "/users",
    "/roles",
    "/organizations",
    "/connections",
    "/settings",
    "/logs",
]
EC_API = "urn:auth0:express-configure"


def _sapi(tenant: Tenant, description: str) -> list[dict[str, Any]]:
    events = tenant.api().get("/logs", params={"per_page": 100}).json()
    return [e for e in events if e["type"] == "sapi" and e.get("description") == description]


def _labelled(html: str) -> None:
    page = read_page(html)
    for control in page.controls:
        if control.get("type") in ("hidden", "submit"):
            continue
        assert control.get("id") in page.label_targets or control.get("aria-label"), control


def test_every_page_is_served_with_landmarks_labels_and_scripts_only_from_self(
    console: Console,
) -> None:
    """Accessibility and CSP: skip link, landmarks, every input labelled, no inline script,
    ``script-src 'self'`` and ``frame-ancestors 'none'``."""
    for path in PAGES:
        answer = console.get(path)
        assert answer.status_code == 200, path
        html = answer.text
        assert '<a class="skip-link" href="#main">' in html
        assert '<main id="main"' in html
        assert '<nav class="side" aria-label="Dashboard">' in html
        assert 'aria-current="page"' in html
        _labelled(html)
        assert all(script.get("src") for script in read_page(html).scripts), path
        policy = answer.headers["content-security-policy"]
        assert "script-src 'self'" in policy
        assert "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy
        assert answer.headers["cache-control"] == "no-store"


def test_the_stylesheet_and_the_script_are_served_by_the_tenant(console: Console) -> None:
    """No CDN: every asset comes from the tenant itself."""
    for asset, kind in (("dashboard.css", "text/css"), ("dashboard.js", "javascript")):
        answer = console.get(f"/static/{asset}")
        assert answer.status_code == 200
        assert kind in answer.headers["content-type"]
    assert "http" not in re.sub(
        r"https?://localhost", "", console.get("/apis").text.split("<body>")[0]
    )


def test_names_holding_script_tags_are_shown_as_text(tenant: Tenant, console: Console) -> None:
    """Output escaping: a role or organization name is text, never markup."""
    hostile = '<script>alert("x")</script>'
    made = console.submit("/roles", {"name": hostile[:50], "description": hostile})
    assert made.status_code == 200
    assert "<script>alert" not in made.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in made.text
    listing = console.get("/roles").text
    assert "<script>alert" not in listing


def test_a_role_gets_both_permissions_of_an_api_and_a_user_and_each_step_is_logged(
    tenant: Tenant, console: Console
) -> None:
    """Roles: create, add permissions chosen from an API, assign users; ``sapi`` per change."""
    api_page = console.submit(
        "/apis", {"name": "Express Configuration", "identifier": EC_API, "enforce_policies": "true"}
    )
    assert api_page.status_code == 200
    api_id = api_page.url.path.rsplit("/", 1)[-1]
    for value in ("express_configure:sso", "express_configure:scim"):
        console.submit(f"/apis/{api_id}/permissions", {"value": value, "description": value})
    api = tenant.api().get(f"/resource-servers/{api_id}").json()
    assert [s["value"] for s in api["scopes"]] == [
        "express_configure:sso",
        "express_configure:scim",
    ]
    assert api["enforce_policies"] is True
    assert api["token_dialect"] == "access_token_authz"

    role_page = console.submit("/roles", {"name": "Express Configuration Admin"})
    role_id = role_page.url.path.rsplit("/", 1)[-1]
    chooser = console.get(f"/roles/{role_id}", params={"api": api_id}).text
    assert 'value="express_configure:scim"' in chooser
    console.submit(
        f"/roles/{role_id}/permissions",
        {"api": api_id, "permissions": ["express_configure:sso", "express_configure:scim"]},
    )
    console.submit(
        "/users",
        {
            "email": "it-admin@acme.example",
            "password": "Correct-Horse-7",
            "connection": "Username-Password-Authentication",
        },
    )
    assigned = console.submit(f"/roles/{role_id}/users", {"user": "IT-Admin@acme.example"})
    assert "it-admin@acme.example" in assigned.text
    held = tenant.api().get(f"/roles/{role_id}/permissions").json()
    assert {p["permission_name"] for p in held} == {
        "express_configure:sso",
        "express_configure:scim",
    }
    users = tenant.api().get(f"/roles/{role_id}/users").json()
    assert [u["email"] for u in users] == ["it-admin@acme.example"]
    [event] = _sapi(tenant, "Add permissions to a role")
    assert event["details"]["role_id"] == role_id
    assert event["client_name"] == "Expressway Dashboard"
    assert event["user_name"] == "admin@expressway.localhost"
    assert _sapi(tenant, "Assign users to a role")
    assert _sapi(tenant, "Create a User")


def test_a_bad_value_is_shown_next_to_its_field_and_changes_nothing(
    tenant: Tenant, console: Console
) -> None:
    """Validation errors become a message beside the field (400), never a 500."""
    made = console.post("/applications", {"name": "Vendor SaaS", "app_type": "regular_web"})
    client_id = re.search(r"Client ID <code>([^<]+)</code>", made.text)[1]
    refused = console.post(
        f"/applications/{client_id}/settings",
        {"name": "Renamed", "callbacks": "https://ok.example/cb\nhttps://bad.example/cb#frag"},
    )
    assert refused.status_code == 400
    assert re.search(r'id="callbacks"[^>]*aria-invalid="true"', refused.text)
    assert "cannot have a fragment" in refused.text
    assert tenant.api().get(f"/clients/{client_id}").json()["name"] == "Vendor SaaS"
    wrong_choice = console.post("/applications", {"name": "X", "app_type": "mainframe"})
    assert wrong_choice.status_code == 400
    assert "choose one of" in wrong_choice.text


def test_an_application_created_with_a_secret_shows_it_once(
    tenant: Tenant, console: Console
) -> None:
    """A client secret appears in the answer that issued it, and never on a later page."""
    made = console.post("/applications", {"name": "Vendor SaaS", "app_type": "regular_web"})
    assert made.status_code == 201
    secret = re.search(r'<code id="client-secret">([^<]+)</code>', made.text)[1]
    client_id = re.search(r"Client ID <code>([^<]+)</code>", made.text)[1]
    assert secret not in console.get(f"/applications/{client_id}/settings").text
    token = tenant.http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            "audience": tenant.runtime.settings.management_audience,
        },
    )
    # The secret is the client's: the tenant knows it, and refuses only for want of a grant.
    assert token.json()["error"] == "unauthorized_client"


def test_an_organization_gets_domains_members_member_roles_and_a_connection(
    tenant: Tenant, console: Console
) -> None:
    """Organizations: domains in metadata, members, member roles, enabled connections."""
    page = console.submit(
        "/organizations", {"name": "acme", "display_name": "Acme", "domains": "Acme.example, "}
    )
    org_id = page.url.path.rsplit("/", 1)[-1]
    assert tenant.api().get(f"/organizations/{org_id}").json()["metadata"] == {
        "domains": "acme.example"
    }
    console.submit(
        "/users",
        {
            "email": "it-admin@acme.example",
            "password": "Correct-Horse-7",
            "connection": "Username-Password-Authentication",
        },
    )
    role = tenant.api().post("/roles", json={"name": "Express Configuration Admin"}).json()
    console.submit(f"/organizations/{org_id}/members", {"user": "it-admin@acme.example"})
    [member] = tenant.api().get(f"/organizations/{org_id}/members").json()
    console.submit(
        f"/organizations/{org_id}/members/roles",
        {"user_id": member["user_id"], "role_id": role["id"]},
    )
    roles = tenant.api().get(f"/organizations/{org_id}/members/{member['user_id']}/roles").json()
    assert [r["id"] for r in roles] == [role["id"]]
    database = tenant.api().get("/connections", params={"name": "Username-Password-Authentication"})
    connection_id = database.json()[0]["id"]
    shown = console.submit(
        f"/organizations/{org_id}/connections",
        {"connection_id": connection_id, "show_as_button": "true"},
    )
    assert "Username-Password-Authentication" in text_of(shown.text)
    enabled = tenant.api().get(f"/organizations/{org_id}/enabled_connections").json()
    assert enabled[0]["connection_id"] == connection_id
    unknown = console.post(f"/organizations/{org_id}/members", {"user": "nobody@acme.example"})
    assert unknown.status_code == 400
    assert "no user has the e-mail address" in unknown.text
    [event] = _sapi(tenant, "Add a connection to an organization")
    assert event["organization_id"] == org_id
    assert event["connection_id"] == connection_id


def test_a_scim_token_is_shown_once_and_works(tenant: Tenant, console: Console) -> None:
    """Enterprise connections: SCIM on, a token shown once (kept as a digest) that the SCIM
    server accepts."""
    connection = tenant.api().post(
        "/connections",
        json={
            "name": "con-acme",
            "strategy": "okta",
            "options": {
                "domain": "acme.okta.example",
                "client_id": "abc",
                "client_secret": "shh-upstream-secret",
            },
        },
    )
    assert connection.status_code == 201, connection.text
    connection_id = connection.json()["id"]
    listed = console.get("/connections")
    assert "con-acme" in listed.text
    assert "shh-upstream-secret" not in console.get(f"/connections/{connection_id}").text
    console.submit(f"/connections/{connection_id}/scim")
    made = console.post(f"/connections/{connection_id}/scim/tokens")
    assert made.status_code == 201
    token = re.search(r'<code id="scim-token">([^<]+)</code>', made.text)[1]
    assert token not in console.get(f"/connections/{connection_id}").text
    scim = tenant.http.get(
        f"/scim/v2/connections/{connection_id}/Users",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert scim.status_code == 200
    assert _sapi(tenant, "Create a SCIM token")[0]["connection_id"] == connection_id


def test_tenant_settings_flags_are_saved_and_logged(tenant: Tenant, console: Console) -> None:
    """Settings: "Enable Application Connections" and the other flags, as the Management API
    has them."""
    console.submit(
        "/settings",
        {
            "friendly_name": "Vendor",
            "session_lifetime": "72",
            "idle_session_lifetime": "24",
            "enable_client_connections": "true",
        },
    )
    settings = tenant.api().get("/tenants/settings").json()
    assert settings["friendly_name"] == "Vendor"
    assert settings["flags"]["enable_client_connections"] is True
    console.submit(
        "/settings",
        {"friendly_name": "Vendor", "session_lifetime": "72", "idle_session_lifetime": "24"},
    )
    assert (
        tenant.api().get("/tenants/settings").json()["flags"]["enable_client_connections"] is False
    )
    refused = console.post("/settings", {"session_lifetime": "many"})
    assert refused.status_code == 400
    assert "must be a whole number" in refused.text
    logs = console.get("/logs").text
    assert "Update tenant settings" in logs


def _listed(html: str, kind: str) -> list[str]:
    """The names a list page links to, in order."""
    return re.findall(rf'href="/dashboard/{kind}/[^"]+">([^<]+)</a>', html)


def test_organizations_are_listed_a_page_at_a_time_and_searched(
    tenant: Tenant, console: Console
) -> None:
    """Fifty at a time in name order, a search by name or display name, and page numbers that
    are not one (a hand-edited link) read as the nearest page."""
    api = tenant.api()
    for index in range(120):
        api.post(
            "/organizations",
            json={"name": f"customer-{index:03d}", "display_name": f"Customer {index}"},
        ).raise_for_status()
    first = console.get("/organizations")
    assert _listed(first.text, "organizations") == [f"customer-{i:03d}" for i in range(50)]
    assert "1\u201350 of 120 organizations" in text_of(first.text)
    assert 'href="/dashboard/organizations?page=2" rel="next"' in first.text
    _labelled(first.text)
    last = console.get("/organizations", params={"page": "3"})
    assert _listed(last.text, "organizations") == [f"customer-{i:03d}" for i in range(100, 120)]
    assert 'href="/dashboard/organizations?page=2" rel="prev"' in last.text
    assert 'rel="next"' not in last.text
    assert (
        _listed(console.get("/organizations", params={"page": "99"}).text, "organizations")[0]
        == "customer-100"
    )
    assert (
        _listed(console.get("/organizations", params={"page": "x"}).text, "organizations")[0]
        == "customer-000"
    )
    found = console.get("/organizations", params={"q": "CUSTOMER 11"})
    assert _listed(found.text, "organizations") == [
        "customer-011",
        *(f"customer-{i}" for i in range(110, 120)),
    ]
    assert "1\u201311 of 11 organizations matching “CUSTOMER 11”" in text_of(found.text)
    none = console.get("/organizations", params={"q": "1_0"})
    assert _listed(none.text, "organizations") == []
    assert "No organization's name matches “1_0”." in text_of(none.text)


def test_enterprise_connections_are_listed_a_page_at_a_time_and_searched(
    tenant: Tenant, console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(listing, "PAGE_SIZE", 2)
    for name in ("globex-okta", "acme-okta", "initech-okta"):
        make_enterprise_connection(tenant, name, domains=[], clients=[])
    first = console.get("/connections")
    assert _listed(first.text, "connections") == ["acme-okta", "globex-okta"]
    second = console.get("/connections", params={"page": "2"})
    assert _listed(second.text, "connections") == ["initech-okta"]
    found = console.get("/connections", params={"q": "tech"})
    assert _listed(found.text, "connections") == ["initech-okta"]


def test_past_the_listed_connections_an_organization_enables_one_typed_by_name(
    tenant: Tenant, console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A tenant with more connections than the page lists asks for the connection's name."""
    monkeypatch.setattr(dashboard_organizations, "CONNECTIONS_LISTED", 1)
    make_enterprise_connection(tenant, "acme-okta", domains=[], clients=[])
    page = console.submit("/organizations", {"name": "acme"})
    org_id = page.url.path.rsplit("/", 1)[-1]
    assert 'name="connection_id"' not in page.text
    assert 'id="connection"' in page.text
    unknown = console.post(f"/organizations/{org_id}/connections", {"connection": "nope"})
    assert unknown.status_code == 400
    assert "no connection is named nope" in unknown.text
    shown = console.submit(
        f"/organizations/{org_id}/connections",
        {"connection": "acme-okta", "show_as_button": "true"},
    )
    assert shown.status_code == 200
    [enabled] = tenant.api().get(f"/organizations/{org_id}/enabled_connections").json()
    assert enabled["connection"]["name"] == "acme-okta"


def test_users_are_listed_newest_first_a_page_at_a_time_and_searched(
    tenant: Tenant, console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(listing, "PAGE_SIZE", 2)
    api = tenant.api()
    made = [
        api.post(
            "/users",
            json={
                "email": f"{name}@acme.example",
                "name": name.title(),
                "password": "Correct-Horse-7",
                "connection": "Username-Password-Authentication",
            },
        ).json()["user_id"]
        for name in ("ada", "grace", "edsger")
    ]
    first = console.get("/users")
    assert "1\u20132 of 3 users" in text_of(first.text)
    assert made[2] in first.text
    assert made[0] not in first.text
    assert made[0] in console.get("/users", params={"page": "2"}).text
    found = console.get("/users", params={"q": "GRACE"})
    assert made[1] in found.text
    assert made[0] not in found.text
    assert made[2] not in found.text


def test_an_organizations_members_are_listed_a_page_at_a_time_and_searched(
    tenant: Tenant, console: Console, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the page's members are shown, with their roles; the links keep to the section."""
    monkeypatch.setattr(listing, "PAGE_SIZE", 2)
    api = tenant.api()
    org_id = api.post("/organizations", json={"name": "acme"}).json()["id"]
    role = api.post("/roles", json={"name": "Billing admin"}).json()["id"]
    users = {}
    for name in ("ada", "grace", "edsger"):
        users[name] = api.post(
            "/users",
            json={
                "email": f"{name}@acme.example",
                "password": "Correct-Horse-7",
                "connection": "Username-Password-Authentication",
            },
        ).json()["user_id"]
    api.post(f"/organizations/{org_id}/members", json={"members": list(users.values())})
    api.post(
        f"/organizations/{org_id}/members/{users['grace']}/roles", json={"roles": [role]}
    ).raise_for_status()
    first = console.get(f"/organizations/{org_id}")
    assert "ada@acme.example" in first.text
    assert "edsger@acme.example" in first.text
    assert "grace@acme.example" not in first.text
    assert "1\u20132 of 3 members" in text_of(first.text)
    assert f'href="/dashboard/organizations/{org_id}?page=2#members" rel="next"' in first.text
    second = console.get(f"/organizations/{org_id}", params={"page": "2"})
    assert "grace@acme.example" in second.text
    assert "Billing admin" in text_of(second.text)
    found = console.get(f"/organizations/{org_id}", params={"q": "edsger"})
    assert "edsger@acme.example" in found.text
    assert "ada@acme.example" not in found.text
    _labelled(found.text)
