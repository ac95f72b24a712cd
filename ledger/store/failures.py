"""What the store's own failures mean to the person at the command line, in one line.

The drivers (sqlite3, psycopg), the eventsourcing library and the operating system each raise
their own exception for a full disk, a read-only store, a damaged file or a lost connection.
``store_failure`` turns the ones a user can act on into a ``StoreError`` saying what happened and
what to do; anything else is left to raise, as the bug it is. Writes are whole batches (one
transaction each), so after any of these the store holds every batch before the failure and
nothing of the one that failed: running the command again resumes (an import skips the facts
already recorded).
"""

from __future__ import annotations

import errno
import sqlite3
import sys

import psycopg

from ledger.errors import StoreError

_DRIVERS: tuple[type[BaseException], ...] = (OSError, sqlite3.Error, psycopg.Error)


def failures() -> tuple[type[BaseException], ...]:
    """What a store's failure can be raised as (``except failures() as exc``): the drivers' and
    the operating system's errors, and the library's ``PersistenceError`` once the library is
    loaded. A command that only reads never loads the library (``eventsourcing``: about 25 ms of
    imports), and cannot meet its errors."""
    return (*_DRIVERS, *_library_errors())


def _library_errors() -> tuple[type[BaseException], ...]:
    persistence = sys.modules.get("eventsourcing.persistence")
    return () if persistence is None else (persistence.PersistenceError,)


AGAIN = ("whole batches already written are kept and nothing of the unfinished one; "
         "run the command again once it is fixed (an import resumes, skipping facts already recorded)")

_DISK_FULL = ("database or disk is full", "no space left on device", "could not extend file",
              "disk full")
_READ_ONLY = ("readonly database", "read-only file system", "read-only transaction",
              "read only transaction")
_DAMAGED = ("file is not a database", "database disk image is malformed")
_CANNOT_OPEN = ("unable to open database file",)
_BUSY = ("database is locked", "lock timeout", "database table is locked")
_CONNECTION_LOST = ("server closed the connection", "terminating connection", "connection is lost",
                    "consuming input failed", "connection is closed", "the connection is lost",
                    "connection not open", "connection already closed", "ssl syscall error",
                    "connection to server", "sending query failed", "server conn crashed")
_SQLSTATES = {"53100": "disk full", "25006": "read only", "55P03": "busy", "57P01": "lost", "57P02": "lost",
              "57P03": "lost", "08000": "lost", "08003": "lost", "08006": "lost"}


def _causes(exc: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in chain and len(chain) < 8:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _detail(exc: BaseException) -> str:
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return first if len(first) <= 120 else first[:117] + "..."


def _kind(exc: BaseException) -> str | None:
    if isinstance(exc, OSError) and not isinstance(exc, psycopg.Error):
        return {errno.ENOSPC: "disk full", errno.EDQUOT: "disk full",
                errno.EROFS: "read only"}.get(exc.errno or 0)
    state = getattr(getattr(exc, "diag", None), "sqlstate", None) or getattr(exc, "sqlstate", None)
    if state in _SQLSTATES:
        return _SQLSTATES[state]
    text = str(exc).lower()
    for kind, needles in (("disk full", _DISK_FULL), ("read only", _READ_ONLY),
                          ("damaged", _DAMAGED), ("cannot open", _CANNOT_OPEN), ("busy", _BUSY)):
        if any(n in text for n in needles):
            return kind
    lost = any(n in text for n in _CONNECTION_LOST)
    return "lost" if lost and isinstance(exc, (psycopg.Error, *_library_errors())) else None


_MESSAGES = {
    "disk full": "the disk is full ({detail}): free some space; {again}",
    "read only": "{store} is read-only ({detail}): reading commands (views show, verify, audit, "
                 "export) work on it, but recording facts needs a store you can write",
    "damaged": "{store} is not a ledger's SQLite file or is damaged ({detail}); check "
               "LEDGER_DATABASE_URL, or restore the file from a backup",
    "cannot open": "cannot open {store} ({detail}): check that its folder exists and that you "
                   "may write in it",
    "busy": "{store} is busy ({detail}): another ledger command held its lock too long; {again}",
    "lost": "lost the connection to {store} ({detail}): {again}",
}


def store_failure(exc: BaseException, store: str = "the store") -> StoreError | None:
    """The one-line error for a failure of the store or its disk, or None if it is not one."""
    for cause in _causes(exc):
        kind = _kind(cause)
        if kind is not None:
            return StoreError(_MESSAGES[kind].format(store=store, detail=_detail(cause), again=AGAIN))
    return None
