"""The library's application recorders, extended so that every stored fact is indexed and chained.

In the same transaction as the events (and, on PostgreSQL, under the library's EXCLUSIVE lock on
the events table, so commit order equals notification order), each event gets one row in
``ledger_facts``: its ``source_id`` (UNIQUE: the database enforces idempotency), type, subject,
effective date, the ledger's own recorded time (UTC, strictly increasing) and its link in the
hash chain. Events written without fact metadata (the library's own conformance tests do that)
are still chained, with NULL index fields.

Both tables refuse UPDATE, DELETE and TRUNCATE through triggers created here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteCursor, SQLiteDatastore
from eventsourcing.utils import retry
from psycopg import Cursor
from psycopg.rows import DictRow, tuple_row
from psycopg.sql import SQL, Composed, Identifier, Literal

from ledger.store.chain import GENESIS, FactMeta, format_time, link_digest, parse_time
from ledger.store.settings import FACTS_TABLE, LOCK_FUNCTION

FACT_TYPES_PG = ["int8", "text", "text", "text", "text", "uuid", "int8", "date", "timestamptz", "text",
                 "text"]
FACT_COLUMNS = (
    "notification_id, source_id, fact_type, subject_id, household_id, originator_id, "
    "originator_version, effective_on, recorded_at, content_hash, chain_hash"
)
# Each event's fact index entry, in the events' order (None: an event that is no fact, as the
# library's conformance tests write).
Metas = Sequence[FactMeta | None]
# (position, source_id, fact_type, subject_id, household_id, originator_id, originator_version,
#  effective_on, recorded_at, content_hash, chain_hash), typed for PostgreSQL's binary COPY
ChainRow = tuple[
    int, str | None, str | None, str | None, str | None, UUID, int, dt.date | None, dt.datetime,
    str | None, str,
]


def chain_rows(
    stored_events: Sequence[StoredEvent],
    notification_ids: Sequence[int],
    metas: Metas,
    head_digest: str,
    head_time: dt.datetime | None,
) -> list[ChainRow]:
    """The ``ledger_facts`` rows for events just inserted, continuing the chain from its head."""
    now = dt.datetime.now(dt.UTC)
    moment = now if head_time is None or now > head_time else head_time + dt.timedelta(microseconds=1)
    rows: list[ChainRow] = []
    previous = head_digest
    for event, position, meta in zip(stored_events, notification_ids, metas, strict=True):
        originator_id = event.originator_id if isinstance(event.originator_id, UUID) else UUID(
            event.originator_id)
        previous = link_digest(
            previous, position, format_time(moment), meta, originator_id,
            event.originator_version, event.topic, event.state,
        )
        rows.append((
            position,
            meta.source_id if meta else None,
            meta.fact_type if meta else None,
            meta.subject_id if meta else None,
            meta.household_id if meta else None,
            originator_id,
            event.originator_version,
            meta.effective_on if meta else None,
            moment,
            meta.content_hash if meta else None,
            previous,
        ))
        moment += dt.timedelta(microseconds=1)
    return rows


def _immutability_sql_sqlite(table: str) -> list[str]:
    return [
        f"CREATE TRIGGER IF NOT EXISTS {table}_refuse_{op.lower()} BEFORE {op} ON {table} "
        f"BEGIN SELECT RAISE(ABORT, 'the ledger is append-only: {op} on {table} refused'); END"
        for op in ("UPDATE", "DELETE")
    ]


class LedgerSQLiteRecorder(SQLiteApplicationRecorder):
    facts_table = FACTS_TABLE

    def __init__(self, datastore: SQLiteDatastore, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name)

    def construct_create_table_statements(self) -> list[str]:
        statements = super().construct_create_table_statements()
        statements.append(
            f"CREATE TABLE IF NOT EXISTS {self.facts_table} ("
            "notification_id INTEGER PRIMARY KEY, source_id TEXT UNIQUE, fact_type TEXT, "
            "subject_id TEXT, household_id TEXT, originator_id TEXT NOT NULL, "
            "originator_version INTEGER NOT NULL, "
            "effective_on TEXT, recorded_at TEXT NOT NULL, content_hash TEXT, "
            "chain_hash TEXT NOT NULL)"
        )
        statements.append(
            f"CREATE INDEX IF NOT EXISTS {self.facts_table}_subject_idx "
            f"ON {self.facts_table} (subject_id, notification_id)"
        )
        statements.append(
            f"CREATE INDEX IF NOT EXISTS {self.facts_table}_household_idx "
            f"ON {self.facts_table} (household_id, notification_id)"
        )
        statements += _immutability_sql_sqlite(self.events_table_name)
        statements += _immutability_sql_sqlite(self.facts_table)
        return statements

    def select_streams(self, originator_ids: Sequence[UUID]) -> list[StoredEvent]:
        """Every event of several aggregates in one query, by aggregate then version."""
        found: list[StoredEvent] = []
        for start in range(0, len(originator_ids), 900):
            chunk = [i.hex for i in originator_ids[start:start + 900]]
            with self.datastore.transaction(commit=False) as c:
                c.execute(
                    f"SELECT * FROM {self.events_table_name} WHERE originator_id IN "
                    f"({','.join('?' * len(chunk))}) ORDER BY originator_id, originator_version",
                    chunk,
                )
                found += [
                    StoredEvent(UUID(r["originator_id"]), r["originator_version"], r["topic"], r["state"])
                    for r in c.fetchall()
                ]
        return found

    def _insert_events(
        self, c: SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        # The events go in first: that takes SQLite's write lock before the chain head is read.
        ids = super()._insert_events(c, stored_events, **kwargs)
        assert ids is not None
        c.execute(
            f"SELECT chain_hash, recorded_at FROM {self.facts_table} "
            "ORDER BY notification_id DESC LIMIT 1"
        )
        head = c.fetchone()
        rows = chain_rows(
            stored_events, ids, kwargs.get("fact_meta") or [None] * len(stored_events),
            head[0] if head else GENESIS, parse_time(head[1]) if head else None,
        )
        c.executemany(f"INSERT INTO {self.facts_table} VALUES (?,?,?,?,?,?,?,?,?,?,?)", [
            (*row[:5], str(row[5]), row[6], row[7].isoformat() if row[7] else None,
             format_time(row[8]), *row[9:])
            for row in rows
        ])
        return ids


class LedgerPostgresRecorder(PostgresApplicationRecorder):
    facts_table = FACTS_TABLE

    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        schema, facts = Identifier(self.datastore.schema), Identifier(self.facts_table)
        self.sql_create_statements += [
            SQL(
                "CREATE TABLE IF NOT EXISTS {schema}.{facts} ("
                "notification_id bigint PRIMARY KEY, source_id text UNIQUE, fact_type text, "
                "subject_id text, household_id text, originator_id uuid NOT NULL, "
                "originator_version bigint NOT NULL, "
                "effective_on date, recorded_at timestamptz NOT NULL, content_hash text, "
                "chain_hash text NOT NULL)"
            ).format(schema=schema, facts=facts),
            SQL(
                "CREATE INDEX IF NOT EXISTS {index} ON {schema}.{facts} (subject_id, notification_id)"
            ).format(index=Identifier(self.facts_table + "_subject_idx"), schema=schema, facts=facts),
            SQL(
                "CREATE INDEX IF NOT EXISTS {index} ON {schema}.{facts} (household_id, notification_id)"
            ).format(index=Identifier(self.facts_table + "_household_idx"), schema=schema, facts=facts),
            SQL(
                "CREATE OR REPLACE FUNCTION {schema}.ledger_refuse_change() RETURNS trigger "
                "LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION "
                "'the ledger is append-only: % on % refused', TG_OP, TG_TABLE_NAME "
                "USING ERRCODE = 'insufficient_privilege'; END $$"
            ).format(schema=schema),
        ]
        for table in (self.events_table_name, self.facts_table):
            self.sql_create_statements += self._immutability_sql(table)
        # The library takes the EXCLUSIVE lock with LOCK TABLE, which needs UPDATE, DELETE or
        # TRUNCATE on the table; a function with its owner's rights takes it instead, so the
        # writer role needs only INSERT (and EXECUTE). The lock lasts until the caller commits.
        lock = Identifier(LOCK_FUNCTION)
        self.sql_create_statements.append(SQL(
            "CREATE OR REPLACE FUNCTION {schema}.{lock}() RETURNS void LANGUAGE plpgsql "
            "SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$ BEGIN "
            "LOCK TABLE {schema}.{events} IN EXCLUSIVE MODE; END $$"
        ).format(schema=schema, lock=lock, events=Identifier(self.events_table_name)))
        self.sql_create_statements.append(SQL(
            "REVOKE ALL ON FUNCTION {schema}.{lock}() FROM PUBLIC").format(schema=schema, lock=lock))
        self.library_lock_statements = self.lock_table_statements
        self.lock_table_statements = [
            SQL("SET LOCAL lock_timeout = '{0}s'").format(self.datastore.lock_timeout),
            SQL("SELECT {schema}.{lock}()").format(schema=schema, lock=lock),
        ]
        self.lock_function_present: bool | None = None
        self.select_head_statement = SQL(
            "SELECT chain_hash, recorded_at FROM {schema}.{facts} "
            "ORDER BY notification_id DESC LIMIT 1"
        ).format(schema=schema, facts=facts)
        self.select_streams_statement = SQL(
            "SELECT originator_id, originator_version, topic, state FROM {schema}.{events} "
            "WHERE originator_id = ANY(%s) ORDER BY originator_id, originator_version"
        ).format(schema=schema, events=Identifier(self.events_table_name))
        self.copy_facts_statement = SQL(
            "COPY {schema}.{facts} (" + FACT_COLUMNS + ") FROM STDIN (FORMAT BINARY)"
        ).format(schema=schema, facts=facts)
        self.copy_events_statement = SQL(
            "COPY {schema}.{events} (originator_id, originator_version, topic, state, notification_id) "
            "FROM STDIN (FORMAT BINARY)"
        ).format(schema=schema, events=Identifier(self.events_table_name))
        self.next_ids_statement = SQL(
            "SELECT nextval(pg_get_serial_sequence({table}, 'notification_id')) AS id "
            "FROM generate_series(1, %s)"
        ).format(table=Literal(f"{self.datastore.schema}.{self.events_table_name}"))

    def analyze(self) -> None:
        """Fresh planner statistics of the events and the fact index, after a bulk import: where
        autovacuum is off, or has not come round yet, the read side's look-ups by household
        would otherwise be planned as sequential scans. (A login that does not own the tables
        gets a warning from PostgreSQL, and the plans it had.)"""
        statement = SQL("ANALYZE {schema}.{events}, {schema}.{facts}").format(
            schema=Identifier(self.datastore.schema), events=Identifier(self.events_table_name),
            facts=Identifier(self.facts_table))
        with self.datastore.transaction(commit=True) as curs:
            curs.execute(statement)

    def select_streams(self, originator_ids: Sequence[UUID]) -> list[StoredEvent]:
        """Every event of several aggregates in one query, by aggregate then version."""
        if not originator_ids:
            return []
        with self.datastore.transaction(commit=False) as curs:
            plain: Any = curs  # its own cursor: plain rows, no dict per event
            plain.row_factory = tuple_row
            plain.execute(self.select_streams_statement, (list(originator_ids),), prepare=True)
            return [StoredEvent(*row) for row in plain.fetchall()]

    def _immutability_sql(self, table: str) -> list[Composed]:
        schema = Identifier(self.datastore.schema)
        return [
            SQL(
                "CREATE OR REPLACE TRIGGER {name} BEFORE UPDATE OR DELETE ON {schema}.{table} "
                "FOR EACH ROW EXECUTE FUNCTION {schema}.ledger_refuse_change()"
            ).format(name=Identifier(table + "_refuse_change"), schema=schema, table=Identifier(table)),
            SQL(
                "CREATE OR REPLACE TRIGGER {name} BEFORE TRUNCATE ON {schema}.{table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION {schema}.ledger_refuse_change()"
            ).format(name=Identifier(table + "_refuse_truncate"), schema=schema, table=Identifier(table)),
        ]

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Insert events and their index rows with COPY, under the library's table lock.

        Holding the EXCLUSIVE lock, notification ids drawn from the table's own sequence are
        issued and committed in order, exactly as the library's INSERT would issue them (so
        readers never skip a lower id committed later); COPY then writes both tables in one
        round trip each instead of a composite-array INSERT and a statement per index row.
        """
        if not stored_events:
            return []
        with self.datastore.transaction(commit=True) as curs:
            self._insert_events(curs, stored_events, **kwargs)
            self._lock_table(curs)
            self._notify_channel(curs)
            curs.execute(self.next_ids_statement, (len(stored_events),), prepare=True)
            ids = sorted(row["id"] for row in curs.fetchall())
            with curs.copy(self.copy_events_statement) as copy:
                copy.set_types(["uuid", "int8", "text", "bytea", "int8"])
                for event, position in zip(stored_events, ids, strict=True):
                    copy.write_row((event.originator_id, event.originator_version, event.topic,
                                    event.state, position))
            self.append_chain(curs, stored_events, ids,
                              kwargs.get("fact_meta") or [None] * len(stored_events))
        return ids

    def _lock_table(self, curs: Cursor[DictRow]) -> None:
        """Take the events table's EXCLUSIVE lock through ``ledger_lock_events()``, or with the
        library's LOCK TABLE on a store that ``ledger init`` has not upgraded yet."""
        if self.lock_function_present is None:
            curs.execute("SELECT to_regprocedure(%s) IS NOT NULL AS present",
                         (f"{self.datastore.schema}.{LOCK_FUNCTION}()",))
            row = curs.fetchone()
            self.lock_function_present = bool(row and row["present"])
        statements = (self.lock_table_statements if self.lock_function_present
                      else self.library_lock_statements)
        for statement in statements:
            curs.execute(statement, prepare=True)

    def append_chain(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent],
        ids: Sequence[int], metas: Metas,
    ) -> None:
        """Index and chain events just inserted (the caller holds the events table lock)."""
        curs.execute(self.select_head_statement, prepare=True)
        head = curs.fetchone()
        rows = chain_rows(
            stored_events, ids, metas,
            head["chain_hash"] if head else GENESIS, head["recorded_at"] if head else None,
        )
        with curs.copy(self.copy_facts_statement) as copy:
            copy.set_types(FACT_TYPES_PG)
            for row in rows:
                copy.write_row(row)
