"""Fixtures shared by every test: a tenant on SQLite or PostgreSQL, and a Management API client.

The tenant database is made once per backend per test session, migrated with Alembic, and
emptied between tests (the signing keys stay, since making RSA keys is the slow part).
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
from expressway.tenant.app import create_app
from expressway.tenant.bootstrap import initialise_tenant
from expressway.tenant.rows import DashboardAdminRow, SigningKeyRow, TenantBase
from expressway.tenant.runtime import TenantRuntime
from tests.databases import fresh_database

BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


@pytest.fixture(scope="session")
def tenant_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    backend = getattr(request, "param", "sqlite")
    with fresh_database(backend, tmp_path_factory.mktemp("tenant-db")) as url:
        yield url


#: Kept between tests: making them is the slow part (RSA keys, an Argon2id hash).
_KEPT_TABLES = (SigningKeyRow.__tablename__, DashboardAdminRow.__tablename__)


def _empty(engine: sa.Engine) -> None:
    with engine.begin() as connection:
        for table in reversed(TenantBase.metadata.sorted_tables):
            if table.name not in _KEPT_TABLES:
                connection.execute(table.delete())


@dataclass
class Tenant:
    runtime: TenantRuntime
    http: TestClient
    admin_client_id: str
    admin_client_secret: str

    def token(self, scope: str | None = None) -> str:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.admin_client_id,
            "client_secret": self.admin_client_secret,
            "audience": self.runtime.settings.management_audience,
        }
        if scope is not None:
            form["scope"] = scope
        response = self.http.post("/oauth/token", data=form)
        assert response.status_code == 200, response.text
        token: str = response.json()["access_token"]
        return token

    def api(self, scope: str | None = None) -> TestClient:
        """A client for ``/api/v2`` whose requests carry an admin token (all scopes by default)."""
        client = TestClient(self.http.app, base_url="http://localhost:8401/api/v2")
        client.headers["Authorization"] = f"Bearer {self.token(scope)}"
        return client


@pytest.fixture
def tenant(tenant_database: str, tmp_path: Path) -> Iterator[Tenant]:
    settings = Settings(
        data_dir=tmp_path,
        tenant_database_url=tenant_database,
        secret_key=SecretStr("test-secret-key-for-the-tenant"),
        tenant_public_url="http://localhost:8401",
        # Tests deliver Logout Tokens themselves, with deliver_due, when they want them.
        tenant_backchannel_logout_worker=False,
    )
    runtime = TenantRuntime.from_settings(settings)
    if _is_migrated(runtime.engine):
        _empty(runtime.engine)
    result = initialise_tenant(runtime)
    assert result.admin_client_id is not None
    assert result.admin_client_secret is not None
    with TestClient(create_app(runtime), base_url="http://localhost:8401") as http:
        yield Tenant(runtime, http, result.admin_client_id, result.admin_client_secret)
    runtime.engine.dispose()


def _is_migrated(engine: sa.Engine) -> bool:
    return sa.inspect(engine).has_table("alembic_version")


def auth0_error(response: Any) -> dict[str, Any]:
    """The body of an Auth0-shaped error, after checking that it has that shape."""
    body: dict[str, Any] = response.json()
    assert set(body) >= {"statusCode", "error", "message"}, body
    assert body["statusCode"] == response.status_code
    return body
