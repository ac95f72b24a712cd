"""Look-ups in the ledger's fact index (``ledger_facts``) that the write side needs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.postgres import PostgresApplicationRecorder
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from ledger.store.port import KnownSource
from ledger.store.settings import FACTS_TABLE

LOOKUP_CHUNK = 900  # below SQLite's default limit of bound parameters


class SourceIndex:
    """Which ``source_id`` values are already recorded, and with what content."""

    def __init__(self, recorder: ApplicationRecorder) -> None:
        self.recorder = recorder

    def find(self, source_ids: Sequence[str]) -> dict[str, KnownSource]:
        found: dict[str, KnownSource] = {}
        unique = list(dict.fromkeys(source_ids))
        # PostgreSQL takes the whole batch as one array; SQLite a bounded number of parameters.
        is_postgres = isinstance(self.recorder, PostgresApplicationRecorder)
        chunk = (len(unique) or 1) if is_postgres else LOOKUP_CHUNK
        for start in range(0, len(unique), chunk):
            for row in self._select(unique[start:start + chunk]):
                found[row[0]] = KnownSource(row[0], row[1], row[2], row[3], row[4], UUID(str(row[5])), row[6])
        return found

    def _select(self, chunk: list[str]) -> list[Sequence[Any]]:
        columns = ("source_id, content_hash, fact_type, subject_id, household_id, originator_id, "
                   "notification_id")
        if isinstance(self.recorder, PostgresApplicationRecorder):
            datastore = self.recorder.datastore
            query = SQL("SELECT " + columns + " FROM {schema}.{facts} WHERE source_id = ANY(%s)").format(
                schema=Identifier(datastore.schema), facts=Identifier(FACTS_TABLE)
            )
            with datastore.transaction(commit=False) as curs:
                plain: Any = curs  # its own cursor: plain rows
                plain.row_factory = tuple_row
                plain.execute(query, (chunk,))
                return list(plain.fetchall())
        marks = ",".join("?" * len(chunk))
        with self.recorder.datastore.transaction(commit=False) as c:  # type: ignore[attr-defined]
            c.execute(f"SELECT {columns} FROM {FACTS_TABLE} WHERE source_id IN ({marks})", chunk)
            return [tuple(r) for r in c.fetchall()]
