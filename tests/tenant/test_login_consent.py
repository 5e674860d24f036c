"""The consent page: when it is shown, what it lists, and what accepting or declining does."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from expressway.tenant.rows import ConsentRow
from tests.conftest import BACKENDS, Tenant
from tests.tenant.browser import (
    Browser,
    express_configure,
    make_api,
    make_client,
    make_express_configuration,
    make_organization,
    make_user,
    management,
    query_of,
)

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)

EMAIL = "ada@example.com"
API = "https://reports.example"


def _third_party(tenant: Tenant) -> str:
    make_api(tenant, API, "read:reports")
    return make_client(tenant, is_first_party=False)


def test_a_third_party_client_shows_consent_listing_the_scopes_descriptions(
    tenant: Tenant,
) -> None:
    """The consent page names the client and describes each scope asked for."""
    client_id = _third_party(tenant)
    make_user(tenant, EMAIL)
    page = Browser(tenant).sign_in(
        client_id, EMAIL, audience=API, scope="openid profile read:reports"
    )
    assert page.request.url.path == "/u/consent"
    assert "Sample App" in page.text
    assert "Read your profile" in page.text
    assert "Do read:reports" in page.text
    assert Browser(tenant).form(page, "/u/consent").buttons["action"] == ["accept", "deny"]


def test_an_accepted_consent_is_stored_and_not_asked_again(tenant: Tenant) -> None:
    """Consent is per user, client and audience; a later login with the same scopes skips it."""
    client_id = _third_party(tenant)
    user_id = make_user(tenant, EMAIL)
    browser = Browser(tenant)
    page = browser.sign_in(client_id, EMAIL, audience=API, scope="openid read:reports")
    done = browser.submit(page, "/u/consent", action="accept")
    assert "code" in query_of(done)
    with tenant.runtime.sessions() as session:
        [consent] = session.scalars(select(ConsentRow))
        assert (consent.user_id, consent.client_id, consent.audience) == (user_id, client_id, API)
        assert consent.scopes == ["openid", "read:reports"]
    assert "code" in query_of(
        browser.authorize(client_id, audience=API, scope="openid read:reports")
    )
    assert "code" in query_of(
        browser.authorize(client_id, audience=API, scope="openid", prompt="none")
    )


def test_prompt_consent_asks_again_even_after_consent(tenant: Tenant) -> None:
    """OpenID Connect Core §3.1.2.1: prompt=consent."""
    client_id = _third_party(tenant)
    make_user(tenant, EMAIL)
    browser = Browser(tenant)
    page = browser.sign_in(client_id, EMAIL, audience=API, scope="openid read:reports")
    browser.submit(page, "/u/consent", action="accept")
    again = browser.authorize(
        client_id, audience=API, scope="openid read:reports", prompt="consent"
    )
    assert again.request.url.path == "/u/consent"


def test_a_declined_consent_answers_access_denied_with_consent_denied(tenant: Tenant) -> None:
    """SPEC §4.1: consent_denied."""
    client_id = _third_party(tenant)
    make_user(tenant, EMAIL)
    browser = Browser(tenant)
    page = browser.sign_in(client_id, EMAIL, audience=API, scope="openid read:reports")
    answer = query_of(browser.submit(page, "/u/consent", action="deny"))
    assert answer["error"] == "access_denied"
    assert answer["error_cause"] == "consent_denied"
    assert answer["state"] == "xyz-state"


def test_prompt_none_that_needs_consent_answers_consent_required(tenant: Tenant) -> None:
    """OpenID Connect Core §3.1.2.6: consent_required, without a page."""
    client_id = _third_party(tenant)
    plain = make_client(tenant, name="Other")
    make_user(tenant, EMAIL)
    browser = Browser(tenant)
    browser.sign_in(plain, EMAIL)
    answer = query_of(browser.authorize(client_id, audience=API, scope="openid", prompt="none"))
    assert answer["error"] == "consent_required"


def test_a_first_party_client_skips_consent_only_where_the_api_allows_it(
    tenant: Tenant,
) -> None:
    """skip_consent_for_verifiable_first_party_clients: first-party clients skip it for that
    API; without an API, first-party clients are never asked."""
    make_api(tenant, API, "read:reports", skip_consent_for_verifiable_first_party_clients=True)
    make_api(tenant, "https://strict.example", "read:strict")
    client_id = make_client(tenant)
    make_user(tenant, EMAIL)
    browser = Browser(tenant)
    assert "code" in query_of(browser.sign_in(client_id, EMAIL, audience=API, scope="read:reports"))
    assert "code" in query_of(browser.authorize(client_id, scope="openid profile"))
    strict = browser.authorize(client_id, audience="https://strict.example", scope="read:strict")
    assert strict.request.url.path == "/u/consent"


def test_accepting_consent_does_not_skip_a_pending_organization_prompt(tenant: Tenant) -> None:
    """Posting to the consent page early is no way around the organization steps."""
    user_id = make_user(tenant, EMAIL)
    make_organization(tenant, "acme", user_id)
    plain = make_client(tenant, name="Other")
    client_id = make_client(
        tenant, organization_usage="require", organization_require_behavior="pre_login_prompt"
    )
    browser = Browser(tenant)
    browser.sign_in(plain, EMAIL)
    page = browser.authorize(client_id)
    assert page.request.url.path == "/u/organization"
    fields = browser.form(page, "/u/organization").fields
    response = browser.follow(
        tenant.http.post(
            "/u/consent",
            data={"state": fields["state"], "csrf_token": fields["csrf_token"], "action": "accept"},
            follow_redirects=False,
        )
    )
    assert response.request.url.path == "/u/organization"


def test_an_express_configure_admin_who_declines_gets_every_visible_cause(
    tenant: Tenant,
) -> None:
    """SPEC §4.1: consent_denied, with the prerequisites still missing (here HRD)."""
    oin = make_express_configuration(tenant)
    user_id = make_user(tenant, "admin@acme.example")
    make_organization(tenant, "acme", user_id)
    api = management(tenant)
    [role] = api.get("/roles").json()
    api.post(f"/users/{user_id}/roles", json={"roles": [role["id"]]}).raise_for_status()
    browser = Browser(tenant)
    page = express_configure(browser, oin, "acme", "admin@acme.example")
    assert page.request.url.path == "/u/consent"
    answer = query_of(browser.submit(page, "/u/consent", action="deny"))
    assert answer["error_cause"] == "home_realm_discovery_disabled consent_denied"
