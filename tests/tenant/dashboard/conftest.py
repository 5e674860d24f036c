"""A signed-in dashboard for the tests, and a reader for what its pages hold."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from expressway.tenant.dashboard import accounts
from expressway.tenant.dashboard.readiness import HTTP_FACTORY_STATE
from expressway.tenant.rows import DashboardAdminRow
from tests.conftest import Tenant

ORIGIN = "http://localhost:8401"


class _Page(HTMLParser):
    """The parts of a page the tests look at: forms' hidden CSRF tokens, labels and inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.csrf_tokens: list[str] = []
        self.label_targets: set[str] = set()
        self.controls: list[dict[str, str | None]] = []
        self.scripts: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "input" and named.get("name") == "csrf_token":
            self.csrf_tokens.append(named.get("value") or "")
        if tag == "label" and named.get("for"):
            self.label_targets.add(named["for"] or "")
        if tag in ("input", "select", "textarea"):
            self.controls.append(named)
        if tag == "script":
            self.scripts.append(named)


def read_page(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


@dataclass
class Console:
    """A browser signed in to the dashboard: posts carry the session's CSRF token."""

    http: TestClient
    csrf: str
    admin_id: str

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(f"/dashboard{path}", **kwargs)

    def post(self, path: str, data: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
        form = {"csrf_token": self.csrf, **(data or {})}
        return self.http.post(f"/dashboard{path}", data=form, follow_redirects=False, **kwargs)

    def submit(
        self, path: str, data: dict[str, Any] | None = None, **kwargs: Any
    ) -> httpx.Response:
        """Post, then follow the redirect as a browser does; the page shown after."""
        answer = self.post(path, data, **kwargs)
        if answer.status_code == 303:
            return self.http.get(answer.headers["location"])
        return answer


class InProcess(httpx.BaseTransport):
    """Requests to the tenant's public URL, served by the app in this process.

    Not the TestClient itself: the Auth0 SDK sets a timeout on each request, which the
    TestClient refuses."""

    def __init__(self, app: Any) -> None:
        self._client = TestClient(app, base_url=ORIGIN)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        answer = self._client.request(
            request.method, str(request.url), headers=request.headers, content=request.read()
        )
        headers = [(k, v) for k, v in answer.headers.items() if k.lower() != "content-encoding"]
        return httpx.Response(answer.status_code, headers=headers, content=answer.content)


def sign_in_directly(tenant: Tenant) -> tuple[str, str, str]:
    """A dashboard session made without the password check (slow on purpose, and tested in
    test_sign_in); its cookie, its CSRF token and the admin's id."""
    runtime = tenant.runtime
    with runtime.sessions() as session:
        admin = session.scalars(select(DashboardAdminRow)).first()
        if admin is None:
            admin = accounts.create_admin(
                session, runtime.clock.now(), accounts.DEFAULT_ADMIN_EMAIL
            ).row
        started = accounts.start_session(session, runtime.clock.now(), admin)
        session.commit()
        return started.secret, started.row.csrf_token, admin.id


@pytest.fixture
def console(tenant: Tenant) -> Iterator[Console]:
    secret, csrf, admin_id = sign_in_directly(tenant)
    app = tenant.http.app
    # The Readiness panel runs doctor over HTTP against the tenant's public URL; here that URL
    # is served in process.
    setattr(app.state, HTTP_FACTORY_STATE, lambda: httpx.Client(transport=InProcess(app)))
    client = TestClient(app, base_url=ORIGIN)
    client.cookies.set(accounts.COOKIE_NAME, secret)
    yield Console(client, csrf, admin_id)
    client.close()


def new_admin(tenant: Tenant, password: str) -> str:
    """An admin with a known password; answers its e-mail (admins outlive each test)."""
    email = f"admin-{secrets.token_hex(4)}@example.com"
    with tenant.runtime.sessions() as session:
        accounts.create_admin(session, tenant.runtime.clock.now(), email, password)
        session.commit()
    return email


def text_of(html: str) -> str:
    """The page's text without tags, spaces collapsed."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
