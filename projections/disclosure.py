"""Figures safe to publish (``--public``): small cells suppressed, and no way back to them.

A cell is *primarily* suppressed when it counts fewer than ``min_households`` households (but
at least one). Publishing the other cells and the totals could give a suppressed value back by
subtraction (a row total minus the row's other cells), so cells are *complementarily*
suppressed until no suppressed value is determined by what is published.

What is published is a set of linear equations: every line of the table (a place's statuses
add up to the place's total, a status's places to the status's total, the totals to the grand
total) and, for tables below the governorate level, the sums by district and governorate that
the coarser tables publish. A suppressed value is recoverable exactly when it is the same in
every solution of those equations, that is, when its unit vector lies in the row space of the
equations restricted to the suppressed unknowns. :func:`determined` answers that from one
reduced row echelon form (exact rational arithmetic). While some suppressed value is
determined, the smallest published cell of one of its lines is suppressed as well; the loop
ends because each step suppresses one more cell. Households and individuals are suppressed
together (individuals would give households away).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from ledger.errors import LedgerError

DEFAULT_MIN_HOUSEHOLDS = 5
RULE = ("cells of fewer than {n} households are suppressed, and further cells (complementary "
        "suppression) so that no suppressed value can be recovered from the published totals")

Key = Hashable


@dataclass(frozen=True)
class Line:
    """Published: the cells ``coefficients`` weight add up to ``total`` (a key of a cell too)."""

    coefficients: Mapping[Key, int]


def determined(suppressed: Sequence[Key], lines: Sequence[Line]) -> set[Key]:
    """The suppressed cells whose value the published lines fix (every other cell is known)."""
    index = {key: i for i, key in enumerate(suppressed)}
    rows: list[list[Fraction]] = []
    for line in lines:
        row = [Fraction(0)] * len(suppressed)
        for key, weight in line.coefficients.items():
            if key in index:
                row[index[key]] += weight
        if any(row):
            rows.append(row)
    pivots: list[int] = []
    rank = 0
    for column in range(len(suppressed)):
        pivot = next((r for r in range(rank, len(rows)) if rows[r][column] != 0), None)
        if pivot is None:
            continue
        rows[rank], rows[pivot] = rows[pivot], rows[rank]
        lead = rows[rank][column]
        rows[rank] = [v / lead for v in rows[rank]]
        for r in range(len(rows)):
            if r != rank and rows[r][column] != 0:
                factor = rows[r][column]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[rank], strict=True)]
        pivots.append(column)
        rank += 1
    free = set(range(len(suppressed))) - set(pivots)
    fixed = set()
    for r, column in enumerate(pivots):
        if all(rows[r][f] == 0 for f in free):
            fixed.add(suppressed[column])
    return fixed


def suppress(households: Mapping[Key, int], lines: Sequence[Line], min_households: int,
             *, exempt: Iterable[Key] = (), rank: Callable[[Key], int] = lambda _: 0,
             small: Iterable[Key] | None = None) -> set[Key]:
    """The cells to suppress: those under the threshold, and enough others to protect them.

    ``households`` holds every cell of the table (totals included) with its household count;
    ``exempt`` cells are never suppressed complementarily (e.g. a total the caller must show);
    of the candidates, those of lowest ``rank`` go first (e.g. cells before totals), the smallest
    first among them. ``small`` names the cells to protect (default: every cell of fewer than
    ``min_households`` households but at least one).
    """
    keep = set(exempt)
    primary = set(small) if small is not None else {
        k for k, v in households.items() if 0 < v < min_households}
    suppressed = set(primary)
    while True:
        # A complementary cell counts at least min_households: recovering it discloses nothing,
        # but it can be the step that gives a small one away (then its lines are searched too).
        fixed = determined(sorted(suppressed, key=repr), lines) if suppressed else set()
        exposed = fixed & primary
        if not exposed:
            return suppressed
        choice = _complement(exposed, households, lines, suppressed | keep, rank)
        if choice is None:
            choice = _complement(fixed, households, lines, suppressed | keep, rank)
        if choice is None:
            raise LedgerError(f"the figure {min(exposed, key=repr)!r} cannot be protected: every "
                              "other figure it adds into is published; publish a coarser level (--by)")
        suppressed.add(choice)


def suppress_grid(households: Mapping[Any, int], min_households: int, margin: Key,
                  *, margin_cost: int = 10**9) -> set[Any]:
    """Suppression in a two-way table with margins, by rectangles (the hypercube method in 2-D).

    ``households`` maps (row, column) to counts, the margins included: the row and the column
    named ``margin`` are the totals (``margin_cost`` makes them the last resort). In such a
    table a suppressed cell can be recovered exactly when it lies on no cycle of suppressed
    cells; for each exposed
    small cell the cheapest rectangle through it (its other three corners: fewest households,
    margins last, empty cells never) is suppressed, until none is exposed.
    """
    rows = [*sorted({r for r, _ in households if r != margin}, key=repr), margin]
    columns = [*sorted({c for _, c in households if c != margin}, key=repr), margin]
    lines = [Line({**{(r, c): 1 for c in columns[:-1] if (r, c) in households}, (r, columns[-1]): -1})
             for r in rows] + \
            [Line({**{(r, c): 1 for r in rows[:-1] if (r, c) in households}, (rows[-1], c): -1})
             for c in columns]
    primary = {k for k, v in households.items() if 0 < v < min_households}
    suppressed = set(primary)

    def cost(key: tuple[Any, Any]) -> int:
        if key in suppressed:
            return 0
        value = households.get(key, 0)
        if value <= 0:
            return margin_cost * 10
        margin = key[0] == rows[-1] or key[1] == columns[-1]
        return value + (margin_cost if margin else 0)

    while True:
        exposed = determined(sorted(suppressed, key=repr), lines) & primary
        if not exposed:
            return suppressed
        target: Any = min(exposed, key=repr)
        r, c = target
        best = min(((cost((r, c2)) + cost((r2, c2)) + cost((r2, c)), r2, c2)
                    for r2 in rows if r2 != r for c2 in columns if c2 != c), key=lambda t: t[0])
        _, r2, c2 = best
        added = {(r, c2), (r2, c2), (r2, c)} - suppressed
        if not added:
            raise LedgerError(f"the figure {(r, c)!r} cannot be protected in this table")
        suppressed |= added


def _complement(exposed: set[Key], households: Mapping[Key, int], lines: Sequence[Line],
                taken: set[Key], rank: Callable[[Key], int]) -> Key | None:
    """The smallest published cell sharing a line with an exposed one (non-empty cells first)."""
    for allow_empty in (False, True):
        candidates = [
            key for line in lines if exposed & line.coefficients.keys()
            for key in line.coefficients
            if key not in taken and key in households and (allow_empty or households[key] > 0)
        ]
        if candidates:
            return min(candidates, key=lambda k: (rank(k), households.get(k, 0), repr(k)))
    return None
