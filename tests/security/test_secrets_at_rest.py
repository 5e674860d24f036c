"""Secrets at rest: after each system has been handed secrets through its own APIs, none of them
is found in clear in its database, or anything it logged.

Rule: secrets are hashed (passwords with Argon2id, random tokens with SHA-256) or sealed (keys and
secrets that must be used again), and never logged. On SQLite the database file, its write-ahead
log and shared memory are searched byte for byte, so a secret kept in clear anywhere (a column, a
JSON document, a log event's details, a page of the WAL not yet checkpointed) is found. On
PostgreSQL a full ``pg_dump`` of the test's database (plain SQL, schema and every row) is searched
the same way.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from joserfc.jwk import RSAKey

from expressway.workforce.rows import OrgRow
from expressway.workforce.services import oin
from tests.conftest import BACKENDS, Tenant
from tests.tenant.browser import make_client, make_enterprise_connection, management
from tests.tenant.test_express_configuration_api import SCIM, SSO, SSO_BODY, _world
from tests.workforce.conftest import Workforce, new_app
from tests.workforce.oin_helpers import finished_submission

PASSWORD = "Sesame-Open-1234-tenant"
WORKFORCE_PASSWORD = "Sesame-Open-5678-workforce"
UPSTREAM_SECRET = "upstream-client-secret-kept-sealed-0001"


#: What is searched: a name (a file, or ``pg_dump``) and its bytes.
Contents = list[tuple[str, bytes]]


def _database_contents(url: str) -> Contents:
    """Everything the database at ``url`` holds, as bytes: the SQLite files, or a ``pg_dump``."""
    parsed = sa.engine.make_url(url)
    if parsed.get_backend_name() == "postgresql":
        return [("pg_dump", _pg_dump(parsed))]
    database = Path(parsed.database or "")
    files = [database, *(database.with_name(database.name + s) for s in ("-wal", "-shm"))]
    present = [path for path in files if path.exists()]
    assert database in present
    return [(path.name, path.read_bytes()) for path in present]


def _pg_dump_binary(url: sa.engine.URL) -> str:
    """The ``pg_dump`` of the server's major version (Debian installs one per version under
    ``/usr/lib/postgresql``; a client older than the server refuses to dump it)."""
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        major = connection.execute(sa.text("SHOW server_version_num")).scalar_one()[:-4]
    engine.dispose()
    matching = Path(f"/usr/lib/postgresql/{major}/bin/pg_dump")
    found = str(matching) if matching.exists() else shutil.which("pg_dump")
    if found is None:
        pytest.fail("pg_dump is not installed: apt-get install -y postgresql-client")
    return found


def _pg_dump(url: sa.engine.URL) -> bytes:
    """A full plain-SQL dump of the database (schema and data), as ``pg_dump`` writes it."""
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    done = subprocess.run(  # noqa: S603 - pg_dump with the test database's own coordinates
        [
            _pg_dump_binary(url),
            "-h",
            url.host or "127.0.0.1",
            "-p",
            str(url.port or 5432),
            "-U",
            url.username or "postgres",
            url.database or "",
        ],
        env=env,
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    assert b"COPY public." in done.stdout  # the rows are in it, not only the schema
    return done.stdout


def _private_key_material(key: RSAKey) -> list[str]:
    """What of a private key would show in clear: a line of its PEM body, its JWK ``d``, ``p``."""
    pem = key.as_pem(private=True)
    text = pem.decode() if isinstance(pem, bytes) else pem
    body = [line for line in text.splitlines() if line and not line.startswith("-----")]
    private = key.as_dict(private=True)
    return [body[1], str(private["d"])[:43], str(private["p"])[:43]]


def _found(secrets: dict[str, str], contents: Contents, logs: str) -> list[str]:
    """The names of the secrets present in clear in the database's contents or in the logs."""
    found = []
    for name, secret in secrets.items():
        needle = secret.encode()
        found += [f"{name} in {file}" for file, data in contents if needle in data]
        if secret in logs:
            found.append(f"{name} in the logs")
    return found


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]) -> Any:
    """Everything logged (every logger, every level) and printed, as text, when called."""
    caplog.set_level(logging.DEBUG)

    def text() -> str:
        out, err = capfd.readouterr()
        records = "\n".join(
            f"{r.getMessage()} {r.args!r} {r.exc_text or ''} {vars(r)!r}" for r in caplog.records
        )
        return "\n".join([caplog.text, records, out, err])

    return text


@pytest.mark.parametrize("tenant_database", BACKENDS, indirect=True)
def test_no_tenant_secret_is_found_in_clear_in_its_database_files_or_logs(
    tenant: Tenant, logs: Any
) -> None:
    """Client secrets, passwords, SCIM tokens, upstream client secrets, the Express
    Configuration's secrets, refresh tokens and the signing key: hashed or sealed, never logged."""
    api = management(tenant)
    created = api.post("/clients", json={"name": "Secret keeper", "app_type": "regular_web"})
    assert created.status_code == 201, created.text
    rotated = api.post(f"/clients/{created.json()['client_id']}/rotate-secret")
    user = api.post(
        "/users",
        json={
            "connection": "Username-Password-Authentication",
            "email": "keeper@example.com",
            "password": PASSWORD,
        },
    )
    assert user.status_code == 201, user.text
    client_id = make_client(tenant, name="SCIM app")
    connection = make_enterprise_connection(
        tenant, "secret-okta", domains=["secret.example"], clients=[client_id]
    )
    api.patch(
        f"/connections/{connection}",
        json={
            "options": {
                "domain": "acme.okta.example",
                "client_id": "upstream-client",
                "client_secret": UPSTREAM_SECRET,
            }
        },
    ).raise_for_status()
    api.post(f"/connections/{connection}/scim-configuration", json={}).raise_for_status()
    scim_token = api.post(f"/connections/{connection}/scim-configuration/tokens", json={})
    world = _world(tenant)
    sso = world.sso()
    assert sso.status_code == 200, sso.text
    ec_scim = world.call("scim", {}, token=world.token(SSO, SCIM))
    assert ec_scim.status_code == 200, ec_scim.text
    granted = tenant.http.post(
        "/oauth/token",
        data={"grant_type": "password", "username": "keeper@example.com", "password": PASSWORD},
    )
    assert granted.status_code in (400, 401, 403), granted.text
    secrets = {
        "client secret": created.json()["client_secret"],
        "password": PASSWORD,
        "SCIM token": scim_token.json()["token"],
        "upstream client secret": UPSTREAM_SECRET,
        "Express Configuration client secret": SSO_BODY["client_secret"],
        "Express Configuration SCIM token": ec_scim.json()["token"],
        "admin client secret": tenant.admin_client_secret,
    }
    if rotated.status_code == 200:
        secrets["rotated client secret"] = rotated.json()["client_secret"]
    for index, material in enumerate(_private_key_material(tenant.runtime.signing_keys.current())):
        secrets[f"signing key ({index})"] = material
    contents = _database_contents(tenant.runtime.settings.tenant_database_url)
    assert _found(secrets, contents, logs()) == []
    # The search finds what is there: the client's id is in the database in clear.
    assert _found({"client id": created.json()["client_id"]}, contents, "") != []


@pytest.mark.parametrize("workforce_database", BACKENDS, indirect=True)
def test_no_workforce_secret_is_found_in_clear_in_its_database_files_or_logs(
    workforce: Workforce, logs: Any
) -> None:
    """Passwords, app client secrets, API tokens, OIN private keys and org signing keys."""
    api = workforce.api()
    user = api.post(
        "/users?activate=true",
        json={
            "profile": {
                "login": "keeper@acme.example",
                "email": "keeper@acme.example",
                "firstName": "Kee",
                "lastName": "Per",
            },
            "credentials": {"password": {"value": WORKFORCE_PASSWORD}},
        },
    )
    assert user.status_code == 200, user.text
    app = new_app(api, "Secret app")
    submission = finished_submission(api, "Secret integration")
    runtime = workforce.runtime
    with runtime.sessions() as session:
        oin_key = oin.signing_key_for(session, submission["id"], runtime.key_sealer)
        org_ids = list(session.scalars(sa.select(OrgRow.id)))
    secrets = {
        "password": WORKFORCE_PASSWORD,
        "app client secret": app["credentials"]["oauthClient"]["client_secret"],
        **{f"{org} API token": admin.token for org, admin in workforce.admins.items()},
        **{f"{org} admin password": admin.password for org, admin in workforce.admins.items()},
    }
    for index, material in enumerate(_private_key_material(oin_key)):
        secrets[f"OIN private key ({index})"] = material
    for org_id in org_ids:
        for index, material in enumerate(
            _private_key_material(runtime.signing_keys.current(org_id))
        ):
            secrets[f"{org_id} signing key ({index})"] = material
    contents = _database_contents(runtime.settings.workforce_database_url)
    assert _found(secrets, contents, logs()) == []
    assert _found({"app id": app["id"]}, contents, "") != []
