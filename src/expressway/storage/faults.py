"""Faults of the database itself, told apart from faults of a request or of the code.

A request cannot be served while the database is down, full or read-only, but none of these is
the client's fault nor a bug: each is answered 503 with ``Retry-After`` and a message naming the
cause, so that a client retries and an operator knows what to fix. Everything else the driver
raises (a constraint, a value it refuses, a syntax error) is not a fault of the database and is
left to the handlers that already answer it.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass
from typing import Literal

import psycopg
from sqlalchemy import exc as sa_exc

FaultKind = Literal["unavailable", "full", "read_only"]

#: SQLite's primary result codes (the low byte of an extended code) that mean the file, not the
#: statement, is at fault. See https://www.sqlite.org/rescode.html.
_SQLITE_FAULTS: dict[int, FaultKind] = {
    5: "unavailable",  # SQLITE_BUSY: another writer held the lock past the busy timeout
    6: "unavailable",  # SQLITE_LOCKED
    8: "read_only",  # SQLITE_READONLY
    10: "unavailable",  # SQLITE_IOERR
    13: "full",  # SQLITE_FULL
    14: "unavailable",  # SQLITE_CANTOPEN
}

#: PostgreSQL SQLSTATEs that mean the server, not the statement, is at fault.
_POSTGRES_FAULTS: dict[str, FaultKind] = {
    "53100": "full",  # disk_full
    "53200": "unavailable",  # out_of_memory
    "53300": "unavailable",  # too_many_connections
    "25006": "read_only",  # read_only_sql_transaction (a standby, or default_transaction_read_only)
    "57P01": "unavailable",  # admin_shutdown
    "57P02": "unavailable",  # crash_shutdown
    "57P03": "unavailable",  # cannot_connect_now (starting up or shutting down)
}

_MESSAGES: dict[FaultKind, str] = {
    "unavailable": "The database is unavailable; try again shortly",
    "full": "The database is full; nothing can be written until space is freed",
    "read_only": "The database is read-only; nothing can be written until it is writable again",
}

#: Seconds a client is asked to wait: an outage is usually short; a full or read-only database
#: waits for an operator.
_RETRY_AFTER: dict[FaultKind, int] = {"unavailable": 5, "full": 60, "read_only": 60}


@dataclass(frozen=True)
class DatabaseFault:
    """Why the database could not serve a request, in words for the client and the log."""

    kind: FaultKind
    #: The driver's own words (its first line), for the log only: never sent to a client.
    detail: str

    @property
    def message(self) -> str:
        return _MESSAGES[self.kind]

    @property
    def retry_after(self) -> int:
        return _RETRY_AFTER[self.kind]

    @property
    def code(self) -> str:
        """A machine-readable name for the cause: ``database_unavailable`` and so on."""
        return f"database_{self.kind}"


def _detail(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return (lines[0] if lines else type(error).__name__)[:300]


def _kind_of_driver_error(original: BaseException, invalidated: bool) -> FaultKind | None:
    if isinstance(original, sqlite3.Error):
        code = getattr(original, "sqlite_errorcode", None)
        return _SQLITE_FAULTS.get(code & 0xFF) if isinstance(code, int) else None
    if isinstance(original, psycopg.Error):
        state = original.sqlstate
        if state in _POSTGRES_FAULTS:
            return _POSTGRES_FAULTS[state]
        # No SQLSTATE: the connection failed or broke before the server could say anything.
        if state is None and isinstance(
            original, psycopg.OperationalError | psycopg.InterfaceError
        ):
            return "unavailable"
        # Class 08: connection exceptions.
        if state is not None and state.startswith("08"):
            return "unavailable"
    return "unavailable" if invalidated else None


def database_fault(error: BaseException) -> DatabaseFault | None:
    """The fault of the database behind ``error``, or ``None`` when ``error`` is not one (a
    constraint, a bad value, a bug): those keep their own answers."""
    if isinstance(error, sa_exc.TimeoutError):
        # The pool had no connection to give within its timeout: the database is saturated.
        return DatabaseFault("unavailable", _detail(error))
    if isinstance(error, sa_exc.DBAPIError):
        original: BaseException = error.orig if error.orig is not None else error
        kind = _kind_of_driver_error(original, error.connection_invalidated)
        return DatabaseFault(kind, _detail(original)) if kind else None
    return None


def log_round_failure(logger: logging.Logger, what: str, error: Exception) -> None:
    """Log a background worker's failed round: one line when the database is at fault (an
    outage repeats every round and its traceback says nothing new), the traceback otherwise."""
    fault = database_fault(error)
    if fault is None:
        logger.exception(what, exc_info=error)
    else:
        logger.error("%s: database %s (%s)", what, fault.kind.replace("_", "-"), fault.detail)
