"""The materialised views: every household's bitemporal states under every rulebook, in SQL.

Tables (in the same store as the facts):

``view_states``   one row per (rulebook, household, valid-time interval, recorded-time interval)
                  as :func:`projections.fold.bitemporal_rows` defines them (the projector computes
                  every rulebook's and pair's rows of a household in one pass,
                  :func:`projections.rows.household_rows`); a query at (D, K) picks rows with
                  ``valid_from <= D < valid_to`` and ``recorded_from <= K < recorded_to``. Open
                  ends are stored as 9999-12-31 so every comparison is a plain range; a query
                  at or after that end reads the moment just before it (:func:`within_time`).
                  The state itself is a number, ``sig``, into ``view_signatures``: national figures are
                  then one GROUP BY on an integer, and the few thousand distinct states are
                  decoded in Python.
``view_pairs``    for every pair of rulebooks (names in sorted order), each household's
                  (left sig, right sig) over both times (:func:`projections.pairs.pair_rows`):
                  reconciliation is one GROUP BY, with no join at query time.
``view_signatures`` every distinct household state (status, place, individuals, flags...),
                  numbered 1, 2, 3... under the projector's lock (:mod:`projections.viewrows`);
                  a reader reads the states its rows name (:meth:`Views._states_named`).
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
them in atomically (:meth:`Views.rebuild`); on PostgreSQL a big one folds in worker processes,
one a core, partitioned by household (:mod:`projections.rebuild`). On PostgreSQL with roles,
only ``ledger_projector`` may write these tables; other logins wait for it
(:meth:`Views.wait_for_projector`).

Every batch of view writes carries its new position in the same transaction, so a crash
at any point leaves the views at a consistent position and the next catch-up resumes there:
applied exactly once. A household touched by a batch has all its rows recomputed from its facts
up to the batch's last position (delete + insert), so replaying a batch can never double-count.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import gc
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import orjson
import psycopg
from psycopg import sql

from ledger import logs
from ledger.errors import RulebookError, StoreError
from ledger.fact_kinds import SITE_FACTS
from ledger.store.db import Cursor, Database
from ledger.store.reading import (
    FactRecord,
    facts_about_subjects,
    facts_of_households,
    household_chunks,
    index_after,
    ledger_extent,
    ledger_head,
    moment,
    registered_sites,
)
from ledger.store.schema import grant_view_tables
from projections import digest
from projections.bridge import SiteInfo
from projections.fold import BitemporalRow, HouseholdState
from projections.pairs import PairRow
from projections.references import References
from projections.rulebooks import Rulebook
from projections.sites import sites_at
from projections.viewrows import (
    END_OF_TIME,
    END_OF_TIME_DATE,
    FLAG_FIELDS,
    PROJECTION,
    STATE_COLUMNS,
    Signatures,
    count_in_digest,
    fold_households,
    lock_projector,
    pack_flags,
    states_named,
    table_name,
    table_rows,
    write_rows,
)

if TYPE_CHECKING:
    from projections.rebuild import Workers

# The views' names, with the state columns' ones kept here since they moved to viewrows.
__all__ = ["FLAG_FIELDS", "STATE_COLUMNS", "Views", "ViewsBehindError", "pack_flags",
           "recreate_analyst_views", "rulebooks_key", "site_rows", "within_time"]


VIEWS_VERSION = 3  # bump when the layout of a derived table changes
DERIVED_TABLES = ("view_states", "view_pairs", "view_signatures", "view_sites", "view_position")
LAST_DAY = END_OF_TIME_DATE - dt.timedelta(days=1)
LAST_MOMENT = END_OF_TIME - dt.timedelta(microseconds=1)
BATCH = 2000
REBUILD_CHUNK = 5000  # households per rebuild transaction
REBUILD_THRESHOLD = 20_000  # facts behind from position 0 above which catch-up rebuilds in one pass
# A rebuild of at least this many facts on PostgreSQL folds in worker processes, one a core
# (projections.rebuild); below, starting them costs more than they save. SQLite stays in
# process: it takes one writer at a time, so parallel folding would queue on its write lock.
PARALLEL_FROM = 20_000
MAX_WORKERS = 4
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
        logs.warning("analyst_views_not_recreated", error=str(exc))


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
    def __init__(self, db: Database, *, wait_seconds: float = DEFAULT_WAIT_SECONDS,
                 rebuild_workers: int | None = None, parallel_from: int = PARALLEL_FROM,
                 references: References | None = None) -> None:
        """``rebuild_workers``: processes a PostgreSQL rebuild of at least ``parallel_from``
        facts folds in (default: one a core, at most MAX_WORKERS; 1: in this process);
        ``references``: the rulebook versions and site facts every figure is read with, kept
        between queries (``projections.references``; default: kept for these views)."""
        self.db = db
        self.references = references or References(db)
        self.wait_seconds = wait_seconds
        self.rebuild_workers = rebuild_workers or min(os.cpu_count() or 1, MAX_WORKERS)
        self.parallel_from = parallel_from
        self._can_project: bool | None = None
        self._reads_facts: bool | None = None
        self._parsed: dict[tuple[str, str], Rulebook] = {}
        self._numbers = Signatures()
        self._named: dict[int, HouseholdState] = {}  # states read by number (_states_named)
        self._named_layout: Any = None  # the views layout they were read from

    # ---- state signatures ----------------------------------------------------------------------
    def _load_signatures(self, cur: Cursor) -> Signatures:
        """The projector's numbered states, brought up to the table (another process may have
        numbered some). States numbered here but never saved (a projector transaction that
        failed) are dropped. (Readers read the states they meet, :meth:`_states_named`.)"""
        numbers = self._numbers
        if numbers.new or _highest_signature(cur) != numbers.count:
            numbers = self._numbers = Signatures.load(cur)
        return numbers

    # ---- parameters in each engine's types ------------------------------------------------
    def day(self, value: dt.date) -> Any:
        return value if self.db.is_postgres else value.isoformat()

    def moment(self, value: dt.datetime) -> Any:
        return moment(self.db, value)

    # ---- schema -------------------------------------------------------------------------------
    def create_tables(self) -> list[str]:
        """Create the view tables, or replace them when their layout changed (``ledger init``).

        Views are derived data: when ``VIEWS_VERSION`` differs from the stored one, the old
        tables are dropped and the next catch-up rebuilds them from the ledger. User rulebooks
        (``view_rulebooks``) are kept.
        """
        with self.db.transaction() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS view_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            row = _layout_version(cur)
            if row is None or row[0] != str(VIEWS_VERSION):
                for table in DERIVED_TABLES:
                    self._drop(cur, table)
                cur.execute("DELETE FROM view_meta WHERE key IN ('version', 'generation', %s)",
                            (digest.META_KEY,))
                cur.execute("INSERT INTO view_meta VALUES ('version', %s)", (str(VIEWS_VERSION),))
                self._numbers = Signatures()
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

    def _drop(self, cur: Cursor, table: str, suffix: str = "") -> None:
        # PostgreSQL refuses to drop a table that SQL views depend on; they are re-created by
        # recreate_analyst_views after a swap. SQLite drops the table and leaves its views.
        cascade = " CASCADE" if self.db.is_postgres else ""
        cur.execute(f"DROP TABLE IF EXISTS {table_name(table, suffix)}{cascade}")

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
        cur.execute(f"CREATE TABLE IF NOT EXISTS {table_name('view_states', suffix)} ("
                    f"rulebook TEXT NOT NULL, household_id TEXT NOT NULL, {times}, "
                    "sig INTEGER NOT NULL)")
        cur.execute(f"CREATE TABLE IF NOT EXISTS {table_name('view_pairs', suffix)} ("
                    f"left_rulebook TEXT NOT NULL, right_rulebook TEXT NOT NULL, "
                    f"household_id TEXT NOT NULL, {times}, left_sig INTEGER NOT NULL, "
                    "right_sig INTEGER NOT NULL)")
        cur.execute(f"CREATE TABLE IF NOT EXISTS {table_name('view_sites', suffix)} ("
                    "site_id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, "
                    "location_pcode TEXT NOT NULL, authority_adm1 TEXT, closed INTEGER NOT NULL)")

    def _create_indexes(self, cur: Cursor, suffix: str, generation: int) -> None:
        for statements in self._indexes(suffix, generation).values():
            for statement in statements:
                cur.execute(statement)

    @staticmethod
    def _indexes(suffix: str, generation: int) -> dict[str, list[str]]:
        """The indexes of each table, as statements. Index names carry the rebuild generation:
        an index keeps its name when its table is renamed, and SQLite cannot rename an index."""
        tag = f"_{generation}" if generation else ""

        def index(name: str, table: str, columns: str) -> str:
            return sql.SQL("CREATE INDEX IF NOT EXISTS {} ON {} ({})").format(
                sql.Identifier(name + tag), sql.Identifier(table + suffix),
                sql.SQL(columns)).as_string()

        # (sig, rulebook), not (rulebook, sig): the queries that use it test both for equality,
        # and with a few rulebooks sorting by rulebook first is mostly ties (twice the build).
        return {"view_states": [index("view_states_household_idx", "view_states", "household_id"),
                                index("view_states_sig_idx", "view_states", "sig, rulebook")],
                "view_pairs": [index("view_pairs_household_idx", "view_pairs", "household_id")]}

    def _generation(self, cur: Cursor) -> int:
        row = cur.execute("SELECT value FROM view_meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else 0

    # ---- rulebooks ------------------------------------------------------------------------------
    def rulebooks(self) -> dict[str, Rulebook]:
        """Every rulebook in its current version: the versions the views hold."""
        return {name: v.book for name, v in self.references.versions().current().items()}

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
        """The position, locked for this transaction: the projector's single-writer lock
        (:func:`projections.viewrows.lock_projector`); the numbered states brought up to date."""
        position = lock_projector(cur, self.db)
        self._load_signatures(cur)
        return position

    @contextmanager
    def _projecting(self) -> Iterator[tuple[Cursor, int]]:
        """A projector transaction that numbers states: (its cursor, the locked position).
        States numbered in a transaction that fails are forgotten with it."""
        try:
            with self.db.transaction() as cur:
                yield cur, self._position(cur)
        except BaseException:
            self._numbers = Signatures()
            raise

    def position(self) -> int:
        with self.db.cursor() as cur:
            row = cur.execute("SELECT position FROM view_position WHERE projection = %s",
                              (PROJECTION,)).fetchone()
            return int(row[0]) if row else 0

    def ledger_head(self) -> int:
        if self.db.is_postgres and self._reads_facts is None:
            self._reads_facts = self._has_privilege("ledger_facts", "SELECT")
        with self.db.cursor() as cur:
            return ledger_head(cur, self.db, reads_facts=self._reads_facts is not False)

    def catch_up(self, progress: ProgressFn | None = None, *, batch: int = BATCH,
                 max_batches: int | None = None) -> int:
        """Apply every fact recorded after the views' position; returns how many were applied.

        A login that may not write the views (ledger_writer, ledger_reader) waits for the
        projector to reach the ledger's head instead, and applies nothing itself.
        """
        if not self.can_project():
            self.wait_for_projector()
            return 0
        position, head = self.position(), self.ledger_head()
        if max_batches is None and position == 0 and head > REBUILD_THRESHOLD:
            return self.rebuild(progress)  # a first projection of a big ledger: one pass is faster
        if self._rulebooks_changed(list(self.rulebooks().values())):
            return self.rebuild(progress)  # a rulebook version recorded since: every household
        if position >= head:
            return 0  # nothing recorded since: no lock taken, no state decoded (every read command)
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
            logs.info("projection_caught_up", facts=applied, position=self.position())
        return applied

    def _apply_batch(self, batch: int) -> int:
        with self._projecting() as (cur, position):
            rows = index_after(cur, position, batch)
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
        ordered = sorted(books, key=lambda b: b.name)
        with collector_paused():
            folded = fold_households(facts, ordered, self._numbers)
            states, pairs = table_rows(folded, ordered, END_OF_TIME_DATE, END_OF_TIME)
        new_sigs = self._numbers.save(cur)
        write_rows(cur, self.db, states, pairs, suffix)
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
        facts = facts_about_subjects(cur, self.db, site_ids, end)
        sites, params = self.db.any_of("site_id", site_ids)
        table = table_name("view_sites", suffix)
        cur.execute(f"DELETE FROM {table} WHERE " + sites, params)
        for row in site_rows(facts, site_ids):
            cur.execute(f"INSERT INTO {table} VALUES (%s, %s, %s, %s, %s, %s)", row)

    # ---- the rebuild --------------------------------------------------------------------------------
    def rebuild(self, progress: ProgressFn | None = None) -> int:
        """Project the whole ledger again into new tables and swap them in; returns the facts
        applied.

        One pass over the ledger ordered by household (each household folded once) into
        ``view_states_next``, ``view_pairs_next`` and ``view_sites_next``, committed in chunks
        (on PostgreSQL, from :attr:`parallel_from` facts on, by worker processes that share out
        the households: :mod:`projections.rebuild`); then the new tables are indexed, and one
        transaction, under the projector's lock, drops the live tables, renames the new ones in
        their place and sets the position to the head the pass read up to. Readers see the old
        views until that commit and the new ones after it, never a half-built state.
        Catch-ups running meanwhile (``record``, ``views follow``) keep the old tables current;
        what they applied past the rebuild's head is applied again after the swap (a household's
        rows are always recomputed whole, so re-applying is harmless). Signatures are shared
        with the live tables, numbered under the projector's lock (:mod:`projections.viewrows`).
        One rebuild at a time: a second waits for the first (a PostgreSQL advisory lock; on
        SQLite an exclusive ``flock`` of the store file). Killed midway, a rebuild leaves the
        live views as they were (the ``_next`` tables are dropped by the next rebuild, once the
        killed one's workers have stopped).
        """
        self.require_projector("`ledger views rebuild`")
        with self._rebuild_lock():
            with self._workers() as workers:
                head, total, books = self._start_rebuild()
                logs.info("views_rebuild_started", head=head,
                          workers=len(workers.processes) if workers else 1)
                applied = self._build(head, total, books, workers, progress)
            sums = self._index_next()
            self._swap_in(head, books, sums)
        recreate_analyst_views(self.db)
        if progress:
            progress(total - applied)
        return total + self.catch_up(progress)

    @contextmanager
    def _workers(self) -> Iterator[Workers | None]:
        """The rebuild's worker processes (None: it folds in this process), started before
        it reads anything: they import meanwhile."""
        if (not self.db.is_postgres or self.rebuild_workers < 2
                or self.ledger_head() < self.parallel_from):  # positions: about the facts
            yield None
            return
        from projections.rebuild import Workers  # noqa: PLC0415  (multiprocessing: rebuilds only)

        with Workers(self.rebuild_workers) as workers:
            yield workers

    @contextmanager
    def _rebuild_lock(self) -> Iterator[None]:
        if self.db.is_postgres:
            from projections.rebuild import advisory_key  # noqa: PLC0415  (rebuilds only)

            conn = self.db.connection()
            key = advisory_key(self.db, "views rebuild")
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
        if self.db.is_postgres:
            from projections.rebuild import wait_for_old_workers  # noqa: PLC0415  (rebuilds only)

            wait_for_old_workers(self.db)  # a killed rebuild's workers write its _next tables
        with self.db.transaction() as cur:
            self._position(cur)
            for table in SWAPPED_TABLES:
                self._drop(cur, table, NEXT)
            self._create_derived(cur, NEXT)
            head, total = ledger_extent(cur)
            books = list(self._books(cur).values())
        return head, total, books

    def _build(self, head: int, total: int, books: Sequence[Rulebook], workers: Workers | None,
               progress: ProgressFn | None) -> int:
        """Fill the ``_next`` tables with every household's rows; returns the facts read."""
        ordered = sorted(books, key=lambda b: b.name)
        if workers is not None:
            return workers.build(self.db, head, total, ordered, chunk=REBUILD_CHUNK, suffix=NEXT,
                                 progress=progress)
        applied = 0
        with household_chunks(self.db, head, REBUILD_CHUNK) as chunks:
            for chunk in chunks:
                applied += self._build_households(chunk, ordered, progress)
        return applied

    def _build_households(self, facts: dict[str, list[FactRecord]], books: Sequence[Rulebook],
                          progress: ProgressFn | None) -> int:
        if not facts:
            return 0
        with self._projecting() as (cur, _):  # signatures are numbered under the lock
            count_in_digest(cur, self.db, self._write_states(cur, facts, books, NEXT))
        count = sum(len(f) for f in facts.values())
        if progress:
            progress(count)
        return count

    def _index_next(self) -> dict[str, digest.Sums]:
        """Index the new tables. PostgreSQL: also analyse them (fresh statistics, or the planner
        would guess one row and sort instead of hashing) and take their digest sums, each table
        on a connection of its own, at once. Returns the sums taken."""
        if not self.db.is_postgres:
            with self.db.transaction() as cur:
                self._create_indexes(cur, NEXT, self._generation(cur) + 1)
            return {}
        with self.db.cursor() as cur:
            statements = self._indexes(NEXT, self._generation(cur) + 1)
        sums: dict[str, digest.Sums] = {}
        failures: list[BaseException] = []

        def finish(table: str) -> None:
            try:
                with Database(self.db.settings) as db, db.cursor() as cur:
                    for statement in statements[table]:
                        cur.execute(statement)
                    cur.execute(f"ANALYZE {table_name(table, NEXT)}")
                    sums[table] = digest.measure(cur, db, table, suffix=NEXT)
            except BaseException as exc:  # raised again by the caller's thread
                failures.append(exc)

        threads = [threading.Thread(target=finish, args=(table,)) for table in statements]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if failures:
            raise failures[0]
        return sums

    def _swap_in(self, head: int, books: Sequence[Rulebook], sums: Mapping[str, digest.Sums]) -> None:
        """``sums``: the digest sums of new tables already measured (the others are measured
        here)."""
        with self.db.transaction() as cur:
            self._position(cur)
            generation = self._generation(cur) + 1
            sites = registered_sites(cur, head)
            if sites:
                self._refresh_sites(cur, sites, head, NEXT)
            if not self.db.is_postgres:
                # Rename without rewriting (or checking) SQL views that name the old tables.
                cur.execute("PRAGMA legacy_alter_table = ON")
            for table in SWAPPED_TABLES:
                self._drop(cur, table)
                cur.execute(f"ALTER TABLE {table_name(table, NEXT)} RENAME TO {table_name(table)}")
            if not self.db.is_postgres:
                cur.execute("PRAGMA legacy_alter_table = OFF")
            cur.execute("UPDATE view_position SET position = %s WHERE projection = %s",
                        (head, PROJECTION))
            cur.execute("DELETE FROM view_meta WHERE key = 'generation'")
            cur.execute("INSERT INTO view_meta VALUES ('generation', %s)", (str(generation),))
            digest.save(cur, head, {table: list(sums[table]) if table in sums
                                    else digest.measure(cur, self.db, table)
                                    for table in digest.DIGESTED})
            self._remember_rulebooks(cur, books)
            if self.db.is_postgres:
                grant_view_tables(cur.raw, self.db.settings.schema, SWAPPED_TABLES)
        logs.info("views_swapped_in", position=head, generation=generation)

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
        return sites_at(self.references.site_facts(), as_of, known_at)

    def _at(self, alias: str) -> str:
        return (f"{alias}.rulebook = %s AND {alias}.valid_from <= %s AND {alias}.valid_to > %s "
                f"AND {alias}.recorded_from <= %s AND {alias}.recorded_to > %s")

    def _at_params(self, book: str, as_of: dt.date, known_at: dt.datetime) -> list[Any]:
        as_of, known_at = within_time(as_of, known_at)
        d, k = self.day(as_of), self.moment(known_at)
        return [book, d, d, k, k]

    def cells(self, book: str, as_of: dt.date, known_at: dt.datetime,
              places: Sequence[str] | None = None) -> list[tuple[str, str, int, int]]:
        """(status, place, households, individuals) of every counted cell of one rulebook.

        With ``places`` (sites or p-codes at cell level), only those cells: an index look-up of
        the few states placed there rather than a scan of the whole country, and only those
        states read (:meth:`_placed`).
        """
        if places is not None:
            sql_text, params = self._placed(book, as_of, known_at, None, places)
        else:
            sql_text, params = self._at("s"), self._at_params(book, as_of, known_at)
        with self.db.cursor() as cur:
            counts = [(int(sig), int(n)) for sig, n in cur.execute(
                "SELECT s.sig, count(*) FROM view_states s WHERE " + sql_text + " GROUP BY s.sig",
                params).fetchall()]
            states = self._states_named(cur, [sig for sig, _ in counts])
        cells: dict[tuple[str, str], tuple[int, int]] = {}
        for sig, count in counts:
            state = states[sig]
            if state.counted and state.place is not None:
                households, individuals = cells.get((state.status, state.place), (0, 0))
                cells[(state.status, state.place)] = (households + count,
                                                      individuals + count * state.individuals)
        return [(status, place, h, i) for (status, place), (h, i) in cells.items()]

    def _placed(self, book: str, as_of: dt.date, known_at: dt.datetime, status: str | None,
                places: Sequence[str]) -> tuple[str, list[Any]]:
        """The condition (on ``view_states s``) and parameters of the rows of one rulebook at
        (D, K) whose state is placed at one of ``places`` (with ``status``, when given).

        The database picks those states from ``view_signatures`` in the same statement, so a
        state numbered a moment ago is in it, and the caller reads only the states it met
        (:meth:`_states_named`): a command about one camp does not load the ten thousand
        states of the whole country first (156 ms under cProfile of a one-camp `views show`
        process at 300,000 households)."""
        place_is, places_params = self.db.any_of("place", list(places) or [""])
        picked = "SELECT sig FROM view_signatures WHERE " + place_is
        params: list[Any] = [*self._at_params(book, as_of, known_at), *places_params]
        if status is not None:
            picked += " AND status = %s"
            params.append(status)
        return self._at("s") + " AND s.sig IN (" + picked + ")", params

    def _states_named(self, cur: Cursor, sigs: Sequence[int]) -> dict[int, HouseholdState]:
        """The states of ``sigs``: those read before, the others read now (and kept).

        Every query of the view tables reads the states it met this way, after its rows: a
        projector commits the states it numbers before or with the rows that name them, so a
        state numbered a moment ago is read like any other, and a process that only reads never
        loads the states nobody is counted in at (D, K).

        A number names one state for as long as ``view_signatures`` exists. Only ``ledger
        init`` of a new views layout replaces that table, and it writes the layout's version
        into ``view_meta``: when that differs from the one the kept states were read under
        (one look-up by key per query), they are forgotten.
        """
        layout = _layout_version(cur)
        if layout != self._named_layout:
            self._named, self._named_layout = {}, layout
        known = self._named
        missing = [sig for sig in sigs if sig not in known]
        if missing:
            known.update(states_named(cur, self.db, missing))
            if any(sig not in known for sig in missing):
                raise StoreError("the view tables name states that view_signatures does not "
                                 "hold: run `ledger views rebuild`")
        return {sig: known[sig] for sig in sigs}

    def state_pairs(self, left: str, right: str, as_of: dt.date,
                    known_at: dt.datetime) -> list[tuple[HouseholdState, HouseholdState, int]]:
        """Every distinct (left state, right state) with its number of households.

        Households in the default state on both sides are left out (they differ nowhere).
        """
        as_of, known_at = within_time(as_of, known_at)
        d, k = self.day(as_of), self.moment(known_at)
        first, second = sorted((left, right))
        if first != second:
            sql_text = ("SELECT left_sig, right_sig, count(*) FROM view_pairs WHERE "
                        "left_rulebook = %s AND right_rulebook = %s AND valid_from <= %s "
                        "AND valid_to > %s AND recorded_from <= %s AND recorded_to > %s "
                        "GROUP BY left_sig, right_sig")
            params: list[Any] = [first, second, d, d, k, k]
        else:
            sql_text = ("SELECT sig, sig, count(*) FROM view_states s WHERE " + self._at("s")
                        + " GROUP BY sig")
            params = self._at_params(left, as_of, known_at)

        with self.db.cursor() as cur:
            counts = cur.execute(sql_text, params).fetchall()
            states = self._states_named(cur, sorted({sig for a, b, _ in counts for sig in (a, b)}))
        found = [(states[a], states[b], int(n)) for a, b, n in counts]
        if (first, second) != (left, right):
            found = [(b, a, n) for a, b, n in found]
        return found

    def households_in(self, book: str, as_of: dt.date, known_at: dt.datetime,
                      status: str, places: Sequence[str]) -> list[tuple[str, HouseholdState]]:
        """The households a rulebook counts in (status, any of ``places`` at cell level)."""
        sql_text, params = self._placed(book, as_of, known_at, status, places)
        with self.db.cursor() as cur:
            rows = cur.execute("SELECT s.household_id, s.sig FROM view_states s WHERE " + sql_text
                               + " ORDER BY s.household_id", params).fetchall()
            states = self._states_named(cur, sorted({sig for _, sig in rows}))
        return [(household_id, states[sig]) for household_id, sig in rows]


def _layout_version(cur: Cursor) -> Any:
    """The row of ``view_meta`` naming the views layout the tables were made for (None: none)."""
    return cur.execute("SELECT value FROM view_meta WHERE key = 'version'").fetchone()


def _highest_signature(cur: Cursor) -> int:
    """The last state numbered (numbers are dense: also how many there are), from the index."""
    row = cur.execute("SELECT max(sig) FROM view_signatures").fetchone()
    return int(row[0]) if row and row[0] is not None else 0


@contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while the fold allocates its many small objects (none of
    them in cycles: reference counting frees them); as it was afterwards."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
