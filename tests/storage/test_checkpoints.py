"""SQLite's WAL checkpoints in the background (:mod:`expressway.storage.checkpoints`): commits
leave them to the checkpointer, which takes them while it runs, never fails a turn for a reader
or a missing file, and stops with the app that started it."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from expressway.storage.checkpoints import BACKSTOP_PAGES, Checkpointer, database_file
from expressway.storage.engine import make_engine
from expressway.tenant.app import create_app
from tests.conftest import Tenant

#: A row that fills a page of its own and more (SQLite's pages are 4 KiB).
_ROW = b"x" * 5_000


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[sa.Engine]:
    engine = make_engine(f"sqlite:///{tmp_path / 'wal.db'}")
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE blobs (id INTEGER PRIMARY KEY, body BLOB)")
    yield engine
    engine.dispose()


def _commits(engine: sa.Engine, count: int) -> None:
    """``count`` transactions, each writing a row of a page or two."""
    with engine.connect() as connection:
        for _ in range(count):
            connection.exec_driver_sql("INSERT INTO blobs (body) VALUES (?)", (_ROW,))
            connection.commit()


def _until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the checkpointer did not get there in time"
        time.sleep(0.01)


def test_a_commit_leaves_the_checkpoint_to_the_checkpointer(engine: sa.Engine) -> None:
    # With SQLite's default (1,000 pages) a commit would have checkpointed on the way, and the
    # commit after it started the WAL over: it would hold fewer than 1,000 frames.
    _commits(engine, 600)
    path = database_file(engine)
    assert path is not None
    taken = Checkpointer(path).checkpoint()
    assert not taken.busy
    assert 1_200 <= taken.frames < BACKSTOP_PAGES
    assert taken.checkpointed == taken.frames


def test_the_thread_checkpoints_while_it_runs_and_stops_when_told(engine: sa.Engine) -> None:
    path = database_file(engine)
    assert path is not None
    checkpointer = Checkpointer(path, interval=0.01)
    checkpointer.start()
    try:
        _commits(engine, 400)
        seen = checkpointer.runs
        _until(lambda: checkpointer.runs >= seen + 2)
    finally:
        checkpointer.stop()
    assert not checkpointer.running
    runs = checkpointer.runs
    # Every frame was in the database file, so the next commit started the WAL over: it holds
    # only that commit's frames, not the 800 or so of the 400 before.
    _commits(engine, 1)
    taken = Checkpointer(path).checkpoint()
    assert 0 < taken.frames < 20
    time.sleep(0.05)
    assert checkpointer.runs == runs


def test_a_reader_keeps_its_frames_and_the_checkpoint_copies_the_rest(engine: sa.Engine) -> None:
    path = database_file(engine)
    assert path is not None
    _commits(engine, 50)
    reader = sqlite3.connect(path, isolation_level=None)
    try:
        reader.execute("BEGIN")
        assert reader.execute("SELECT count(*) FROM blobs").fetchone() == (50,)
        _commits(engine, 50)
        taken = Checkpointer(path).checkpoint()
        # The frames after the reader's snapshot stay in the WAL until it ends: no error.
        assert not taken.busy
        assert 0 < taken.checkpointed < taken.frames
        reader.execute("COMMIT")
    finally:
        reader.close()
    again = Checkpointer(path).checkpoint()
    assert again.checkpointed == again.frames


def test_a_file_that_is_not_there_is_not_made(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    with pytest.raises(sqlite3.OperationalError):
        Checkpointer(str(missing)).checkpoint()
    assert not missing.exists()


def test_failures_are_told_once_and_the_thread_goes_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "later.db"
    checkpointer = Checkpointer(str(path), interval=0.01)
    with caplog.at_level(logging.WARNING, logger="expressway.storage"):
        checkpointer.start()
        try:
            _until(lambda: len(caplog.records) >= 1)
            time.sleep(0.1)  # several more turns, failing the same way
            assert len(caplog.records) == 1
            assert "WAL checkpoint of" in caplog.records[0].getMessage()
            assert checkpointer.running
            # The file appears (a restore): the next turns checkpoint it.
            later = make_engine(f"sqlite:///{path}")
            with later.begin() as connection:
                connection.exec_driver_sql("CREATE TABLE t (x)")
            _until(lambda: checkpointer.runs >= 1)
            later.dispose()
        finally:
            checkpointer.stop()


def test_only_a_sqlite_file_has_a_wal(tmp_path: Path) -> None:
    assert database_file(make_engine(f"sqlite:///{tmp_path / 'a.db'}")) == str(tmp_path / "a.db")
    assert database_file(make_engine("sqlite://")) is None
    assert database_file(make_engine("postgresql://localhost/expressway")) is None
    assert Checkpointer.for_engine(make_engine("sqlite:///:memory:")) is None


def _checkpointers(path: str) -> int:
    return sum(thread.name == f"wal-checkpoint {path}" for thread in threading.enumerate())


def test_the_tenant_checkpoints_while_it_serves(tenant: Tenant) -> None:
    path = database_file(tenant.runtime.engine)
    if path is None:
        pytest.skip("the tenant's database has no WAL")
    assert _checkpointers(path) == 1
    with TestClient(create_app(tenant.runtime)):
        assert _checkpointers(path) == 2
    assert _checkpointers(path) == 1
