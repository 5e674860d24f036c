"""``expressway sample-app serve``."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from expressway.cli.main import app


def test_serve_without_the_client_registration_exits_naming_the_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No client id and secret: a usage error naming the variables and the callback to register."""
    monkeypatch.setenv("EXPRESSWAY_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("EXPRESSWAY_SAMPLE_APP_CLIENT_ID", raising=False)
    monkeypatch.delenv("EXPRESSWAY_SAMPLE_APP_CLIENT_SECRET", raising=False)
    result = CliRunner().invoke(app, ["sample-app", "serve", "--port", "8499"])
    assert result.exit_code == 2
    assert "EXPRESSWAY_SAMPLE_APP_CLIENT_ID" in result.output
    assert "http://localhost:8499/callback" in result.output
