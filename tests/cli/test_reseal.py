"""Rotating ``EXPRESSWAY_SECRET_KEY``: with the old key in ``EXPRESSWAY_SECRET_KEY_FALLBACKS``
the services go on reading what it sealed, and ``expressway tenant reseal`` / ``expressway
workforce reseal`` move every stored value to the new key, after which the old one can go."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from typer.testing import CliRunner

from expressway.cli.main import app
from expressway.config import Settings
from expressway.sealing import SealError
from expressway.tenant.bootstrap import initialise_tenant
from expressway.tenant.rows import ConnectionRow, SigningKeyRow
from expressway.tenant.runtime import TenantRuntime
from expressway.tenant.services import connections
from expressway.workforce.bootstrap import initialise_org
from expressway.workforce.rows import AppRow, OrgSigningKeyRow
from expressway.workforce.runtime import WorkforceRuntime
from expressway.workforce.services import apps
from tests.databases import fresh_database

OLD, NEW, UNKNOWN = "the-old-secret-key", "the-new-secret-key", "a-key-never-used"
UPSTREAM_SECRET = "upstream-client-secret"
SCIM_TOKEN = "scim-bearer-token"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database of the test's own, on each backend."""
    with fresh_database(request.param, tmp_path) as url:
        yield url


def run(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database: str, *arguments: str, **keys: str
) -> Any:
    """``expressway …`` with the secret key (and fallbacks) given."""
    monkeypatch.setenv("EXPRESSWAY_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("EXPRESSWAY_TENANT_DATABASE_URL", database)
    monkeypatch.setenv("EXPRESSWAY_WORKFORCE_DATABASE_URL", database)
    monkeypatch.setenv("EXPRESSWAY_SECRET_KEY", keys["key"])
    if "fallbacks" in keys:
        monkeypatch.setenv("EXPRESSWAY_SECRET_KEY_FALLBACKS", keys["fallbacks"])
    else:
        monkeypatch.delenv("EXPRESSWAY_SECRET_KEY_FALLBACKS", raising=False)
    return CliRunner().invoke(app, list(arguments))


def tenant_runtime(tmp_path: Path, database: str, key: str, fallbacks: str = "") -> TenantRuntime:
    return TenantRuntime.from_settings(
        Settings(
            data_dir=tmp_path,
            tenant_database_url=database,
            secret_key=SecretStr(key),
            secret_key_fallbacks=SecretStr(fallbacks) if fallbacks else None,
        )
    )


def sealed_tenant(tmp_path: Path, database: str) -> list[str]:
    """A tenant whose signing keys and one connection's client secret are sealed under OLD;
    answers what is stored of them."""
    runtime = tenant_runtime(tmp_path, database, OLD)
    initialise_tenant(runtime)
    with runtime.sessions() as session:
        connections.create(
            session,
            runtime.clock.now(),
            runtime.secret_sealer,
            connections.ConnectionSpec(
                name="acme-okta",
                strategy="okta",
                options={
                    "domain": "acme.okta.example",
                    "client_id": "upstream-client",
                    "client_secret": UPSTREAM_SECRET,
                },
            ),
        )
        session.commit()
    stored = tenant_sealed_values(runtime)
    runtime.engine.dispose()
    return stored


def tenant_sealed_values(runtime: TenantRuntime) -> list[str]:
    with runtime.sessions() as session:
        return [
            *session.scalars(sa.select(SigningKeyRow.private_pem_sealed).order_by("kid")),
            *session.scalars(
                sa.select(ConnectionRow.client_secret_sealed)
                .where(ConnectionRow.client_secret_sealed.is_not(None))
                .order_by("name")
            ),
        ]


def opens(runtime: TenantRuntime) -> str | None:
    """The connection's client secret, as a login would read it; the current key opened."""
    runtime.signing_keys.current()
    with runtime.sessions() as session:
        row = connections.find_by_name(session, "acme-okta")
        assert row is not None
        return connections.read_client_secret(runtime, row)


def test_the_tenant_reads_old_values_through_the_fallback_and_reseal_moves_them_to_the_new_key(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database: str
) -> None:
    before = sealed_tenant(tmp_path, database)
    rotated = tenant_runtime(tmp_path, database, NEW, fallbacks=OLD)
    new_only = tenant_runtime(tmp_path, database, NEW)
    try:
        # Mid-rotation, before any reseal: everything still opens, through the fallback...
        assert opens(rotated) == UPSTREAM_SECRET
        # ...and nothing without it.
        with pytest.raises(SealError):
            opens(new_only)

        dry = run(
            monkeypatch,
            tmp_path,
            database,
            "tenant",
            "reseal",
            "--dry-run",
            "--json",
            key=NEW,
            fallbacks=OLD,
        )
        assert dry.exit_code == 0, dry.output
        counted = json.loads(dry.output)
        assert counted["dry_run"] is True
        assert counted["resealed"] == len(before) == 3  # current and next keys, the secret
        assert tenant_sealed_values(rotated) == before

        done = run(
            monkeypatch, tmp_path, database, "tenant", "reseal", "--json", key=NEW, fallbacks=OLD
        )
        assert done.exit_code == 0, done.output
        report = {kind["kind"]: kind for kind in json.loads(done.output)["kinds"]}
        assert report["signing keys"] == {
            "kind": "signing keys",
            "current": 0,
            "resealed": 2,
            "unreadable": [],
        }
        assert report["connection client secrets"]["resealed"] == 1
        after = tenant_sealed_values(rotated)
        assert all(a != b for a, b in zip(after, before, strict=True))
        # The old key can go: the new one alone opens everything.
        fresh = tenant_runtime(tmp_path, database, NEW)
        assert opens(fresh) == UPSTREAM_SECRET
        fresh.engine.dispose()

        again = run(
            monkeypatch, tmp_path, database, "tenant", "reseal", "--json", key=NEW, fallbacks=OLD
        )
        assert again.exit_code == 0, again.output
        assert json.loads(again.output)["resealed"] == 0
        assert tenant_sealed_values(rotated) == after
        human = run(monkeypatch, tmp_path, database, "tenant", "reseal", key=NEW)
        assert human.exit_code == 0, human.output
        assert "already under the current" in human.output
    finally:
        rotated.engine.dispose()
        new_only.engine.dispose()


def test_values_no_key_opens_are_named_and_fail_the_command_without_being_changed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database: str
) -> None:
    before = sealed_tenant(tmp_path, database)
    result = run(monkeypatch, tmp_path, database, "tenant", "reseal", key=UNKNOWN, fallbacks=NEW)
    assert result.exit_code == 1, result.output
    assert "3 sealed value(s) open with neither" in result.output
    assert "connection acme-okta" in result.output
    assert "signing key" in result.output
    assert "EXPRESSWAY_SECRET_KEY_FALLBACKS and run this again" in result.output
    as_json = run(monkeypatch, tmp_path, database, "tenant", "reseal", "--json", key=UNKNOWN)
    assert as_json.exit_code == 1
    assert json.loads(as_json.output)["unreadable"] == 3
    runtime = tenant_runtime(tmp_path, database, OLD)
    assert tenant_sealed_values(runtime) == before
    assert opens(runtime) == UPSTREAM_SECRET
    runtime.engine.dispose()


def test_the_workforce_reseals_org_keys_app_secrets_and_the_scim_token_in_its_json(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    database = f"sqlite:///{tmp_path / 'workforce.db'}"
    settings = Settings(
        data_dir=tmp_path, workforce_database_url=database, secret_key=SecretStr(OLD)
    )
    runtime = WorkforceRuntime.from_settings(settings)
    initialise_org(runtime, "acme", None)
    now = runtime.clock.now()
    with runtime.sessions() as session:
        org_id = session.scalars(sa.select(OrgSigningKeyRow.org_id)).first()
        assert org_id is not None
        row, secret = apps.create_oin_instance(
            session,
            org_id,
            now,
            apps.AppSpec(
                name="acme_crm",
                label="Acme CRM",
                sign_on_mode=apps.OPENID_CONNECT,
                settings={
                    "app": {},
                    "oauthClient": {
                        "redirect_uris": ["https://crm.example/login/callback"],
                        "grant_types": ["authorization_code"],
                        "response_types": ["code"],
                        "application_type": "web",
                    },
                },
                token_endpoint_auth_method="client_secret_basic",
            ),
            "oin_submission",
            runtime.secret_sealer,
        )
        sealed_token = runtime.secret_sealer.seal(SCIM_TOKEN.encode())
        row.express_configuration = {
            "scim": {"scim_base_url": "https://crm.example/scim/v2", "token_sealed": sealed_token}
        }
        app_id = row.id
        session.commit()
    runtime.engine.dispose()

    result = run(
        monkeypatch,
        tmp_path,
        database,
        "workforce",
        "reseal",
        "--json",
        key=NEW,
        fallbacks=f"{UNKNOWN}, {OLD}",
    )
    assert result.exit_code == 0, result.output
    report = {kind["kind"]: kind["resealed"] for kind in json.loads(result.output)["kinds"]}
    assert report["org signing keys"] == 2
    assert report["app instance client secrets"] == 1
    assert report["app instance SCIM tokens"] == 1

    fresh = WorkforceRuntime.from_settings(
        Settings(data_dir=tmp_path, workforce_database_url=database, secret_key=SecretStr(NEW))
    )
    with fresh.sessions() as session:
        stored = session.get(AppRow, app_id)
        assert stored is not None
        assert stored.client_secret_sealed is not None
        assert fresh.secret_sealer.open(stored.client_secret_sealed).decode() == secret
        scim = stored.express_configuration["scim"]
        assert scim["token_sealed"] != sealed_token
        assert fresh.secret_sealer.open(scim["token_sealed"]).decode() == SCIM_TOKEN
        assert scim["scim_base_url"] == "https://crm.example/scim/v2"
        for key in session.scalars(sa.select(OrgSigningKeyRow)):
            fresh.key_sealer.open(key.private_pem_sealed)
    fresh.engine.dispose()
