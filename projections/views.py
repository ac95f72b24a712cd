"""The materialised views: every household's bitemporal states under every rulebook, in SQL.

Tables (in the same store as the facts):

``view_states``   one row per (rulebook, household, valid-time interval, recorded-time interval)
                  from :func:`projections.fold.bitemporal_rows`; a query at (D, K) picks rows with
                  ``valid_from <= D < valid_to`` and ``recorded_from <= K < recorded_to``. Open
                  ends are stored as 9999-12-31 so every comparison is a plain index range.
``view_sites``    the live registration of every site (name, kind, location, authority).
``view_position`` the last ledger position applied (the projector's tracking record).
``view_rulebooks`` user rulebooks (TOML text); the built-in ones ship with the package.

Every batch of view writes carries its new position in the same transaction, so a crash
at any point leaves the views at a consistent position and the next catch-up resumes there:
applied exactly once. A household touched by a batch has all its rows recomputed from its facts
up to the batch's last position (delete + insert), so replaying a batch can never double-count.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import structlog

from ledger.errors import RulebookError
from ledger.store.chain import format_time
from ledger.store.db import Cursor, Database
from projections.bridge import SiteInfo
from projections.fold import HouseholdState, bitemporal_rows
from projections.records import FactRecord
from projections.rulebooks import Rulebook, builtin_rulebooks, parse_rulebook
from projections.stored import decode, facts_of_households, in_list, select_facts

log = structlog.get_logger()

PROJECTION = "views"
END_OF_TIME_DATE = dt.date(9999, 12, 31)
END_OF_TIME = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)
BATCH = 2000
REBUILD_CHUNK = 5000  # households per rebuild transaction
FLAG_FIELDS = tuple(
    f.name for f in dataclasses.fields(HouseholdState) if f.type in ("bool", bool)
)
STATE_COLUMNS = ("status", "place", "individuals", "members", "cause", "flags")
ROW_COLUMNS = ("rulebook", "household_id", "valid_from", "valid_to", "recorded_from",
               "recorded_to", *STATE_COLUMNS)
SITE_FACTS = ("site_registered", "site_closed")

ProgressFn = Callable[[int], None]


def pack_flags(state: HouseholdState) -> int:
    return sum(1 << i for i, name in enumerate(FLAG_FIELDS) if getattr(state, name))


def unpack_state(status: str | None, place: str | None, individuals: int | None,
                 members: int | None, cause: str | None, flags: int | None) -> HouseholdState:
    """A state from its stored columns (all None: the default, never-registered state)."""
    if status is None:
        return HouseholdState()
    bits = flags or 0
    return HouseholdState(
        status=status,  # type: ignore[arg-type]
        place=place,
        individuals=individuals or 0,
        cause=cause,  # type: ignore[arg-type]
        members=members,
        **{name: bool(bits >> i & 1) for i, name in enumerate(FLAG_FIELDS)},
    )


class Views:
    def __init__(self, db: Database) -> None:
        self.db = db

    # ---- parameters in each engine's types ------------------------------------------------
    def day(self, value: dt.date) -> Any:
        return value if self.db.is_postgres else value.isoformat()

    def moment(self, value: dt.datetime) -> Any:
        return value if self.db.is_postgres else format_time(value)

    # ---- schema -------------------------------------------------------------------------------
    def create_tables(self) -> list[str]:
        pg = self.db.is_postgres
        date, stamp = ("date", "timestamptz") if pg else ("TEXT", "TEXT")
        with self.db.transaction() as cur:
            cur.execute(
                "CREATE TABLE IF NOT EXISTS view_states (rulebook TEXT NOT NULL, "
                f"household_id TEXT NOT NULL, valid_from {date} NOT NULL, valid_to {date} NOT NULL, "
                f"recorded_from {stamp} NOT NULL, recorded_to {stamp} NOT NULL, status TEXT NOT NULL, "
                "place TEXT, individuals INTEGER NOT NULL, members INTEGER, cause TEXT, "
                "flags INTEGER NOT NULL)"
            )
            cur.execute("CREATE INDEX IF NOT EXISTS view_states_household_idx "
                        "ON view_states (household_id)")
            cur.execute("CREATE INDEX IF NOT EXISTS view_states_time_idx "
                        "ON view_states (rulebook, recorded_to, valid_to)")
            cur.execute("CREATE TABLE IF NOT EXISTS view_sites (site_id TEXT PRIMARY KEY, "
                        "name TEXT NOT NULL, kind TEXT NOT NULL, location_pcode TEXT NOT NULL, "
                        "authority_adm1 TEXT, closed INTEGER NOT NULL)")
            cur.execute("CREATE TABLE IF NOT EXISTS view_position (projection TEXT PRIMARY KEY, "
                        "position BIGINT NOT NULL)")
            cur.execute("CREATE TABLE IF NOT EXISTS view_rulebooks (name TEXT PRIMARY KEY, "
                        "definition TEXT NOT NULL, added_at TEXT NOT NULL)")
            cur.execute(("INSERT INTO view_position VALUES (%s, 0) ON CONFLICT DO NOTHING"),
                        (PROJECTION,))
        return ["view_states", "view_sites", "view_position", "view_rulebooks"]

    # ---- rulebooks ------------------------------------------------------------------------------
    def rulebooks(self) -> dict[str, Rulebook]:
        books = dict(builtin_rulebooks())
        with self.db.cursor() as cur:
            for name, definition in cur.execute(
                "SELECT name, definition FROM view_rulebooks ORDER BY name"
            ).fetchall():
                books[name] = parse_rulebook(definition, f"stored rulebook {name}")
        return books

    def rulebook(self, name: str) -> Rulebook:
        books = self.rulebooks()
        if name not in books:
            raise RulebookError(f"unknown rulebook {name!r}; known: {', '.join(sorted(books))} "
                                "(add one with `ledger rulebooks add FILE`)")
        return books[name]

    def add_rulebook(self, text: str, source: str, progress: ProgressFn | None = None) -> Rulebook:
        """Register a user rulebook and project every household through it."""
        book = parse_rulebook(text, source)
        if book.name in builtin_rulebooks():
            raise RulebookError(f"{source}: {book.name!r} is a built-in rulebook; choose another name")
        self.catch_up()
        with self.db.transaction() as cur:
            cur.execute("DELETE FROM view_rulebooks WHERE name = %s", (book.name,))
            cur.execute("INSERT INTO view_rulebooks VALUES (%s, %s, %s)",
                        (book.name, text, format_time(dt.datetime.now(dt.UTC))))
            cur.execute("DELETE FROM view_states WHERE rulebook = %s", (book.name,))
            position = self._position(cur)
            households = [r[0] for r in cur.execute(
                "SELECT DISTINCT household_id FROM ledger_facts WHERE household_id IS NOT NULL "
                "AND notification_id <= %s", (position,)).fetchall()]
            for start in range(0, len(households), BATCH):
                chunk = households[start:start + BATCH]
                facts = facts_of_households(cur, self.db, chunk, position)
                self._write_states(cur, facts, [book])
                if progress:
                    progress(len(chunk))
        log.info("rulebook_added", rulebook=book.name, households=len(households))
        return book

    # ---- the projector ---------------------------------------------------------------------------
    def _position(self, cur: Cursor) -> int:
        lock = " FOR UPDATE" if self.db.is_postgres else ""
        row = cur.execute("SELECT position FROM view_position WHERE projection = %s" + lock,
                          (PROJECTION,)).fetchone()
        return int(row[0]) if row else 0

    def position(self) -> int:
        with self.db.cursor() as cur:
            row = cur.execute("SELECT position FROM view_position WHERE projection = %s",
                              (PROJECTION,)).fetchone()
            return int(row[0]) if row else 0

    def ledger_head(self) -> int:
        with self.db.cursor() as cur:
            row = cur.execute("SELECT max(notification_id) FROM ledger_facts").fetchone()
            return int(row[0]) if row and row[0] is not None else 0

    def catch_up(self, progress: ProgressFn | None = None, *, batch: int = BATCH,
                 max_batches: int | None = None) -> int:
        """Apply every fact recorded after the views' position; returns how many were applied."""
        applied = 0
        batches = 0
        books = list(self.rulebooks().values())
        while max_batches is None or batches < max_batches:
            count = self._apply_batch(books, batch)
            if count == 0:
                break
            applied += count
            batches += 1
            if progress:
                progress(count)
        if applied:
            log.info("projection_caught_up", facts=applied, position=self.position())
        return applied

    def _apply_batch(self, books: Sequence[Rulebook], batch: int) -> int:
        with self.db.transaction() as cur:
            position = self._position(cur)
            rows = cur.execute(
                "SELECT notification_id, fact_type, subject_id, household_id FROM ledger_facts "
                "WHERE notification_id > %s ORDER BY notification_id LIMIT %s", (position, batch),
            ).fetchall()
            if not rows:
                return 0
            end = rows[-1][0]
            households = sorted({r[3] for r in rows if r[3] is not None})
            sites = sorted({r[2] for r in rows if r[1] in SITE_FACTS or (
                r[1] == "fact_voided" and r[3] is None)})
            if households:
                facts = facts_of_households(cur, self.db, households, end)
                condition, params = self.db.any_of("household_id", households)
                cur.execute("DELETE FROM view_states WHERE " + condition, params)
                self._write_states(cur, facts, books)
            if sites:
                self._refresh_sites(cur, sites, end)
            cur.execute("UPDATE view_position SET position = %s WHERE projection = %s",
                        (end, PROJECTION))
            return len(rows)

    def _write_states(self, cur: Cursor, facts: dict[str, list[FactRecord]],
                      books: Sequence[Rulebook]) -> None:
        def rows() -> Iterable[tuple[Any, ...]]:
            for household_id, household_facts in facts.items():
                for book in books:
                    for row in bitemporal_rows(household_facts, book):
                        s = row.state
                        yield (
                            book.name, household_id, self.day(row.valid_from),
                            self.day(row.valid_to or END_OF_TIME_DATE),
                            self.moment(row.recorded_from),
                            self.moment(row.recorded_to or END_OF_TIME),
                            s.status, s.place, s.individuals, s.members, s.cause, pack_flags(s),
                        )

        cur.copy_rows("view_states", ROW_COLUMNS, rows())

    def _refresh_sites(self, cur: Cursor, site_ids: Sequence[str], end: int) -> None:
        query = (select_facts(self.db) + f" WHERE f.subject_id IN ({in_list(site_ids)}) AND "
                 "f.notification_id <= %s AND f.household_id IS NULL ORDER BY f.notification_id")
        facts = [decode(r) for r in cur.execute(query, [*site_ids, end]).fetchall()]
        voided = {f.data["voided_source_id"] for f in facts if f.type == "fact_voided"}
        cur.execute(f"DELETE FROM view_sites WHERE site_id IN ({in_list(site_ids)})", site_ids)
        for site_id in site_ids:
            live = [f for f in facts if f.subject_id == site_id and f.type in SITE_FACTS
                    and f.source_id not in voided]
            registrations = [f for f in live if f.type == "site_registered"]
            if not registrations:
                continue
            latest = max(registrations, key=lambda f: (f.effective_on, f.position)).data
            closed = any(f.type == "site_closed" for f in live)
            cur.execute("INSERT INTO view_sites VALUES (%s, %s, %s, %s, %s, %s)",
                        (site_id, latest["name"], latest["kind"], latest["location_pcode"],
                         latest.get("authority_adm1"), int(closed)))

    def rebuild(self, progress: ProgressFn | None = None) -> int:
        """Drop every view row and project the whole ledger again; returns the facts applied.

        One pass over the ledger ordered by household (each household folded once), committed
        in chunks. Every chunk replaces its households' rows and holds the projector's lock, so
        a catch-up running meanwhile, or one resuming after this rebuild was killed, can only
        rewrite the same rows: the position stays 0 until the last chunk, so a restarted
        catch-up recomputes every household.
        """
        with self.db.transaction() as cur:
            self._position(cur)
            cur.execute("DELETE FROM view_states")
            cur.execute("DELETE FROM view_sites")
            cur.execute("UPDATE view_position SET position = 0 WHERE projection = %s", (PROJECTION,))
            row = cur.execute("SELECT max(notification_id), count(*) FROM ledger_facts").fetchone()
        head, total = (int(row[0] or 0), int(row[1])) if row else (0, 0)
        log.info("views_rebuild_started", head=head)
        books = list(self.rulebooks().values())
        query = (select_facts(self.db) + " WHERE f.household_id IS NOT NULL AND f.notification_id <= %s "
                 "ORDER BY f.household_id, f.notification_id")
        applied = 0
        chunk: dict[str, list[FactRecord]] = {}
        with self.db.stream(query, (head,)) as rows:
            for row in rows:
                household_id = row[7]
                if household_id not in chunk and len(chunk) >= REBUILD_CHUNK:
                    applied += self._replace_households(chunk, books, progress)
                    chunk = {}
                chunk.setdefault(household_id, []).append(decode(row))
        applied += self._replace_households(chunk, books, progress)
        with self.db.transaction() as cur:
            self._position(cur)
            sites = [r[0] for r in cur.execute(
                "SELECT DISTINCT subject_id FROM ledger_facts WHERE fact_type = %s", ("site_registered",)
            ).fetchall()]
            self._refresh_sites(cur, sites, head)
            cur.execute("UPDATE view_position SET position = %s WHERE projection = %s", (head, PROJECTION))
        if progress:
            progress(total - applied)
        return total + self.catch_up(progress)

    def _replace_households(self, facts: dict[str, list[FactRecord]], books: Sequence[Rulebook],
                            progress: ProgressFn | None) -> int:
        if not facts:
            return 0
        with self.db.transaction() as cur:
            self._position(cur)
            condition, params = self.db.any_of("household_id", list(facts))
            cur.execute("DELETE FROM view_states WHERE " + condition, params)
            self._write_states(cur, facts, books)
        count = sum(len(f) for f in facts.values())
        if progress:
            progress(count)
        return count

    # ---- queries ----------------------------------------------------------------------------------
    def sites(self) -> dict[str, SiteInfo]:
        with self.db.cursor() as cur:
            return {
                r[0]: SiteInfo(r[0], r[1], r[2], r[3], r[4])
                for r in cur.execute("SELECT site_id, name, kind, location_pcode, authority_adm1 "
                                     "FROM view_sites").fetchall()
            }

    def _at(self, alias: str) -> str:
        return (f"{alias}.rulebook = %s AND {alias}.valid_from <= %s AND {alias}.valid_to > %s "
                f"AND {alias}.recorded_from <= %s AND {alias}.recorded_to > %s")

    def _at_params(self, book: str, as_of: dt.date, known_at: dt.datetime) -> list[Any]:
        d, k = self.day(as_of), self.moment(known_at)
        return [book, d, d, k, k]

    def cells(self, book: str, as_of: dt.date, known_at: dt.datetime) -> list[tuple[str, str, int, int]]:
        """(status, place, households, individuals) of every counted cell of one rulebook."""
        with self.db.cursor() as cur:
            return [
                (r[0], r[1], int(r[2]), int(r[3]))
                for r in cur.execute(
                    "SELECT status, place, count(*), sum(individuals) FROM view_states s WHERE "
                    + self._at("s") + " AND status <> 'not_counted' GROUP BY status, place",
                    self._at_params(book, as_of, known_at),
                ).fetchall()
            ]

    def state_pairs(self, left: str, right: str, as_of: dt.date,
                    known_at: dt.datetime) -> list[tuple[HouseholdState, HouseholdState, int]]:
        """Every distinct (left state, right state) combination with its number of households."""
        cols = ", ".join(f"{{a}}.{c}" for c in STATE_COLUMNS)
        query = (
            f"SELECT {cols.format(a='l')}, {cols.format(a='r')}, count(*) FROM "
            "(SELECT * FROM view_states s WHERE " + self._at("s") + ") l FULL OUTER JOIN "
            "(SELECT * FROM view_states s WHERE " + self._at("s") + ") r "
            "ON l.household_id = r.household_id "
            f"GROUP BY {cols.format(a='l')}, {cols.format(a='r')}"
        )
        params = self._at_params(left, as_of, known_at) + self._at_params(right, as_of, known_at)
        n = len(STATE_COLUMNS)
        with self.db.cursor() as cur:
            return [
                (unpack_state(*r[:n]), unpack_state(*r[n:2 * n]), int(r[2 * n]))
                for r in cur.execute(query, params).fetchall()
            ]

    def households_in(self, book: str, as_of: dt.date, known_at: dt.datetime,
                      status: str, places: Sequence[str]) -> list[tuple[str, HouseholdState]]:
        """The households a rulebook counts in (status, any of ``places`` at cell level)."""
        query = ("SELECT household_id, " + ", ".join(STATE_COLUMNS) + " FROM view_states s WHERE "
                 + self._at("s") + f" AND status = %s AND place IN ({in_list(places)}) "
                 "ORDER BY household_id")
        with self.db.cursor() as cur:
            return [
                (r[0], unpack_state(*r[1:]))
                for r in cur.execute(query, [*self._at_params(book, as_of, known_at), status,
                                             *places]).fetchall()
            ]
