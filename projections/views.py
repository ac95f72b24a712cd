"""The materialised views: every household's bitemporal states under every rulebook, in SQL.

Tables (in the same store as the facts):

``view_states``   one row per (rulebook, household, valid-time interval, recorded-time interval)
                  from :func:`projections.fold.bitemporal_rows`; a query at (D, K) picks rows with
                  ``valid_from <= D < valid_to`` and ``recorded_from <= K < recorded_to``. Open
                  ends are stored as 9999-12-31 so every comparison is a plain range; a query
                  at or after that end reads the moment just before it (:func:`within_time`).
                  The state itself is a number, ``sig``, into ``view_signatures``: national figures are
                  then one GROUP BY on an integer, and the few thousand distinct states are
                  decoded in Python.
``view_pairs``    for every pair of rulebooks (names in sorted order), each household's
                  (left sig, right sig) over both times (:func:`projections.pairs.pair_rows`):
                  reconciliation is one GROUP BY, with no join at query time.
``view_signatures`` every distinct household state (status, place, individuals, flags...).
``view_sites``    the latest live registration of every site (its name, for display); figures
                  group camps by the registration valid at D as known at K instead
                  (:meth:`Views.sites_at`, read from the few site facts at query time).
``view_position`` the last ledger position applied (the projector's tracking record).
``view_rulebooks`` user rulebooks added before rulebooks had versions (read as their version 1;
                  no longer written: versions are ``rulebook_defined`` facts, docs/rulebooks.md).
``view_meta``     the layout version, the rebuild generation, the views digest
                  (:mod:`projections.digest`) kept with the position, and a digest of the
                  rulebook versions the views were built for.

One projector writes at a time: every projector transaction takes the position's row lock
(PostgreSQL) or the write lock (SQLite) first. A rebuild builds ``*_next`` tables aside and swaps
them in atomically (:meth:`Views.rebuild`). On PostgreSQL with roles, only ``ledger_projector``
may write these tables; other logins wait for it (:meth:`Views.wait_for_projector`).

Every batch of view writes carries its new position in the same transaction, so a crash
at any point leaves the views at a consistent position and the next catch-up resumes there:
applied exactly once. A household touched by a batch has all its rows recomputed from its facts
up to the batch's last position (delete + insert), so replaying a batch can never double-count.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import fcntl
import hashlib
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import orjson
import psycopg
import structlog

from ledger.catalogue import SITE_FACTS
from ledger.errors import RulebookError, StoreError
from ledger.store.chain import format_time
from ledger.store.db import Cursor, Database
from ledger.store.reading import FactRecord, decode, facts_of_households, select_facts
from ledger.store.schema import grant_view_tables
from projections import digest
from projections.bridge import SiteInfo
from projections.fold import BitemporalRow, HouseholdState, bitemporal_rows
from projections.pairs import PairRow, pair_rows
from projections.rulebook_versions import load_versions
from projections.rulebooks import Rulebook
from projections.sites import site_facts, sites_at

log = structlog.get_logger()

PROJECTION = "views"
VIEWS_VERSION = 3  # bump when the layout of a derived table changes
DERIVED_TABLES = ("view_states", "view_pairs", "view_signatures", "view_sites", "view_position")
END_OF_TIME_DATE = dt.date(9999, 12, 31)
END_OF_TIME = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)
LAST_DAY = END_OF_TIME_DATE - dt.timedelta(days=1)
LAST_MOMENT = END_OF_TIME - dt.timedelta(microseconds=1)
BATCH = 2000
REBUILD_CHUNK = 5000  # households per rebuild transaction
REBUILD_THRESHOLD = 20_000  # facts behind from position 0 above which catch-up rebuilds in one pass
FLAG_FIELDS = tuple(
    f.name for f in dataclasses.fields(HouseholdState) if f.type in ("bool", bool)
)
STATE_COLUMNS = ("status", "place", "individuals", "members", "cause", "flags", "prior_status",
                 "prior_place")
TIME_COLUMNS = ("valid_from", "valid_to", "recorded_from", "recorded_to")
STATE_ROW_COLUMNS = ("rulebook", "household_id", *TIME_COLUMNS, "sig")
TIME_TYPES = ("date", "date", "timestamptz", "timestamptz")
STATE_ROW_TYPES = ("text", "text", *TIME_TYPES, "int4")
PAIR_ROW_TYPES = ("text", "text", "text", *TIME_TYPES, "int4", "int4")
PAIR_ROW_COLUMNS = ("left_rulebook", "right_rulebook", "household_id", *TIME_COLUMNS, "left_sig",
                    "right_sig")
SWAPPED_TABLES = ("view_states", "view_pairs", "view_sites")  # rebuilt aside, then swapped in
NEXT = "_next"  # the suffix of the tables a rebuild is building
DEFAULT_WAIT_SECONDS = 30.0  # how long a non-projector login waits for the projector
WAIT_POLL_SECONDS = 0.1


class ViewsBehindError(StoreError):
    """The views are behind the ledger and this login may not bring them up to date."""


def recreate_analyst_views(db: Database) -> None:
    """HOOK: re-create the SQL views that depend on the view tables, after a rebuild swapped new
    tables in (on PostgreSQL the swap drops the old tables with CASCADE, and their dependent
    views with them; SQLite keeps a view but it must be re-created to be sure it reads the new
    table). Called once per rebuild, after the swap has committed. The analyst views of
    ``projections.sqlviews`` (``create_analyst_views(db)``, idempotent) are wired in here."""
    from projections.sqlviews import create_analyst_views, drop_analyst_views  # noqa: PLC0415

    try:
        drop_analyst_views(db)
        create_analyst_views(db)
    except (StoreError, psycopg.errors.InsufficientPrivilege) as exc:  # a login without CREATE
        log.warning("analyst_views_not_recreated", error=str(exc))


def _moved(sums: dict[str, digest.Sums] | None, before: Mapping[str, digest.Sums],
           after: Mapping[str, digest.Sums]) -> dict[str, digest.Sums] | None:
    """The digest after rows measured ``before`` were replaced by rows measured ``after``."""
    if sums is None:
        return None  # no digest kept yet: measured whole when saved
    moved = dict(sums)
    for table, part in after.items():
        total = digest.add(moved[table], part)
        moved[table] = digest.add(total, before[table], -1) if table in before else total
    return moved


def site_rows(facts: Sequence[FactRecord], site_ids: Sequence[str]) -> list[tuple[Any, ...]]:
    """The ``view_sites`` rows of these sites from their facts (voided ones left out)."""
    voided = {f.data["voided_source_id"] for f in facts if f.type == "fact_voided"}
    rows = []
    for site_id in site_ids:
        live = [f for f in facts if f.subject_id == site_id and f.type in SITE_FACTS
                and f.source_id not in voided]
        registrations = [f for f in live if f.type == "site_registered"]
        if not registrations:
            continue
        latest = max(registrations, key=lambda f: (f.effective_on, f.position)).data
        closed = any(f.type == "site_closed" for f in live)
        rows.append((site_id, latest["name"], latest["kind"], latest["location_pcode"],
                     latest.get("authority_adm1"), int(closed)))
    return rows

ProgressFn = Callable[[int], None]


def pack_flags(state: HouseholdState) -> int:
    return sum(1 << i for i, name in enumerate(FLAG_FIELDS) if getattr(state, name))


def unpack_state(status: str | None, place: str | None, individuals: int | None,
                 members: int | None, cause: str | None, flags: int | None,
                 prior_status: str | None = None, prior_place: str | None = None) -> HouseholdState:
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
        prior_status=prior_status,  # type: ignore[arg-type]
        prior_place=prior_place,
    )


def within_time(as_of: dt.date, known_at: dt.datetime) -> tuple[dt.date, dt.datetime]:
    """(D, K) as the tables can compare them: open intervals end at the end-of-time sentinel, so
    a D or K at or after it would find no row. It reads the last day (moment) before instead,
    which is exact: no state begins after the latest effective date (never after today) or
    recorded time (never after now), so every D or K from then on has the same figures."""
    return min(as_of, LAST_DAY), min(known_at, LAST_MOMENT)


def rulebooks_key(books: Sequence[Rulebook]) -> str:
    """A digest of the rulebooks (each in one version) the views are built for."""
    return hashlib.sha256(orjson.dumps(sorted((b.as_dict() for b in books),
                                              key=lambda d: str(d["name"])),
                                       option=orjson.OPT_SORT_KEYS)).hexdigest()


class Views:
    def __init__(self, db: Database, *, wait_seconds: float = DEFAULT_WAIT_SECONDS) -> None:
        self.db = db
        self.wait_seconds = wait_seconds
        self._can_project: bool | None = None
        self._reads_facts: bool | None = None
        self._parsed: dict[tuple[str, str], Rulebook] = {}
        self._sigs: dict[HouseholdState, int] = {}
        self._states: dict[int, HouseholdState] = {}
        self._new_sigs: list[int] = []

    # ---- state signatures ----------------------------------------------------------------------
    def _load_signatures(self, cur: Cursor) -> None:
        """Bring the in-memory dictionary up to the table (another process may have added some)."""
        row = cur.execute("SELECT count(*) FROM view_signatures").fetchone()
        if row is not None and int(row[0]) == len(self._sigs):
            return
        self._sigs.clear()
        self._states = {}
        self._new_sigs.clear()
        for sig, *columns in cur.execute("SELECT sig, " + ", ".join(STATE_COLUMNS)
                                         + " FROM view_signatures").fetchall():
            state = unpack_state(*columns)
            self._sigs[state] = sig
            self._states[sig] = state

    def _sig(self, state: HouseholdState) -> int:
        """The number of a state; a new one is written by :meth:`_save_signatures`."""
        sig = self._sigs.get(state)
        if sig is None:
            sig = len(self._sigs) + 1
            self._sigs[state] = sig
            self._states[sig] = state
            self._new_sigs.append(sig)
        return sig

    def _save_signatures(self, cur: Cursor) -> list[int]:
        """Write the states numbered since the last call (inside the locked transaction)."""
        saved = list(self._new_sigs)
        if saved:
            cur.executemany(
                "INSERT INTO view_signatures VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [(sig, s.status, s.place, s.individuals, s.members, s.cause, pack_flags(s),
                  s.prior_status, s.prior_place)
                 for sig in saved for s in (self._states[sig],)],
            )
            self._new_sigs.clear()
        return saved

    # ---- parameters in each engine's types ------------------------------------------------
    def day(self, value: dt.date) -> Any:
        return value if self.db.is_postgres else value.isoformat()

    def moment(self, value: dt.datetime) -> Any:
        return value if self.db.is_postgres else format_time(value)

    # ---- schema -------------------------------------------------------------------------------
    def create_tables(self) -> list[str]:
        """Create the view tables, or replace them when their layout changed (``ledger init``).

        Views are derived data: when ``VIEWS_VERSION`` differs from the stored one, the old
        tables are dropped and the next catch-up rebuilds them from the ledger. User rulebooks
        (``view_rulebooks``) are kept.
        """
        with self.db.transaction() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS view_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            row = cur.execute("SELECT value FROM view_meta WHERE key = 'version'").fetchone()
            if row is None or row[0] != str(VIEWS_VERSION):
                for table in DERIVED_TABLES:
                    cur.execute(f"DROP TABLE IF EXISTS {table}{self._cascade}")
                cur.execute("DELETE FROM view_meta WHERE key IN ('version', 'generation', %s)",
                            (digest.META_KEY,))
                cur.execute("INSERT INTO view_meta VALUES ('version', %s)", (str(VIEWS_VERSION),))
                self._sigs.clear()
                self._states.clear()
            fresh = not self._table_exists(cur, "view_states")
            self._create_derived(cur, "")
            if fresh:
                self._create_indexes(cur, "", self._generation(cur))
            cur.execute("CREATE TABLE IF NOT EXISTS view_signatures (sig INTEGER PRIMARY KEY, "
                        "status TEXT NOT NULL, place TEXT, individuals INTEGER NOT NULL, "
                        "members INTEGER, cause TEXT, flags INTEGER NOT NULL, prior_status TEXT, "
                        "prior_place TEXT)")
            cur.execute("CREATE TABLE IF NOT EXISTS view_position (projection TEXT PRIMARY KEY, "
                        "position BIGINT NOT NULL)")
            cur.execute("CREATE TABLE IF NOT EXISTS view_rulebooks (name TEXT PRIMARY KEY, "
                        "definition TEXT NOT NULL, added_at TEXT NOT NULL)")
            cur.execute(("INSERT INTO view_position VALUES (%s, 0) ON CONFLICT DO NOTHING"),
                        (PROJECTION,))
            if digest.load(cur) is None:
                row = cur.execute("SELECT position FROM view_position WHERE projection = %s",
                                  (PROJECTION,)).fetchone()
                digest.save(cur, int(row[0]) if row else 0, digest.measure_all(cur, self.db))
        return [*DERIVED_TABLES, "view_rulebooks", "view_meta"]

    @property
    def _cascade(self) -> str:
        # PostgreSQL refuses to drop a table that SQL views depend on; they are re-created by
        # recreate_analyst_views after a swap. SQLite drops the table and leaves its views.
        return " CASCADE" if self.db.is_postgres else ""

    def _table_exists(self, cur: Cursor, name: str) -> bool:
        if self.db.is_postgres:
            row = cur.execute("SELECT to_regclass(%s) IS NOT NULL",
                              (f"{self.db.settings.schema}.{name}",)).fetchone()
        else:
            row = cur.execute("SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' "
                              "AND name = %s", (name,)).fetchone()
        return bool(row and row[0])

    def _create_derived(self, cur: Cursor, suffix: str) -> None:
        """The tables a rebuild replaces: states, pairs, sites (``suffix`` ``_next`` while built)."""
        pg = self.db.is_postgres
        date, stamp = ("date", "timestamptz") if pg else ("TEXT", "TEXT")
        times = (f"valid_from {date} NOT NULL, valid_to {date} NOT NULL, "
                 f"recorded_from {stamp} NOT NULL, recorded_to {stamp} NOT NULL")
        cur.execute(f"CREATE TABLE IF NOT EXISTS view_states{suffix} (rulebook TEXT NOT NULL, "
                    f"household_id TEXT NOT NULL, {times}, sig INTEGER NOT NULL)")
        cur.execute(f"CREATE TABLE IF NOT EXISTS view_pairs{suffix} (left_rulebook TEXT NOT NULL, "
                    f"right_rulebook TEXT NOT NULL, household_id TEXT NOT NULL, {times}, "
                    "left_sig INTEGER NOT NULL, right_sig INTEGER NOT NULL)")
        cur.execute(f"CREATE TABLE IF NOT EXISTS view_sites{suffix} (site_id TEXT PRIMARY KEY, "
                    "name TEXT NOT NULL, kind TEXT NOT NULL, location_pcode TEXT NOT NULL, "
                    "authority_adm1 TEXT, closed INTEGER NOT NULL)")

    def _create_indexes(self, cur: Cursor, suffix: str, generation: int) -> None:
        """Index names carry the rebuild generation: an index keeps its name when its table is
        renamed, and SQLite cannot rename an index."""
        tag = f"_{generation}" if generation else ""
        cur.execute(f"CREATE INDEX IF NOT EXISTS view_states_household_idx{tag} "
                    f"ON view_states{suffix} (household_id)")
        cur.execute(f"CREATE INDEX IF NOT EXISTS view_states_sig_idx{tag} "
                    f"ON view_states{suffix} (rulebook, sig)")
        cur.execute(f"CREATE INDEX IF NOT EXISTS view_pairs_household_idx{tag} "
                    f"ON view_pairs{suffix} (household_id)")

    def _generation(self, cur: Cursor) -> int:
        row = cur.execute("SELECT value FROM view_meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else 0

    # ---- rulebooks ------------------------------------------------------------------------------
    def rulebooks(self) -> dict[str, Rulebook]:
        """Every rulebook in its current version: the versions the views hold."""
        return {name: v.book for name, v in load_versions(self.db).current().items()}

    def _books(self, cur: Cursor) -> dict[str, Rulebook]:
        """The rulebooks, read inside the projector's transaction (its connection)."""
        del cur  # load_versions reads on the same connection, so under the same lock
        return self.rulebooks()

    def rulebook(self, name: str) -> Rulebook:
        books = self.rulebooks()
        if name not in books:
            raise RulebookError(f"unknown rulebook {name!r}; known: {', '.join(sorted(books))} "
                                "(add one with `ledger rulebooks add FILE`)")
        return books[name]

    def _rulebooks_changed(self, books: Sequence[Rulebook]) -> bool:
        """Whether a rulebook version was recorded since the views were built (a crash between
        recording it and projecting it is caught here). Views built before versions existed
        are taken as built for the rulebooks of now."""
        with self.db.cursor() as cur:
            row = cur.execute("SELECT value FROM view_meta WHERE key = 'rulebooks'").fetchone()
        if row is not None:
            return bool(row[0] != rulebooks_key(books))
        with self.db.transaction() as cur:
            self._position(cur)
            self._remember_rulebooks(cur, books)
        return False

    def _remember_rulebooks(self, cur: Cursor, books: Sequence[Rulebook]) -> None:
        cur.execute("DELETE FROM view_meta WHERE key = 'rulebooks'")
        cur.execute("INSERT INTO view_meta VALUES ('rulebooks', %s)", (rulebooks_key(books),))

    # ---- who projects -----------------------------------------------------------------------------
    def can_project(self) -> bool:
        """May this connection write the views? (PostgreSQL: a member of ledger_projector or the
        tables' owner; SQLite: always.) A login that may not waits for the projector instead."""
        if self._can_project is None:
            self._can_project = (not self.db.is_postgres) or self._has_privilege("view_position",
                                                                                   "UPDATE")
        return self._can_project

    def _has_privilege(self, table: str, privilege: str) -> bool:
        with self.db.cursor() as cur:
            row = cur.execute("SELECT has_table_privilege(%s, %s)",
                              (f"{self.db.settings.schema}.{table}", privilege)).fetchone()
        return bool(row and row[0])

    def require_projector(self, what: str) -> None:
        if not self.can_project():
            raise StoreError(f"{what} writes the views, and {self.db.settings.user!r} may not: "
                             "run it as a login granted ledger_projector (docs/deployment.md)")

    def wait_for_projector(self, target: int | None = None) -> None:
        """Return once the views have reached ``target`` (default: the ledger's head), which the
        projector (``ledger views follow`` running as a ledger_projector login) brings them to;
        raise ViewsBehindError after ``wait_seconds``."""
        target = self.ledger_head() if target is None else target
        deadline = time.monotonic() + self.wait_seconds
        position = self.position()
        while position < target:
            if time.monotonic() >= deadline:
                raise ViewsBehindError(
                    f"the views are {target - position:,} facts behind the ledger and no projector "
                    f"brought them up to date within {self.wait_seconds:g} s: is `ledger views "
                    "follow` running as a login granted ledger_projector? (docs/deployment.md)")
            time.sleep(WAIT_POLL_SECONDS)
            position = self.position()

    # ---- the projector ---------------------------------------------------------------------------
    def _position(self, cur: Cursor) -> int:
        """The position, locked for this transaction: the projector's single-writer lock.

        PostgreSQL: the row lock of the position (every projector transaction takes it first,
        so they never interleave and never deadlock); SQLite: the write lock, which every
        writing transaction takes at BEGIN IMMEDIATE.
        """
        lock = " FOR UPDATE" if self.db.is_postgres else ""
        row = cur.execute("SELECT position FROM view_position WHERE projection = %s" + lock,
                          (PROJECTION,)).fetchone()
        self._load_signatures(cur)
        return int(row[0]) if row else 0

    def position(self) -> int:
        with self.db.cursor() as cur:
            row = cur.execute("SELECT position FROM view_position WHERE projection = %s",
                              (PROJECTION,)).fetchone()
            return int(row[0]) if row else 0

    def ledger_head(self) -> int:
        with self.db.cursor() as cur:
            if self.db.is_postgres and self._reads_facts is None:
                self._reads_facts = self._has_privilege("ledger_facts", "SELECT")
            if self._reads_facts is False:
                # ledger_reader reads no facts; a SECURITY DEFINER function tells it the head.
                row = cur.execute(f"SELECT {self.db.settings.schema}.ledger_head()").fetchone()
            else:
                row = cur.execute("SELECT max(notification_id) FROM ledger_facts").fetchone()
            return int(row[0]) if row and row[0] is not None else 0

    def catch_up(self, progress: ProgressFn | None = None, *, batch: int = BATCH,
                 max_batches: int | None = None) -> int:
        """Apply every fact recorded after the views' position; returns how many were applied.

        A login that may not write the views (ledger_writer, ledger_reader) waits for the
        projector to reach the ledger's head instead, and applies nothing itself.
        """
        if not self.can_project():
            self.wait_for_projector()
            return 0
        if max_batches is None and self.position() == 0 and self.ledger_head() > REBUILD_THRESHOLD:
            return self.rebuild(progress)  # a first projection of a big ledger: one pass is faster
        if self._rulebooks_changed(list(self.rulebooks().values())):
            return self.rebuild(progress)  # a rulebook version recorded since: every household
        applied = 0
        batches = 0
        while max_batches is None or batches < max_batches:
            count = self._apply_batch(batch)
            if count == 0:
                break
            applied += count
            batches += 1
            if progress:
                progress(count)
        if applied:
            log.info("projection_caught_up", facts=applied, position=self.position())
        return applied

    def _apply_batch(self, batch: int) -> int:
        with self.db.transaction() as cur:
            position = self._position(cur)
            rows = cur.execute(
                "SELECT notification_id, fact_type, subject_id, household_id FROM ledger_facts "
                "WHERE notification_id > %s ORDER BY notification_id LIMIT %s", (position, batch),
            ).fetchall()
            if not rows:
                return 0
            # Read under the lock: a rulebook added meanwhile is in every batch after its rebuild.
            books = list(self._books(cur).values())
            end = rows[-1][0]
            households = sorted({r[3] for r in rows if r[3] is not None})
            sites = sorted({r[2] for r in rows if r[1] in SITE_FACTS or (
                r[1] == "fact_voided" and r[3] is None)})
            stored = digest.load(cur)
            sums = stored[1] if stored is not None else None
            if households:
                before = self._measure(cur, ("view_states", "view_pairs"), "household_id", households)
                facts = facts_of_households(cur, self.db, households, end)
                self._delete_households(cur, households)
                new_sigs = self._write_states(cur, facts, books)
                after = self._measure(cur, ("view_states", "view_pairs"), "household_id", households)
                sums = _moved(sums, before, after)
                if new_sigs:
                    sums = _moved(sums, {}, self._measure(cur, ("view_signatures",), "sig", new_sigs))
            if sites:
                before = self._measure(cur, ("view_sites",), "site_id", sites)
                self._refresh_sites(cur, sites, end)
                sums = _moved(sums, before, self._measure(cur, ("view_sites",), "site_id", sites))
            cur.execute("UPDATE view_position SET position = %s WHERE projection = %s",
                        (end, PROJECTION))
            digest.save(cur, end, sums if sums is not None else digest.measure_all(cur, self.db))
            return len(rows)

    def _measure(self, cur: Cursor, tables: Sequence[str], column: str,
                 keys: Sequence[Any]) -> dict[str, digest.Sums]:
        condition, params = self.db.any_of(column, keys)
        return {t: digest.measure(cur, self.db, t, where=condition, params=params) for t in tables}

    def _write_states(self, cur: Cursor, facts: dict[str, list[FactRecord]],
                      books: Sequence[Rulebook], suffix: str = "") -> list[int]:
        """Insert every row of these households (their old rows are already deleted) into the
        live tables or, during a rebuild, the ``_next`` ones; returns the new signatures."""
        states: list[tuple[Any, ...]] = []
        pairs: list[tuple[Any, ...]] = []
        ordered = sorted(books, key=lambda b: b.name)
        for household_id, household_facts in facts.items():
            rows = {book.name: bitemporal_rows(household_facts, book) for book in ordered}
            for name, book_rows in rows.items():
                states.extend(
                    (name, household_id, *self._times(row), self._sig(row.state))
                    for row in book_rows
                )
            for i, left in enumerate(ordered):
                for right in ordered[i + 1:]:
                    pairs.extend(
                        (left.name, right.name, household_id, *self._times(row),
                         self._sig(row.left), self._sig(row.right))
                        for row in pair_rows(rows[left.name], rows[right.name])
                    )
        new_sigs = self._save_signatures(cur)
        cur.copy_rows(f"view_states{suffix}", STATE_ROW_COLUMNS, states, STATE_ROW_TYPES)
        cur.copy_rows(f"view_pairs{suffix}", PAIR_ROW_COLUMNS, pairs, PAIR_ROW_TYPES)
        return new_sigs

    def _delete_households(self, cur: Cursor, households: Sequence[str]) -> None:
        condition, params = self.db.any_of("household_id", households)
        cur.execute("DELETE FROM view_states WHERE " + condition, params)
        cur.execute("DELETE FROM view_pairs WHERE " + condition, params)

    def _times(self, row: BitemporalRow | PairRow) -> tuple[Any, Any, Any, Any]:
        return (self.day(row.valid_from), self.day(row.valid_to or END_OF_TIME_DATE),
                self.moment(row.recorded_from), self.moment(row.recorded_to or END_OF_TIME))

    def _refresh_sites(self, cur: Cursor, site_ids: Sequence[str], end: int,
                       suffix: str = "") -> None:
        subjects, params = self.db.any_of("f.subject_id", site_ids)
        query = (select_facts(self.db) + " WHERE " + subjects + " AND f.notification_id <= %s "
                 "AND f.household_id IS NULL ORDER BY f.notification_id")
        facts = [decode(r) for r in cur.execute(query, [*params, end]).fetchall()]
        sites, params = self.db.any_of("site_id", site_ids)
        cur.execute(f"DELETE FROM view_sites{suffix} WHERE " + sites, params)
        for row in site_rows(facts, site_ids):
            cur.execute(f"INSERT INTO view_sites{suffix} VALUES (%s, %s, %s, %s, %s, %s)", row)

    # ---- the rebuild --------------------------------------------------------------------------------
    def rebuild(self, progress: ProgressFn | None = None) -> int:
        """Project the whole ledger again into new tables and swap them in; returns the facts
        applied.

        One pass over the ledger ordered by household (each household folded once) into
        ``view_states_next``, ``view_pairs_next`` and ``view_sites_next``, committed in chunks;
        then one transaction, under the projector's lock, drops the live tables, renames the new
        ones in their place and sets the position to the head the pass read up to. Readers see
        the old views until that commit and the new ones after it, never a half-built state.
        Catch-ups running meanwhile (``record``, ``views follow``) keep the old tables current;
        what they applied past the rebuild's head is applied again after the swap (a household's
        rows are always recomputed whole, so re-applying is harmless). One rebuild at a time: a
        second waits for the first (a PostgreSQL advisory lock; on SQLite an exclusive ``flock``
        of the store file). Killed midway, a rebuild leaves the live views as they were (the
        ``_next`` tables are dropped by the next rebuild).
        """
        self.require_projector("`ledger views rebuild`")
        with self._rebuild_lock():
            head, total, books = self._start_rebuild()
            log.info("views_rebuild_started", head=head)
            applied = 0
            for chunk in self._households_in_order(head):
                applied += self._build_households(chunk, books, progress)
            self._index_next()
            self._swap_in(head, books)
        recreate_analyst_views(self.db)
        if progress:
            progress(total - applied)
        return total + self.catch_up(progress)

    @contextmanager
    def _rebuild_lock(self) -> Iterator[None]:
        if self.db.is_postgres:
            conn = self.db.connection()
            key = int.from_bytes(hashlib.sha256(
                f"ledger views rebuild {self.db.settings.schema}".encode()).digest()[:8], "big",
                signed=True)
            conn.execute("SELECT pg_advisory_lock(%s)", (key,))
            try:
                yield
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
            return
        assert self.db.settings.sqlite_path is not None
        # flock locks are apart from the fcntl locks SQLite takes on the same file.
        with self.db.settings.sqlite_path.open("rb") as store:
            fcntl.flock(store, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(store, fcntl.LOCK_UN)

    def _start_rebuild(self) -> tuple[int, int, list[Rulebook]]:
        with self.db.transaction() as cur:
            self._position(cur)
            for table in SWAPPED_TABLES:
                cur.execute(f"DROP TABLE IF EXISTS {table}{NEXT}{self._cascade}")
            self._create_derived(cur, NEXT)
            row = cur.execute("SELECT max(notification_id), count(*) FROM ledger_facts").fetchone()
            books = list(self._books(cur).values())
        head, total = (int(row[0] or 0), int(row[1])) if row else (0, 0)
        return head, total, books

    def _build_households(self, facts: dict[str, list[FactRecord]], books: Sequence[Rulebook],
                          progress: ProgressFn | None) -> int:
        if not facts:
            return 0
        with self.db.transaction() as cur:
            self._position(cur)  # signatures are shared with the live tables: numbered under the lock
            self._write_states(cur, facts, books, NEXT)
        count = sum(len(f) for f in facts.values())
        if progress:
            progress(count)
        return count

    def _index_next(self) -> None:
        with self.db.transaction() as cur:
            self._create_indexes(cur, NEXT, self._generation(cur) + 1)
        if self.db.is_postgres:
            with self.db.cursor() as cur:
                # Fresh statistics, or the planner would guess one row and sort instead of hashing.
                cur.execute(f"ANALYZE view_states{NEXT}")
                cur.execute(f"ANALYZE view_pairs{NEXT}")

    def _swap_in(self, head: int, books: Sequence[Rulebook]) -> None:
        with self.db.transaction() as cur:
            self._position(cur)
            generation = self._generation(cur) + 1
            sites = [r[0] for r in cur.execute(
                "SELECT DISTINCT subject_id FROM ledger_facts WHERE fact_type = %s AND "
                "notification_id <= %s", ("site_registered", head)).fetchall()]
            if sites:
                self._refresh_sites(cur, sites, head, NEXT)
            if not self.db.is_postgres:
                # Rename without rewriting (or checking) SQL views that name the old tables.
                cur.execute("PRAGMA legacy_alter_table = ON")
            for table in SWAPPED_TABLES:
                cur.execute(f"DROP TABLE IF EXISTS {table}{self._cascade}")
                cur.execute(f"ALTER TABLE {table}{NEXT} RENAME TO {table}")
            if not self.db.is_postgres:
                cur.execute("PRAGMA legacy_alter_table = OFF")
            cur.execute("UPDATE view_position SET position = %s WHERE projection = %s",
                        (head, PROJECTION))
            cur.execute("DELETE FROM view_meta WHERE key = 'generation'")
            cur.execute("INSERT INTO view_meta VALUES ('generation', %s)", (str(generation),))
            digest.save(cur, head, digest.measure_all(cur, self.db))
            self._remember_rulebooks(cur, books)
            if self.db.is_postgres:
                grant_view_tables(cur.raw, self.db.settings.schema, SWAPPED_TABLES)
        log.info("views_swapped_in", position=head, generation=generation)

    def _households_in_order(self, head: int) -> Iterator[dict[str, list[FactRecord]]]:
        """Every household's facts up to ``head``, REBUILD_CHUNK households at a time.

        PostgreSQL: one server-side cursor ordered by household. SQLite: keyset pages of
        households (a long read transaction there would keep its write-ahead log growing and
        its sorter in memory while the chunks are written).
        """
        if self.db.is_postgres:
            query = (select_facts(self.db) + " WHERE f.household_id IS NOT NULL "
                     "AND f.notification_id <= %s ORDER BY f.household_id, f.notification_id")
            chunk: dict[str, list[FactRecord]] = {}
            with self.db.stream(query, (head,)) as rows:
                for row in rows:
                    household_id = row[7]
                    if household_id not in chunk and len(chunk) >= REBUILD_CHUNK:
                        yield chunk
                        chunk = {}
                    chunk.setdefault(household_id, []).append(decode(row))
            if chunk:
                yield chunk
            return
        after = ""
        while True:
            with self.db.cursor() as cur:
                households = [r[0] for r in cur.execute(
                    "SELECT DISTINCT household_id FROM ledger_facts WHERE household_id > %s "
                    "AND notification_id <= %s ORDER BY household_id LIMIT %s",
                    (after, head, REBUILD_CHUNK)).fetchall()]
                if not households:
                    return
                yield facts_of_households(cur, self.db, households, head)
            after = households[-1]

    # ---- queries ----------------------------------------------------------------------------------
    def sites(self) -> dict[str, SiteInfo]:
        with self.db.cursor() as cur:
            return {
                r[0]: SiteInfo(r[0], r[1], r[2], r[3], r[4])
                for r in cur.execute("SELECT site_id, name, kind, location_pcode, authority_adm1 "
                                     "FROM view_sites").fetchall()
            }

    def sites_at(self, as_of: dt.date, known_at: dt.datetime) -> dict[str, SiteInfo]:
        """The sites valid at D as known at K (:mod:`projections.sites`): what groups camps
        into districts and governorates in every figure and bridge."""
        with self.db.cursor() as cur:
            return sites_at(site_facts(cur, self.db), as_of, known_at)

    def _at(self, alias: str) -> str:
        return (f"{alias}.rulebook = %s AND {alias}.valid_from <= %s AND {alias}.valid_to > %s "
                f"AND {alias}.recorded_from <= %s AND {alias}.recorded_to > %s")

    def _at_params(self, book: str, as_of: dt.date, known_at: dt.datetime) -> list[Any]:
        as_of, known_at = within_time(as_of, known_at)
        d, k = self.day(as_of), self.moment(known_at)
        return [book, d, d, k, k]

    def _signatures(self) -> dict[int, HouseholdState]:
        with self.db.cursor() as cur:
            self._load_signatures(cur)
        return self._states

    def cells(self, book: str, as_of: dt.date, known_at: dt.datetime,
              places: Sequence[str] | None = None) -> list[tuple[str, str, int, int]]:
        """(status, place, households, individuals) of every counted cell of one rulebook.

        With ``places`` (sites or p-codes at cell level), only those cells: an index look-up of
        the few states placed there rather than a scan of the whole country.
        """
        query = "SELECT sig, count(*) FROM view_states s WHERE " + self._at("s")
        params = self._at_params(book, as_of, known_at)
        states = self._signatures()
        if places is not None:
            wanted = set(places)
            sigs = [sig for sig, state in states.items() if state.place in wanted]
            if not sigs:
                return []
            condition, extra = self.db.any_of("sig", sigs)
            query += " AND " + condition
            params += extra
        with self.db.cursor() as cur:
            counts = cur.execute(query + " GROUP BY sig", params).fetchall()
        cells: dict[tuple[str, str], tuple[int, int]] = {}
        for sig, count in counts:
            state = states[sig]
            if state.counted and state.place is not None:
                households, individuals = cells.get((state.status, state.place), (0, 0))
                cells[(state.status, state.place)] = (households + count,
                                                      individuals + count * state.individuals)
        return [(status, place, h, i) for (status, place), (h, i) in cells.items()]

    def state_pairs(self, left: str, right: str, as_of: dt.date,
                    known_at: dt.datetime) -> list[tuple[HouseholdState, HouseholdState, int]]:
        """Every distinct (left state, right state) with its number of households.

        Households in the default state on both sides are left out (they differ nowhere).
        """
        as_of, known_at = within_time(as_of, known_at)
        d, k = self.day(as_of), self.moment(known_at)
        first, second = sorted((left, right))
        if first != second:
            query = ("SELECT left_sig, right_sig, count(*) FROM view_pairs WHERE left_rulebook = %s "
                     "AND right_rulebook = %s AND valid_from <= %s AND valid_to > %s "
                     "AND recorded_from <= %s AND recorded_to > %s GROUP BY left_sig, right_sig")
            params: list[Any] = [first, second, d, d, k, k]
        else:
            query = ("SELECT sig, sig, count(*) FROM view_states s WHERE " + self._at("s")
                     + " GROUP BY sig")
            params = self._at_params(left, as_of, known_at)
        with self.db.cursor() as cur:
            counts = cur.execute(query, params).fetchall()
        states = self._signatures()
        found = [(states[a], states[b], int(n)) for a, b, n in counts]
        if (first, second) != (left, right):
            found = [(b, a, n) for a, b, n in found]
        return found

    def households_in(self, book: str, as_of: dt.date, known_at: dt.datetime,
                      status: str, places: Sequence[str]) -> list[tuple[str, HouseholdState]]:
        """The households a rulebook counts in (status, any of ``places`` at cell level)."""
        wanted = set(places)
        sigs = [sig for sig, state in self._signatures().items()
                if state.status == status and state.place in wanted]
        if not sigs:
            return []
        condition, params = self.db.any_of("sig", sigs)
        query = ("SELECT household_id, sig FROM view_states s WHERE " + self._at("s") + " AND "
                 + condition + " ORDER BY household_id")
        with self.db.cursor() as cur:
            rows = cur.execute(query, [*self._at_params(book, as_of, known_at), *params]).fetchall()
        return [(household_id, self._states[sig]) for household_id, sig in rows]
