"""Browser tests: Debian's chromium driven by Playwright against real servers.

Playwright is told where chromium is (``executable_path``); it never downloads a browser. Without
chromium the tests are skipped, except in CI (``CI`` set), where that is a failure: ``.ci/run``
installs it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.interop.conftest import free_port, initialise_tenant, tenant_environment, tenant_server

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"


def chromium_path() -> str:
    found = shutil.which("chromium")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs Debian's chromium package")
        pytest.skip("chromium is not installed (apt-get install chromium); CI runs these tests")
    return found


@dataclass
class DashboardTenant:
    url: str
    client_id: str
    client_secret: str
    admin_email: str
    admin_password: str


@pytest.fixture(scope="module")
def dashboard_tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DashboardTenant]:
    """``expressway tenant init`` then ``tenant serve``: a live tenant, with the dashboard
    admin that init printed."""
    data_dir = tmp_path_factory.mktemp("dashboard-tenant")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = tenant_environment(data_dir, url)
    created = initialise_tenant(env)
    with tenant_server(env, port, url, data_dir / "server.log"):
        yield DashboardTenant(
            url,
            created["client_id"],
            created["client_secret"],
            created["dashboard_admin_email"],
            created["dashboard_admin_password"],
        )
