"""Tenants for doctor's tests: the session's shared ``live_tenant`` (real server, real HTTP), and
for the checks about tenant-wide objects (the Express Configuration API, the tenant flags, the
roles) a tenant of the test's own, so that breaking them never reaches another test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.interop.conftest import (
    LiveTenant,
    free_port,
    initialise_tenant,
    live_tenant,  # noqa: F401 - shared session fixture
    tenant_environment,
    tenant_server,
)


@pytest.fixture
def own_tenant(tmp_path: Path) -> Iterator[LiveTenant]:
    """A fresh tenant server: ``tenant init`` and nothing else (no Express Configuration API)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = tenant_environment(tmp_path, url)
    created = initialise_tenant(env)
    with tenant_server(env, port, url, tmp_path / "server.log"):
        yield LiveTenant(url, created["client_id"], created["client_secret"], tmp_path)
