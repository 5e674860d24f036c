"""What the console tests share: an admin signed in to an org's console in a browser of its own,
and the anti-CSRF token its pages carry."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from expressway.workforce.app import create_app
from expressway.workforce.runtime import WorkforceRuntime
from tests.workforce.conftest import PUBLIC_URL, Seed, Workforce, _reset, _settings

_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')
_LOGIN_TOKEN = re.compile(r'name="login_token" value="([^"]+)"')


def page_token(html: str) -> str:
    """The session's anti-CSRF token, as a console page carries it."""
    found = _CSRF_META.search(html)
    assert found is not None, html[:500]
    return found.group(1)


def sign_in(browser: TestClient, org: str, username: str, password: str) -> TestClient:
    """Fill the console's sign-in form the way a browser would."""
    page = browser.get(f"/orgs/{org}/admin/login")
    assert page.status_code == 200, page.text
    token = _LOGIN_TOKEN.search(page.text)
    assert token is not None
    return browser.post(
        f"/orgs/{org}/admin/login",
        data={"login_token": token.group(1), "username": username, "password": password},
        follow_redirects=False,
    )


@dataclass
class Console:
    """An admin's browser, signed in to ``org``'s console."""

    browser: TestClient
    org: str

    def path(self, path: str = "") -> str:
        return f"/orgs/{self.org}/admin{path}"

    def get(self, path: str = "") -> str:
        response = self.browser.get(self.path(path))
        assert response.status_code == 200, response.text
        return response.text

    @property
    def token(self) -> str:
        return page_token(self.get())

    def post(self, path: str, data: dict[str, Any] | None = None) -> Any:
        """A form post with the session's token, as the page's form sends it."""
        fields: dict[str, Any] = {"csrf_token": self.token, **(data or {})}
        return self.browser.post(self.path(path), data=fields, follow_redirects=False)


def open_console(workforce: Workforce, org: str = "acme") -> Console:
    browser = TestClient(workforce.http.app, base_url=PUBLIC_URL)
    admin = workforce.admins[org]
    signed_in = sign_in(browser, org, admin.login, admin.password)
    assert signed_in.status_code == 303, signed_in.text
    return Console(browser, org)


@pytest.fixture
def workforce(workforce_seed: Seed, workforce_database: str, tmp_path: Path) -> Iterator[Workforce]:
    """The workforce IdP with its provisioning worker off, so that jobs stay as a test left them."""
    settings = _settings(workforce_database, tmp_path).model_copy(
        update={"workforce_provisioning_worker": False}
    )
    runtime = WorkforceRuntime.from_settings(settings)
    _reset(runtime.engine, workforce_seed)
    with TestClient(create_app(runtime), base_url=PUBLIC_URL) as http:
        yield Workforce(runtime, http, workforce_seed.admins)
    runtime.engine.dispose()


@pytest.fixture
def console(workforce: Workforce) -> Console:
    return open_console(workforce)
