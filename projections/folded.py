"""Figures of a rulebook version the views do not hold, by the pure fold.

The views hold the current version of every rulebook (docs/rulebooks.md). A figure under an
older version (a known-at before a new version was recorded, a figure published under it) is
counted here instead: every household's stored facts folded with :func:`state_at` at (D, K),
household page by household page, so memory stays flat. It answers what the views would answer
for that version, only slower; such questions are rare.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence

from ledger.store.db import Database
from ledger.store.reading import FactRecord, household_pages
from projections.fold import NOT_REGISTERED, HouseholdState, state_at
from projections.rulebooks import Rulebook

HOUSEHOLD_PAGE = 1000


def folded_households(db: Database) -> Iterator[tuple[str, list[FactRecord]]]:
    """Every household's stored facts, in household order, a page of households at a time."""
    for facts in household_pages(db, page=HOUSEHOLD_PAGE):
        yield from facts.items()


def folded_states(db: Database, books: Sequence[Rulebook], as_of: dt.date,
                  known_at: dt.datetime) -> Iterator[tuple[HouseholdState, ...]]:
    """Each household's state under each book at (D, K), in household order."""
    for _, facts in folded_households(db):
        yield tuple(state_at(facts, book, as_of, known_at) for book in books)


def folded_members(db: Database, book: Rulebook, as_of: dt.date, known_at: dt.datetime,
                   status: str, places: Sequence[str] | None = None,
                   ) -> Iterator[tuple[str, HouseholdState, list[FactRecord]]]:
    """The households counted with ``status`` (at any of ``places``, cell level; None: any
    place) at (D, K), with their facts, as ``Views.households_in``."""
    wanted = None if places is None else set(places)
    for household, facts in folded_households(db):
        state = state_at(facts, book, as_of, known_at)
        if (state.counted and state.place is not None and state.status == status
                and (wanted is None or state.place in wanted)):
            yield household, state, facts


def folded_cells(db: Database, book: Rulebook, as_of: dt.date,
                 known_at: dt.datetime) -> list[tuple[str, str, int, int]]:
    """(status, place, households, individuals) of every counted cell, as ``Views.cells``."""
    cells: dict[tuple[str, str], tuple[int, int]] = {}
    for (state,) in folded_states(db, [book], as_of, known_at):
        if state.counted and state.place is not None:
            households, individuals = cells.get((state.status, state.place), (0, 0))
            cells[(state.status, state.place)] = (households + 1, individuals + state.individuals)
    return [(status, place, h, i) for (status, place), (h, i) in cells.items()]


def folded_pairs(db: Database, left: Rulebook, right: Rulebook, as_of: dt.date,
                 known_at: dt.datetime) -> list[tuple[HouseholdState, HouseholdState, int]]:
    """Every distinct (left state, right state) with its households, as ``Views.state_pairs``."""
    counts: dict[tuple[HouseholdState, HouseholdState], int] = {}
    for left_state, right_state in folded_states(db, [left, right], as_of, known_at):
        if left_state == right_state == NOT_REGISTERED:
            continue
        counts[(left_state, right_state)] = counts.get((left_state, right_state), 0) + 1
    return [(a, b, n) for (a, b), n in counts.items()]
