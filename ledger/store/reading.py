"""Reading the facts: the fact index (``ledger_facts``) joined with the events it indexes.

The one place the read side's questions about stored facts are put to the store (the other
reader holds the view tables, in ``projections``). A fact comes back as a :class:`FactRecord`,
decoded once from the stored event's JSON (the library's JSON transcoding: dates as
``{"_type_": "date_iso", ...}``): the read side reads the ledger's events, never its services,
and skips the mapper's per-event class reconstruction, which a rebuild of 1.5 million facts
would pay for nothing.

A ``FactRecord``'s ``position`` is the fact's notification id (its place in the ledger's total
order; ids have gaps), ``recorded_at`` the ledger's own clock (UTC, strictly increasing with
position). ``data`` holds the fact's own fields as recorded (dates as ``datetime.date``), without
the common ones. A ``fact_voided`` record's ``subject_id`` is the subject of the fact it voids.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from ledger.store.chain import parse_time
from ledger.store.db import Cursor, Database


@dataclass(frozen=True, slots=True)
class FactRecord:
    position: int
    recorded_at: dt.datetime
    source_id: str
    type: str
    subject_id: str
    effective_on: dt.date
    data: dict[str, Any] = field(default_factory=dict)
    recorded_by: str | None = None
    source_document: str | None = None

    def get(self, name: str, default: Any = None) -> Any:
        return self.data.get(name, default)


# The event's envelope and the common fields of every fact: not part of a fact's own ``data``.
# (``class_version``: events of a class at version 2 or more say so, ledger.domain.base.)
COMMON = frozenset({"timestamp", "originator_topic", "class_version", "source_id", "effective_on",
                    "recorded_by", "source_document"})
_SELECT = (
    "SELECT f.notification_id, f.recorded_at, f.source_id, f.fact_type, f.subject_id, "
    "f.effective_on, e.state, f.household_id FROM ledger_facts f JOIN {events} e ON e.{position} = "
    "f.notification_id"
)


def select_facts(db: Database) -> str:
    return _SELECT.format(events=db.events_table,
                          position="notification_id" if db.is_postgres else "rowid")


def _value(value: Any) -> Any:
    if isinstance(value, dict) and value.get("_type_") == "date_iso":
        return dt.date.fromisoformat(value["_data_"])
    return value


def _date(value: str | dt.date) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


def decode(row: Sequence[Any]) -> FactRecord:
    state = orjson.loads(bytes(row[6]))
    data = {k: _value(v) for k, v in state.items() if k not in COMMON}
    return FactRecord(
        position=row[0],
        recorded_at=parse_time(row[1]),
        source_id=row[2],
        type=row[3],
        subject_id=row[4],
        effective_on=_date(row[5]),
        data=data,
        recorded_by=state.get("recorded_by"),
        source_document=state.get("source_document"),
    )


def facts_of_households(cur: Cursor, db: Database, households: Sequence[str],
                        up_to: int | None = None) -> dict[str, list[FactRecord]]:
    """Every fact about these households (their own, manifests, voids), by household."""
    found: dict[str, list[FactRecord]] = {h: [] for h in households}
    for start in range(0, len(households), 500):
        chunk = list(households[start:start + 500])
        condition, params = db.any_of("f.household_id", chunk)
        query = select_facts(db) + " WHERE " + condition
        if up_to is not None:
            query += " AND f.notification_id <= %s"
            params.append(up_to)
        for row in cur.execute(query + " ORDER BY f.notification_id", params).fetchall():
            found[row[7]].append(decode(row))
    return found


def facts_after(cur: Cursor, db: Database, position: int, limit: int) -> list[FactRecord]:
    query = select_facts(db) + " WHERE f.notification_id > %s ORDER BY f.notification_id LIMIT %s"
    return [decode(row) for row in cur.execute(query, (position, limit)).fetchall()]


def all_facts(cur: Cursor, db: Database, *, after: int = 0, page: int = 5000) -> Iterator[FactRecord]:
    """Every fact in recorded order, in keyset pages (memory stays flat)."""
    while True:
        facts = facts_after(cur, db, after, page)
        if not facts:
            return
        yield from facts
        after = facts[-1].position


def reference_facts(cur: Cursor, db: Database, fact_types: Sequence[str]) -> list[FactRecord]:
    """The facts of these types about no household (sites, rulebooks, their voids), in order.

    A PostgreSQL login that may not read the facts (ledger_reader) reads them through the view
    ``ledger_reference_facts`` (ledger/store/schema.py), which has the same columns.
    """
    types = ", ".join("%s" for _ in fact_types)
    query = (select_facts(db) + f" WHERE f.household_id IS NULL AND f.fact_type IN ({types}) "
             "ORDER BY f.notification_id")
    if db.is_postgres:
        row = cur.execute("SELECT has_table_privilege(%s, 'SELECT')",
                          (f"{db.settings.schema}.ledger_facts",)).fetchone()
        if row is not None and not row[0]:
            query = (f"SELECT * FROM {db.settings.schema}.ledger_reference_facts "
                     f"WHERE fact_type IN ({types}) ORDER BY notification_id")
    return [decode(row) for row in cur.execute(query, tuple(fact_types)).fetchall()]
