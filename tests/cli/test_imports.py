"""What a process of the ``expressway`` command holds in memory: a serving command runs uvicorn in
the CLI's own process, so every module the command line imports stays there as long as it serves
(the services' idle memory is a target of ``bench/memory.py``). Each check runs a fresh
interpreter, the only place where ``sys.modules`` tells what a command alone imported."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.fresh import run_python

#: Runs ``expressway ARGUMENTS`` up to the moment uvicorn would serve, then prints the names of
#: the modules imported by then, as a JSON list on the last line of its output.
SERVE_UNTIL_READY = """
import json, sys

import uvicorn

from expressway.cli import main, serving


def serve(application, *arguments, **options):
    print(json.dumps(sorted(sys.modules)))


def run(build, factory, **options):
    serve(build())


serving.run = run
uvicorn.run = serve
main.app(sys.argv[1:], prog_name="expressway")
"""

IMPORT_ONLY = "import json, sys, expressway.cli.main; print(json.dumps(sorted(sys.modules)))"


def _modules(tmp_path: Path, script: str, *arguments: str) -> list[str]:
    """The modules a fresh interpreter holds once ``script`` ran, on SQLite under ``tmp_path``."""
    done = run_python(
        ["-c", script, *arguments],
        data_dir=tmp_path,
        cwd=tmp_path,
        timeout=120,
        EXPRESSWAY_SAMPLE_APP_CLIENT_ID="sample-app",
        EXPRESSWAY_SAMPLE_APP_CLIENT_SECRET="sample-app-secret",
    )
    assert done.returncode == 0, done.stderr
    modules: list[str] = json.loads(done.stdout.splitlines()[-1])
    return modules


def _under(modules: list[str], packages: tuple[str, ...]) -> list[str]:
    return [
        name
        for name in modules
        if name in packages or name.startswith(tuple(f"{package}." for package in packages))
    ]


def test_the_command_line_imports_no_system_before_a_command_runs(tmp_path: Path) -> None:
    """``import expressway.cli.main`` loads none of the systems, the demo, the doctor or the
    storage layer: each command imports what it uses when it runs."""
    modules = _modules(tmp_path, IMPORT_ONLY)
    assert "expressway.cli.main" in modules
    assert (
        _under(
            modules,
            (
                "expressway.tenant",
                "expressway.workforce",
                "expressway.sample_app",
                "expressway.demo",
                "expressway.doctor",
                "expressway.storage",
                "sqlalchemy",
            ),
        )
        == []
    )


@pytest.mark.parametrize(
    ("arguments", "absent"),
    [
        pytest.param(
            ["tenant", "serve"],
            # The doctor is not absent: the tenant dashboard's Readiness panel runs its checks.
            ("expressway.workforce", "expressway.sample_app", "expressway.demo"),
            id="tenant",
        ),
        pytest.param(
            ["workforce", "serve"],
            (
                "expressway.tenant",
                "expressway.sample_app",
                "expressway.demo",
                "expressway.doctor",
            ),
            id="workforce",
        ),
        pytest.param(
            ["sample-app", "serve"],
            (
                "expressway.tenant",
                "expressway.workforce",
                "expressway.demo",
                "expressway.doctor",
                "expressway.storage",
                "sqlalchemy",
            ),
            id="sample-app",
        ),
    ],
)
def test_a_serving_command_holds_no_module_of_another_system(
    tmp_path: Path, arguments: list[str], absent: tuple[str, ...]
) -> None:
    """A serving process, its app built and about to serve, holds none of the modules of the
    systems it does not run, nor the demo's."""
    modules = _modules(tmp_path, SERVE_UNTIL_READY, *arguments)
    assert "expressway.cli.main" in modules
    assert _under(modules, absent) == []
