"""``/authorize``: the checks of the authorization request, in their order (RFC 6749 §4.1.1)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from expressway.tenant.rows import AuthorizationRequestRow, LogEventRow
from tests.conftest import BACKENDS, Tenant
from tests.tenant.browser import (
    CALLBACK,
    Browser,
    make_api,
    make_client,
    make_enterprise_connection,
    make_organization,
    management,
    pkce_pair,
    query_of,
)

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)


def _refused(response: object) -> dict[str, str]:
    """The error parameters of a redirect to the application's callback."""
    assert response.status_code == 303, response.text  # type: ignore[attr-defined]
    assert response.headers["location"].startswith(CALLBACK + "?")  # type: ignore[attr-defined]
    return query_of(response)  # type: ignore[arg-type]


def test_an_unknown_client_gets_an_error_page_not_a_redirect(tenant: Tenant) -> None:
    """RFC 6749 §4.1.2.1: without a valid client there is nowhere safe to redirect to."""
    response = Browser(tenant).authorize("no-such-client")
    assert response.status_code == 400
    assert "text/html" in response.headers["content-type"]
    assert "Unknown client" in response.text


def test_a_redirect_uri_that_is_not_exactly_a_callback_gets_an_error_page(tenant: Tenant) -> None:
    """RFC 9700 §4.1.3: exact string matching (case, trailing slash, extra path, other port,
    scheme, query, host); a mismatch is never redirected to."""
    client_id = make_client(tenant)
    browser = Browser(tenant)
    for redirect_uri in (
        "https://APP.example/callback",
        "https://app.example/callback/",
        "https://app.example/callback/extra",
        "https://app.example:8443/callback",
        "http://app.example/callback",
        "https://app.example/callback?next=/",
        "https://evil.example/callback",
    ):
        response = browser.authorize(client_id, redirect_uri=redirect_uri)
        assert response.status_code == 400, redirect_uri
        assert "location" not in response.headers
        assert "Callback URL mismatch" in response.text


def test_a_missing_redirect_uri_gets_an_error_page(tenant: Tenant) -> None:
    """OpenID Connect Core §3.1.2.1: redirect_uri is required."""
    client_id = make_client(tenant)
    response = Browser(tenant).authorize(client_id, redirect_uri="")
    assert response.status_code == 400
    assert "no redirect_uri" in response.text


def test_a_repeated_redirect_uri_gets_an_error_page(tenant: Tenant) -> None:
    """RFC 6749 §3.1: parameters must not be sent twice."""
    client_id = make_client(tenant)
    response = tenant.http.get(
        "/authorize",
        params=[
            ("client_id", client_id),
            ("redirect_uri", CALLBACK),
            ("redirect_uri", "https://evil.example/"),
            ("response_type", "code"),
        ],
        follow_redirects=False,
    )
    assert response.status_code == 400
    assert "location" not in response.headers


def test_a_response_type_other_than_code_is_sent_back_with_state_and_iss(
    tenant: Tenant,
) -> None:
    """RFC 6749 §4.1.2.1 and RFC 9207: the error goes to the callback, with state and iss."""
    client_id = make_client(tenant)
    error = _refused(Browser(tenant).authorize(client_id, response_type="token"))
    assert error["error"] == "unsupported_response_type"
    assert error["state"] == "xyz-state"
    assert error["iss"] == "http://localhost:8401/"


def test_a_repeated_scope_parameter_is_refused_at_the_callback(tenant: Tenant) -> None:
    """RFC 6749 §3.1: a repeated parameter is an invalid request."""
    client_id = make_client(tenant)
    response = tenant.http.get(
        "/authorize",
        params=[
            ("client_id", client_id),
            ("redirect_uri", CALLBACK),
            ("response_type", "code"),
            ("scope", "openid"),
            ("scope", "email"),
        ],
        follow_redirects=False,
    )
    error = _refused(response)
    assert error["error"] == "invalid_request"
    assert "scope" in error["error_description"]


def test_a_client_without_the_authorization_code_grant_is_refused(tenant: Tenant) -> None:
    """A machine client may not start a login."""
    client_id = make_client(tenant, grant_types=["client_credentials"])
    error = _refused(Browser(tenant).authorize(client_id))
    assert error["error"] == "unauthorized_client"


def test_a_public_client_must_send_a_pkce_challenge(tenant: Tenant) -> None:
    """RFC 9700 §2.1.1: public clients use PKCE."""
    client_id = make_client(tenant, app_type="spa")
    error = _refused(Browser(tenant).authorize(client_id))
    assert error["error"] == "invalid_request"
    assert "code_challenge" in error["error_description"]


def test_a_public_client_with_an_s256_challenge_reaches_the_login_page(tenant: Tenant) -> None:
    """RFC 7636 §4.3: S256 is accepted."""
    client_id = make_client(tenant, app_type="spa")
    _, challenge = pkce_pair()
    page = Browser(tenant).authorize(
        client_id, code_challenge=challenge, code_challenge_method="S256"
    )
    assert page.status_code == 200
    assert page.request.url.path == "/u/login/identifier"


@pytest.mark.parametrize("method", ["plain", ""])
def test_a_plain_or_implicit_pkce_method_is_refused(tenant: Tenant, method: str) -> None:
    """RFC 7636 §4.3 defaults to plain, which is refused: S256 only."""
    client_id = make_client(tenant, app_type="spa")
    _, challenge = pkce_pair()
    error = _refused(
        Browser(tenant).authorize(client_id, code_challenge=challenge, code_challenge_method=method)
    )
    assert error["error"] == "invalid_request"
    assert "S256" in error["error_description"]


def test_an_unknown_scope_is_refused_naming_it(tenant: Tenant) -> None:
    """RFC 6749 §4.1.2.1: invalid_scope."""
    client_id = make_client(tenant)
    error = _refused(Browser(tenant).authorize(client_id, scope="openid read:everything"))
    assert error["error"] == "invalid_scope"
    assert "read:everything" in error["error_description"]


def test_an_api_scope_is_accepted_with_its_audience(tenant: Tenant) -> None:
    """Scopes of the audience's API are known scopes."""
    make_api(tenant, "https://api.example", "read:things")
    client_id = make_client(tenant)
    page = Browser(tenant).authorize(
        client_id, audience="https://api.example", scope="openid read:things"
    )
    assert page.status_code == 200


def test_an_unknown_audience_is_refused_as_auth0_does(tenant: Tenant) -> None:
    """Auth0: access_denied, "Service not found"; no Express Configuration cause for it."""
    client_id = make_client(tenant)
    error = _refused(Browser(tenant).authorize(client_id, audience="https://nowhere.example"))
    assert error["error"] == "access_denied"
    assert error["error_description"] == "Service not found: https://nowhere.example"
    assert "error_cause" not in error


def test_the_express_configure_audience_without_its_api_names_the_cause(tenant: Tenant) -> None:
    """SPEC §4.1: express_configuration_api_missing, detected at /authorize."""
    client_id = make_client(tenant)
    error = _refused(
        Browser(tenant).authorize(client_id, audience="urn:auth0:express-configure", scope="openid")
    )
    assert error["error"] == "access_denied"
    assert error["error_cause"] == "express_configuration_api_missing"


def test_an_oin_client_that_does_not_require_an_organization_names_the_cause(
    tenant: Tenant,
) -> None:
    """SPEC §4.1: organization_prompt_disabled, listed with every other visible cause."""
    make_api(
        tenant,
        "urn:auth0:express-configure",
        "express_configure:sso",
        "express_configure:scim",
    )
    oin = make_client(tenant, app_type="express_configuration", callbacks=[CALLBACK])
    assert (
        management(tenant).patch(f"/clients/{oin}", json={"organization_usage": "allow"}).is_success
    )
    _, challenge = pkce_pair()
    error = _refused(
        Browser(tenant).authorize(
            oin,
            audience="urn:auth0:express-configure",
            scope="openid express_configure:sso",
            code_challenge=challenge,
            code_challenge_method="S256",
        )
    )
    causes = error["error_cause"].split()
    assert "organization_prompt_disabled" in causes
    # No role holds the permissions and no SaaS app names this OIN client: visible too.
    assert "role_permissions_missing" in causes
    assert "app_not_configured" in causes


def test_a_missing_api_and_a_disabled_organization_prompt_are_named_together(
    tenant: Tenant,
) -> None:
    """SPEC §4.1: every cause visible at the same point, space-separated, in the table's order."""
    oin = make_client(tenant, app_type="express_configuration", callbacks=[CALLBACK])
    management(tenant).patch(
        f"/clients/{oin}", json={"organization_require_behavior": "no_prompt"}
    ).raise_for_status()
    error = _refused(
        Browser(tenant).authorize(oin, audience="urn:auth0:express-configure", scope="openid")
    )
    causes = error["error_cause"].split()
    assert causes.index("express_configuration_api_missing") < causes.index(
        "organization_prompt_disabled"
    )


def test_an_organization_is_refused_for_a_client_that_denies_organizations(
    tenant: Tenant,
) -> None:
    """Auth0: organization_usage deny refuses the organization parameter."""
    client_id = make_client(tenant)
    make_organization(tenant, "acme")
    error = _refused(Browser(tenant).authorize(client_id, organization="acme"))
    assert error["error"] == "invalid_request"
    assert "organization" in error["error_description"]


def test_an_unknown_organization_is_refused(tenant: Tenant) -> None:
    """The organization parameter must name an existing organization, by id or name."""
    client_id = make_client(tenant, organization_usage="allow")
    for value in ("org_doesnotexist", "nobody"):
        error = _refused(Browser(tenant).authorize(client_id, organization=value))
        assert error["error"] == "invalid_request"
        assert value in error["error_description"]


def test_a_required_organization_without_a_prompt_must_be_named(tenant: Tenant) -> None:
    """Auth0: organization_usage require with no_prompt needs the organization parameter."""
    client_id = make_client(
        tenant, organization_usage="require", organization_require_behavior="no_prompt"
    )
    error = _refused(Browser(tenant).authorize(client_id))
    assert error["error"] == "invalid_request"
    assert "organization" in error["error_description"]


def test_an_unknown_connection_is_refused(tenant: Tenant) -> None:
    client_id = make_client(tenant)
    error = _refused(Browser(tenant).authorize(client_id, connection="nowhere"))
    assert error["error"] == "invalid_request"
    assert "nowhere" in error["error_description"]


def test_an_enterprise_connection_not_enabled_for_the_client_is_refused(tenant: Tenant) -> None:
    """A connection reaches only the applications it is enabled for."""
    client_id = make_client(tenant)
    make_enterprise_connection(tenant, "acme-okta", domains=["acme.example"], clients=[])
    error = _refused(Browser(tenant).authorize(client_id, connection="acme-okta"))
    assert "not enabled" in error["error_description"]


def test_an_invalid_max_age_or_prompt_is_refused(tenant: Tenant) -> None:
    """OpenID Connect Core §3.1.2.1: max_age is seconds; prompt=none stands alone."""
    client_id = make_client(tenant)
    browser = Browser(tenant)
    assert _refused(browser.authorize(client_id, max_age="-1"))["error"] == "invalid_request"
    assert _refused(browser.authorize(client_id, prompt="none login"))["error"] == (
        "invalid_request"
    )


def test_a_valid_request_is_stored_for_an_hour_and_shows_the_identifier_page(
    tenant: Tenant,
) -> None:
    """The transaction keeps the request's parameters and its anti-CSRF token."""
    client_id = make_client(tenant)
    page = Browser(tenant).authorize(client_id, nonce="n-1", login_hint="ada@example.com")
    assert page.status_code == 200
    assert page.request.url.path == "/u/login/identifier"
    assert page.headers["cache-control"] == "no-store"
    assert "default-src 'none'" in page.headers["content-security-policy"]
    state = page.request.url.params["state"]
    with tenant.runtime.sessions() as session:
        txn = session.get(AuthorizationRequestRow, state)
        assert txn is not None
        assert txn.expires_at - txn.created_at == timedelta(hours=1)
        assert txn.params["nonce"] == "n-1"
        assert txn.params["state"] == "xyz-state"
        assert txn.csrf_token in page.text
    assert 'value="ada@example.com"' in page.text


def test_post_authorize_works_like_get(tenant: Tenant) -> None:
    """OpenID Connect Core §3.1.2.1: the endpoint accepts a form-serialized POST."""
    client_id = make_client(tenant)
    browser = Browser(tenant)
    response = browser.follow(
        tenant.http.post(
            "/authorize",
            data={
                "client_id": client_id,
                "redirect_uri": CALLBACK,
                "response_type": "code",
                "scope": "openid",
            },
            follow_redirects=False,
        )
    )
    assert response.status_code == 200
    assert response.request.url.path == "/u/login/identifier"


def test_refusals_at_authorize_are_logged_as_failed_logins(tenant: Tenant) -> None:
    """Support engineers find every refused login in the logs, with its cause."""
    client_id = make_client(tenant)
    Browser(tenant).authorize(client_id, audience="urn:auth0:express-configure")
    Browser(tenant).authorize(client_id, redirect_uri="https://evil.example/")
    with tenant.runtime.sessions() as session:
        events = list(
            session.scalars(
                select(LogEventRow).where(LogEventRow.type == "f").order_by(LogEventRow.log_id)
            )
        )
    assert [e.client_id for e in events] == [client_id, client_id]
    assert events[0].details["error_cause"] == "express_configuration_api_missing"
    assert "Callback URL mismatch" in (events[1].description or "")
