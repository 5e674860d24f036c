"""Organization logins: the prompts before and after the credentials, membership, and the
Express Configuration causes Universal Login can see (SPEC §4.1)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from expressway import hashing
from expressway.tenant.rows import AuthorizationCodeRow, LogEventRow, OrganizationMemberRow
from tests.conftest import BACKENDS, Tenant
from tests.tenant.browser import (
    Browser,
    database_connection_id,
    express_configure,
    make_client,
    make_express_configuration,
    make_organization,
    make_user,
    management,
    query_of,
)

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)

EMAIL = "admin@acme.example"


def _organization_of_code(tenant: Tenant, code: str) -> str | None:
    with tenant.runtime.sessions() as session:
        row = session.get(AuthorizationCodeRow, hashing.hash_token(code))
        assert row is not None
        return row.organization_id


def _is_member(tenant: Tenant, organization_id: str, user_id: str) -> bool:
    with tenant.runtime.sessions() as session:
        return session.get(OrganizationMemberRow, (organization_id, user_id)) is not None


def test_a_pre_login_prompt_asks_for_the_organization_before_the_credentials(
    tenant: Tenant,
) -> None:
    """organization_require_behavior pre_login_prompt: the organization's name comes first."""
    user_id = make_user(tenant, EMAIL)
    organization_id = make_organization(tenant, "acme", user_id, display_name="Acme Corp")
    client_id = make_client(
        tenant, organization_usage="require", organization_require_behavior="pre_login_prompt"
    )
    browser = Browser(tenant)
    page = browser.authorize(client_id)
    assert page.request.url.path == "/u/organization"
    assert 'for="organization_name"' in page.text
    unknown = browser.submit(page, "/u/organization", organization_name="nope")
    assert unknown.status_code == 400
    assert "No organization is named nope" in unknown.text
    page = browser.submit(unknown, "/u/organization", organization_name="ACME")
    assert page.request.url.path == "/u/login/identifier"
    assert "Acme Corp" in page.text
    page = browser.submit(page, "/u/login/identifier", email=EMAIL)
    done = browser.submit(page, "/u/login/password", email=EMAIL, password="Correct-Horse-7")
    assert _organization_of_code(tenant, query_of(done)["code"]) == organization_id


def test_a_non_member_at_an_organization_login_is_refused_naming_the_cause(
    tenant: Tenant,
) -> None:
    """SPEC §4.1: not_organization_member, detected by Universal Login."""
    make_user(tenant, EMAIL)
    organization_id = make_organization(tenant, "acme")
    client_id = make_client(tenant, organization_usage="allow")
    done = Browser(tenant).sign_in(client_id, EMAIL, organization="acme")
    answer = query_of(done)
    assert answer["error"] == "access_denied"
    assert answer["error_cause"] == "not_organization_member"
    assert answer["state"] == "xyz-state"
    with tenant.runtime.sessions() as session:
        [failed] = session.scalars(select(LogEventRow).where(LogEventRow.type == "f"))
        assert (failed.organization_id, failed.organization_name) == (organization_id, "acme")


def test_a_non_member_express_configure_admin_gets_every_visible_cause_at_once(
    tenant: Tenant,
) -> None:
    """SPEC §4 step 3: a non-member admin whose role is also missing and whose app has Home
    Realm Discovery off gets all three causes at once."""
    oin = make_express_configuration(tenant)
    make_user(tenant, EMAIL)
    make_organization(tenant, "acme")
    answer = query_of(express_configure(Browser(tenant), oin, "acme", EMAIL))
    assert answer["error"] == "access_denied"
    assert answer["error_cause"] == (
        "role_not_assigned home_realm_discovery_disabled not_organization_member"
    )
    assert "not a member of the organization acme" in answer["error_description"]
    assert "Home Realm Discovery is not enabled" in answer["error_description"]


def test_an_express_configure_admin_with_a_member_role_reaches_the_consent_page(
    tenant: Tenant,
) -> None:
    """A member holding the permission through a member role goes on to consent."""
    oin = make_express_configuration(tenant)
    user_id = make_user(tenant, EMAIL)
    organization_id = make_organization(tenant, "acme", user_id)
    api = management(tenant)
    [role] = api.get("/roles").json()
    api.post(
        f"/organizations/{organization_id}/members/{user_id}/roles", json={"roles": [role["id"]]}
    ).raise_for_status()
    page = express_configure(Browser(tenant), oin, "acme", EMAIL)
    assert page.request.url.path == "/u/consent"
    assert "express_configure:sso" in page.text


def test_assign_membership_on_login_makes_the_user_a_member(tenant: Tenant) -> None:
    """An enabled connection with assign_membership_on_login adds the member at sign-in."""
    user_id = make_user(tenant, EMAIL)
    organization_id = make_organization(tenant, "acme")
    management(tenant).post(
        f"/organizations/{organization_id}/enabled_connections",
        json={"connection_id": database_connection_id(tenant), "assign_membership_on_login": True},
    ).raise_for_status()
    client_id = make_client(tenant, organization_usage="allow")
    done = Browser(tenant).sign_in(client_id, EMAIL, organization=organization_id)
    assert _organization_of_code(tenant, query_of(done)["code"]) == organization_id
    assert _is_member(tenant, organization_id, user_id)


def test_a_post_login_prompt_lets_the_user_pick_among_their_organizations(
    tenant: Tenant,
) -> None:
    """post_login_prompt: credentials first, then one of the user's organizations."""
    user_id = make_user(tenant, EMAIL)
    make_organization(tenant, "acme", user_id)
    globex = make_organization(tenant, "globex", user_id)
    make_organization(tenant, "initech")
    client_id = make_client(
        tenant, organization_usage="require", organization_require_behavior="post_login_prompt"
    )
    browser = Browser(tenant)
    page = browser.sign_in(client_id, EMAIL)
    assert page.request.url.path == "/u/organization/select"
    assert "acme" in page.text
    assert "globex" in page.text
    assert "initech" not in page.text
    initech_id = make_organization(tenant, "umbrella")
    forged = browser.submit(page, "/u/organization/select", organization=initech_id)
    assert forged.status_code == 400
    done = browser.submit(page, "/u/organization/select", organization=globex)
    assert _organization_of_code(tenant, query_of(done)["code"]) == globex


def test_a_post_login_prompt_with_one_organization_takes_it(tenant: Tenant) -> None:
    """Nothing to choose: the only organization is the login's."""
    user_id = make_user(tenant, EMAIL)
    acme = make_organization(tenant, "acme", user_id)
    client_id = make_client(
        tenant, organization_usage="require", organization_require_behavior="post_login_prompt"
    )
    done = Browser(tenant).sign_in(client_id, EMAIL)
    assert _organization_of_code(tenant, query_of(done)["code"]) == acme


def test_a_post_login_prompt_refuses_a_user_in_no_organization(tenant: Tenant) -> None:
    """SPEC §4.1: not_organization_member."""
    make_user(tenant, EMAIL)
    client_id = make_client(
        tenant, organization_usage="require", organization_require_behavior="post_login_prompt"
    )
    answer = query_of(Browser(tenant).sign_in(client_id, EMAIL))
    assert answer["error"] == "access_denied"
    assert answer["error_cause"] == "not_organization_member"


def test_prompt_none_that_needs_an_organization_choice_answers_interaction_required(
    tenant: Tenant,
) -> None:
    """OpenID Connect Core §3.1.2.6: a needed page is an error under prompt=none."""
    user_id = make_user(tenant, EMAIL)
    make_organization(tenant, "acme", user_id)
    make_organization(tenant, "globex", user_id)
    plain = make_client(tenant)
    client_id = make_client(
        tenant, organization_usage="require", organization_require_behavior="post_login_prompt"
    )
    browser = Browser(tenant)
    browser.sign_in(plain, EMAIL)
    answer = query_of(browser.authorize(client_id, prompt="none"))
    assert answer["error"] == "interaction_required"
