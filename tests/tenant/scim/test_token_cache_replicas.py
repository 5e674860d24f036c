"""The SCIM token cache across processes: ``expressway tenant serve`` as a process of its own,
and this test's process as another replica writing to the same database."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from expressway.tenant.rows import ScimTokenRow
from expressway.tenant.scim import credentials
from tests.interop.conftest import (
    free_port,
    initialise_tenant,
    management_token,
    tenant_environment,
    tenant_server,
)


@dataclass
class Served:
    url: str
    database: Path
    management: httpx.Client


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = tenant_environment(tmp_path, url)
    admin = initialise_tenant(env)
    with tenant_server(env, port, url, tmp_path / "server.log"):
        token = management_token(f"{url}/oauth/token", admin, f"{url}/api/v2/")
        with httpx.Client(
            base_url=f"{url}/api/v2", headers={"Authorization": f"Bearer {token}"}, timeout=30
        ) as management:
            yield Served(url, tmp_path / "tenant.db", management)


def _scim_tokens(served: Served) -> tuple[str, list[dict[str, str]]]:
    """A connection with SCIM on and two tokens: its SCIM base URL and the tokens."""
    api = served.management
    connection = api.post(
        "/connections",
        json={
            "name": "replica-okta",
            "strategy": "okta",
            "options": {"domain": "acme.okta.example", "client_id": "c", "client_secret": "s"},
        },
    )
    assert connection.status_code == 201, connection.text
    connection_id = connection.json()["id"]
    assert api.post(f"/connections/{connection_id}/scim-configuration").status_code == 201
    tokens = [
        api.post(f"/connections/{connection_id}/scim-configuration/tokens", json={}).json()
        for _ in range(2)
    ]
    return f"{served.url}/scim/v2/connections/{connection_id}", tokens


def _users(base_url: str, token: str) -> int:
    answer = httpx.get(
        f"{base_url}/Users", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    return answer.status_code


def test_a_revocation_is_seen_at_once_by_its_server_and_within_the_bound_by_another(
    served: Served,
) -> None:
    base_url, (revoked_here, revoked_elsewhere) = _scim_tokens(served)
    for token in (revoked_here, revoked_elsewhere):
        # The second read finds the token cached (the first records its use).
        assert [_users(base_url, token["token"]) for _ in range(2)] == [200, 200]

    connection_id = base_url.rsplit("/", 1)[1]
    deleted = served.management.delete(
        f"/connections/{connection_id}/scim-configuration/tokens/{revoked_here['token_id']}"
    )
    assert deleted.status_code == 204
    assert _users(base_url, revoked_here["token"]) == 401

    # Another replica revokes the other token: the server's cache hears nothing of it.
    engine = sa.create_engine(f"sqlite:///{served.database}")
    try:
        with Session(engine) as session:
            row = session.get(ScimTokenRow, revoked_elsewhere["token_id"])
            assert row is not None
            session.delete(row)
            session.commit()
    finally:
        engine.dispose()
    time.sleep(credentials.TTL_SECONDS + 0.2)
    assert _users(base_url, revoked_elsewhere["token"]) == 401
