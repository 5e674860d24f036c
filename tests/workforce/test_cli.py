"""``expressway workforce init``: idempotent, secrets shown exactly once, one org per run."""

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
    monkeypatch.delenv("EXPRESSWAY_WORKFORCE_DATABASE_URL", raising=False)
    monkeypatch.delenv("EXPRESSWAY_SECRET_KEY", raising=False)
    monkeypatch.delenv("EXPRESSWAY_WORKFORCE_PUBLIC_URL", raising=False)
    return tmp_path


def _init(*args: str) -> dict[str, object]:
    result = CliRunner().invoke(app, ["workforce", "init", "--json", *args])
    assert result.exit_code == 0, result.output
    parsed: dict[str, object] = json.loads(result.output)
    return parsed


def test_init_prints_the_admin_secrets_once_and_a_second_run_changes_nothing(env: Path) -> None:
    """The password and token appear on the first run only; the second says nothing changed."""
    created = _init("--org", "acme")
    assert created["changed"] is True
    assert created["org_url"] == created["issuer"] == "http://localhost:8402/orgs/acme"
    assert created["admin_login"] == "admin@acme.example"
    assert isinstance(created["api_token"], str)
    assert len(created["api_token"]) >= 40
    assert isinstance(created["admin_password"], str)
    assert len(created["admin_password"]) >= 16

    again = _init("--org", "acme")
    assert again["changed"] is False
    assert again["changes"] == []
    assert again["admin_login"] == "admin@acme.example"
    assert again["api_token"] is None
    assert again["admin_password"] is None

    human = CliRunner().invoke(app, ["workforce", "init", "--org", "acme"])
    assert "nothing changed" in human.output
    assert str(created["api_token"]) not in human.output


def test_each_org_is_initialised_by_its_own_run_with_its_own_admin(env: Path) -> None:
    """Several orgs: one run each, each with its own admin and token."""
    acme = _init("--org", "acme")
    globex = _init("--org", "globex", "--admin-email", "it@globex.example")
    assert globex["changed"] is True
    assert globex["admin_login"] == "it@globex.example"
    assert globex["api_token"] != acme["api_token"]


def test_an_org_name_that_cannot_be_a_url_segment_is_refused(env: Path) -> None:
    """The org name becomes /orgs/NAME: a bad one is refused before anything is made."""
    result = CliRunner().invoke(app, ["workforce", "init", "--org", "Acme Corp"])
    assert result.exit_code == 2
    assert "lower-case letters" in result.output
    assert not (env / "workforce.db").exists()


def test_the_database_holds_no_password_token_or_private_key_in_clear(env: Path) -> None:
    """Secrets at rest: a hash, a digest, and sealed keys only."""
    created = _init("--org", "acme")
    # WAL mode: recent pages may still be in the -wal file, so read every file of the database.
    database = b"".join(path.read_bytes() for path in env.glob("workforce.db*"))
    assert str(created["api_token"]).encode() not in database
    assert str(created["admin_password"]).encode() not in database
    assert hash_token(str(created["api_token"])).encode() in database
    assert b"PRIVATE KEY" not in database
