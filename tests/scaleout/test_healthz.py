"""``GET /healthz``, the readiness probe a load balancer asks each replica: 200 while the
process's database answers, 503 (with nothing about the database in the body) when it does
not, on both services."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from pydantic import SecretStr

from expressway.config import Settings
from expressway.tenant.app import create_app as create_tenant
from expressway.tenant.bootstrap import initialise_tenant
from expressway.tenant.runtime import TenantRuntime
from expressway.workforce.app import create_app as create_workforce
from expressway.workforce.bootstrap import migrate_database
from expressway.workforce.runtime import WorkforceRuntime

#: Nothing listens on port 1: a database that is away.
UNREACHABLE = "postgresql+psycopg://expressway:hunter2@127.0.0.1:1/expressway"


def settings(tmp_path: Path, database_url: str | None) -> Settings:
    return Settings(
        data_dir=tmp_path,
        secret_key=SecretStr("healthz-test-secret-key"),
        tenant_database_url=database_url,
        workforce_database_url=database_url,
        tenant_backchannel_logout_worker=False,
        workforce_provisioning_worker=False,
    )


def tenant_app(tmp_path: Path, database_url: str | None) -> FastAPI:
    runtime = TenantRuntime.from_settings(settings(tmp_path, database_url))
    if database_url is None:
        initialise_tenant(runtime)
    return create_tenant(runtime)


def workforce_app(tmp_path: Path, database_url: str | None) -> FastAPI:
    runtime = WorkforceRuntime.from_settings(settings(tmp_path, database_url))
    if database_url is None:
        migrate_database(runtime)
    return create_workforce(runtime)


APPS = [pytest.param(tenant_app, id="tenant"), pytest.param(workforce_app, id="workforce")]


@pytest.mark.parametrize("make", APPS)
def test_a_replica_whose_database_answers_is_ready(
    tmp_path: Path, make: Callable[[Path, str | None], FastAPI]
) -> None:
    with TestClient(make(tmp_path, None)) as http:
        answer = http.get("/healthz")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok", "database": "ok"}


@pytest.mark.parametrize("make", APPS)
def test_a_replica_whose_database_is_away_is_not_ready(
    tmp_path: Path, make: Callable[[Path, str | None], FastAPI]
) -> None:
    with TestClient(make(tmp_path, UNREACHABLE)) as http:
        answer = http.get("/healthz")
    assert answer.status_code == 503
    assert answer.json() == {"status": "unavailable", "database": "unreachable"}
    assert answer.headers["retry-after"] == "5"
    assert "hunter2" not in answer.text
    assert "127.0.0.1" not in answer.text
