"""A counter that moves whenever this process commits a write to some tables: how an in-process
cache of rows that rarely change learns, at once, that its entries may be stale.

A cache notes the counter's value when it reads an entry and uses the entry only while the value
is the same; it stores an entry only if the value did not move while it was being read (a commit
under way may have changed what was read). Writes by other processes are not seen here: each
cache bounds those by a time to live of its own.

Every kind of write is seen: rows flushed through the unit of work (``session.add``, changed
attributes, ``session.delete``) and ``INSERT``/``UPDATE``/``DELETE`` statements run through a
session, which bypass the flush, and statements run on the session's connection outside it, which
say so (:func:`note_write`). The counter moves after the commit, never for a rollback.
"""

from __future__ import annotations

import itertools
import threading
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session

_names = itertools.count()
#: The counters of each table, for :func:`note_write` (a SCIM create notes four writes). A
#: counter lives as long as the process: the session events it listens to hold it.
_counters_of: defaultdict[str, list[TableWrites]] = defaultdict(list)


class TableWrites:
    """The number of commits, in any session of this process, that wrote one of ``tables``."""

    def __init__(self, tables: Iterable[str]) -> None:
        self.tables = frozenset(tables)
        self.value = 0
        self._lock = threading.Lock()
        # Where a session notes, until its commit, that it wrote one of the tables.
        self._flag = f"expressway.table_writes.{next(_names)}"
        event.listen(Session, "after_flush", self._after_flush)
        event.listen(Session, "do_orm_execute", self._on_execute)
        event.listen(Session, "after_commit", self._after_commit)
        event.listen(Session, "after_rollback", self._after_rollback)
        for table in self.tables:
            _counters_of[table].append(self)

    def note(self, session: Session, table: str) -> None:
        """Move at ``session``'s commit if ``table`` is one of this counter's."""
        if table in self.tables:
            session.info[self._flag] = True

    def _after_flush(self, session: Session, _context: object) -> None:
        changed = (*session.new, *session.dirty, *session.deleted)
        if any(getattr(row, "__tablename__", None) in self.tables for row in changed):
            session.info[self._flag] = True

    def _on_execute(self, state: ORMExecuteState) -> None:
        if state.is_update or state.is_delete or state.is_insert:
            table = getattr(state.statement, "table", None)
            if getattr(table, "name", None) in self.tables:
                state.session.info[self._flag] = True

    def _after_commit(self, session: Session) -> None:
        if session.info.pop(self._flag, False):
            with self._lock:
                self.value += 1

    def _after_rollback(self, session: Session) -> None:
        session.info.pop(self._flag, None)


def note_write(session: Session, table: str) -> None:
    """Note that ``session``'s transaction wrote ``table`` by a statement that did not go
    through the session (:class:`~expressway.storage.sqlite_driver.SessionStatement`): every
    counter of that table moves at the commit, as it would for the session's own statements."""
    for counter in _counters_of.get(table, ()):
        counter.note(session, table)
