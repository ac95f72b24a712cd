"""How the store's failures read, and which schema names can hold a ledger (no database)."""

from __future__ import annotations

import errno
import sqlite3

import pytest
from eventsourcing.persistence import OperationalError

from ledger.store.failures import failures, store_failure
from ledger.store.settings import schema_problem


def _wrapped(inner: BaseException) -> OperationalError:
    try:
        raise OperationalError(str(inner)) from inner
    except OperationalError as outer:
        return outer


@pytest.mark.parametrize(("failure", "start"), [
    (OSError(errno.ENOSPC, "No space left on device"), "the disk is full"),
    (_wrapped(sqlite3.OperationalError("database or disk is full")), "the disk is full"),
    (_wrapped(sqlite3.OperationalError("attempt to write a readonly database")), "the store is read-only"),
    (OSError(errno.EROFS, "Read-only file system"), "the store is read-only"),
    (sqlite3.DatabaseError("file is not a database"), "the store is not a ledger's SQLite file"),
    (_wrapped(sqlite3.OperationalError("unable to open database file")), "cannot open the store"),
    (_wrapped(sqlite3.OperationalError("database is locked")), "the store is busy"),
])
def test_a_store_failure_is_one_line_saying_what_to_do(failure: BaseException, start: str) -> None:
    error = store_failure(failure)

    assert error is not None
    assert str(error).startswith(start)
    assert "\n" not in str(error)


def test_the_librarys_own_errors_are_store_failures_once_it_is_loaded() -> None:
    lost = OperationalError("server closed the connection unexpectedly")  # nothing chained

    try:
        raise lost
    except failures() as caught:  # as the CLI and the import catch them
        error = store_failure(caught)

    assert error is not None
    assert str(error).startswith("lost the connection to the store")


@pytest.mark.parametrize("failure", [ValueError("a bug"), OSError(errno.ENOENT, "missing"),
                                     sqlite3.OperationalError("no such table: x")])
def test_anything_else_is_left_to_raise_as_the_bug_it_is(failure: BaseException) -> None:
    assert store_failure(failure) is None


@pytest.mark.parametrize("schema", ["pg_catalog", "pg_toast", "information_schema", "select",
                                    "user", "Ledger", "9x", "a-b", "x" * 64])
def test_a_schema_that_cannot_hold_a_ledger_is_named_with_the_reason(schema: str) -> None:
    assert schema_problem(schema)


@pytest.mark.parametrize("schema", ["public", "ledger", "ledger_2026", "_tmp", "selection"])
def test_ordinary_schema_names_are_accepted(schema: str) -> None:
    assert schema_problem(schema) is None
