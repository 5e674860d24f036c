"""SQLite's WAL checkpoints, taken off the request path.

In WAL mode a commit appends its pages to the ``-wal`` file, and a checkpoint copies them back
into the database file, then syncs it. By default SQLite checkpoints inside the commit that takes
the WAL past 1,000 pages (``wal_autocheckpoint``): that request then waits for the copy and the
sync. Under SCIM creates that was about one create in a hundred, and it made their tail: 10,000
creates over 4 connections read p99 13.9 and 17.0 ms with it, 5.3 and 5.0 ms with no
checkpoint in the commits, p95 4.7-4.9 against 3.8 ms, and 1,015-1,038 creates a second against
1,117 (``bench/scim_compare.py --only expressway``, alternating, 1 December).

So a serving process checkpoints in a thread of its own (:class:`Checkpointer`, started by each
app's lifespan), a few times a second, on a connection of its own: ``PASSIVE``, which never
waits for a reader or a writer and copies what it can; the sync of the database file is the
thread's, and ``sqlite3`` lets go of the interpreter lock while SQLite works. The commits'
own checkpoint is left as a backstop at :data:`BACKSTOP_PAGES`, for a process that runs no
checkpointer (a command, a script) and for a WAL the thread cannot keep up with. Several
processes on one file (``--workers``) each run one; SQLite lets one checkpoint run at a time, and
the others find it busy and try again at their next turn.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy.engine import Engine

logger = logging.getLogger("expressway.storage")

#: WAL pages (of 4 KiB) past which a committing connection checkpoints itself: 40 MiB, where
#: SQLite's default is 1,000 pages.
BACKSTOP_PAGES = 10_000
#: Seconds between the background checkpoints. At a thousand SCIM creates or tokens a second,
#: the WAL gains a few hundred pages in that time.
INTERVAL_SECONDS = 0.25


@dataclass(frozen=True)
class Checkpoint:
    """What ``PRAGMA wal_checkpoint(PASSIVE)`` answered: whether another checkpoint held the
    lock, the frames in the WAL, and how many of them are now in the database file."""

    busy: bool
    frames: int
    checkpointed: int


def database_file(engine: Engine) -> str | None:
    """The file of a SQLite engine that can have a WAL; None for another database or memory."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return database


class Checkpointer:
    """A daemon thread that checkpoints one SQLite file every ``interval`` seconds, from
    :meth:`start` to :meth:`stop`."""

    def __init__(self, path: str, interval: float = INTERVAL_SECONDS) -> None:
        self.path = path
        self.interval = interval
        #: Checkpoints taken (busy or not): what tests and benchmarks read.
        self.runs = 0
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    @classmethod
    def for_engine(cls, engine: Engine, interval: float = INTERVAL_SECONDS) -> Checkpointer | None:
        """A checkpointer for ``engine``'s file; None where there is no WAL to checkpoint."""
        path = database_file(engine)
        return cls(path, interval) if path is not None else None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"wal-checkpoint {self.path}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop the thread and wait for its checkpoint under way, if any."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._stopping.set()
        thread.join()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        connection: sqlite3.Connection | None = None
        failing = False
        try:
            while not self._stopping.wait(self.interval):
                try:
                    if connection is None:
                        connection = self._connect()
                    self.checkpoint(connection)
                    failing = False
                except sqlite3.Error as exc:
                    # The file may be unreadable for a while (a disk full, a restore): the
                    # commits' backstop still holds, and the next turn tries again on a new
                    # connection. Said once a streak of failures, not four times a second.
                    if not failing:
                        logger.warning("WAL checkpoint of %s failed: %s", self.path, exc)
                    failing = True
                    if connection is not None:
                        connection.close()
                        connection = None
        finally:
            if connection is not None:
                connection.close()

    def _connect(self) -> sqlite3.Connection:
        # Autocommit, and no waiting: a checkpoint that finds another under way gives up at once
        # (busy), where a busy timeout would make this thread wait for it. Read-write but never
        # create: a file that is not there is an error, not a new empty database.
        connection = sqlite3.connect(
            f"file:{quote(self.path)}?mode=rw",
            uri=True,
            isolation_level=None,
            check_same_thread=False,
        )
        connection.execute("PRAGMA busy_timeout = 0")
        return connection

    def checkpoint(self, connection: sqlite3.Connection | None = None) -> Checkpoint:
        """One ``PASSIVE`` checkpoint, on ``connection`` or on a connection made for it."""
        own = connection is None
        used = self._connect() if connection is None else connection
        try:
            row = used.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        finally:
            if own:
                used.close()
        self.runs += 1
        busy, frames, checkpointed = row
        return Checkpoint(bool(busy), frames, checkpointed)


@asynccontextmanager
async def checkpointing(engine: Engine) -> AsyncIterator[Checkpointer | None]:
    """An app's lifespan part: ``engine``'s file checkpointed in the background while it serves
    (nothing for PostgreSQL or a database in memory)."""
    checkpointer = Checkpointer.for_engine(engine)
    if checkpointer is None:
        yield None
        return
    checkpointer.start()
    try:
        yield checkpointer
    finally:
        # In a thread: stopping waits for a checkpoint under way, which may be syncing a file.
        await asyncio.to_thread(checkpointer.stop)
