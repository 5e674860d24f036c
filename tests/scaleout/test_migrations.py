"""Replicas that start at once on a new PostgreSQL database each migrate it on start: the
upgrades take turns (an advisory lock held for the migration's transaction), so every one
succeeds and the schema is made once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from expressway.storage import migrate
from expressway.storage.engine import make_engine
from tests.databases import postgres_database, require_postgres

pytestmark = pytest.mark.postgres

REPLICAS = 4
#: What a replica does on start, as a process of its own: say it is ready, wait for the word,
#: migrate. The word goes to all of them once all are ready, so the upgrades overlap.
START = """
import sys
from expressway.storage import migrate
from expressway.storage.engine import make_engine
engine = make_engine(sys.argv[1])
print("ready", flush=True)
sys.stdin.readline()
migrate.upgrade(engine, sys.argv[2])
engine.dispose()
"""


@pytest.mark.parametrize("system", ["tenant", "workforce"])
def test_replicas_starting_at_once_migrate_a_new_database_once(system: str) -> None:
    require_postgres()
    with postgres_database() as url:
        replicas = [
            subprocess.Popen(  # noqa: S603 - this interpreter, our own code
                [sys.executable, "-c", START, url, system],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(REPLICAS)
        ]
        for replica in replicas:
            assert replica.stdout is not None
            assert replica.stdout.readline().strip() == "ready"
        for replica in replicas:
            assert replica.stdin is not None
            replica.stdin.write("go\n")
            replica.stdin.flush()
        outputs = [replica.communicate(timeout=120)[0] for replica in replicas]
        assert [replica.returncode for replica in replicas] == [0] * REPLICAS, outputs
        engine = make_engine(url)
        try:
            assert migrate.is_current(engine, system)
            with engine.connect() as connection:
                versions = connection.execute(sa.text("SELECT version_num FROM alembic_version"))
                assert len(versions.all()) == 1
        finally:
            engine.dispose()


#: The tables a bootstrap fills, and how many rows each must hold after any number of them.
BOOTSTRAPPED = {
    "tenant": {"signing_keys": 2, "tenant_settings": 1, "dashboard_admins": 1},
    "workforce": {"orgs": 1, "org_signing_keys": 2},
}


@pytest.mark.parametrize("system", ["tenant", "workforce"])
def test_replicas_bootstrapping_a_new_database_at_once_make_everything_once(
    system: str, tmp_path: Path
) -> None:
    """``init`` run by several replicas at once (as ``serve`` also does on start): each one
    succeeds, and the signing keys, settings and first admin are made once (the bootstraps take
    turns under an advisory lock)."""
    require_postgres()
    with postgres_database() as url:
        env = {
            **os.environ,
            "EXPRESSWAY_DATA_DIR": str(tmp_path),
            "EXPRESSWAY_SECRET_KEY": "bootstrap-race-secret-key-0123456789abcdef",
            f"EXPRESSWAY_{system.upper()}_DATABASE_URL": url,
        }
        command = [sys.executable, "-m", "expressway.cli", system, "init", "--json"]
        if system == "workforce":
            command += ["--org", "acme"]
        replicas = [
            subprocess.Popen(  # noqa: S603 - this interpreter, our own CLI
                command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
            for _ in range(REPLICAS)
        ]
        outputs = [replica.communicate(timeout=180) for replica in replicas]
        assert [replica.returncode for replica in replicas] == [0] * REPLICAS, outputs
        engine = make_engine(url)
        try:
            with engine.connect() as connection:
                counts = {
                    table: connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar()  # noqa: S608 - our table names
                    for table in BOOTSTRAPPED[system]
                }
        finally:
            engine.dispose()
        assert counts == BOOTSTRAPPED[system]
