"""A plain connection to the store for the ledger's own SQL (fact index, views, audit).

The eventsourcing library owns the events table's writes; everything else the product reads or
maintains goes through ``Database``. One SQL text serves both engines: queries are written with
``%s`` placeholders and unqualified table names (PostgreSQL connections set ``search_path`` to
the ledger's schema); on SQLite the placeholders become ``?``. A query is a string or a
``psycopg.sql`` composition (names interpolated as ``Identifier``); a composition is rendered
without a connection, which quotes identifiers the way both engines read them (``"name"``).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql

from ledger.errors import StoreError
from ledger.store.settings import APPLICATION_NAME, StoreSettings

_PLACEHOLDER = re.compile(r"%s")
Query = str | sql.Composable


class Cursor:
    """The few cursor operations the ledger uses, the same on both engines."""

    def __init__(self, db: Database, raw: Any) -> None:
        self.db = db
        self.raw = raw

    def execute(self, query: Query, params: Sequence[Any] = ()) -> Cursor:
        self.raw.execute(self.db.dialect(query), params)
        return self

    def executemany(self, query: Query, rows: Iterable[Sequence[Any]]) -> None:
        self.raw.executemany(self.db.dialect(query), list(rows))

    def fetchone(self) -> tuple[Any, ...] | None:
        row = self.raw.fetchone()
        return tuple(row) if row is not None else None

    def fetchall(self) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.raw.fetchall()]

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        for row in self.raw:
            yield tuple(row)

    def copy_rows(self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]],
                  types: Sequence[str] | None = None) -> None:
        """Bulk-insert rows: COPY on PostgreSQL (binary when ``types`` are given), executemany
        on SQLite."""
        if self.db.is_postgres:
            binary = " (FORMAT BINARY)" if types else ""
            statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN{binary}"
            with self.raw.copy(statement) as copy:
                if types:
                    copy.set_types(list(types))
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ",".join("?" * len(columns))
            self.raw.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", list(rows)
            )


class Database:
    def __init__(self, settings: StoreSettings) -> None:
        self.settings = settings
        self.is_postgres = settings.kind == "postgres"
        self.events_table = f"{APPLICATION_NAME}_events" if self.is_postgres else "stored_events"
        self._conn: Any = None

    def dialect(self, query: Query) -> str:
        text = query if isinstance(query, str) else query.as_string(None)
        return text if self.is_postgres else _PLACEHOLDER.sub("?", text)

    def any_of(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """``column`` in ``values``: one array parameter on PostgreSQL, a list of ``?`` on SQLite."""
        if self.is_postgres:
            return f"{column} = ANY(%s)", [list(values)]
        return f"{column} IN ({','.join(['%s'] * len(values))})", list(values)

    @contextmanager
    def stream(
        self, query: str, params: Sequence[Any] = (), *, page: int = 5000
    ) -> Iterator[Iterator[tuple[Any, ...]]]:
        """Rows of a large query without holding them all: a server-side cursor on PostgreSQL.

        Uses its own connection, so the caller can commit writes on the main one meanwhile.
        """
        reader = Database(self.settings)
        conn = reader.connection()
        try:
            if self.is_postgres:
                with conn.transaction(), conn.cursor(name="ledger_stream") as raw:
                    raw.itersize = page
                    raw.execute(query, params)
                    yield (tuple(row) for row in raw)
            else:
                raw = conn.cursor()
                raw.execute(self.dialect(query), params)
                yield (tuple(row) for row in raw)
                raw.close()
        finally:
            reader.close()

    def connection(self) -> Any:
        if self._conn is None:
            self._conn = self._connect()
        return self._conn

    def _connect(self) -> Any:
        s = self.settings
        if self.is_postgres:
            try:
                return psycopg.connect(
                    host=s.host, port=s.port, user=s.user, password=s.password, dbname=s.dbname,
                    autocommit=True, options=f"-c search_path={s.schema}", connect_timeout=10,
                )
            except psycopg.OperationalError as exc:
                raise StoreError(f"cannot connect to {s.describe()}: {exc}".strip()) from None
        assert s.sqlite_path is not None
        read_only = s.sqlite_read_only()
        conn = sqlite3.connect(s.sqlite_target(), isolation_level=None, timeout=30,
                               check_same_thread=False, uri=read_only is not None)
        if read_only is None:
            conn.execute("PRAGMA journal_mode=WAL")
        return conn

    @contextmanager
    def transaction(self, *, write: bool = True) -> Iterator[Cursor]:
        """A transaction; on SQLite a writing one takes the write lock at once (IMMEDIATE)."""
        conn = self.connection()
        if self.is_postgres:
            with conn.transaction(), conn.cursor() as raw:
                yield Cursor(self, raw)
            return
        raw = conn.cursor()
        raw.execute("BEGIN IMMEDIATE" if write else "BEGIN")
        try:
            yield Cursor(self, raw)
        except BaseException:
            conn.rollback()
            raise
        else:
            conn.commit()
        finally:
            raw.close()

    @contextmanager
    def cursor(self) -> Iterator[Cursor]:
        """Autocommit reads (no explicit transaction)."""
        conn = self.connection()
        raw = conn.cursor()
        try:
            yield Cursor(self, raw)
        finally:
            raw.close()

    def table_exists(self, name: str) -> bool:
        with self.cursor() as cur:
            if self.is_postgres:
                cur.execute("SELECT to_regclass(%s) IS NOT NULL",
                            (f"{self.settings.schema}.{name}",))
            else:
                cur.execute("SELECT count(*) > 0 FROM sqlite_master WHERE type='table' AND name=%s",
                            (name,))
            row = cur.fetchone()
            return bool(row and row[0])

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
