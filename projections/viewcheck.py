"""``ledger verify --views``: recompute every view row from the log and compare, cell by cell.

The views are derived data, so anyone able to write their tables could make a figure say
anything while the hash chain stays intact. This check folds every household's facts again (up
to the views' position, a page of households at a time, so memory stays bounded) through every
rulebook, and compares each expected row of ``view_states``, ``view_pairs`` and ``view_sites``
with the stored one, by value: a stored row's signature number is decoded through the stored
``view_signatures``, so an edited signature shows in every row that uses it. A row is keyed by
(rulebook(s), household, valid from, recorded from); a difference names the table, the key, the
column, the stored value and the expected one. Rows that should not exist (a household with no
fact, a duplicated row) and rows that are missing are differences of the column ``row``.

Plain ``ledger verify`` makes the cheap check instead (:mod:`projections.digest`).

One of the view-table modules, which alone hold the view tables' SQL (docs/sql.md, "Where the
SQL lives"); the facts it compares with come from :mod:`ledger.store.reading`, except the
pages of households, one question about both the fact index and the view tables.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from psycopg.sql import SQL, Identifier

from ledger.fact_kinds import SITE_FACTS
from ledger.store.db import Database
from ledger.store.reading import facts_about_no_household, facts_of_households
from projections import digest
from projections.fold import HouseholdState, bitemporal_rows
from projections.pairs import pair_rows
from projections.rulebooks import Rulebook
from projections.viewrows import Signatures
from projections.views import FLAG_FIELDS, Views, site_rows

HOUSEHOLD_PAGE = 500
STATE_FIELDS = ("status", "place", "individuals", "members", "cause", *FLAG_FIELDS, "prior_status",
                "prior_place")
SITE_COLUMNS = ("name", "kind", "location_pcode", "authority_adm1", "closed")
Key = tuple[Any, ...]


@dataclass(frozen=True, slots=True)
class CellDifference:
    table: str
    key: dict[str, Any]
    column: str
    stored: Any
    expected: Any

    def as_dict(self) -> dict[str, Any]:
        return {"table": self.table, "key": self.key, "column": self.column,
                "stored": self.stored, "expected": self.expected}


@dataclass(slots=True)
class ViewCheck:
    position: int = 0
    households: int = 0
    rows: int = 0
    differences: list[CellDifference] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "position": self.position, "households": self.households,
                "rows_checked": self.rows, "differences": len(self.differences),
                "cells": [d.as_dict() for d in self.differences]}


def _state_values(state: HouseholdState | None) -> dict[str, Any]:
    if state is None:
        return dict.fromkeys(STATE_FIELDS, "(no such signature)")
    return {name: getattr(state, name) for name in STATE_FIELDS}


class _Checker:
    def __init__(self, views: Views, books: Sequence[Rulebook]) -> None:
        self.views = views
        self.db = views.db
        self.books = sorted(books, key=lambda b: b.name)
        self.result = ViewCheck(position=views.position())
        with self.db.cursor() as cur:
            # every stored state by its number, decoded from its columns by value
            self.signatures = Signatures.load(cur).states

    def differ(self, table: str, names: Sequence[str], key: Key, column: str, stored: Any,
               expected: Any) -> None:
        self.result.differences.append(CellDifference(table, dict(zip(names, key, strict=True)),
                                                      column, stored, expected))

    def compare(self, table: str, names: Sequence[str], stored: dict[Key, list[dict[str, Any]]],
                expected: dict[Key, dict[str, Any]]) -> None:
        """Rows by key: {column: value}; a key stored twice is a row too many."""
        for key in sorted(set(stored) | set(expected), key=repr):
            rows, want = stored.get(key, []), expected.get(key)
            self.result.rows += 1
            if want is None:
                for _ in rows:
                    self.differ(table, names, key, "row", "present", "absent")
                continue
            if not rows:
                self.differ(table, names, key, "row", "absent", "present")
                continue
            for column, value in want.items():
                if rows[0].get(column) != value:
                    self.differ(table, names, key, column, rows[0].get(column), value)
            for _ in rows[1:]:
                self.differ(table, names, key, "row", "present twice", "present once")

    # ---- households ---------------------------------------------------------------------------
    def households(self, page: Sequence[str]) -> None:
        with self.db.cursor() as cur:
            facts = facts_of_households(cur, self.db, page, self.result.position)
            condition, params = self.db.any_of("household_id", page)
            states = cur.execute(SQL(
                "SELECT rulebook, household_id, valid_from, recorded_from, valid_to, recorded_to, "
                "sig FROM view_states WHERE {}").format(SQL(condition)), params).fetchall()
            pairs = cur.execute(SQL(
                "SELECT left_rulebook, right_rulebook, household_id, valid_from, recorded_from, "
                "valid_to, recorded_to, left_sig, right_sig FROM view_pairs WHERE {}"
            ).format(SQL(condition)), params).fetchall()
        self.result.households += len(page)
        want_states: dict[Key, dict[str, Any]] = {}
        want_pairs: dict[Key, dict[str, Any]] = {}
        for household_id, household_facts in facts.items():
            rows = {b.name: bitemporal_rows(household_facts, b) for b in self.books} if (
                household_facts) else {}
            for name, book_rows in rows.items():
                for row in book_rows:
                    vf, vt, rf, rt = self.views._times(row)
                    want_states[(name, household_id, vf, rf)] = {
                        "valid_to": vt, "recorded_to": rt, **_state_values(row.state)}
            for i, left in enumerate(self.books):
                for right in self.books[i + 1:]:
                    if left.name not in rows:
                        continue
                    for p in pair_rows(rows[left.name], rows[right.name]):
                        vf, vt, rf, rt = self.views._times(p)
                        want_pairs[(left.name, right.name, household_id, vf, rf)] = {
                            "valid_to": vt, "recorded_to": rt,
                            **{f"left_{k}": v for k, v in _state_values(p.left).items()},
                            **{f"right_{k}": v for k, v in _state_values(p.right).items()}}
        got_states: dict[Key, list[dict[str, Any]]] = {}
        for book, hid, vf, rf, vt, rt, sig in states:
            got_states.setdefault((book, hid, vf, rf), []).append(
                {"valid_to": vt, "recorded_to": rt, **_state_values(self.signatures.get(sig))})
        got_pairs: dict[Key, list[dict[str, Any]]] = {}
        for left, right, hid, vf, rf, vt, rt, lsig, rsig in pairs:
            got_pairs.setdefault((left, right, hid, vf, rf), []).append({
                "valid_to": vt, "recorded_to": rt,
                **{f"left_{k}": v for k, v in _state_values(self.signatures.get(lsig)).items()},
                **{f"right_{k}": v for k, v in _state_values(self.signatures.get(rsig)).items()}})
        self.compare("view_states", ("rulebook", "household_id", "valid_from", "recorded_from"),
                     got_states, want_states)
        self.compare("view_pairs", ("left_rulebook", "right_rulebook", "household_id",
                                    "valid_from", "recorded_from"), got_pairs, want_pairs)

    def sites(self) -> None:
        with self.db.cursor() as cur:
            facts = facts_about_no_household(cur, self.db, up_to=self.result.position)
            stored = cur.execute(SQL("SELECT site_id, {} FROM view_sites").format(
                SQL(", ").join(Identifier(c) for c in SITE_COLUMNS))).fetchall()
        site_ids = sorted({f.subject_id for f in facts if f.type in SITE_FACTS})
        want = {(r[0],): dict(zip(SITE_COLUMNS, r[1:], strict=True)) for r in site_rows(facts, site_ids)}
        got: dict[Key, list[dict[str, Any]]] = {}
        for row in stored:
            got.setdefault((row[0],), []).append(dict(zip(SITE_COLUMNS, row[1:], strict=True)))
        self.compare("view_sites", ("site_id",), got, want)


def _household_pages(db: Database, position: int) -> Iterator[list[str]]:
    """Every household with a fact up to ``position`` or a row in the views, a page at a time."""
    after = ""
    query = ("SELECT household_id FROM (SELECT household_id FROM ledger_facts WHERE "
             "household_id IS NOT NULL AND notification_id <= %s UNION SELECT household_id FROM "
             "view_states UNION SELECT household_id FROM view_pairs) h WHERE household_id > %s "
             "ORDER BY household_id LIMIT %s")
    while True:
        with db.cursor() as cur:
            page = [r[0] for r in cur.execute(query, (position, after, HOUSEHOLD_PAGE)).fetchall()]
        if not page:
            return
        yield page
        after = page[-1]


def check_views(views: Views) -> ViewCheck:
    """Every view cell that differs from what the log says (run while no projector writes)."""
    checker = _Checker(views, list(views.rulebooks().values()))
    for page in _household_pages(views.db, checker.result.position):
        checker.households(page)
    checker.sites()
    return checker.result


def views_digest_status(db: Database) -> dict[str, Any]:
    """The cheap check of plain ``verify``: do the view tables still match their digest?"""
    for _attempt in range(2):  # a projector may commit between the two reads: look again
        with db.transaction(write=False) as cur:
            if db.is_postgres:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            position, changed = digest.differing_tables(cur, db)
        if not changed:
            break
    return {"ok": not changed, "digest_position": position, "tables_changed": changed}

