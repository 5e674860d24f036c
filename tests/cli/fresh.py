"""A fresh interpreter for the CLI tests that need one: its settings and SQLite databases in a
data directory of the test's, whatever database the suite runs against."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_python(
    arguments: list[str], *, data_dir: Path, cwd: Path, timeout: float, **environment: str
) -> subprocess.CompletedProcess[str]:
    """``python ARGUMENTS`` run to its end in ``cwd``, with ``EXPRESSWAY_DATA_DIR`` set to
    ``data_dir`` and ``environment`` added, its output captured as text."""
    env = {**os.environ, "EXPRESSWAY_DATA_DIR": str(data_dir), **environment}
    for name in ("EXPRESSWAY_TENANT_DATABASE_URL", "EXPRESSWAY_WORKFORCE_DATABASE_URL"):
        env.pop(name, None)
    return subprocess.run(  # noqa: S603 - this interpreter, running our own code
        [sys.executable, *arguments],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
