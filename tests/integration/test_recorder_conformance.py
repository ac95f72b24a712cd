"""Our recorders still honour the library's contract: its own application recorder tests.

Mirrors the library's ``tests/persistence_tests/test_sqlite.py`` and ``test_postgres.py``: a
file database (SQLite) or a clean schema (PostgreSQL) per test, the recorder's tables created
by ``create_recorder``, everything dropped afterwards. The library's abstract test case is
imported through its module so that pytest does not collect the abstract class itself.
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import uuid
from pathlib import Path

import psycopg
import pytest
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from psycopg.sql import SQL, Composed, Identifier

from ledger.store.recorders import LedgerPostgresRecorder, LedgerSQLiteRecorder

# The library's test module imports its cipher, which needs the `crypto` extra (pycryptodome).
pytest.importorskip("Crypto", reason="the library's recorder tests need pycryptodome "
                    "(eventsourcing[crypto]) in the test dependencies")
from eventsourcing.tests import persistence

PG = {"dbname": "test", "host": "127.0.0.1", "port": "5432", "user": "postgres", "password": ""}


class TestLedgerSQLiteRecorder(persistence.ApplicationRecorderTestCase[LedgerSQLiteRecorder]):
    def setUp(self) -> None:
        super().setUp()
        self.tmpdir = Path(tempfile.mkdtemp(prefix="ledger-conformance-"))
        self.datastores: list[SQLiteDatastore] = []
        self.threads_before = set(threading.enumerate())

    def tearDown(self) -> None:
        # The library's concurrency tests signal their reader threads to stop but do not join
        # them; closing the database under a reader still inside sqlite3 crashes the process.
        for thread in set(threading.enumerate()) - self.threads_before:
            if not thread.daemon:  # (connection pools keep daemon workers until closed)
                thread.join(timeout=10)
        for datastore in self.datastores:
            datastore.close()
        shutil.rmtree(self.tmpdir, ignore_errors=True)
        super().tearDown()

    def create_recorder(self) -> LedgerSQLiteRecorder:
        datastore = SQLiteDatastore(db_name=str(self.tmpdir / "events.db"), pool_size=100)
        self.datastores.append(datastore)
        recorder = LedgerSQLiteRecorder(datastore)
        recorder.create_table()
        return recorder


@pytest.mark.postgres
class TestLedgerPostgresRecorder(persistence.ApplicationRecorderTestCase[LedgerPostgresRecorder]):
    def setUp(self) -> None:
        super().setUp()
        self.schema = f"t_{uuid.uuid4().hex[:16]}"
        self.admin(SQL("CREATE SCHEMA {}").format(Identifier(self.schema)))
        self.datastore = PostgresDatastore(**PG, schema=self.schema, pool_size=4, max_overflow=10)
        self.threads_before = set(threading.enumerate())

    def tearDown(self) -> None:
        for thread in set(threading.enumerate()) - self.threads_before:
            if not thread.daemon:
                thread.join(timeout=10)  # reader threads the library's tests leave running
        self.datastore.close()
        self.admin(SQL("DROP SCHEMA {} CASCADE").format(Identifier(self.schema)))
        super().tearDown()

    @staticmethod
    def admin(statement: Composed) -> None:
        with psycopg.connect(**PG, autocommit=True) as conn:
            conn.execute(statement)

    def create_recorder(self) -> LedgerPostgresRecorder:
        recorder = LedgerPostgresRecorder(self.datastore, events_table_name="ledger_events")
        recorder.create_table()
        return recorder

    def test_insert_subscribe(self) -> None:
        self.datastore.pool.open()
        self.datastore.pool.resize(2, 2)
        super().optional_test_insert_subscribe()
