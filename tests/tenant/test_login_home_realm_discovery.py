"""Identifier-first login with Home Realm Discovery, enterprise connections, and the hand-over
to and from federation (``start_upstream_login``, ``complete_authentication``)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from starlette.requests import Request

from expressway.oauth.errors import OAuthError
from expressway.tenant.authn import federation
from expressway.tenant.authn.authorize import complete_authentication
from expressway.tenant.rows import (
    AuthorizationRequestRow,
    ConnectionRow,
    OrganizationMemberRow,
    UserRow,
)
from expressway.tenant.services import login_sessions
from tests.conftest import BACKENDS, Tenant
from tests.tenant.browser import (
    CALLBACK,
    Browser,
    make_client,
    make_enterprise_connection,
    make_organization,
    management,
    query_of,
)

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)

UPSTREAM = "https://acme.okta.example/oauth2/v1/authorize"
EMAIL = "jane@acme.example"


class Upstream:
    """Stands in for federation's start_upstream_login."""

    def __init__(self) -> None:
        self.started: list[tuple[str, str]] = []

    def __call__(
        self, runtime: Any, session: Any, txn: AuthorizationRequestRow, connection: ConnectionRow
    ) -> str:
        self.started.append((txn.id, connection.name))
        return f"{UPSTREAM}?state=upstream-{len(self.started)}"


@pytest.fixture
def upstream(monkeypatch: pytest.MonkeyPatch) -> Upstream:
    fake = Upstream()
    monkeypatch.setattr(federation, "start_upstream_login", fake)
    return fake


def _identify(tenant: Tenant, client_id: str, email: str = EMAIL, **params: str) -> Any:
    browser = Browser(tenant)
    page = browser.authorize(client_id, **params)
    return browser.submit(page, "/u/login/identifier", email=email)


def test_an_email_domain_claimed_by_an_enabled_connection_goes_upstream(
    tenant: Tenant, upstream: Upstream
) -> None:
    """Home Realm Discovery: the domain alias picks the connection."""
    client_id = make_client(tenant, home_realm_discovery=True)
    make_enterprise_connection(tenant, "acme-okta", domains=["acme.example"], clients=[client_id])
    response = _identify(tenant, client_id, email="Jane@ACME.example")
    assert response.status_code == 303
    assert response.headers["location"].startswith(UPSTREAM)
    [(txn_id, connection)] = upstream.started
    assert connection == "acme-okta"
    with tenant.runtime.sessions() as session:
        txn = session.get(AuthorizationRequestRow, txn_id)
        assert txn is not None
        assert txn.connection == "acme-okta"


def test_discovery_follows_the_domains_the_management_api_last_gave(
    tenant: Tenant, upstream: Upstream
) -> None:
    """Changed domain aliases move discovery at once; a deleted connection claims nothing."""
    client_id = make_client(tenant, home_realm_discovery=True)
    connection_id = make_enterprise_connection(
        tenant, "acme-okta", domains=["acme.example"], clients=[client_id]
    )
    options = management(tenant).get(f"/connections/{connection_id}").json()["options"]
    changed = management(tenant).patch(
        f"/connections/{connection_id}",
        json={"options": {**options, "domain_aliases": ["Acme.Test"]}},
    )
    assert changed.status_code == 200, changed.text
    assert _identify(tenant, client_id).request.url.path == "/u/login/password"
    response = _identify(tenant, client_id, email="jane@acme.test")
    assert response.headers["location"].startswith(UPSTREAM)
    management(tenant).delete(f"/connections/{connection_id}").raise_for_status()
    page = _identify(tenant, client_id, email="jane@acme.test")
    assert page.request.url.path == "/u/login/password"
    assert [name for _, name in upstream.started] == ["acme-okta"]


def test_a_domain_two_connections_claim_goes_to_the_first_by_name(
    tenant: Tenant, upstream: Upstream
) -> None:
    client_id = make_client(tenant, home_realm_discovery=True)
    for name in ("zeta-okta", "acme-okta", "other-okta"):
        domains = ["other.example"] if name == "other-okta" else ["acme.example"]
        make_enterprise_connection(tenant, name, domains=domains, clients=[client_id])
    _identify(tenant, client_id)
    assert [name for _, name in upstream.started] == ["acme-okta"]


def test_without_home_realm_discovery_the_password_page_is_shown(
    tenant: Tenant, upstream: Upstream
) -> None:
    """Home Realm Discovery is the client's choice (SPEC: home_realm_discovery)."""
    client_id = make_client(tenant)
    make_enterprise_connection(tenant, "acme-okta", domains=["acme.example"], clients=[client_id])
    page = _identify(tenant, client_id)
    assert page.request.url.path == "/u/login/password"
    assert upstream.started == []


def test_a_connection_not_enabled_for_the_client_is_not_discovered(
    tenant: Tenant, upstream: Upstream
) -> None:
    client_id = make_client(tenant, home_realm_discovery=True)
    make_enterprise_connection(tenant, "acme-okta", domains=["acme.example"], clients=[])
    assert _identify(tenant, client_id).request.url.path == "/u/login/password"
    assert upstream.started == []


def test_an_organization_login_discovers_only_the_organizations_connections(
    tenant: Tenant, upstream: Upstream
) -> None:
    """In an organization login, the connection must be enabled on the organization too."""
    client_id = make_client(tenant, home_realm_discovery=True, organization_usage="allow")
    connection_id = make_enterprise_connection(
        tenant, "acme-okta", domains=["acme.example"], clients=[client_id]
    )
    organization_id = make_organization(tenant, "acme")
    page = _identify(tenant, client_id, organization="acme")
    assert page.request.url.path == "/u/login/password"
    management(tenant).post(
        f"/organizations/{organization_id}/enabled_connections",
        json={"connection_id": connection_id},
    ).raise_for_status()
    response = _identify(tenant, client_id, organization="acme")
    assert response.headers["location"].startswith(UPSTREAM)


def test_the_connection_parameter_goes_straight_upstream(
    tenant: Tenant, upstream: Upstream
) -> None:
    """Auth0's connection parameter skips the identifier page."""
    client_id = make_client(tenant)
    make_enterprise_connection(tenant, "acme-okta", domains=[], clients=[client_id])
    response = Browser(tenant).authorize(client_id, connection="acme-okta")
    assert response.headers["location"].startswith(UPSTREAM)
    assert [name for _, name in upstream.started] == ["acme-okta"]


def test_an_organizations_connection_is_offered_as_a_button(
    tenant: Tenant, upstream: Upstream
) -> None:
    """Without Home Realm Discovery, show_as_button puts the connection on the page."""
    client_id = make_client(tenant, organization_usage="allow")
    connection_id = make_enterprise_connection(tenant, "acme-okta", domains=[], clients=[client_id])
    organization_id = make_organization(tenant, "acme")
    management(tenant).post(
        f"/organizations/{organization_id}/enabled_connections",
        json={"connection_id": connection_id, "show_as_button": True},
    ).raise_for_status()
    browser = Browser(tenant)
    page = browser.authorize(client_id, organization="acme")
    assert "Continue with acme-okta" in page.text
    response = browser.submit(page, "/u/login/connection", connection="acme-okta")
    assert response.headers["location"].startswith(UPSTREAM)
    refused = browser.submit(page, "/u/login/connection", connection="elsewhere")
    assert refused.status_code == 400


def test_an_upstream_that_cannot_be_used_is_an_error_for_the_client(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failure to start the upstream login is an OAuth error at the callback, not a 500."""

    class Unavailable(OAuthError):
        error = "temporarily_unavailable"

    def refuse(*_args: Any) -> str:
        raise Unavailable("the identity provider cannot be reached")

    monkeypatch.setattr(federation, "start_upstream_login", refuse)
    client_id = make_client(tenant)
    make_enterprise_connection(tenant, "acme-okta", domains=[], clients=[client_id])
    answer = query_of(Browser(tenant).authorize(client_id, connection="acme-okta"))
    assert answer["error"] == "temporarily_unavailable"
    assert answer["state"] == "xyz-state"


def _federated_user(tenant: Tenant, connection: str) -> UserRow:
    with tenant.runtime.sessions() as session:
        now = tenant.runtime.clock.now()
        user = UserRow(
            user_id=f"okta|{connection}|00u1",
            connection=connection,
            provider="okta",
            email=EMAIL,
            email_key=EMAIL,
            email_verified=True,
            name="Jane",
            app_metadata={},
            user_metadata={},
            created_at=now,
            updated_at=now,
        )
        session.add(user)
        session.commit()
        return user


def test_complete_authentication_finishes_a_federated_login(
    tenant: Tenant, upstream: Upstream
) -> None:
    """What federation calls after /login/callback: session, membership, code."""
    client_id = make_client(
        tenant, organization_usage="require", organization_require_behavior="pre_login_prompt"
    )
    connection_id = make_enterprise_connection(tenant, "acme-okta", domains=[], clients=[client_id])
    organization_id = make_organization(tenant, "acme")
    management(tenant).post(
        f"/organizations/{organization_id}/enabled_connections",
        json={"connection_id": connection_id, "assign_membership_on_login": True},
    ).raise_for_status()
    browser = Browser(tenant)
    page = browser.authorize(client_id, connection="acme-okta")
    browser.submit(page, "/u/organization", organization_name="acme")
    [(txn_id, _)] = upstream.started
    user = _federated_user(tenant, "acme-okta")
    # The browser that started the login, as its cookies show.
    cookies = "; ".join(f"{name}={value}" for name, value in browser.http.cookies.items())
    request = Request(
        {
            "type": "http",
            "method": "GET",
            "headers": [(b"cookie", cookies.encode())],
            "client": ("10.0.0.1", 1),
        }
    )
    with tenant.runtime.sessions() as session:
        txn = session.get(AuthorizationRequestRow, txn_id)
        assert txn is not None
        row = session.get(UserRow, user.user_id)
        assert row is not None
        response = complete_authentication(tenant.runtime, session, request, txn, row, "acme-okta")
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith(CALLBACK + "?code=")
    assert login_sessions.COOKIE_NAME in response.headers["set-cookie"]
    with tenant.runtime.sessions() as session:
        assert session.get(OrganizationMemberRow, (organization_id, user.user_id)) is not None
        [stored] = session.scalars(select(AuthorizationRequestRow))
        assert stored.completed_at is not None
        assert stored.connection == "acme-okta"
