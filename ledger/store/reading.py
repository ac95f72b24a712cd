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
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import orjson
from psycopg.sql import SQL, Identifier

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


# COMMON less the two common fields a FactRecord keeps beside ``data``.
_DROPPED = tuple(sorted(COMMON - {"recorded_by", "source_document"}))
_UTC = dt.UTC


def decode(row: Sequence[Any]) -> FactRecord:
    """A fact from a row of :func:`select_facts`.

    Called once for every fact a rebuild reads, so written for speed: the decoded JSON becomes
    ``data`` in place (the common fields popped, transcoded dates revived), instead of a copy
    made field by field.
    """
    data = orjson.loads(row[6])
    pop = data.pop
    for name in _DROPPED:
        pop(name, None)
    recorded_by = pop("recorded_by", None)
    source_document = pop("source_document", None)
    for name, value in data.items():
        if value.__class__ is dict and value.get("_type_") == "date_iso":
            data[name] = dt.date.fromisoformat(value["_data_"])
    recorded_at, effective_on = row[1], row[5]
    return FactRecord(
        position=row[0],
        recorded_at=(recorded_at.astimezone(_UTC) if isinstance(recorded_at, dt.datetime)
                     else parse_time(recorded_at)),
        source_id=row[2],
        type=row[3],
        subject_id=row[4],
        effective_on=(effective_on if isinstance(effective_on, dt.date)
                      else dt.date.fromisoformat(effective_on)),
        data=data,
        recorded_by=recorded_by,
        source_document=source_document,
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


# ---- the views' projector (projections.views, projections.rebuild) ---------------------------
IndexEntry = tuple[int, str, str, str | None]  # position, fact type, subject, household (or None)
SAMPLE_PER_PART = 500  # index entries sampled per range of households (household_bounds)


def ledger_extent(cur: Cursor) -> tuple[int, int]:
    """(the last fact's position, 0 with no facts; how many facts there are)."""
    row = cur.execute("SELECT max(notification_id), count(*) FROM ledger_facts").fetchone()
    return (int(row[0] or 0), int(row[1])) if row else (0, 0)


def ledger_head(cur: Cursor, db: Database, *, reads_facts: bool = True) -> int:
    """The last fact's position (0 with no facts). A login that may not read the facts
    (ledger_reader) asks the SECURITY DEFINER function that tells it (ledger/store/schema.py)."""
    if reads_facts:
        row = cur.execute("SELECT max(notification_id) FROM ledger_facts").fetchone()
    else:
        from ledger.store.schema import HEAD_FUNCTION  # noqa: PLC0415  (rare; schema is heavy)

        query = SQL("SELECT {}.{}()").format(Identifier(db.settings.schema), Identifier(HEAD_FUNCTION))
        row = cur.execute(query.as_string(cur.raw)).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


def index_after(cur: Cursor, position: int, limit: int) -> list[IndexEntry]:
    """The index entries of the next ``limit`` facts after ``position``, in order."""
    rows = cur.execute("SELECT notification_id, fact_type, subject_id, household_id FROM ledger_facts "
                       "WHERE notification_id > %s ORDER BY notification_id LIMIT %s",
                       (position, limit)).fetchall()
    return [(int(r[0]), r[1], r[2], r[3]) for r in rows]


def registered_sites(cur: Cursor, up_to: int) -> list[str]:
    """Every site registered by a fact at or before ``up_to`` (voided or not)."""
    return [r[0] for r in cur.execute(
        "SELECT DISTINCT subject_id FROM ledger_facts WHERE fact_type = %s AND notification_id <= %s",
        ("site_registered", up_to)).fetchall()]


def facts_about(cur: Cursor, db: Database, subjects: Sequence[str], up_to: int) -> list[FactRecord]:
    """The facts about no household whose subject is one of ``subjects`` (a site's registrations
    and closures, and the voids of those), up to ``up_to``, in order."""
    condition, params = db.any_of("f.subject_id", subjects)
    query = (select_facts(db) + " WHERE " + condition + " AND f.notification_id <= %s "
             "AND f.household_id IS NULL ORDER BY f.notification_id")
    return [decode(r) for r in cur.execute(query, [*params, up_to]).fetchall()]


def household_bounds(cur: Cursor, db: Database, parts: int, facts: int) -> list[str]:
    """Household ids that cut the households into about ``parts`` ranges of as many facts (a
    range runs from one bound, inclusive, to the next, exclusive; the first and last are open).

    PostgreSQL (the rebuild's workers read such ranges): from whole pages of the fact index at
    random, about SAMPLE_PER_PART entries a range of the ``facts``, sorted by the database in
    its collation, as the ranges are read (:func:`household_chunks`).
    """
    assert db.is_postgres
    share = min(100.0, 100.0 * SAMPLE_PER_PART * parts / max(facts, 1))
    ids = [r[0] for r in cur.execute(
        "SELECT household_id FROM ledger_facts TABLESAMPLE SYSTEM (%s) "
        "WHERE household_id IS NOT NULL ORDER BY household_id", (share,)).fetchall()]
    bounds: list[str] = []
    for part in range(1, parts):
        bound = ids[len(ids) * part // parts] if ids else None
        if bound is not None and bound != ids[0] and (not bounds or bound != bounds[-1]):
            bounds.append(bound)
    return bounds


@contextmanager
def household_chunks(db: Database, up_to: int, size: int, *, first: str | None = None,
                     before: str | None = None, reader: Database | None = None,
                     ) -> Iterator[Iterator[dict[str, list[FactRecord]]]]:
    """Every household's facts up to ``up_to``, in household order, ``size`` households at a
    time: the households from ``first`` (inclusive) to ``before`` (exclusive), or all of them.

    PostgreSQL: one server-side cursor ordered by household (the household index, no sort),
    fetched in binary, on a connection apart from ``db``'s (``reader``'s, or one of its own), so
    that chunks can be written meanwhile. SQLite: keyset pages of households (a long read
    transaction there would keep its write-ahead log growing while chunks are written).
    """
    if not db.is_postgres:
        yield _sqlite_chunks(db, up_to, size, first, before)
        return
    conditions, params = _household_range(first, before, up_to)
    query = (select_facts(db) + " WHERE " + conditions
             + " ORDER BY f.household_id, f.notification_id")
    source = reader or Database(db.settings)
    try:
        conn = source.connection()
        with conn.transaction(), conn.cursor(name="ledger_households", binary=True) as raw:
            raw.itersize = 2 * size
            raw.execute(query, params)
            yield _chunked(raw, size)
    finally:
        if reader is None:
            source.close()


def _household_range(first: str | None, before: str | None, up_to: int) -> tuple[str, list[Any]]:
    conditions = ["f.household_id IS NOT NULL", "f.notification_id <= %s"]
    params: list[Any] = [up_to]
    if first is not None:
        conditions.append("f.household_id >= %s")
        params.append(first)
    if before is not None:
        conditions.append("f.household_id < %s")
        params.append(before)
    return " AND ".join(conditions), params


def _chunked(rows: Iterable[Sequence[Any]], size: int) -> Iterator[dict[str, list[FactRecord]]]:
    chunk: dict[str, list[FactRecord]] = {}
    for row in rows:
        household_id = row[7]
        facts = chunk.get(household_id)
        if facts is None:
            if len(chunk) >= size:
                yield chunk
                chunk = {}
            facts = chunk[household_id] = []
        facts.append(decode(row))
    if chunk:
        yield chunk


def _sqlite_chunks(db: Database, up_to: int, size: int, first: str | None,
                   before: str | None) -> Iterator[dict[str, list[FactRecord]]]:
    lower, inclusive = first, True
    while True:
        conditions, params = _household_range(None, before, up_to)
        if lower is not None:
            conditions += " AND f.household_id " + (">= %s" if inclusive else "> %s")
            params.append(lower)
        with db.cursor() as cur:
            households = [r[0] for r in cur.execute(
                "SELECT DISTINCT f.household_id FROM ledger_facts f WHERE " + conditions
                + " ORDER BY f.household_id LIMIT %s", [*params, size]).fetchall()]
            if not households:
                return
            yield facts_of_households(cur, db, households, up_to)
        lower, inclusive = households[-1], False
