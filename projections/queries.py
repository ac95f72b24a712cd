"""The questions people ask of the views: a rulebook's figures, and the bridge between two.

Both answer from the materialised views at any as-of date D and known-at time K without
replaying the ledger, and both group with :func:`projections.bridge.place_at`, the same
function the pure reference uses, so a figure means the same thing everywhere.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from projections.bridge import (
    REASON_NAMES,
    Bridge,
    BridgeRow,
    Figure,
    Level,
    SiteInfo,
    accumulate,
    place_at,
)
from projections.fold import COUNTED_STATUSES, HouseholdState
from projections.folded import folded_cells, folded_pairs
from projections.rulebooks import Rulebook
from projections.views import Views


@dataclass(frozen=True)
class ViewRow:
    status: str
    place: str
    households: int
    individuals: int


@dataclass(frozen=True)
class ViewResult:
    rulebook: str
    as_of: dt.date
    known_at: dt.datetime
    level: Level
    rows: tuple[ViewRow, ...]
    version: int = 1  # the rulebook version counted with (docs/rulebooks.md)

    @property
    def total(self) -> Figure:
        return Figure(sum(r.households for r in self.rows), sum(r.individuals for r in self.rows))


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def group_cells(cells: Iterable[tuple[str, str, int, int]], book: Rulebook, level: Level,
                sites: Mapping[str, SiteInfo]) -> tuple[ViewRow, ...]:
    grouped: dict[tuple[str, str], Figure] = {}
    for status, place, households, individuals in cells:
        state = HouseholdState(status=status, place=place)  # type: ignore[arg-type]
        where = place_at(state, book, level, sites)
        assert where is not None
        grouped[(status, where)] = grouped.get((status, where), Figure()) + Figure(households,
                                                                                  individuals)
    order: dict[str, int] = {status: i for i, status in enumerate(COUNTED_STATUSES)}
    return tuple(
        ViewRow(status, place, fig.households, fig.individuals)
        for (status, place), fig in sorted(grouped.items(), key=lambda kv: (order[kv[0][0]], kv[0][1]))
    )


def show(views: Views, rulebook: str, *, as_of: dt.date | None = None,
         known_at: dt.datetime | None = None, level: Level = "cell",
         places: Sequence[str] | None = None) -> ViewResult:
    """One rulebook's figures, under its version known at K (docs/rulebooks.md); ``places``
    keeps only those places (at the chosen level)."""
    as_of = as_of or now().date()
    known_at = known_at or now()
    versions = views.references.versions()
    used = versions.at(rulebook, known_at)
    book = used.book
    if versions.is_current(used):
        cells = views.cells(book.name, as_of, known_at, places if level == "cell" else None)
    else:
        cells = folded_cells(views.db, book, as_of, known_at)
    rows = group_cells(cells, book, level, views.sites_at(as_of, known_at))
    if places is not None:
        rows = tuple(r for r in rows if r.place in set(places))
    return ViewResult(book.name, as_of, known_at, level, rows, used.version)


def reconcile(views: Views, left: str = "official", right: str = "operational", *,
              as_of: dt.date | None = None, known_at: dt.datetime | None = None,
              level: Level = "cell") -> Bridge:
    """The bridge between two rulebooks, each under its version known at K."""
    as_of = as_of or now().date()
    known_at = known_at or now()
    versions = views.references.versions()
    used = versions.at(left, known_at), versions.at(right, known_at)
    left_book, right_book = used[0].book, used[1].book
    if all(versions.is_current(v) for v in used):
        pairs = views.state_pairs(left_book.name, right_book.name, as_of, known_at)
    else:
        pairs = folded_pairs(views.db, left_book, right_book, as_of, known_at)
    return accumulate(pairs, left_book, right_book, as_of, known_at, level,
                      views.sites_at(as_of, known_at))


def totals(rows: Iterable[BridgeRow]) -> tuple[Figure, Figure, dict[str, Figure]]:
    left, right = Figure(), Figure()
    reasons: dict[str, Figure] = {}
    for row in rows:
        left += row.left
        right += row.right
        for reason, fig in row.reasons.items():
            reasons[reason] = reasons.get(reason, Figure()) + fig
    ordered = {name: reasons[name] for name in REASON_NAMES if name in reasons}
    return left, right, ordered
