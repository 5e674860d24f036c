"""What a SCIM token opens is cached for a moment (:mod:`expressway.tenant.scim.credentials`):
a revocation, rotation or configuration change made through this process is seen by the very
next request; one made by another replica, within the cache's time to live; an expiry, always at
once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from starlette.routing import Mount

from expressway.clock import FrozenClock
from expressway.storage.engine import unit_of_work
from expressway.tenant.rows import ScimTokenRow, UserRow
from expressway.tenant.scim import credentials
from expressway.tenant.scim.credentials import CredentialsCache
from expressway.tenant.services import connections
from tests.conftest import BACKENDS, Tenant
from tests.tenant.scim.helpers import (
    ScimConnection,
    expiring_scim_connection,
    okta_user,
    scim_connection,
    scim_error,
)

pytestmark = pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)


def _scim_app(tenant: Tenant) -> FastAPI:
    app = tenant.http.app
    assert isinstance(app, FastAPI)
    mount = next(r for r in app.routes if isinstance(r, Mount) and r.path == "/scim/v2")
    assert isinstance(mount.app, FastAPI)
    return mount.app


def _cached(scim: ScimConnection) -> None:
    """Two reads: the first records the token's use (a write that moves the generation), the
    second leaves the token cached."""
    for _ in range(2):
        assert scim.http.get("/Users").status_code == 200


def _lookups(tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The token ids the database is asked for from now on."""
    asked: list[str] = []
    read = connections.scim_credentials

    def counting(*args: Any) -> Any:
        found = read(*args)
        asked.append(found.token.token_id if found else "")
        return found

    monkeypatch.setattr(connections, "scim_credentials", counting)
    return asked


def test_a_cached_token_is_not_read_again(tenant: Tenant, monkeypatch: pytest.MonkeyPatch) -> None:
    """The point of the cache: a token used again within its time to live costs no query."""
    scim = scim_connection(tenant)
    _cached(scim)
    asked = _lookups(tenant, monkeypatch)
    for _ in range(3):
        assert scim.http.get("/Users").status_code == 200
    assert scim.http.post("/Users", json=okta_user("c@example.com", "00uc")).status_code == 201
    assert asked == []


def test_a_revoked_token_is_refused_by_the_next_request(tenant: Tenant) -> None:
    scim = scim_connection(tenant)
    _cached(scim)
    path = f"/connections/{scim.id}/scim-configuration/tokens/{scim.token_id}"
    assert tenant.api().delete(path).status_code == 204
    refused = scim.http.get("/Users")
    scim_error(refused, 401)
    assert refused.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def test_a_rotated_token_is_refused_and_its_successor_accepted_at_once(tenant: Tenant) -> None:
    """Rotation as an IdP administrator does it: mint the new token, then delete the old."""
    scim = scim_connection(tenant)
    _cached(scim)
    api = tenant.api()
    tokens = f"/connections/{scim.id}/scim-configuration/tokens"
    minted = api.post(tokens, json={})
    assert minted.status_code == 201
    assert api.delete(f"{tokens}/{scim.token_id}").status_code == 204
    scim_error(scim.http.get("/Users"), 401)
    scim.http.headers["Authorization"] = f"Bearer {minted.json()['token']}"
    assert scim.http.get("/Users").status_code == 200


def test_switching_scim_off_refuses_the_cached_token_at_once(tenant: Tenant) -> None:
    scim = scim_connection(tenant)
    _cached(scim)
    assert tenant.api().delete(f"/connections/{scim.id}/scim-configuration").status_code == 204
    scim_error(scim.http.get("/Users"), 401)


def test_deleting_the_connection_refuses_the_cached_token_at_once(tenant: Tenant) -> None:
    scim = scim_connection(tenant)
    _cached(scim)
    assert tenant.api().delete(f"/connections/{scim.id}").status_code == 204
    scim_error(scim.http.get("/Users"), 401)


def test_a_changed_mapping_applies_to_the_next_provisioned_user(tenant: Tenant) -> None:
    """The mapping is read with the token: a change to it must not wait for the cache."""
    scim = scim_connection(tenant)
    _cached(scim)
    changed = tenant.api().patch(
        f"/connections/{scim.id}/scim-configuration",
        json={
            "user_id_attribute": "externalId",
            "mapping": [{"auth0": "nickname", "scim": "title"}],
        },
    )
    assert changed.status_code == 200, changed.text
    created = scim.http.post("/Users", json=okta_user("t@example.com", "00ut", title="Boss"))
    assert created.status_code == 201
    with unit_of_work(tenant.runtime.sessions) as session:
        nickname = session.scalar(
            sa.select(UserRow.nickname).where(UserRow.email == "t@example.com")
        )
    assert nickname == "Boss"


def test_a_cached_token_is_refused_once_it_expires(tenant: Tenant) -> None:
    """Expiry is checked against the clock on every request, never cached."""
    clock, scim = expiring_scim_connection(tenant, minutes=20)
    _cached(scim)
    clock.advance(20 * 60)
    scim_error(scim.http.get("/Users"), 401)


def test_a_cached_token_still_opens_only_its_own_connection(tenant: Tenant) -> None:
    mine = scim_connection(tenant, "acme-okta")
    other = scim_connection(tenant, "globex-okta")
    _cached(other)
    mine.http.headers["Authorization"] = f"Bearer {other.token}"
    scim_error(mine.http.get("/Users"), 401)


def test_a_write_records_the_use_without_changing_the_cached_token(tenant: Tenant) -> None:
    """A write records the use in its own transaction, so a refused write records nothing,
    and the rows the cache shares between requests are never changed."""
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    tenant.runtime.clock = clock
    scim = scim_connection(tenant)
    _cached(scim)
    first = clock.now()
    clock.advance(120)
    refused = scim.http.post("/Users", json={"schemas": ["urn:x"]})
    scim_error(refused, 400, "invalidSyntax")
    with unit_of_work(tenant.runtime.sessions) as session:
        token = session.get(ScimTokenRow, scim.token_id)
        assert token is not None
        assert token.last_used_at == first
    assert scim.http.post("/Users", json=okta_user("w@example.com", "00uw")).status_code == 201
    with unit_of_work(tenant.runtime.sessions) as session:
        token = session.get(ScimTokenRow, scim.token_id)
        assert token is not None
        assert token.last_used_at == clock.now()


def test_another_replicas_revocation_is_honoured_within_the_time_to_live_only(
    tenant: Tenant,
) -> None:
    """Another replica's change moves nothing here: the entry is used until its time to live
    (``TTL_SECONDS``) runs out, never after."""
    now = [1000.0]
    _scim_app(tenant).state.scim_credentials = CredentialsCache(clock=lambda: now[0])
    scim = scim_connection(tenant)
    _cached(scim)
    # A write this process's sessions never see, as another replica's would be.
    with tenant.runtime.engine.begin() as connection:
        connection.execute(sa.delete(ScimTokenRow).where(ScimTokenRow.token_id == scim.token_id))
    now[0] += credentials.TTL_SECONDS - 0.1
    assert scim.http.get("/Users").status_code == 200
    now[0] += 0.2
    scim_error(scim.http.get("/Users"), 401)


def test_a_rolled_back_change_leaves_the_cache_in_use(
    tenant: Tenant, monkeypatch: pytest.MonkeyPatch
) -> None:
    scim = scim_connection(tenant)
    _cached(scim)
    before = credentials._generation.value
    with tenant.runtime.sessions() as session:
        session.execute(sa.delete(ScimTokenRow).where(ScimTokenRow.token_id == scim.token_id))
        session.rollback()
    assert credentials._generation.value == before
    asked = _lookups(tenant, monkeypatch)
    assert scim.http.get("/Users").status_code == 200
    assert asked == []
