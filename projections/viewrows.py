"""What the projector writes: households' rows in the columns of the view tables, and the states
they name, numbered in ``view_signatures``.

Shared by the projector in process (:mod:`projections.views`) and the rebuild's worker
processes (:mod:`projections.rebuild`), so it stays light: no catalogue, no logging.

Signatures are numbered 1, 2, 3... in the order states are first seen, under the projector's
lock (the row lock of ``view_position``), so every projector (a catch-up, a rebuild's workers)
gives a state the same number and no number twice. A projector holding the lock numbers a new
state at once and saves it in the same transaction as the rows that name it; a rebuild worker
folds without the lock, gives its new states provisional numbers (-1, -2...), then takes the
lock briefly to number them (a state another projector numbered meanwhile keeps that number) and
commits them before the rows that name them. Either way a committed row never names a
signature the table does not hold.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from psycopg import sql

from ledger.store.chain import format_time
from ledger.store.db import Cursor, Database
from ledger.store.reading import FactRecord
from projections import digest
from projections.fold import DEFAULT_FIELDS, FIELD_NAMES, Fields, HouseholdState, state_of
from projections.rows import PairRow, StateRow, household_rows
from projections.rulebooks import Rulebook

PROJECTION = "views"
END_OF_TIME_DATE = dt.date(9999, 12, 31)  # open ends, stored so every comparison is a plain range
END_OF_TIME = dt.datetime(9999, 12, 31, tzinfo=dt.UTC)
FLAG_FIELDS = tuple(
    f.name for f in dataclasses.fields(HouseholdState) if f.type in ("bool", bool)
)
# HouseholdState's fields: status, place, individuals, cause, members, then its flags in order,
# then prior_status and prior_place (load_since builds them from the columns in that order).
assert ("status", "place", "individuals", "cause", "members", *FLAG_FIELDS,
                       "prior_status", "prior_place") == FIELD_NAMES
STATE_COLUMNS = ("status", "place", "individuals", "members", "cause", "flags", "prior_status",
                 "prior_place")
TIME_COLUMNS = ("valid_from", "valid_to", "recorded_from", "recorded_to")
STATE_ROW_COLUMNS = ("rulebook", "household_id", *TIME_COLUMNS, "sig")
TIME_TYPES = ("date", "date", "timestamptz", "timestamptz")
STATE_ROW_TYPES = ("text", "text", *TIME_TYPES, "int4")
PAIR_ROW_TYPES = ("text", "text", "text", *TIME_TYPES, "int4", "int4")
PAIR_ROW_COLUMNS = ("left_rulebook", "right_rulebook", "household_id", *TIME_COLUMNS, "left_sig",
                    "right_sig")
_SELECT_SIGNATURES = "SELECT sig, " + ", ".join(STATE_COLUMNS) + " FROM view_signatures"
_INSERT_SIGNATURE = "INSERT INTO view_signatures VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)"

TableRow = tuple[Any, ...]
HouseholdRows = tuple[str, list[list[StateRow]], list[list[PairRow]]]


def pack_flags(state: HouseholdState) -> int:
    return sum(1 << i for i, name in enumerate(FLAG_FIELDS) if getattr(state, name))


def lock_projector(cur: Cursor, db: Database) -> int:
    """Take the projector's single-writer lock for this transaction; the views' position.

    PostgreSQL: the row lock of the position (every projector transaction takes it first, so
    they never interleave and never deadlock); SQLite: the write lock, which every writing
    transaction takes at BEGIN IMMEDIATE.
    """
    lock = " FOR UPDATE" if db.is_postgres else ""
    row = cur.execute("SELECT position FROM view_position WHERE projection = %s" + lock,
                      (PROJECTION,)).fetchone()
    return int(row[0]) if row else 0


class Signatures(dict[Fields, int]):
    """Every state numbered so far: its fields (:class:`HouseholdState` order) → its ``sig``.

    Looking up a state not numbered yet numbers it: the next number (``provisional`` False: the
    caller holds the projector's lock and :meth:`save` s it in the same transaction), or a
    provisional negative one that :meth:`settle` replaces.
    """

    def __init__(self, *, provisional: bool = False) -> None:
        super().__init__()
        self.provisional = provisional
        self.states: dict[int, HouseholdState] = {}
        self.count = 0  # the highest number given (numbers are 1..count)
        self.new: list[Fields] = []  # numbered here, not saved yet (in order)

    def __missing__(self, fields: Fields) -> int:
        number = -len(self.new) - 1 if self.provisional else self._number(fields)
        self[fields] = number
        self.new.append(fields)
        return number

    def _number(self, fields: Fields) -> int:
        self.count += 1
        self.states[self.count] = state_of(fields)
        return self.count

    @classmethod
    def load(cls, cur: Cursor, *, provisional: bool = False) -> Signatures:
        signatures = cls(provisional=provisional)
        signatures.load_since(cur)
        return signatures

    def load_since(self, cur: Cursor) -> None:
        """Add the states numbered in the table after ``count`` (by other projectors).

        (A projector's: it numbers new states against all of them. A reader reads only the
        states its rows name, :func:`states_named`.)"""
        for row in cur.execute(_SELECT_SIGNATURES + " WHERE sig > %s ORDER BY sig",
                               (self.count,)).fetchall():
            sig, fields = _signature_fields(row)
            self[fields] = sig
            self.states[sig] = state_of(fields)
            self.count = max(self.count, sig)

    def save(self, cur: Cursor) -> list[int]:
        """Write the states numbered since the last save (inside the locked transaction)."""
        saved = [self[fields] for fields in self.new]
        if saved:
            cur.executemany(_INSERT_SIGNATURE, [_signature_row(sig, self.states[sig])
                                                for sig in saved])
            self.new.clear()
        return saved

    def settle(self, cur: Cursor) -> tuple[dict[int, int], list[int]]:
        """Number the provisional states (inside the locked transaction): a state another
        projector numbered meanwhile takes its number, the others the next ones, saved here.
        Returns each provisional number's signature, and the signatures saved."""
        self.load_since(cur)
        final: dict[int, int] = {}
        rows = []
        for index, fields in enumerate(self.new):
            sig = self[fields]
            if sig < 0:
                sig = self[fields] = self._number(fields)
                rows.append(_signature_row(sig, self.states[sig]))
            final[-index - 1] = sig
        if rows:
            cur.executemany(_INSERT_SIGNATURE, rows)
        self.new.clear()
        return final, [row[0] for row in rows]


_FLAG_BITS = range(len(FLAG_FIELDS))


def _signature_fields(row: Sequence[Any]) -> tuple[int, Fields]:
    """A ``view_signatures`` row's number and state fields, made straight from its columns in
    ``HouseholdState``'s order."""
    sig, status, place, individuals, members, cause, stored_flags, prior_status, prior_place = row
    if status is None:
        return sig, DEFAULT_FIELDS
    bits = stored_flags or 0
    return sig, (status, place, individuals or 0, cause, members,
                 *[bool(bits >> i & 1) for i in _FLAG_BITS], prior_status, prior_place)


NAMED_PER_QUERY = 10_000  # states read by number in one statement (SQLite: one parameter each)


def states_named(cur: Cursor, db: Database, sigs: Sequence[int]) -> dict[int, HouseholdState]:
    """The states numbered ``sigs``, read from the table (a number, once saved, always names
    the same state: rows of ``view_signatures`` are never changed or removed)."""
    found: dict[int, HouseholdState] = {}
    for start in range(0, len(sigs), NAMED_PER_QUERY):
        condition, params = db.any_of("sig", list(sigs[start:start + NAMED_PER_QUERY]))
        rows = cur.execute(_SELECT_SIGNATURES + " WHERE " + condition, params).fetchall()
        found.update((sig, state_of(fields)) for sig, fields in map(_signature_fields, rows))
    return found


def count_in_digest(cur: Cursor, db: Database, sigs: Sequence[int]) -> None:
    """Add signatures just saved to the stored digest (:mod:`projections.digest`), in their
    transaction: ``view_signatures`` is shared with the live tables, so states a rebuild numbers
    count at once, even while its other tables are built aside (or if it is killed)."""
    stored = digest.load(cur)
    if stored is None or not sigs:
        return
    position, sums = stored
    condition, params = db.any_of("sig", sigs)
    added = digest.measure(cur, db, "view_signatures", where=condition, params=params)
    sums["view_signatures"] = digest.add(sums["view_signatures"], added)
    digest.save(cur, position, sums)


def _signature_row(sig: int, s: HouseholdState) -> TableRow:
    return (sig, s.status, s.place, s.individuals, s.members, s.cause, pack_flags(s),
            s.prior_status, s.prior_place)


# ---- households' rows -----------------------------------------------------------------------------
def fold_households(households: Mapping[str, Sequence[FactRecord]], books: Sequence[Rulebook],
                    numbers: Signatures) -> list[HouseholdRows]:
    """Every household's rows under ``books`` (in name order), states numbered by ``numbers``."""
    return [(household_id, *household_rows(facts, books, numbers))
            for household_id, facts in households.items()]


def table_rows(folded: Iterable[HouseholdRows], books: Sequence[Rulebook], end_date: Any,
               end_moment: Any, final: Mapping[int, int] | None = None
               ) -> tuple[list[TableRow], list[TableRow]]:
    """The ``view_states`` and ``view_pairs`` rows (PostgreSQL's types) of folded households.

    Open ends become the end-of-time sentinels; provisional numbers their ``final`` signature.
    """
    names = [book.name for book in books]
    pair_names = [(left, right) for i, left in enumerate(names) for right in names[i + 1:]]
    fix = final or {}
    states: list[TableRow] = []
    pairs: list[TableRow] = []
    for household_id, state_rows, pair_rows in folded:
        for name, book_rows in zip(names, state_rows, strict=True):
            states.extend([(name, household_id, vf, vt or end_date, rf, rt or end_moment,
                            sig if sig > 0 else fix[sig]) for vf, vt, rf, rt, sig in book_rows])
        for (left, right), overlaid in zip(pair_names, pair_rows, strict=True):
            pairs.extend([(left, right, household_id, vf, vt or end_date, rf, rt or end_moment,
                           ls if ls > 0 else fix[ls], rs if rs > 0 else fix[rs])
                          for vf, vt, rf, rt, ls, rs in overlaid])
    return states, pairs


def sqlite_rows(rows: list[TableRow], first_time: int) -> list[TableRow]:
    """Rows with their four times (from column ``first_time``) as SQLite stores them (text).
    A household's recorded times recur in many of its rows: each is formatted once."""
    d, m = first_time, first_time + 2
    moments: dict[dt.datetime, str] = {}

    def moment(value: dt.datetime) -> str:
        text = moments.get(value)
        if text is None:
            text = moments[value] = format_time(value)
        return text

    return [(*row[:d], row[d].isoformat(), row[d + 1].isoformat(), moment(row[m]),
             moment(row[m + 1]), *row[m + 2:]) for row in rows]


def table_name(table: str, suffix: str = "") -> str:
    """A view table's name (``suffix`` ``_next`` while a rebuild builds it), quoted."""
    return sql.Identifier(table + suffix).as_string()


def write_rows(cur: Cursor, db: Database, states: list[TableRow], pairs: list[TableRow],
               suffix: str = "") -> None:
    """Insert rows into ``view_states`` and ``view_pairs`` (or their ``_next`` tables)."""
    if not db.is_postgres:
        states, pairs = sqlite_rows(states, 2), sqlite_rows(pairs, 3)
    cur.copy_rows(table_name("view_states", suffix), STATE_ROW_COLUMNS, states, STATE_ROW_TYPES)
    cur.copy_rows(table_name("view_pairs", suffix), PAIR_ROW_COLUMNS, pairs, PAIR_ROW_TYPES)
