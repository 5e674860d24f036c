"""The Okta Integration Network tab: Home Realm Discovery, the profiles, the rest of
``express_configuration``, the Express Configuration information, the OIN public key; and the
Readiness panel with doctor's checks and their fixes."""

from __future__ import annotations

import html
import json
import re

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy import select

from expressway.tenant.dashboard.accounts import DASHBOARD_CLIENT_NAME
from expressway.tenant.rows import ClientRow
from tests.conftest import BACKENDS, Tenant
from tests.tenant.dashboard.conftest import Console, read_page

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)

TEMPLATE = "http://localhost:8400/login?organization={organization_id}"


def _public_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def _client_id(answer_text: str) -> str:
    found = re.search(r"Client ID <code>([^<]+)</code>", answer_text)
    assert found is not None
    return found[1]


def _apps(console: Console) -> tuple[str, str]:
    """The OIN client and the SaaS app, made in the dashboard; their client ids."""
    oin = console.submit("/applications", {"name": "Okta OIN", "app_type": "express_configuration"})
    saas = console.post("/applications", {"name": "Vendor SaaS", "app_type": "regular_web"})
    return _client_id(oin.text), _client_id(saas.text)


def _configure(console: Console, app: str, oin: str) -> None:
    for template in ("cpt_okta_express_configuration", "uapt_okta_oidc_scim"):
        console.submit(f"/applications/{app}/oin/profiles", {"template_id": template})
    page = console.get(f"/applications/{app}/oin").text
    cop = re.search(r'<option value="(cop_[^"]+)" selected', page)
    uap = re.search(r'<option value="(uap_[^"]+)" selected', page)
    assert cop, "the only connection profile is preselected"
    assert uap, "the only user attribute profile is preselected"
    saved = console.post(
        f"/applications/{app}/oin",
        {
            "initiate_login_uri_template": TEMPLATE,
            "connection_profile_id": cop[1],
            "user_attribute_profile_id": uap[1],
            "okta_oin_client_id": oin,
            "admin_login_domain": "localhost:8401",
            "enable_client": "true",
            "enable_organization": "true",
        },
    )
    assert saved.status_code == 303, saved.text


def test_the_oin_tab_writes_express_configuration_and_shows_the_information_to_copy(
    tenant: Tenant, console: Console
) -> None:
    """The information JSON is the Management API's, with a copy button (SPEC §3)."""
    oin, app = _apps(console)
    _configure(console, app, oin)
    console.submit(
        f"/applications/{app}/oin/home-realm-discovery", {"home_realm_discovery": "true"}
    )
    client = tenant.api().get(f"/clients/{app}").json()
    assert client["home_realm_discovery"] is True
    config = client["express_configuration"]
    assert config["okta_oin_client_id"] == oin
    assert config["initiate_login_uri_template"] == TEMPLATE
    assert config["enable_client"] is True
    page = console.get(f"/applications/{app}/oin").text
    shown = re.search(r'<pre id="express-configuration-information"[^>]*>(.*?)</pre>', page, re.S)
    assert shown is not None
    expected = tenant.api().get(f"/clients/{app}/express-configuration-information").json()
    assert json.loads(html.unescape(shown[1])) == expected
    assert 'data-copy="express-configuration-information"' in page
    assert 'role="status"' in page


def test_an_unknown_template_variable_is_shown_next_to_its_field(
    tenant: Tenant, console: Console
) -> None:
    """Validation from the service, beside the field, with what was typed kept."""
    oin, app = _apps(console)
    _configure(console, app, oin)
    page = console.get(f"/applications/{app}/oin").text
    cop = re.search(r'<option value="(cop_[^"]+)" selected', page)
    uap = re.search(r'<option value="(uap_[^"]+)" selected', page)
    assert cop
    assert uap
    refused = console.post(
        f"/applications/{app}/oin",
        {
            "initiate_login_uri_template": "https://app.example/{tenant}",
            "connection_profile_id": cop[1],
            "user_attribute_profile_id": uap[1],
            "okta_oin_client_id": oin,
            "admin_login_domain": "localhost:8401",
        },
    )
    assert refused.status_code == 400
    assert re.search(r'id="initiate_login_uri_template"[^>]*aria-invalid="true"', refused.text)
    assert "unknown variable {tenant}" in refused.text
    assert 'value="https://app.example/{tenant}"' in refused.text
    stored = tenant.api().get(f"/clients/{app}").json()["express_configuration"]
    assert stored["initiate_login_uri_template"] == TEMPLATE


def test_the_oin_key_uploaded_with_its_submission_is_active_and_links_the_submission(
    tenant: Tenant, console: Console
) -> None:
    """The key is named ``oin:{submission_id}``, which sets the app's ``oin_submission_id``,
    and is activated for private_key_jwt; a file works as well as a paste."""
    oin, app = _apps(console)
    _configure(console, app, oin)
    uploaded = console.post(
        f"/applications/{app}/oin/key",
        {"submission_id": "sub_0oa1b2c3"},
        files={"pem_file": ("oin-wizard.pem", _public_pem().encode(), "application/x-pem-file")},
    )
    assert uploaded.status_code == 303, uploaded.text
    credentials = tenant.api().get(f"/clients/{oin}/credentials").json()
    assert [c["name"] for c in credentials] == ["oin:sub_0oa1b2c3"]
    client = tenant.api().get(f"/clients/{oin}").json()
    active = client["client_authentication_methods"]["private_key_jwt"]["credentials"]
    assert [c["id"] for c in active] == [credentials[0]["id"]]
    config = tenant.api().get(f"/clients/{app}").json()["express_configuration"]
    assert config["oin_submission_id"] == "sub_0oa1b2c3"
    second = console.post(
        f"/applications/{oin}/credentials", {"pem": _public_pem(), "activate": "true"}
    )
    assert second.status_code == 303
    client = tenant.api().get(f"/clients/{oin}").json()
    assert len(client["client_authentication_methods"]["private_key_jwt"]["credentials"]) == 2


def test_a_private_key_or_garbage_as_the_pem_is_refused_beside_the_field(
    tenant: Tenant, console: Console
) -> None:
    """Only public keys are taken; a private key is refused and never stored."""
    oin, app = _apps(console)
    _configure(console, app, oin)
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    for pem in (private.decode(), "not a key", ""):
        refused = console.post(f"/applications/{app}/oin/key", {"pem": pem})
        assert refused.status_code == 400
        assert re.search(r'id="pem"[^>]*aria-invalid="true"', refused.text)
    assert tenant.api().get(f"/clients/{oin}/credentials").json() == []


def _support_case(tenant: Tenant, console: Console) -> tuple[str, str]:
    """The support case's tenant: the API and its permissions exist; no role holds them, Home
    Realm Discovery is off, the admin is outside the organization."""
    api = tenant.api()
    api.post(
        "/resource-servers",
        json={
            "identifier": "urn:auth0:express-configure",
            "name": "Express Configuration",
            "scopes": [
                {"value": "express_configure:sso", "description": "SSO"},
                {"value": "express_configure:scim", "description": "SCIM"},
            ],
            "enforce_policies": True,
            "token_dialect": "access_token_authz",
        },
    ).raise_for_status()
    organization = api.post(
        "/organizations", json={"name": "acme", "metadata": {"domains": "acme.example"}}
    ).json()
    api.post(
        "/users",
        json={
            "email": "it-admin@acme.example",
            "password": "Correct-Horse-7",
            "connection": "Username-Password-Authentication",
        },
    ).raise_for_status()
    oin, app = _apps(console)
    _configure(console, app, oin)
    console.post(f"/applications/{app}/oin/key", {"pem": _public_pem()})
    return app, organization["id"]


def test_the_readiness_panel_names_what_is_missing_and_a_fix_button_fixes_one_check(
    tenant: Tenant, console: Console
) -> None:
    """Doctor's checks (SPEC §5) in the panel: each failure with its cause and remediation; Fix
    makes that one prerequisite through the Management API, which logs it."""
    app, organization_id = _support_case(tenant, console)
    ran = console.post(
        f"/applications/{app}/readiness",
        {"organization": "acme", "admin": "it-admin@acme.example"},
    )
    assert ran.status_code == 200, ran.text
    page = ran.text
    assert "Not ready" in page
    for cause in (
        "role_permissions_missing",
        "home_realm_discovery_disabled",
        "not_organization_member",
    ):
        assert f"<code>{cause}</code>" in page
    fix_buttons = set(re.findall(r'name="check" value="([^"]+)"', page))
    assert {"role.permissions", "app.home_realm_discovery", "admin.member"} <= fix_buttons
    _labelled_controls(page)

    fixed = console.post(
        f"/applications/{app}/readiness/fix",
        {
            "check": "app.home_realm_discovery",
            "organization": "acme",
            "admin": "it-admin@acme.example",
        },
    )
    assert fixed.status_code == 200, fixed.text
    assert "Done: turned on Home Realm Discovery" in fixed.text
    assert tenant.api().get(f"/clients/{app}").json()["home_realm_discovery"] is True
    assert "<code>home_realm_discovery_disabled</code>" not in fixed.text
    assert "<code>role_permissions_missing</code>" in fixed.text
    events = tenant.api().get("/logs", params={"per_page": 100}).json()
    with tenant.runtime.sessions() as session:
        dashboard = session.scalars(
            select(ClientRow).where(ClientRow.name == DASHBOARD_CLIENT_NAME)
        ).one()
    updates = [
        e
        for e in events
        if e.get("description") == "Update a client" and e.get("client_id") == dashboard.client_id
    ]
    assert updates, "the fix went through the Management API as the dashboard's client"
    assert organization_id


def _labelled_controls(page: str) -> None:
    parsed = read_page(page)
    for control in parsed.controls:
        if control.get("type") in ("hidden", "submit"):
            continue
        assert control.get("id") in parsed.label_targets, control


def test_the_dashboards_client_has_no_secret_so_no_one_gets_its_tokens(
    tenant: Tenant, console: Console
) -> None:
    """The tenant mints the panel's tokens itself: the client cannot be used from outside."""
    app, _ = _support_case(tenant, console)
    console.post(f"/applications/{app}/readiness", {})
    with tenant.runtime.sessions() as session:
        dashboard = session.scalars(
            select(ClientRow).where(ClientRow.name == DASHBOARD_CLIENT_NAME)
        ).one()
        assert dashboard.client_secret_hash is None
        assert dashboard.is_system is True
    refused = tenant.http.post(
        "/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": dashboard.client_id,
            "client_secret": "",
            "audience": tenant.runtime.settings.management_audience,
        },
    )
    assert refused.status_code == 401
    assert refused.json()["error"] == "invalid_client"
