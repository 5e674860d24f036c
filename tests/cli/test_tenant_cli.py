"""``expressway tenant init``: idempotent, and the admin secret shown exactly once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from expressway.cli.main import app
from expressway.hashing import hash_token


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EXPRESSWAY_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("EXPRESSWAY_TENANT_DATABASE_URL", raising=False)
    monkeypatch.delenv("EXPRESSWAY_SECRET_KEY", raising=False)
    return tmp_path


def test_init_prints_the_admin_client_once_and_a_second_run_changes_nothing(env: Path) -> None:
    runner = CliRunner()
    first = runner.invoke(app, ["tenant", "init", "--json"])
    assert first.exit_code == 0, first.output
    created = json.loads(first.output)
    assert created["changed"] is True
    assert created["client_id"]
    assert len(created["client_secret"]) >= 43

    second = runner.invoke(app, ["tenant", "init", "--json"])
    again = json.loads(second.output)
    assert again["changed"] is False
    assert again["changes"] == []
    assert again["client_id"] == created["client_id"]
    assert again["client_secret"] is None

    human = runner.invoke(app, ["tenant", "init"])
    assert "nothing changed" in human.output


def test_the_database_holds_neither_the_admin_secret_nor_a_private_key_in_clear(env: Path) -> None:
    created = json.loads(CliRunner().invoke(app, ["tenant", "init", "--json"]).output)
    # WAL mode: recent pages may still be in the -wal file, so read every file of the database.
    database = b"".join(path.read_bytes() for path in env.glob("tenant.db*"))
    assert created["client_secret"].encode() not in database
    assert hash_token(created["client_secret"]).encode() in database
    assert b"PRIVATE KEY" not in database


def test_version_prints_the_package_version() -> None:
    from expressway import __version__

    result = CliRunner().invoke(app, ["version"])
    assert result.output.strip() == __version__
