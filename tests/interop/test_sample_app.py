"""The sample app against a real tenant server: a person signs in with identifier-first login
(and through the initiate login URI with an organization), sees who they are, and signs out.

The sample app runs in process; the browser is a cookie-keeping httpx client that fills in the
tenant's login pages, handing the redirect back to the sample app as a browser would."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from expressway.config import Settings
from expressway.sample_app.app import create_app
from tests.interop.conftest import LiveTenant
from tests.tenant.browser import forms_of

SAMPLE_URL = "http://localhost:8400"
PASSWORD = "Correct-Horse-88"


@dataclass
class Setup:
    client_id: str
    client_secret: str
    user_id: str
    email: str
    organization_id: str


def _api(live_tenant: LiveTenant, method: str, path: str, body: Any) -> Any:
    response = httpx.request(
        method,
        f"{live_tenant.url}/api/v2{path}",
        json=body,
        headers={"Authorization": f"Bearer {live_tenant.token()}"},
        timeout=30,
    )
    assert response.status_code < 300, response.text
    return response.json() if response.content else None


@pytest.fixture(scope="module")
def setup(live_tenant: LiveTenant) -> Setup:
    """A regular_web client for the sample app, a database user, and an organization of theirs."""
    client = _api(
        live_tenant,
        "POST",
        "/clients",
        {
            "name": "Sample App",
            "app_type": "regular_web",
            "callbacks": [f"{SAMPLE_URL}/callback"],
            "allowed_logout_urls": [f"{SAMPLE_URL}/"],
            "grant_types": ["authorization_code"],
            "organization_usage": "allow",
        },
    )
    email = "grace@sample.example"
    user = _api(
        live_tenant,
        "POST",
        "/users",
        {
            "connection": "Username-Password-Authentication",
            "email": email,
            "password": PASSWORD,
            "name": "Grace Hopper",
        },
    )
    organization = _api(
        live_tenant, "POST", "/organizations", {"name": "navy", "display_name": "Navy"}
    )
    _api(
        live_tenant,
        "POST",
        f"/organizations/{organization['id']}/members",
        {"members": [user["user_id"]]},
    )
    return Setup(
        client["client_id"], client["client_secret"], user["user_id"], email, organization["id"]
    )


@pytest.fixture
def sample(live_tenant: LiveTenant, setup: Setup, tmp_path: Path) -> Iterator[TestClient]:
    settings = Settings(
        data_dir=tmp_path,
        secret_key=SecretStr("interop-sample-app"),
        tenant_public_url=live_tenant.url,
        sample_app_public_url=SAMPLE_URL,
        sample_app_client_id=setup.client_id,
        sample_app_client_secret=SecretStr(setup.client_secret),
    )
    with TestClient(create_app(settings), base_url=SAMPLE_URL) as client:
        yield client


def _through_the_tenant(
    browser: httpx.Client, location: str, setup: Setup
) -> tuple[str, list[str]]:
    """Follow the tenant's redirects and fill in its pages until it sends the browser back to
    the sample app; answer that URL and the paths of the pages filled in."""
    pages: list[str] = []
    response = browser.get(location)
    for _ in range(10):
        if response.status_code in (302, 303):
            location = response.headers["location"]
            if location.startswith(SAMPLE_URL):
                return location, pages
            response = browser.get(response.url.join(location))
            continue
        assert response.status_code == 200, response.text
        pages.append(response.url.path)
        form = forms_of(response.text)[0]
        fields = dict(form.fields)
        if form.action == "/u/login/identifier":
            assert fields["email"] == setup.email, "the login_hint reached the identifier page"
        if "password" in fields:
            fields["password"] = PASSWORD
        if form.action == "/u/consent":
            fields["action"] = "accept"
        response = browser.post(str(response.url.join(form.action)), data=fields)
    raise AssertionError("the tenant never sent the browser back")


def _sign_in(sample: TestClient, setup: Setup, **params: str) -> tuple[str, list[str]]:
    start = sample.get("/login", params=params, follow_redirects=False)
    assert start.status_code == 302, start.text
    with httpx.Client(timeout=30, follow_redirects=False) as browser:
        back, pages = _through_the_tenant(browser, start.headers["location"], setup)
    parts = urlsplit(back)
    callback = sample.get(f"{parts.path}?{parts.query}", follow_redirects=False)
    assert callback.status_code == 303, callback.text
    return sample.get("/").text, pages


def test_a_person_signs_in_to_the_sample_app_identifier_first_and_signs_out(
    live_tenant: LiveTenant, setup: Setup, sample: TestClient
) -> None:
    """The e-mail typed on the sample app reaches the tenant's identifier page; the password
    page follows; the sample app shows the person; logout goes through the tenant and back."""
    home, pages = _sign_in(sample, setup, login_hint=setup.email)
    assert pages[:2] == ["/u/login/identifier", "/u/login/password"]
    assert "Grace Hopper" in home
    assert setup.email in home
    assert setup.user_id in home
    assert "without an organization" in home
    logout = sample.get("/logout", follow_redirects=False)
    tenant_logout = httpx.get(logout.headers["location"], follow_redirects=False)
    assert tenant_logout.status_code == 302, tenant_logout.text
    assert tenant_logout.headers["location"] == f"{SAMPLE_URL}/"
    assert setup.user_id not in sample.get("/").text


def test_the_initiate_login_uri_signs_a_member_in_to_their_organization(
    live_tenant: LiveTenant, setup: Setup, sample: TestClient
) -> None:
    """/login?organization=… passes through: both tokens carry the organization."""
    home, _ = _sign_in(sample, setup, organization=setup.organization_id, login_hint=setup.email)
    assert setup.user_id in home
    assert home.count(setup.organization_id) == 2, "org_id of the ID token and the access token"
    assert "navy" in home
