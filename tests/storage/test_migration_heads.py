"""The start of every ``serve`` and ``init`` tells a current database without Alembic, so that a
serving process does not keep Alembic in its memory; a database behind the scripts is still
upgraded by Alembic."""

from __future__ import annotations

import subprocess
import sys

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory

from expressway.storage import migrate
from expressway.storage.engine import make_engine
from tests.conftest import BACKENDS

SYSTEMS = ["tenant", "workforce"]

#: A process starting as ``serve`` does: upgrade, then say whether Alembic was imported.
START = """
import sys
from expressway.storage import migrate
from expressway.storage.engine import make_engine
engine = make_engine(sys.argv[1])
migrate.upgrade(engine, sys.argv[2])
engine.dispose()
print("alembic imported" if "alembic" in sys.modules else "alembic not imported")
"""


def _start(url: str, system: str) -> str:
    started = subprocess.run(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-c", START, url, system],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return started.stdout.strip()


@pytest.mark.parametrize("system", SYSTEMS)
def test_the_heads_read_from_the_scripts_are_alembics(system: str) -> None:
    with sa.create_engine("sqlite://").connect() as connection:
        config = migrate.alembic_config(system, connection)
        heads = ScriptDirectory.from_config(config).get_heads()
    assert heads
    assert migrate.script_heads(system) == frozenset(heads)


@pytest.mark.parametrize("empty_database", BACKENDS, indirect=True)
@pytest.mark.parametrize("system", SYSTEMS)
def test_a_start_on_a_current_database_leaves_alembic_unimported(
    empty_database: str, system: str
) -> None:
    assert _start(empty_database, system) == "alembic imported"
    assert _start(empty_database, system) == "alembic not imported"
    engine = make_engine(empty_database)
    try:
        assert migrate.is_current(engine, system)
    finally:
        engine.dispose()


@pytest.mark.parametrize("empty_database", BACKENDS, indirect=True)
@pytest.mark.parametrize("system", SYSTEMS)
def test_a_database_one_revision_behind_is_upgraded(empty_database: str, system: str) -> None:
    engine = make_engine(empty_database)
    try:
        migrate.upgrade(engine, system)
        with engine.begin() as connection:
            command.downgrade(migrate.alembic_config(system, connection), "-1")
        assert not migrate.is_at_heads(engine, system)
        assert not migrate.is_current(engine, system)
        migrate.upgrade(engine, system)
        assert migrate.is_at_heads(engine, system)
        assert migrate.is_current(engine, system)
    finally:
        engine.dispose()


def test_a_script_of_a_form_it_cannot_read_leaves_no_heads(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """A script whose revision is not a constant: no heads, so a start runs Alembic's upgrade
    (which finds nothing to do) rather than guess."""
    versions = tmp_path_factory.mktemp("migrations") / "odd" / "versions"
    versions.mkdir(parents=True)
    (versions / "a_first.py").write_text('revision = "a"\ndown_revision = None\n')
    (versions / "b_second.py").write_text('revision = "b" + ""\ndown_revision = "a"\n')
    monkeypatch.setattr(migrate, "MIGRATIONS_DIR", versions.parent.parent)
    assert migrate.script_heads("odd") == frozenset()
    (versions / "b_second.py").write_text('revision: str = "b"\ndown_revision = ("a",)\n')
    migrate.script_heads.cache_clear()
    assert migrate.script_heads("odd") == frozenset({"b"})
    migrate.script_heads.cache_clear()
