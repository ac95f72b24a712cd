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

*Every question the read side puts to the fact index is a function here* (issue 12: all SQL
behind two readers): the facts of households, of a type, about a subject or about no household,
the facts recorded between two times, the households in pages, the chain's head and links, the
index and the events table page by page for ``verify``, and a few counts. The modules that
count, audit and verify (``projections.audit``, ``verify``, ``rounds``, ``report``...) hold no
SQL; the other reader holds the view tables (``projections.views`` and its companions, see
docs/sql.md). Names (the events table, its position column) are interpolated as
``psycopg.sql.Identifier``; values are always bound parameters. Recorded times are bound in the
engine's own type (:func:`moment`): a ``timestamptz`` on PostgreSQL, the fixed-format UTC text
the SQLite index stores and compares.

Every function takes an open cursor (one connection, one snapshot for a caller that asks several
questions) except the paged readers, which open a cursor per page so a caller may write between
pages (:func:`household_pages`; :func:`facts_of_many_households` reads a page ahead, on a
connection of its own), and :func:`listen`, which opens a connection of its own.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson
import psycopg
from psycopg.sql import SQL, Composable, Identifier

from ledger.errors import StoreError
from ledger.store.chain import format_time, parse_time
from ledger.store.db import Cursor, Database


class FactRecord(NamedTuple):
    """One stored fact as the read side folds it (immutable).

    A named tuple rather than a frozen dataclass: a rebuild or an audit makes one for every fact
    it reads, and a frozen dataclass of nine fields costs 2.5 µs to make (a guarded assignment
    per field) where a named tuple costs 0.6 µs.
    """

    position: int
    recorded_at: dt.datetime
    source_id: str
    type: str
    subject_id: str
    effective_on: dt.date
    data: dict[str, Any] = {}  # noqa: RUF012 (never mutated: decode gives each record its own)
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
    return _SELECT.format(events=db.events_table, position=_position_column(db))


def _position_column(db: Database) -> str:
    """The events table's position: the library's ``notification_id`` on PostgreSQL; SQLite's
    events table has none of its own, its ``rowid`` is the notification id."""
    return "notification_id" if db.is_postgres else "rowid"


def _select(db: Database) -> Composable:
    """:func:`select_facts` composed, its names as identifiers (the same columns, in order)."""
    return SQL(_SELECT).format(events=Identifier(db.events_table),
                               position=Identifier(_position_column(db)))


def moment(db: Database, value: dt.datetime) -> Any:
    """A recorded time as the engine's index compares it (timestamptz, or fixed-format text)."""
    return value if db.is_postgres else format_time(value)


def _facts_where(cur: Cursor, db: Database, condition: str, params: Sequence[Any] = ()
                 ) -> list[FactRecord]:
    """The facts meeting ``condition`` (a fixed SQL text over ``f``, values bound), in order."""
    query = SQL("{select} WHERE {condition} ORDER BY f.notification_id").format(
        select=_select(db), condition=SQL(condition))
    return [decode(row) for row in cur.execute(query, params).fetchall()]


# COMMON less the two common fields a FactRecord keeps beside ``data``.
_DROPPED = tuple(sorted(COMMON - {"recorded_by", "source_document"}))
_UTC = dt.UTC
_DATE_WRAPPER = b'"date_iso"'


def decode(row: Sequence[Any]) -> FactRecord:
    """A fact from a row of :func:`select_facts`.

    Called once for every fact a rebuild reads, so written for speed: the decoded JSON becomes
    ``data`` in place (the common fields popped, transcoded dates revived), instead of a copy
    made field by field.
    """
    state = row[6]
    data = orjson.loads(state)
    pop = data.pop
    for name in _DROPPED:
        pop(name, None)
    recorded_by = pop("recorded_by", None)
    source_document = pop("source_document", None)
    # Only a fact with a date field besides its effective date (always one) has one to revive:
    # the wrapper's type name counted in the bytes says whether to look (a string value that
    # holds the same text can only make the count longer, never shorter).
    if state.count(_DATE_WRAPPER) > 1:
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
                        up_to: int | None = None, known_at: dt.datetime | None = None
                        ) -> dict[str, list[FactRecord]]:
    """Every fact about these households (their own, manifests, voids), by household; with
    ``up_to``, only those at or before that position, with ``known_at``, only those recorded
    at or before that time."""
    found: dict[str, list[FactRecord]] = {h: [] for h in households}
    for start in range(0, len(households), 500):
        chunk = list(households[start:start + 500])
        condition, params = db.any_of("f.household_id", chunk)
        query = select_facts(db) + " WHERE " + condition
        if up_to is not None:
            query += " AND f.notification_id <= %s"
            params.append(up_to)
        if known_at is not None:
            query += " AND f.recorded_at <= %s"
            params.append(moment(db, known_at))
        for row in cur.execute(query + " ORDER BY f.notification_id", params).fetchall():
            found[row[7]].append(decode(row))
    return found


def facts_of_many_households(db: Database, households: Sequence[str], *, page: int,
                             known_at: dt.datetime | None = None
                             ) -> Iterator[dict[str, list[FactRecord]]]:
    """Every fact about these households, ``page`` households at a time in their given order
    (each page as :func:`facts_of_households` gives it), with ``known_at`` only those recorded
    at or before it: for a caller with thousands of households to read and fold (``audit
    count`` of a camp).

    *Read one page ahead.* On PostgreSQL the pages are asked for on a connection of its own in
    pipeline mode, each page's statement sent as soon as the page before has arrived: while the
    caller folds a page, the server looks up the next and streams it into the socket. (A reader
    thread did the same before, but its every wake-up waited for the GIL the folding held,
    and a page took two to three times the server's time to arrive. On a 300,000-household
    store, ``audit count`` of one camp took a median of 333–358 ms with the thread and 264–301
    ms with the pipeline: three runs of 20 random (D, K) each, side by side.)
    The caller sees the same pages in the same order; a caller that stops early leaves at most
    one page read for nothing.

    On PostgreSQL the statement is shaped so that its plan is the same with or without
    statistics (a bulk import on a server without autovacuum leaves the fact index and the
    events table without any): for each household of ``unnest(array)``, its facts by the
    household index (``OFFSET 0`` keeps that subquery from being turned into a join), and for
    each fact its event by position. ``household_id = ANY(array)``, or a plain join, is
    estimated without statistics as a large part of the table and read by (parallel)
    sequential scans and hash joins: a second per 500 households at 300,000 households, where
    this takes ~20 ms. The same estimate would have the plan compiled by JIT, which costs more
    than the look-ups it speeds up: JIT is off for the statement. Rows come in binary (the
    state bytes need no hex encoding on one side and decoding on the other) and unordered
    (sorting a page's state bytes would spill to disk): each household's few facts are put in
    order here. SQLite reads pages of :func:`facts_of_households`.
    """
    chunks = [list(dict.fromkeys(households[start:start + page]))  # a repeat is read once
              for start in range(0, len(households), page)]
    if not chunks:
        return
    if not db.is_postgres:
        for chunk in chunks:
            with db.cursor() as cur:
                found = facts_of_households(cur, db, chunk, known_at=known_at)
            yield found
        return
    query = (_BY_HOUSEHOLD_KNOWN if known_at is not None else _BY_HOUSEHOLD).format(
        events=Identifier(db.events_table))
    reader = Database(db.settings)
    try:
        conn: psycopg.Connection[Any] = reader.connection()
        conn.execute("SET jit = off")  # this connection's only statements are the pages
        with conn.pipeline():

            def ask(households: list[str]) -> psycopg.Cursor[Any]:
                cursor = conn.cursor(binary=True)
                cursor.execute(query, (households,) if known_at is None else (households, known_at))
                return cursor

            pending = ask(chunks[0])
            for index, chunk in enumerate(chunks):
                rows = pending.fetchall()
                pending.close()
                if index + 1 < len(chunks):
                    pending = ask(chunks[index + 1])
                yield _by_household(chunk, rows)
    finally:
        reader.close()


_FACT_COLUMNS = (
    "SELECT f.notification_id, f.recorded_at, f.source_id, f.fact_type, f.subject_id, "
    "f.effective_on, (SELECT e.state FROM {events} e WHERE e.notification_id = f.notification_id), "
    "f.household_id FROM unnest(%s::text[]) AS h(household_id) CROSS JOIN LATERAL "
    "(SELECT * FROM ledger_facts f WHERE f.household_id = h.household_id"
)
_BY_HOUSEHOLD = SQL(_FACT_COLUMNS + " OFFSET 0) AS f")
_BY_HOUSEHOLD_KNOWN = SQL(_FACT_COLUMNS + " AND f.recorded_at <= %s OFFSET 0) AS f")


def _by_household(households: Sequence[str], rows: Sequence[Sequence[Any]]
                  ) -> dict[str, list[FactRecord]]:
    found: dict[str, list[FactRecord]] = {h: [] for h in households}
    for row in rows:
        found[row[7]].append(decode(row))
    for facts in found.values():
        facts.sort(key=_position)
    return found


def _position(fact: FactRecord) -> int:
    return fact.position


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
    if db.is_postgres and not _reads_fact_index(cur, db):
        types = SQL(", ").join(SQL("%s") for _ in fact_types)
        query = SQL("SELECT * FROM {view} WHERE fact_type IN ({types}) ORDER BY notification_id"
                    ).format(view=Identifier(db.settings.schema, REFERENCE_VIEW), types=types)
        return [decode(row) for row in cur.execute(query, tuple(fact_types)).fetchall()]
    return facts_about_no_household(cur, db, fact_types)


def reference_head(cur: Cursor, db: Database) -> int:
    """The position of the latest fact about no household (a site, a rulebook version, a
    figure, or a void of one), 0 when there is none: what readers that keep those facts ask to
    know whether to read them again (``projections.references``)."""
    if db.is_postgres and not _reads_fact_index(cur, db):
        query: Any = SQL("SELECT max(notification_id) FROM {view}").format(
            view=Identifier(db.settings.schema, REFERENCE_VIEW))
    else:
        query = "SELECT max(notification_id) FROM ledger_facts WHERE household_id IS NULL"
    row = cur.execute(query).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


# ledger.store.schema.REFERENCE_VIEW, named again: importing the schema module would load the
# whole fact catalogue into every reader.
REFERENCE_VIEW = "ledger_reference_facts"


def _reads_fact_index(cur: Cursor, db: Database) -> bool:
    row = cur.execute("SELECT has_table_privilege(%s, 'SELECT')",
                      (f"{db.settings.schema}.ledger_facts",)).fetchone()
    return row is None or bool(row[0])


# ---- facts by what they are about ----------------------------------------------------------------
def facts_of_type(cur: Cursor, db: Database, fact_type: str, *,
                  source_id: str | None = None) -> list[FactRecord]:
    """Every fact of one type in recorded order (with ``source_id``: that fact, if of the type)."""
    if source_id is None:
        return _facts_where(cur, db, "f.fact_type = %s", (fact_type,))
    return _facts_where(cur, db, "f.fact_type = %s AND f.source_id = %s", (fact_type, source_id))


def fact_by_source(cur: Cursor, db: Database, source_id: str) -> FactRecord | None:
    """The fact recorded under ``source_id`` (a source id is recorded once), or None."""
    found = _facts_where(cur, db, "f.source_id = %s", (source_id,))
    return found[0] if found else None


def facts_about(cur: Cursor, db: Database, subject_id: str,
                fact_types: Sequence[str]) -> list[FactRecord]:
    """The facts of these types whose subject is ``subject_id`` (a round, a site), in order."""
    types = ", ".join("%s" for _ in fact_types)
    return _facts_where(cur, db, f"f.subject_id = %s AND f.fact_type IN ({types})",
                        (subject_id, *fact_types))


def facts_about_no_household(cur: Cursor, db: Database, fact_types: Sequence[str] | None = None,
                             *, up_to: int | None = None) -> list[FactRecord]:
    """The facts about no household (sites, rounds' plans, rulebooks, figures, their voids) of
    these types (None: every type) recorded up to position ``up_to`` (None: all), in order."""
    condition, params = "f.household_id IS NULL", list[Any]()
    if fact_types is not None:
        condition += f" AND f.fact_type IN ({', '.join('%s' for _ in fact_types)})"
        params += list(fact_types)
    if up_to is not None:
        condition += " AND f.notification_id <= %s"
        params.append(up_to)
    return _facts_where(cur, db, condition, params)


def recorded_between(cur: Cursor, db: Database, start: dt.datetime, end: dt.datetime, *,
                     after: int, limit: int) -> list[tuple[FactRecord, str | None]]:
    """The facts recorded in (``start``, ``end``] after position ``after``, at most ``limit``,
    in recorded order, each with its household (None: about no household). A keyset page: the
    next one starts after the last position returned."""
    query = SQL("{select} WHERE f.notification_id > %s AND f.recorded_at > %s AND "
                "f.recorded_at <= %s ORDER BY f.notification_id LIMIT %s").format(select=_select(db))
    rows = cur.execute(query, (after, moment(db, start), moment(db, end), limit)).fetchall()
    return [(decode(row), row[7]) for row in rows]


# ---- households in pages -------------------------------------------------------------------------
def household_ids(cur: Cursor, *, after: str, limit: int, up_to: int | None = None) -> list[str]:
    """The next ``limit`` households after ``after`` (in id order) with a fact recorded up to
    position ``up_to`` (None: any)."""
    if up_to is None:
        query = ("SELECT DISTINCT household_id FROM ledger_facts WHERE household_id > %s "
                 "ORDER BY household_id LIMIT %s")
        params: tuple[Any, ...] = (after, limit)
    else:
        query = ("SELECT DISTINCT household_id FROM ledger_facts WHERE household_id > %s "
                 "AND notification_id <= %s ORDER BY household_id LIMIT %s")
        params = (after, up_to, limit)
    return [row[0] for row in cur.execute(query, params).fetchall()]


def household_pages(db: Database, *, page: int, up_to: int | None = None
                    ) -> Iterator[dict[str, list[FactRecord]]]:
    """Every household's facts (recorded up to ``up_to``), ``page`` households at a time in id
    order: memory stays flat however large the ledger. A cursor per page, none held between."""
    after = ""
    while True:
        with db.cursor() as cur:
            households = household_ids(cur, after=after, limit=page, up_to=up_to)
            if not households:
                return
            facts = facts_of_households(cur, db, households, up_to)
        yield facts
        after = households[-1]


# ---- the hash chain -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ChainHead:
    """The last link of the hash chain: the ledger's digest at this moment."""

    position: int
    digest: str
    recorded_at: dt.datetime


def chain_head(cur: Cursor) -> ChainHead | None:
    """The newest fact's position, chain digest and recorded time (None: an empty ledger)."""
    row = cur.execute("SELECT notification_id, chain_hash, recorded_at FROM ledger_facts "
                      "ORDER BY notification_id DESC LIMIT 1").fetchone()
    if row is None:
        return None
    return ChainHead(int(row[0]), str(row[1]), parse_time(row[2]))


def chain_digest_at(cur: Cursor, position: int) -> str | None:
    """The chain digest stored with the fact at ``position`` (None: no fact there)."""
    row = cur.execute("SELECT chain_hash FROM ledger_facts WHERE notification_id = %s",
                      (position,)).fetchone()
    return None if row is None else str(row[0])


INDEX_COLUMNS = ("notification_id", "source_id", "fact_type", "subject_id", "household_id",
                 "originator_id", "originator_version", "effective_on", "recorded_at",
                 "content_hash", "chain_hash")


def index_rows_after(cur: Cursor, position: int, limit: int) -> list[tuple[Any, ...]]:
    """The fact index's rows after ``position`` as stored (:data:`INDEX_COLUMNS`), at most
    ``limit``: what ``verify`` recomputes the chain from, untouched by decoding."""
    query = SQL("SELECT {columns} FROM ledger_facts WHERE notification_id > %s "
                "ORDER BY notification_id LIMIT %s").format(
        columns=SQL(", ").join(Identifier(c) for c in INDEX_COLUMNS))
    return cur.execute(query, (position, limit)).fetchall()


def event_rows_after(cur: Cursor, db: Database, position: int, limit: int) -> list[tuple[Any, ...]]:
    """The events table's rows after ``position`` as stored: (position, originator_id,
    originator_version, topic, state bytes), at most ``limit``, in position order."""
    query = SQL("SELECT {position}, originator_id, originator_version, topic, state FROM {events} "
                "WHERE {position} > %s ORDER BY {position} LIMIT %s").format(
        position=Identifier(_position_column(db)), events=Identifier(db.events_table))
    return cur.execute(query, (position, limit)).fetchall()


# ---- counts ----------------------------------------------------------------------------------------
def fact_count(cur: Cursor) -> int:
    row = cur.execute("SELECT count(*) FROM ledger_facts").fetchone()
    return int(row[0]) if row else 0


def facts_outside(cur: Cursor, source_prefix: str) -> int:
    """How many facts have no source id, or one that does not start with ``source_prefix``."""
    row = cur.execute("SELECT count(*) FROM ledger_facts WHERE source_id IS NULL OR "
                      "source_id NOT LIKE %s", (source_prefix + "%",)).fetchone()
    return int(row[0]) if row else 0


def subjects_of_type(cur: Cursor, fact_type: str) -> list[str]:
    """The distinct subjects (round ids, site ids...) of the facts of one type, sorted."""
    return [row[0] for row in cur.execute(
        "SELECT DISTINCT subject_id FROM ledger_facts WHERE fact_type = %s ORDER BY subject_id",
        (fact_type,)).fetchall()]


# ---- new facts as they arrive ----------------------------------------------------------------------
def listen(db: Database, channel: str) -> psycopg.Connection[tuple[object, ...]]:
    """(PostgreSQL) A connection of its own LISTENing on ``channel``, where the recorder
    NOTIFYs each insert: ``conn.notifies()`` wakes the follower when facts arrive."""
    s = db.settings
    try:
        conn = psycopg.connect(host=s.host, port=s.port, user=s.user, password=s.password,
                               dbname=s.dbname, autocommit=True, connect_timeout=10)
    except psycopg.OperationalError as exc:
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise StoreError(f"cannot connect to {s.describe()}: {first_line}") from None
    conn.execute(SQL("LISTEN {}").format(Identifier(channel)))
    return conn


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


def facts_about_subjects(cur: Cursor, db: Database, subjects: Sequence[str],
                         up_to: int) -> list[FactRecord]:
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
    that chunks can be written meanwhile. SQLite: every household, in :func:`household_pages`
    (a long read transaction there would keep its write-ahead log growing while chunks are
    written).
    """
    if not db.is_postgres:  # ranges are for the PostgreSQL rebuild's workers
        assert first is None, "SQLite reads every household"
        assert before is None, "SQLite reads every household"
        yield household_pages(db, page=size, up_to=up_to)
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
