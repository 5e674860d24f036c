"""What the provisioning tests share: the workforce IdP with its worker off (jobs are run one
pass at a time by ``run_due_jobs``), a fake SCIM app served through ``httpx.MockTransport`` that
records every request and fails on demand, and an app instance wired to it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from fastapi.testclient import TestClient

from expressway.workforce.app import create_app
from expressway.workforce.provisioning.worker import run_due_jobs
from expressway.workforce.rows import AppRow
from expressway.workforce.runtime import WorkforceRuntime
from tests.workforce.conftest import PUBLIC_URL, Seed, Workforce, _reset, _settings, new_app

SCIM_BASE = "https://vendor.example/scim/v2/connections/con_1"
SCIM_TOKEN = "scim-bearer-token-of-the-connection"
LOGOUT_ENDPOINT = "https://vendor.example/oauth/global-token-revocation/connection/okta-acme"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@pytest.fixture
def workforce(workforce_seed: Seed, workforce_database: str, tmp_path: Path) -> Iterator[Workforce]:
    """The workforce IdP with its provisioning worker off: tests run jobs themselves."""
    settings = _settings(workforce_database, tmp_path).model_copy(
        update={"workforce_provisioning_worker": False}
    )
    runtime = WorkforceRuntime.from_settings(settings)
    _reset(runtime.engine, workforce_seed)
    with TestClient(create_app(runtime), base_url=PUBLIC_URL) as http:
        yield Workforce(runtime, http, workforce_seed.admins)
    runtime.engine.dispose()


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, str]
    body: Any
    headers: httpx.Headers


def _scim(status: int, body: Any = None, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status,
        content=b"" if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/scim+json", **(headers or {})},
    )


def scim_error(status: int, detail: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return _scim(
        status, {"schemas": [ERROR_SCHEMA], "status": str(status), "detail": detail}, headers
    )


@dataclass
class FakeScim:
    """A SCIM service (and a Universal Logout receiver) with users and groups in memory.

    ``failures`` are answered first, one per request, in order: an ``httpx.Response`` or
    ``"connect"`` for a connection error.
    """

    users: dict[str, dict[str, Any]] = field(default_factory=dict)
    groups: dict[str, dict[str, Any]] = field(default_factory=dict)
    failures: list[httpx.Response | str] = field(default_factory=list)
    requests: list[Seen] = field(default_factory=list)
    logouts: list[httpx.Request] = field(default_factory=list)
    logout_answer: httpx.Response | None = None
    counter: int = 0

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content) if request.content else None
        query = {k: v[0] for k, v in parse_qs(request.url.query.decode()).items()}
        self.requests.append(Seen(request.method, request.url.path, query, body, request.headers))
        if self.failures:
            failure = self.failures.pop(0)
            if failure == "connect":
                raise httpx.ConnectError("connection refused", request=request)
            assert isinstance(failure, httpx.Response)
            return failure
        if request.url.path.startswith("/oauth/global-token-revocation/"):
            self.logouts.append(request)
            return self.logout_answer or httpx.Response(204)
        assert request.headers["authorization"] == f"Bearer {SCIM_TOKEN}"
        prefix = "/scim/v2/connections/con_1"
        assert request.url.path.startswith(prefix), request.url
        path = request.url.path.removeprefix(prefix)
        if path.startswith("/Users"):
            return self._users(request.method, path, query, body)
        if path.startswith("/Groups"):
            return self._groups(request.method, path, query, body)
        return scim_error(404, "no such endpoint")

    def _id(self) -> str:
        self.counter += 1
        return f"scim-{self.counter}"

    def _list(self, items: list[dict[str, Any]], query: dict[str, str]) -> httpx.Response:
        start = int(query.get("startIndex", "1"))
        count = int(query.get("count", "100"))
        page = items[start - 1 : start - 1 + count]
        return _scim(
            200,
            {
                "schemas": [LIST_SCHEMA],
                "totalResults": len(items),
                "startIndex": start,
                "itemsPerPage": len(page),
                "Resources": page,
            },
        )

    @staticmethod
    def _filter_value(query: dict[str, str], attribute: str) -> str | None:
        text = query.get("filter")
        if text is None:
            return None
        name, op, value = text.split(" ", 2)
        assert (name, op) == (attribute, "eq"), text
        loaded: str = json.loads(value)
        return loaded

    def _users(self, method: str, path: str, query: dict[str, str], body: Any) -> httpx.Response:
        if method == "GET" and path == "/Users":
            wanted = self._filter_value(query, "userName")
            items = [
                u
                for u in self.users.values()
                if wanted is None or u["userName"].lower() == wanted.lower()
            ]
            return self._list(items, query)
        if method == "POST" and path == "/Users":
            assert body["schemas"] == [USER_SCHEMA]
            if any(u["userName"].lower() == body["userName"].lower() for u in self.users.values()):
                return scim_error(409, "userName is taken")
            user = {**body, "id": self._id(), "meta": {"resourceType": "User"}}
            self.users[user["id"]] = user
            return _scim(201, user)
        scim_id = path.removeprefix("/Users/")
        if scim_id not in self.users:
            return scim_error(404, f"no user {scim_id}")
        if method == "PUT":
            self.users[scim_id] = {**body, "id": scim_id, "meta": {"resourceType": "User"}}
            return _scim(200, self.users[scim_id])
        if method == "PATCH":
            assert body["schemas"] == [PATCH_SCHEMA]
            for operation in body["Operations"]:
                assert operation["op"] == "replace"
                assert "path" not in operation
                self.users[scim_id].update(operation["value"])
            return _scim(200, self.users[scim_id])
        return scim_error(405, f"{method} is not allowed on users")

    def _groups(self, method: str, path: str, query: dict[str, str], body: Any) -> httpx.Response:
        if method == "GET" and path == "/Groups":
            wanted = self._filter_value(query, "displayName")
            items = [
                g for g in self.groups.values() if wanted is None or g["displayName"] == wanted
            ]
            return self._list(items, query)
        if method == "POST" and path == "/Groups":
            assert body["schemas"] == [GROUP_SCHEMA]
            group = {**body, "id": self._id(), "meta": {"resourceType": "Group"}}
            group.setdefault("members", [])
            self.groups[group["id"]] = group
            return _scim(201, group)
        scim_id = path.removeprefix("/Groups/")
        if scim_id not in self.groups:
            return scim_error(404, f"no group {scim_id}")
        group = self.groups[scim_id]
        if method == "DELETE":
            del self.groups[scim_id]
            return httpx.Response(204)
        if method == "PATCH":
            for operation in body["Operations"]:
                if operation["path"] == "members" and operation["op"] == "add":
                    known = {m["value"] for m in group["members"]}
                    group["members"] += [m for m in operation["value"] if m["value"] not in known]
                elif operation["op"] == "remove":
                    member = operation["path"].split('"')[1]
                    group["members"] = [m for m in group["members"] if m["value"] != member]
                elif operation["path"] == "displayName":
                    group["displayName"] = operation["value"]
            return httpx.Response(204)
        return scim_error(405, f"{method} is not allowed on groups")

    def calls(self, method: str | None = None) -> list[tuple[str, str]]:
        """``(method, path below the base URL)`` of the SCIM requests, in order."""
        prefix = "/scim/v2/connections/con_1"
        return [
            (seen.method, seen.path.removeprefix(prefix))
            for seen in self.requests
            if seen.path.startswith(prefix) and (method is None or seen.method == method)
        ]


@dataclass
class Provisioned:
    workforce: Workforce
    fake: FakeScim
    app_id: str

    @property
    def api(self) -> TestClient:
        return self.workforce.api()

    def run(self, now: datetime | None = None) -> int:
        return run_due_jobs(self.workforce.runtime, now)

    def later(self, **delta: float) -> datetime:
        return self.workforce.runtime.clock.now() + timedelta(**delta)

    def switches(self, create: bool = True, profile: bool = True, deactivate: bool = True) -> Any:
        def status(on: bool) -> dict[str, str]:
            return {"status": "ENABLED" if on else "DISABLED"}

        response = self.api.put(
            f"/apps/{self.app_id}/features/USER_PROVISIONING",
            json={
                "create": {"lifecycleCreate": status(create)},
                "update": {"profile": status(profile), "lifecycleDeactivate": status(deactivate)},
            },
        )
        assert response.status_code == 200, response.text
        return response.json()

    def jobs(self, state: str | None = None) -> list[dict[str, Any]]:
        params = {"state": state} if state else {}
        response = self.api.get(f"/apps/{self.app_id}/provisioning/jobs", params=params)
        assert response.status_code == 200, response.text
        jobs: list[dict[str, Any]] = response.json()
        return jobs


def configure(workforce: Workforce, app_id: str, *, scim: bool = True, logout: bool = True) -> None:
    """What Express Configure SCIM and SSO leave on an instance (the token sealed)."""
    with workforce.runtime.sessions() as session:
        app = session.get(AppRow, app_id)
        assert app is not None
        configuration: dict[str, Any] = {}
        if scim:
            configuration["scim"] = {
                "scim_base_url": SCIM_BASE,
                "token_id": "tok_1",
                "valid_until": None,
                "token_sealed": workforce.runtime.secret_sealer.seal(SCIM_TOKEN.encode()),
            }
        if logout:
            configuration["sso"] = {"global_token_revocation_endpoint": LOGOUT_ENDPOINT}
        app.express_configuration = configuration
        session.commit()


@pytest.fixture
def fake() -> FakeScim:
    return FakeScim()


@pytest.fixture
def provisioned(workforce: Workforce, fake: FakeScim) -> Provisioned:
    """An app instance with SCIM configured against the fake app; switches still off."""
    app = new_app(workforce.api())
    configure(workforce, app["id"])
    workforce.runtime.tenant_http = lambda: httpx.Client(transport=httpx.MockTransport(fake.handle))
    return Provisioned(workforce, fake, app["id"])
