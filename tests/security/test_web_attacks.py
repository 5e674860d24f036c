"""Web attacks on both systems' browser-facing pages and on the lines between tenants.

Rules: no redirect parameter sends a browser to a URL that was not registered (RFC 9700 §4.11);
no form is accepted without the CSRF token of its own flow; no page may be framed (RFC 7034,
CSP ``frame-ancestors``); session cookies are HttpOnly, SameSite=Lax, and Secure behind TLS;
markup in any name or description is shown as text; an organization, a SCIM connection and a
workforce org each reach only their own objects.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import func, select

from expressway.config import Settings
from expressway.tenant.app import create_app as create_tenant_app
from expressway.tenant.dashboard import accounts as dashboard_accounts
from expressway.tenant.rows import LogEventRow, LoginSessionRow
from expressway.tenant.runtime import TenantRuntime
from expressway.workforce.app import create_app as create_workforce_app
from expressway.workforce.runtime import WorkforceRuntime
from tests.conftest import BACKENDS, Tenant
from tests.tenant.browser import (
    CALLBACK,
    TENANT_ORIGIN,
    Browser,
    express_configure,
    make_api,
    make_client,
    make_enterprise_connection,
    make_express_configuration,
    make_organization,
    make_user,
    management,
    query_of,
)
from tests.tenant.dashboard.conftest import sign_in_directly
from tests.workforce.conftest import PUBLIC_URL as WORKFORCE_ORIGIN
from tests.workforce.conftest import SECRET_KEY, Workforce, new_app, new_user, okta_error
from tests.workforce.console.conftest import open_console

EMAIL = "ada@example.com"
PASSWORD = "Correct-Horse-7"
SIGNED_OUT = "https://app.example/signed-out"
#: Markup that would run if it reached a page unescaped.
PAYLOAD = "<script>alert(1)</script><img src=x onerror=a()>"
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=a()&gt;"
#: Client names refuse ``<`` and ``>`` (as Auth0's do); quotes and ampersands still get through.
QUOTED = """Acme & "Co" 'x' onmouseover=alert(1)"""
QUOTED_ESCAPED = "Acme &amp; &#34;Co&#34; &#39;x&#39; onmouseover=alert(1)"

#: Redirect targets an attacker would try: another site, and the ways a lax matcher is fooled.
HOSTILE_REDIRECTS = [
    "https://evil.example/callback",
    "//evil.example/callback",
    "https://app.example/callback.evil.example",
    "https://app.example/callback@evil.example",
    "https://app.example@evil.example/callback",
    "https://app.example/callback/../../evil",
    "https://app.example/callback?next=https://evil.example",
    "https://app.example/callback#@evil.example",
    "https://APP.example/callback",
    "https:evil.example",
    "/\\evil.example",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "https://app.example/callback\r\nLocation: https://evil.example",
]


def _is_not_sent_away(response: httpx.Response) -> None:
    """The answer is a page, not a redirect (a refusal must never redirect to the bad URL)."""
    assert response.status_code < 300 or response.status_code >= 400, response.headers
    assert "location" not in response.headers


def _tenant_browser(tenant: Tenant) -> Browser:
    """A browser with a cookie jar of its own, on the tenant."""
    browser = Browser(tenant)
    browser.http = TestClient(tenant.http.app, base_url=TENANT_ORIGIN)
    return browser


def _count(tenant: Tenant, row: type[object], *where: object) -> int:
    with tenant.runtime.sessions() as session:
        return session.scalar(select(func.count()).select_from(row).where(*where)) or 0


# --- Open redirects ---


@pytest.mark.parametrize("tenant_database", BACKENDS[:1], indirect=True)
@pytest.mark.parametrize("target", HOSTILE_REDIRECTS)
def test_no_tenant_redirect_parameter_sends_the_browser_to_an_unregistered_url(
    tenant: Tenant, target: str
) -> None:
    """RFC 9700 §4.11.1: /authorize (GET and POST), /v2/logout and /oidc/logout follow only
    what the client registered, exactly; upstream returns with a forged state go nowhere."""
    client_id = make_client(tenant, allowed_logout_urls=[SIGNED_OUT])
    http = tenant.http
    authorize = {"client_id": client_id, "redirect_uri": target, "response_type": "code"}
    _is_not_sent_away(http.get("/authorize", params=authorize, follow_redirects=False))
    _is_not_sent_away(http.post("/authorize", data=authorize, follow_redirects=False))
    _is_not_sent_away(
        http.get(
            "/v2/logout",
            params={"client_id": client_id, "returnTo": target},
            follow_redirects=False,
        )
    )
    _is_not_sent_away(
        http.get(
            "/oidc/logout",
            params={"client_id": client_id, "post_logout_redirect_uri": target},
            follow_redirects=False,
        )
    )
    callback = http.get(
        "/login/callback",
        params={"state": secrets.token_urlsafe(16), "code": "x", "redirect_uri": target},
        follow_redirects=False,
    )
    _is_not_sent_away(callback)


@pytest.mark.parametrize("target", HOSTILE_REDIRECTS)
def test_no_workforce_redirect_parameter_sends_the_browser_to_an_unregistered_url(
    workforce: Workforce, target: str
) -> None:
    """RFC 9700 §4.11.1 at the workforce IdP: authorize, logout and the generic callback."""
    app = new_app(workforce.api())
    client_id = app["credentials"]["oauthClient"]["client_id"]
    http = TestClient(workforce.http.app, base_url=WORKFORCE_ORIGIN, follow_redirects=False)
    _is_not_sent_away(
        http.get(
            "/orgs/acme/oauth2/v1/authorize",
            params={
                "client_id": client_id,
                "redirect_uri": target,
                "response_type": "code",
                "scope": "openid",
                "state": "s",
            },
        )
    )
    _is_not_sent_away(
        http.get("/orgs/acme/oauth2/v1/logout", params={"post_logout_redirect_uri": target})
    )
    _is_not_sent_away(
        http.get(
            "/admin/app/generic/oauth20redirect",
            params={"state": secrets.token_urlsafe(16), "code": "x", "redirect_uri": target},
        )
    )


# --- CSRF on the login and consent forms ---


@pytest.mark.parametrize("tenant_database", BACKENDS[:1], indirect=True)
def test_a_tenant_login_form_with_no_or_another_sessions_csrf_token_signs_nobody_in(
    tenant: Tenant,
) -> None:
    """The synchronizer token: another browser's valid token does not open this login."""
    client_id = make_client(tenant)
    make_user(tenant, EMAIL)
    victim, attacker = _tenant_browser(tenant), _tenant_browser(tenant)
    page = victim.submit(victim.authorize(client_id), "/u/login/identifier", email=EMAIL)
    other = attacker.submit(attacker.authorize(client_id), "/u/login/identifier", email=EMAIL)
    stolen = attacker.form(other, "/u/login/password").fields["csrf_token"]
    assert stolen != victim.form(page, "/u/login/password").fields["csrf_token"]
    for token in ("", stolen):
        response = victim.submit(
            page, "/u/login/password", email=EMAIL, password=PASSWORD, csrf_token=token
        )
        assert response.status_code == 403, response.text
    assert _count(tenant, LoginSessionRow) == 0
    assert _count(tenant, LogEventRow, LogEventRow.type == "s") == 0


@pytest.mark.parametrize("tenant_database", BACKENDS[:1], indirect=True)
def test_a_consent_form_with_no_or_another_sessions_csrf_token_grants_nothing(
    tenant: Tenant,
) -> None:
    """Consent cannot be given by a cross-site POST: the form's own token is required."""
    make_api(tenant, "https://reports.example", "read:reports")
    client_id = make_client(tenant, is_first_party=False)
    make_user(tenant, EMAIL)
    ask = {"audience": "https://reports.example", "scope": "openid read:reports"}
    victim, attacker = _tenant_browser(tenant), _tenant_browser(tenant)
    page = victim.sign_in(client_id, EMAIL, **ask)
    other = attacker.sign_in(client_id, EMAIL, **ask)
    assert page.request.url.path == other.request.url.path == "/u/consent"
    stolen = attacker.form(other, "/u/consent").fields["csrf_token"]
    for token in ("", stolen):
        response = victim.submit(page, "/u/consent", action="accept", csrf_token=token)
        assert response.status_code == 403, response.text
        assert "location" not in response.headers
    accepted = victim.submit(page, "/u/consent", action="accept")
    assert "code" in query_of(accepted)


def test_a_workforce_login_form_with_no_or_another_sessions_csrf_token_signs_nobody_in(
    workforce: Workforce,
) -> None:
    """The workforce login page: its transaction's CSRF token, in the same browser."""
    api = workforce.api()
    user = api.post(
        "/users?activate=true",
        json={
            "profile": {"login": EMAIL, "email": EMAIL, "firstName": "Ada", "lastName": "L"},
            "credentials": {"password": {"value": PASSWORD}},
        },
    ).json()
    app = new_app(api)
    api.post(f"/apps/{app['id']}/users", json={"id": user["id"]}).raise_for_status()

    def login_page(browser: TestClient) -> tuple[str, str, str]:
        page = browser.get(
            "/orgs/acme/oauth2/v1/authorize",
            params={
                "client_id": app["credentials"]["oauthClient"]["client_id"],
                "redirect_uri": "https://vendor.example/login/callback",
                "response_type": "code",
                "scope": "openid",
                "state": "s",
            },
        )
        assert page.status_code == 200, page.text
        form = Browser.form(Browser.__new__(Browser), page, _action(page.text))
        return form.action, form.fields["transaction"], form.fields["csrf_token"]

    victim = TestClient(workforce.http.app, base_url=WORKFORCE_ORIGIN, follow_redirects=False)
    attacker = TestClient(workforce.http.app, base_url=WORKFORCE_ORIGIN, follow_redirects=False)
    action, transaction, _ = login_page(victim)
    _, _, stolen = login_page(attacker)
    for token in ("", stolen):
        response = victim.post(
            action,
            data={
                "transaction": transaction,
                "csrf_token": token,
                "username": EMAIL,
                "password": PASSWORD,
            },
        )
        assert response.status_code in (400, 403), response.text
        assert "location" not in response.headers


def _action(html: str) -> str:
    marker = 'action="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]


# --- Clickjacking ---


def _cannot_be_framed(response: httpx.Response) -> None:
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize("tenant_database", BACKENDS[:1], indirect=True)
def test_no_tenant_page_can_be_framed(tenant: Tenant) -> None:
    """RFC 7034 and CSP frame-ancestors on every login page, error page and API answer."""
    client_id = make_client(
        tenant, organization_usage="require", organization_require_behavior="pre_login_prompt"
    )
    browser = _tenant_browser(tenant)
    pages = [
        browser.authorize(client_id),
        browser.http.get("/authorize", params={"client_id": "nope"}),
        browser.http.get("/v2/logout", params={"returnTo": "https://evil.example"}),
        browser.http.get("/.well-known/openid-configuration"),
        browser.http.get("/api/v2/clients"),
        browser.http.post("/oauth/token", data={}),
    ]
    assert pages[0].request.url.path == "/u/organization"
    for page in pages:
        _cannot_be_framed(page)


def test_no_workforce_page_can_be_framed(workforce: Workforce) -> None:
    """The same headers on the workforce IdP's login, error and API answers."""
    app = new_app(workforce.api())
    http = workforce.http
    pages = [
        http.get(
            "/orgs/acme/oauth2/v1/authorize",
            params={
                "client_id": app["credentials"]["oauthClient"]["client_id"],
                "redirect_uri": "https://vendor.example/login/callback",
                "response_type": "code",
                "scope": "openid",
                "state": "s",
            },
        ),
        http.get("/orgs/acme/oauth2/v1/authorize", params={"client_id": "nope"}),
        http.get("/orgs/acme/api/v1/users"),
        http.get("/orgs/acme/.well-known/openid-configuration"),
    ]
    assert "text/html" in pages[0].headers["content-type"]
    for page in pages:
        _cannot_be_framed(page)


# --- Cookie flags ---


def _cookie_flags(response: httpx.Response, prefix: str) -> list[str]:
    """The Set-Cookie headers of the answer that set a cookie named ``prefix…``."""
    cookies = [
        header
        for header in response.headers.get_list("set-cookie")
        if header.startswith(prefix) and "max-age=0" not in header.lower()
    ]
    assert cookies, response.headers
    return cookies


def _check_flags(cookie: str, *, secure: bool) -> None:
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")[1:]}
    lowered = cookie.lower()
    assert "httponly" in attributes, cookie
    assert "samesite=lax" in lowered, cookie
    assert ("secure" in attributes) is secure, cookie


@pytest.fixture
def https_tenant(tenant: Tenant, tmp_path: Path) -> Iterator[TestClient]:
    """The same tenant, published at an https URL (behind a TLS-terminating proxy)."""
    settings = tenant.runtime.settings.model_copy(
        update={"tenant_public_url": "https://login.vendor.example", "data_dir": tmp_path}
    )
    runtime = TenantRuntime.from_settings(settings)
    with TestClient(create_tenant_app(runtime), base_url="https://login.vendor.example") as http:
        yield http
    runtime.engine.dispose()


@pytest.mark.parametrize("tenant_database", BACKENDS[:1], indirect=True)
@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_tenant_login_cookies_are_http_only_lax_and_secure_behind_tls(
    tenant: Tenant, https_tenant: TestClient, tls: bool
) -> None:
    """Scripts cannot read them, cross-site POSTs do not carry them, TLS keeps them on TLS."""
    client_id = make_client(tenant)
    make_user(tenant, EMAIL)
    browser = Browser(tenant)
    if tls:
        browser.http = https_tenant
    started = browser.http.get(
        "/authorize",
        params={
            "client_id": client_id,
            "redirect_uri": CALLBACK,
            "response_type": "code",
            "scope": "openid",
            "state": "s",
        },
        follow_redirects=False,
    )
    for cookie in _cookie_flags(started, "expressway_tenant"):
        _check_flags(cookie, secure=tls)
    page = browser.follow(started)
    page = browser.submit(page, "/u/login/identifier", email=EMAIL)
    form = browser.form(page, "/u/login/password")
    done = browser.http.post(
        "/u/login/password",
        data={**form.fields, "email": EMAIL, "password": PASSWORD},
        follow_redirects=False,
    )
    assert done.status_code in (302, 303), done.text
    for cookie in _cookie_flags(done, "expressway_tenant"):
        _check_flags(cookie, secure=tls)


@pytest.mark.parametrize("tls", [False, True], ids=["http", "https"])
def test_workforce_session_cookies_are_http_only_lax_and_secure_behind_tls(
    workforce: Workforce, tmp_path: Path, tls: bool
) -> None:
    """The workforce IdP's login cookies, the same way."""
    origin = "https://idp.acme.example" if tls else WORKFORCE_ORIGIN
    settings = Settings(
        data_dir=tmp_path,
        workforce_database_url=workforce.runtime.settings.workforce_database_url,
        secret_key=SecretStr(SECRET_KEY),
        workforce_public_url=origin,
        workforce_provisioning_worker=False,
    )
    runtime = WorkforceRuntime.from_settings(settings)
    api = workforce.api()
    user = api.post(
        "/users?activate=true",
        json={
            "profile": {"login": EMAIL, "email": EMAIL, "firstName": "Ada", "lastName": "L"},
            "credentials": {"password": {"value": PASSWORD}},
        },
    ).json()
    app = new_app(api)
    api.post(f"/apps/{app['id']}/users", json={"id": user["id"]}).raise_for_status()
    with TestClient(create_workforce_app(runtime), base_url=origin, follow_redirects=False) as http:
        page = http.get(
            "/orgs/acme/oauth2/v1/authorize",
            params={
                "client_id": app["credentials"]["oauthClient"]["client_id"],
                "redirect_uri": "https://vendor.example/login/callback",
                "response_type": "code",
                "scope": "openid",
                "state": "s",
            },
        )
        form = Browser.form(Browser.__new__(Browser), page, _action(page.text))
        done = http.post(form.action, data={**form.fields, "username": EMAIL, "password": PASSWORD})
        assert done.status_code in (302, 303), done.text
        for response in (page, done):
            for header in response.headers.get_list("set-cookie"):
                if "max-age=0" not in header.lower():
                    _check_flags(header, secure=tls)
        assert done.headers.get_list("set-cookie")
    runtime.engine.dispose()


# --- Markup in names and descriptions ---


def _shows_as_text(page: httpx.Response, *, payload: bool = True, client_name: bool = True) -> None:
    """No markup of :data:`PAYLOAD` or :data:`QUOTED` in the page; what it shows, escaped."""
    assert PAYLOAD not in page.text
    assert "<script>alert" not in page.text
    assert "<img src=x" not in page.text
    if payload:
        assert ESCAPED in page.text, page.text
    if client_name:
        assert QUOTED not in page.text
        assert QUOTED_ESCAPED in page.text, page.text


def test_markup_in_a_client_name_is_refused_at_the_management_api(tenant: Tenant) -> None:
    """Auth0 refuses ``<`` and ``>`` in a client name; a refusal names the property."""
    response = management(tenant).post(
        "/clients", json={"name": PAYLOAD, "app_type": "regular_web", "callbacks": [CALLBACK]}
    )
    assert response.status_code == 400
    assert "name" in response.json()["message"]


@pytest.mark.parametrize("tenant_database", BACKENDS[:1], indirect=True)
def test_markup_in_client_organization_and_connection_names_is_shown_as_text(
    tenant: Tenant,
) -> None:
    """Jinja2 autoescaping on the organization prompt, identifier, password and organization
    choice pages: a client name, an organization display name, a connection display name."""
    user_id = make_user(tenant, EMAIL)
    client_id = make_client(
        tenant,
        name=QUOTED,
        organization_usage="require",
        organization_require_behavior="pre_login_prompt",
    )
    organization = make_organization(tenant, "acme", user_id, display_name=PAYLOAD)
    connection = make_enterprise_connection(
        tenant, "acme-okta", domains=["acme.example"], clients=[client_id]
    )
    api = management(tenant)
    api.patch(f"/connections/{connection}", json={"display_name": PAYLOAD}).raise_for_status()
    api.post(
        f"/organizations/{organization}/enabled_connections",
        json={"connection_id": connection, "show_as_button": True},
    ).raise_for_status()
    browser = _tenant_browser(tenant)
    prompt = browser.authorize(client_id)
    assert prompt.request.url.path == "/u/organization"
    _shows_as_text(prompt, payload=False)
    identifier = browser.submit(prompt, "/u/organization", organization_name="acme")
    assert identifier.request.url.path == "/u/login/identifier"
    _shows_as_text(identifier)
    # The organization's display name and the connection's button both.
    assert identifier.text.count(ESCAPED) == 2, identifier.text
    password = browser.submit(identifier, "/u/login/identifier", email=EMAIL)
    _shows_as_text(password)

    chooser = make_client(
        tenant,
        name=QUOTED,
        organization_usage="require",
        organization_require_behavior="post_login_prompt",
    )
    make_organization(tenant, "globex", user_id, display_name=PAYLOAD)
    choice = _tenant_browser(tenant).sign_in(chooser, EMAIL)
    assert choice.request.url.path == "/u/organization/select"
    _shows_as_text(choice)


@pytest.mark.parametrize("tenant_database", BACKENDS[:1], indirect=True)
def test_markup_in_api_names_and_scope_descriptions_is_shown_as_text_on_consent(
    tenant: Tenant,
) -> None:
    """The consent page lists what the client asks for, as text."""
    api = management(tenant)
    created = api.post(
        "/resource-servers",
        json={
            "identifier": "https://reports.example",
            "name": PAYLOAD,
            "scopes": [{"value": "read:reports", "description": PAYLOAD}],
        },
    )
    assert created.status_code == 201, created.text
    client_id = make_client(tenant, name=QUOTED, is_first_party=False)
    make_user(tenant, EMAIL, name=PAYLOAD)
    page = _tenant_browser(tenant).sign_in(
        client_id, EMAIL, audience="https://reports.example", scope="openid read:reports"
    )
    assert page.request.url.path == "/u/consent"
    _shows_as_text(page)


def test_markup_in_an_app_label_is_shown_as_text_on_the_workforce_login_page(
    workforce: Workforce,
) -> None:
    """The workforce login page names the app the user signs in to, as text."""
    app = new_app(workforce.api(), label=PAYLOAD)
    page = workforce.http.get(
        "/orgs/acme/oauth2/v1/authorize",
        params={
            "client_id": app["credentials"]["oauthClient"]["client_id"],
            "redirect_uri": "https://vendor.example/login/callback",
            "response_type": "code",
            "scope": "openid",
            "state": "s",
            "login_hint": PAYLOAD,
        },
    )
    assert page.status_code == 200, page.text
    _shows_as_text(page, client_name=False)


# --- Isolation ---


@pytest.mark.parametrize("tenant_database", BACKENDS[:1], indirect=True)
def test_an_organizations_admin_cannot_express_configure_another_organization(
    tenant: Tenant,
) -> None:
    """SPEC §4.1 not_organization_member: an admin signs in to their own organization only,
    so no Express Configuration token names another one."""
    oin = make_express_configuration(tenant)
    admin = make_user(tenant, EMAIL)
    make_organization(tenant, "acme", admin)
    make_organization(tenant, "globex")
    answer = query_of(express_configure(_tenant_browser(tenant), oin, "globex", EMAIL))
    assert answer["error"] == "access_denied"
    assert "not_organization_member" in answer["error_cause"].split()
    assert "code" not in answer


@pytest.mark.parametrize("tenant_database", BACKENDS[:1], indirect=True)
def test_one_connections_scim_token_cannot_touch_another_connections_users(
    tenant: Tenant,
) -> None:
    """A SCIM token authenticates for its own connection's URL only (SPEC §2.2)."""
    client_id = make_client(tenant)
    api = management(tenant)
    tokens: dict[str, str] = {}
    bases: dict[str, str] = {}
    for name in ("acme", "globex"):
        connection = make_enterprise_connection(
            tenant, f"{name}-okta", domains=[f"{name}.example"], clients=[client_id]
        )
        api.post(f"/connections/{connection}/scim-configuration", json={}).raise_for_status()
        minted = api.post(f"/connections/{connection}/scim-configuration/tokens", json={})
        tokens[name] = minted.json()["token"]
        bases[name] = f"/scim/v2/connections/{connection}"

    def scim(name: str, token: str) -> Callable[..., httpx.Response]:
        def call(method: str, path: str, **kwargs: object) -> httpx.Response:
            return tenant.http.request(
                method,
                bases[name] + path,
                headers={"Authorization": f"Bearer {token}"},
                **kwargs,  # type: ignore[arg-type]
            )

        return call

    own = scim("globex", tokens["globex"])
    created = own(
        "POST",
        "/Users",
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "jane@globex.example",
            "active": True,
        },
    )
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    intruder = scim("globex", tokens["acme"])
    for method, path, body in [
        ("GET", "/Users", None),
        ("GET", f"/Users/{user_id}", None),
        (
            "PATCH",
            f"/Users/{user_id}",
            {"Operations": [{"op": "replace", "value": {"active": False}}]},
        ),
        ("DELETE", f"/Users/{user_id}", None),
    ]:
        response = intruder(method, path, json=body) if body else intruder(method, path)
        assert response.status_code == 401, (method, path, response.text)
    through_own_url = scim("acme", tokens["acme"])("GET", f"/Users/{user_id}")
    assert through_own_url.status_code == 404, through_own_url.text
    still = own("GET", f"/Users/{user_id}")
    assert still.status_code == 200
    assert still.json()["active"] is True


def test_one_workforce_org_cannot_see_another(workforce: Workforce) -> None:
    """An org's token is invalid in another org, and another org's ids are not found."""
    globex_user = new_user(workforce.api("globex"), "jane@globex.example")
    acme_token = workforce.admins["acme"].token
    as_acme_in_globex = workforce.api("globex", token=acme_token)
    okta_error(as_acme_in_globex.get("/users"), "E0000011")
    okta_error(as_acme_in_globex.get(f"/users/{globex_user['id']}"), "E0000011")
    acme = workforce.api("acme")
    missing = acme.get(f"/users/{globex_user['id']}")
    assert missing.status_code == 404
    okta_error(missing, "E0000007")
    assert acme.post(f"/users/{globex_user['id']}/lifecycle/deactivate").status_code == 404
    assert all(u["id"] != globex_user["id"] for u in acme.get("/users").json())
    assert urlsplit(str(acme.base_url)).path.startswith("/orgs/acme/")


@pytest.mark.parametrize("tenant_database", BACKENDS[:1], indirect=True)
def test_markup_in_names_and_descriptions_is_shown_as_text_in_the_tenant_dashboard(
    tenant: Tenant,
) -> None:
    """The dashboard's lists and detail pages of applications, APIs, roles, users,
    organizations and connections show every name and description as text."""
    api = management(tenant)
    client_id = make_client(tenant, name=QUOTED, description=PAYLOAD)
    created = api.post(
        "/resource-servers",
        json={
            "identifier": "https://reports.example",
            "name": PAYLOAD,
            "scopes": [{"value": "read:reports", "description": PAYLOAD}],
        },
    )
    assert created.status_code == 201, created.text
    role = api.post("/roles", json={"name": PAYLOAD, "description": PAYLOAD})
    assert role.status_code == 200, role.text
    make_user(tenant, EMAIL, name=PAYLOAD)
    organization = make_organization(tenant, "acme", display_name=PAYLOAD)
    connection = make_enterprise_connection(
        tenant, "acme-okta", domains=["acme.example"], clients=[client_id]
    )
    api.patch(f"/connections/{connection}", json={"display_name": PAYLOAD}).raise_for_status()
    secret, _, _ = sign_in_directly(tenant)
    browser = TestClient(tenant.http.app, base_url=TENANT_ORIGIN)
    browser.cookies.set(dashboard_accounts.COOKIE_NAME, secret)
    # Each page, with what it shows: the markup payload, the client's quoted name. The
    # connection pages show the connection's name, not its display name.
    pages = {
        "/applications": (False, True),
        f"/applications/{client_id}": (False, True),
        "/apis": (True, False),
        f"/apis/{created.json()['id']}": (True, False),
        "/roles": (True, False),
        f"/roles/{role.json()['id']}": (True, False),
        "/users": (True, False),
        "/organizations": (True, False),
        f"/organizations/{organization}": (True, False),
        "/connections": (False, False),
        f"/connections/{connection}": (False, False),
    }
    for path, (payload, client_name) in pages.items():
        page = browser.get(f"/dashboard{path}")
        assert page.status_code == 200, (path, page.text)
        _shows_as_text(page, payload=payload, client_name=client_name)


def test_markup_in_names_and_descriptions_is_shown_as_text_in_the_workforce_console(
    workforce: Workforce,
) -> None:
    """The console's people, groups, applications and OIN integrations show names as text."""
    api = workforce.api()
    user = new_user(api, "xss@acme.example", firstName=PAYLOAD, lastName=PAYLOAD)
    group = api.post("/groups", json={"profile": {"name": PAYLOAD, "description": PAYLOAD}})
    assert group.status_code == 200, group.text
    app = new_app(api, label=PAYLOAD)
    submission = api.post("/oin/submissions", json={"name": PAYLOAD, "description": PAYLOAD})
    assert submission.status_code == 200, submission.text
    console = open_console(workforce)
    for path in [
        "/people",
        f"/people/{user['id']}",
        "/groups",
        f"/groups/{group.json()['id']}",
        "/apps",
        f"/apps/{app['id']}/general",
        "/oin",
        f"/oin/{submission.json()['id']}",
    ]:
        page = console.browser.get(console.path(path))
        assert page.status_code == 200, (path, page.text)
        _shows_as_text(page, client_name=False)
