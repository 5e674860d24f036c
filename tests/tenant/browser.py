"""A browser for Universal Login tests, and the Management API setup those tests share.

The tenant's TestClient keeps cookies; :class:`Browser` adds what a person's browser does on top:
following the tenant's own redirects (and stopping at the application's), and submitting a page's
form with its hidden fields (``state``, ``csrf_token``) as served.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import weakref
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from fastapi.testclient import TestClient

from expressway.tenant.rows import ClientRow
from tests.conftest import Tenant

TENANT_ORIGIN = "http://localhost:8401"
CALLBACK = "https://app.example/callback"
PASSWORD = "Correct-Horse-7"
DATABASE = "Username-Password-Authentication"
EXPRESS_CONFIGURE_API = "urn:auth0:express-configure"


@dataclass
class Form:
    action: str
    fields: dict[str, str] = field(default_factory=dict)
    #: Values of the submit buttons that carry a name, by name.
    buttons: dict[str, list[str]] = field(default_factory=dict)
    #: The ``for`` of every label, to check inputs are labelled.
    labels: set[str] = field(default_factory=set)
    input_ids: set[str] = field(default_factory=set)


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self.labels: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(Form(action=attributes.get("action", "")))
        elif tag == "label" and "for" in attributes:
            self.labels.add(attributes["for"])
        elif self.forms and tag == "input":
            form = self.forms[-1]
            kind = attributes.get("type", "text")
            if "id" in attributes and kind != "hidden":
                form.input_ids.add(attributes["id"])
            if kind == "radio" and "checked" not in attributes:
                return
            if "name" in attributes:
                form.fields[attributes["name"]] = attributes.get("value", "")
        elif self.forms and tag == "button" and "name" in attributes:
            form = self.forms[-1]
            form.buttons.setdefault(attributes["name"], []).append(attributes.get("value", ""))


def forms_of(html: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(html)
    for form in parser.forms:
        form.labels = parser.labels
    return parser.forms


def query_of(response: httpx.Response) -> dict[str, str]:
    """The query parameters of a redirect, one value each."""
    location = response.headers["location"]
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class Browser:
    def __init__(self, tenant: Tenant) -> None:
        self.http = tenant.http

    def authorize(self, client_id: str, **params: str) -> httpx.Response:
        """GET /authorize with sensible defaults, then the tenant's own redirects."""
        query = {
            "client_id": client_id,
            "redirect_uri": CALLBACK,
            "response_type": "code",
            "scope": "openid profile email",
            "state": "xyz-state",
            **params,
        }
        query = {k: v for k, v in query.items() if v != ""}
        return self.follow(self.http.get("/authorize", params=query, follow_redirects=False))

    def follow(self, response: httpx.Response) -> httpx.Response:
        """Follow redirects while they stay at the tenant."""
        for _ in range(10):
            if response.status_code not in (302, 303):
                return response
            location = response.headers["location"]
            if location.startswith(TENANT_ORIGIN):
                location = location[len(TENANT_ORIGIN) :]
            if not location.startswith("/"):
                return response
            response = self.http.get(location, follow_redirects=False)
        raise AssertionError("too many redirects")

    def form(self, page: httpx.Response, action: str) -> Form:
        for form in forms_of(page.text):
            if form.action == action:
                return form
        raise AssertionError(f"no form posting to {action} in:\n{page.text}")

    def submit(self, page: httpx.Response, path: str, /, **fields: str) -> httpx.Response:
        """Post the page's form to ``path``: its fields as served, then ``fields``."""
        form = self.form(page, path)
        data = {**form.fields, **fields}
        return self.follow(self.http.post(path, data=data, follow_redirects=False))

    def sign_in(
        self, client_id: str, email: str, password: str = PASSWORD, **params: str
    ) -> httpx.Response:
        """Identifier then password; answers what follows the password page."""
        page = self.authorize(client_id, **params)
        if page.request.url.path == "/u/login/identifier":
            page = self.submit(page, "/u/login/identifier", email=email)
        assert page.request.url.path == "/u/login/password", page.text
        return self.submit(page, "/u/login/password", email=email, password=password)


def new_browser(tenant: Tenant, address: str = "testclient") -> Browser:
    """A browser of its own (cookies and all, so no login session from an earlier sign-in),
    connecting from ``address``."""
    browser = Browser(tenant)
    browser.http = TestClient(tenant.http.app, base_url=TENANT_ORIGIN, client=(address, 50000))
    return browser


def signed_in(response: httpx.Response) -> bool:
    """Whether the answer to a sign-in step is the redirect back to the application."""
    return response.status_code == 303 and response.headers["location"].startswith(CALLBACK)


# --- Setup through the Management API ---

_management_clients: weakref.WeakKeyDictionary[TestClient, TestClient] = weakref.WeakKeyDictionary()


def management(tenant: Tenant) -> TestClient:
    """The tenant's Management API client, made once per test: each one costs a token."""
    client = _management_clients.get(tenant.http)
    if client is None:
        client = _management_clients[tenant.http] = tenant.api()
    return client


def make_client(tenant: Tenant, **fields: Any) -> str:
    body = {"name": "Sample App", "app_type": "regular_web", "callbacks": [CALLBACK], **fields}
    response = management(tenant).post("/clients", json=body)
    assert response.status_code == 201, response.text
    client_id: str = response.json()["client_id"]
    return client_id


def make_user(tenant: Tenant, email: str, **fields: Any) -> str:
    body = {"connection": DATABASE, "email": email, "password": PASSWORD, **fields}
    response = management(tenant).post("/users", json=body)
    assert response.status_code == 201, response.text
    user_id: str = response.json()["user_id"]
    return user_id


def make_api(tenant: Tenant, identifier: str, *scopes: str, **fields: Any) -> None:
    response = management(tenant).post(
        "/resource-servers",
        json={
            "identifier": identifier,
            "name": f"API {identifier}",
            "scopes": [{"value": s, "description": f"Do {s}"} for s in scopes],
            **fields,
        },
    )
    assert response.status_code == 201, response.text


def make_organization(tenant: Tenant, name: str, *members: str, **fields: Any) -> str:
    api = management(tenant)
    response = api.post("/organizations", json={"name": name, **fields})
    assert response.status_code == 201, response.text
    organization_id: str = response.json()["id"]
    if members:
        added = api.post(f"/organizations/{organization_id}/members", json={"members": members})
        assert added.status_code == 204, added.text
    return organization_id


def database_connection_id(tenant: Tenant) -> str:
    connections = management(tenant).get("/connections", params={"name": DATABASE}).json()
    listed = connections["connections"] if isinstance(connections, dict) else connections
    connection_id: str = listed[0]["id"]
    return connection_id


def make_enterprise_connection(
    tenant: Tenant, name: str, *, domains: list[str], clients: list[str]
) -> str:
    response = management(tenant).post(
        "/connections",
        json={
            "name": name,
            "strategy": "okta",
            "options": {
                "domain": "acme.okta.example",
                "client_id": "upstream-client",
                "client_secret": "upstream-secret",
                "domain_aliases": domains,
            },
            "enabled_clients": clients,
        },
    )
    assert response.status_code == 201, response.text
    connection_id: str = response.json()["id"]
    return connection_id


def make_express_configuration(tenant: Tenant) -> str:
    """The Express Configuration API with a role holding both permissions, and the OIN client
    named by a SaaS app whose Home Realm Discovery is off; answers the OIN client's id."""
    make_api(tenant, EXPRESS_CONFIGURE_API, "express_configure:sso", "express_configure:scim")
    api = management(tenant)
    role = api.post("/roles", json={"name": "Express Configure admin"}).json()
    api.post(
        f"/roles/{role['id']}/permissions",
        json={
            "permissions": [
                {"resource_server_identifier": EXPRESS_CONFIGURE_API, "permission_name": p}
                for p in ("express_configure:sso", "express_configure:scim")
            ]
        },
    ).raise_for_status()
    oin = make_client(tenant, app_type="express_configuration")
    saas = make_client(tenant, name="SaaS app")
    # The SaaS app's express_configuration needs profiles; only the link to the OIN client
    # matters here.
    with tenant.runtime.sessions() as session:
        row = session.get(ClientRow, saas)
        assert row is not None
        row.express_configuration = {"okta_oin_client_id": oin}
        session.commit()
    return oin


def express_configure(browser: Browser, oin: str, organization: str, email: str) -> httpx.Response:
    """The admin's side of Express Configure SSO (SPEC §4 steps 1-2), up to what follows the
    password page."""
    _, challenge = pkce_pair()
    page = browser.authorize(
        oin,
        audience=EXPRESS_CONFIGURE_API,
        scope="openid express_configure:sso",
        code_challenge=challenge,
        code_challenge_method="S256",
    )
    assert page.request.url.path == "/u/organization", page.text
    page = browser.submit(page, "/u/organization", organization_name=organization)
    page = browser.submit(page, "/u/login/identifier", email=email)
    return browser.submit(page, "/u/login/password", email=email, password=PASSWORD)
