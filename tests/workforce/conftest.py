"""Fixtures of the workforce IdP's tests: two orgs on SQLite or PostgreSQL, and admin API clients.

Each database is made once per backend per test session, migrated, and given the orgs ``acme``
and ``globex`` with their signing keys, super admins and API tokens (making RSA keys and Argon2id
hashes is the slow part). Between tests every other row is deleted and those admins and tokens are
put back as they were, so each test starts from the same two fresh orgs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydantic import SecretStr

from expressway.config import Settings
from expressway.workforce.app import create_app
from expressway.workforce.bootstrap import initialise_org
from expressway.workforce.rows import (
    AdminRoleRow,
    ApiTokenRow,
    OrgRow,
    OrgSigningKeyRow,
    UserRow,
    WorkforceBase,
)
from expressway.workforce.runtime import WorkforceRuntime
from tests.databases import fresh_database

ORGS = ("acme", "globex")
PUBLIC_URL = "http://localhost:8402"
SECRET_KEY = "test-secret-key-for-the-workforce"
#: Rows made by ``workforce init`` that every test starts with again.
_SEEDED = (UserRow, AdminRoleRow, ApiTokenRow)
_KEPT = (OrgRow.__tablename__, OrgSigningKeyRow.__tablename__)


@pytest.fixture(scope="session")
def workforce_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    backend = getattr(request, "param", "sqlite")
    with fresh_database(backend, tmp_path_factory.mktemp("workforce-db")) as url:
        yield url


def _settings(database_url: str, data_dir: Path) -> Settings:
    return Settings(
        data_dir=data_dir,
        workforce_database_url=database_url,
        secret_key=SecretStr(SECRET_KEY),
        workforce_public_url=PUBLIC_URL,
    )


@dataclass(frozen=True)
class OrgAdmin:
    org: str
    login: str
    password: str
    token: str


@dataclass(frozen=True)
class Seed:
    admins: dict[str, OrgAdmin]
    rows: dict[str, list[dict[str, Any]]]


@pytest.fixture(scope="session")
def workforce_seed(workforce_database: str, tmp_path_factory: pytest.TempPathFactory) -> Seed:
    runtime = WorkforceRuntime.from_settings(
        _settings(workforce_database, tmp_path_factory.mktemp("workforce-seed"))
    )
    admins = {}
    for org in ORGS:
        result = initialise_org(runtime, org)
        assert result.admin_login
        assert result.admin_password
        assert result.api_token
        admins[org] = OrgAdmin(org, result.admin_login, result.admin_password, result.api_token)
    with runtime.engine.connect() as connection:
        rows = {
            row.__tablename__: [dict(r._mapping) for r in connection.execute(sa.select(row))]
            for row in _SEEDED
        }
    runtime.engine.dispose()
    return Seed(admins, rows)


def _reset(engine: sa.Engine, seed: Seed) -> None:
    with engine.begin() as connection:
        for table in reversed(WorkforceBase.metadata.sorted_tables):
            if table.name not in _KEPT:
                connection.execute(table.delete())
        connection.execute(sa.delete(OrgRow).where(OrgRow.name.not_in(ORGS)))
        for row in _SEEDED:
            connection.execute(sa.insert(row), seed.rows[row.__tablename__])


@dataclass
class Workforce:
    runtime: WorkforceRuntime
    http: TestClient
    admins: dict[str, OrgAdmin]

    def api(self, org: str = "acme", token: str | None = None) -> TestClient:
        """A client for ``/orgs/{org}/api/v1`` whose requests carry ``SSWS`` and the org's
        admin token (or ``token``)."""
        client = TestClient(self.http.app, base_url=f"{PUBLIC_URL}/orgs/{org}/api/v1")
        client.headers["Authorization"] = f"SSWS {token or self.admins[org].token}"
        return client

    def org_id(self, org: str = "acme") -> str:
        with self.runtime.sessions() as session:
            org_id: str = session.scalars(sa.select(OrgRow.id).where(OrgRow.name == org)).one()
            return org_id


@pytest.fixture
def workforce(workforce_seed: Seed, workforce_database: str, tmp_path: Path) -> Iterator[Workforce]:
    runtime = WorkforceRuntime.from_settings(_settings(workforce_database, tmp_path))
    _reset(runtime.engine, workforce_seed)
    with TestClient(create_app(runtime), base_url=PUBLIC_URL) as http:
        yield Workforce(runtime, http, workforce_seed.admins)
    runtime.engine.dispose()


def okta_error(response: Any, code: str | None = None) -> dict[str, Any]:
    """The body of an Okta-shaped error, after checking that it has that shape (and ``code``)."""
    body: dict[str, Any] = response.json()
    assert set(body) == {"errorCode", "errorSummary", "errorLink", "errorId", "errorCauses"}, body
    assert body["errorLink"] == body["errorCode"]
    assert body["errorId"].startswith("oae")
    assert all(set(cause) == {"errorSummary"} for cause in body["errorCauses"])
    if code is not None:
        assert body["errorCode"] == code, body
    return body


def causes(response: Any) -> list[str]:
    """The ``errorCauses`` summaries of an Okta-shaped error."""
    return [cause["errorSummary"] for cause in okta_error(response)["errorCauses"]]


def new_user(
    api: TestClient, login: str = "ada@example.com", *, activate: bool = True, **profile: Any
) -> dict[str, Any]:
    """Create a user (without a password: hashing one is slow) and answer it."""
    body = {
        "profile": {
            "login": login,
            "email": login,
            "firstName": profile.pop("firstName", "Ada"),
            "lastName": profile.pop("lastName", "Lovelace"),
            **profile,
        }
    }
    response = api.post(f"/users?activate={str(activate).lower()}", json=body)
    assert response.status_code == 200, response.text
    user: dict[str, Any] = response.json()
    return user


def oidc_app_body(label: str = "Vendor SaaS", **oauth_client: Any) -> dict[str, Any]:
    return {
        "name": "oidc_client",
        "label": label,
        "signOnMode": "OPENID_CONNECT",
        "credentials": {"oauthClient": {"token_endpoint_auth_method": "client_secret_post"}},
        "settings": {
            "oauthClient": {
                "redirect_uris": ["https://vendor.example/login/callback"],
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "application_type": "web",
                **oauth_client,
            }
        },
    }


def new_app(api: TestClient, label: str = "Vendor SaaS") -> dict[str, Any]:
    response = api.post("/apps", json=oidc_app_body(label))
    assert response.status_code == 200, response.text
    app: dict[str, Any] = response.json()
    return app


def new_group(api: TestClient, name: str = "Engineering") -> dict[str, Any]:
    response = api.post("/groups", json={"profile": {"name": name}})
    assert response.status_code == 200, response.text
    group: dict[str, Any] = response.json()
    return group
