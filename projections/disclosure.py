"""Figures safe to publish (issue 13): small cells suppressed, with complementary suppression.

A published table is cells (status, place) with their row totals (per status), column totals
(per place) and grand total. A cell, row total, column total or grand total of fewer than
``min_households`` households (but more than none) is suppressed. Then, as long as any
suppressed value could be computed exactly from what is published (the linear system of the
published cells and totals determines it), one more value is suppressed: the smallest published
cell in the same row or column, else the totals that give it away. The individuals of a
suppressed cell are suppressed with it, so both tables have the same pattern.

Zero cells are not sensitive and are not suppressed (an absent cell is a published zero).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

Cell = tuple[str, str]  # (status, place)

DEFAULT_MIN_HOUSEHOLDS = 5
# Row reduction modulo a large prime: the system's coefficients are 0 and ±1, so its rank over
# the rationals is its rank modulo this prime (exact integers, no fractions to grow).
_PRIME = 2**61 - 1


def rule(min_households: int) -> str:
    return (f"public figures: every cell and total of fewer than {min_households} households is "
            "suppressed (null), with complementary suppression so that no suppressed value can "
            "be computed from the published cells, status totals, place totals and grand total")


@dataclass(frozen=True)
class Suppression:
    cells: frozenset[Cell]
    statuses: frozenset[str]  # suppressed row totals
    places: frozenset[str]  # suppressed column totals
    total: bool


# The unknowns of the linear system: ("cell", (status, place)), ("status", s), ("place", p), ("total", "")
Unknown = tuple[str, object]


def _equations(cells: Mapping[Cell, int], hidden: Suppression) -> tuple[list[Unknown], list[dict[int, int]]]:
    unknowns: list[Unknown] = [("cell", c) for c in sorted(hidden.cells)]
    unknowns += [("status", s) for s in sorted(hidden.statuses)]
    unknowns += [("place", p) for p in sorted(hidden.places)]
    if hidden.total:
        unknowns.append(("total", ""))
    index = {u: i for i, u in enumerate(unknowns)}
    statuses = sorted({s for s, _ in cells})
    places = sorted({p for _, p in cells})
    rows: list[dict[int, int]] = []

    def add(terms: Sequence[tuple[Unknown, int]]) -> None:
        row = {index[u]: k for u, k in terms if u in index}
        if row:
            rows.append(row)

    for status in statuses:
        add([(("cell", (status, p)), 1) for p in places if (status, p) in cells] + [(("status", status), -1)])
    for place in places:
        add([(("cell", (s, place)), 1) for s in statuses if (s, place) in cells] + [(("place", place), -1)])
    add([(("status", s), 1) for s in statuses] + [(("total", ""), -1)])
    add([(("place", p), 1) for p in places] + [(("total", ""), -1)])
    return unknowns, rows


def determined(cells: Mapping[Cell, int], hidden: Suppression) -> set[Unknown]:
    """The suppressed values the published ones determine exactly (by row reduction)."""
    unknowns, equations = _equations(cells, hidden)
    width = len(unknowns)
    matrix = [[row.get(j, 0) % _PRIME for j in range(width)] for row in equations]
    pivots: list[int] = []
    rank = 0
    for column in range(width):
        pivot = next((r for r in range(rank, len(matrix)) if matrix[r][column] != 0), None)
        if pivot is None:
            continue
        matrix[rank], matrix[pivot] = matrix[pivot], matrix[rank]
        inverse = pow(matrix[rank][column], -1, _PRIME)
        matrix[rank] = [v * inverse % _PRIME for v in matrix[rank]]
        for r in range(len(matrix)):
            if r != rank and matrix[r][column] != 0:
                factor = matrix[r][column]
                matrix[r] = [(a - factor * b) % _PRIME for a, b in zip(matrix[r], matrix[rank], strict=True)]
        pivots.append(column)
        rank += 1
    free = [j for j in range(width) if j not in pivots]
    return {unknowns[column] for row, column in enumerate(pivots)
            if all(matrix[row][f] == 0 for f in free)}


def suppress(cells: Mapping[Cell, int], min_households: int = DEFAULT_MIN_HOUSEHOLDS,
             start: Suppression | None = None) -> Suppression:
    """What to suppress in a table of households per (status, place); ``start``: values
    suppressed already (another table of the same shape published beside this one)."""
    def small(value: int) -> bool:
        return 0 < value < min_households

    row_totals = {s: sum(v for (cs, _), v in cells.items() if cs == s) for s, _ in cells}
    col_totals = {p: sum(v for (_, cp), v in cells.items() if cp == p) for _, p in cells}
    hidden = Suppression(frozenset(c for c, v in cells.items() if small(v)),
                         frozenset(s for s, v in row_totals.items() if small(v)),
                         frozenset(p for p, v in col_totals.items() if small(v)),
                         small(sum(cells.values())))
    sensitive: set[Unknown] = {("status", s) for s in hidden.statuses} | {("place", p) for p in hidden.places}
    if start is not None:  # values another table hides: hidden here too where they are not zero
        hidden = Suppression(hidden.cells | {c for c in start.cells if cells.get(c, 0) > 0},
                             hidden.statuses | {s for s in start.statuses if row_totals.get(s, 0) > 0},
                             hidden.places | {p for p in start.places if col_totals.get(p, 0) > 0},
                             hidden.total or start.total)
    sensitive |= set(hidden.cells)
    hidden = _lines_of_one(cells, hidden)
    while True:
        total_small = small(sum(cells.values()))
        leaks = sorted((u for u in determined(cells, hidden)
                        if u[0] == "cell" or u in sensitive or (u[0] == "total" and total_small)),
                       key=repr)
        if not leaks:
            return hidden
        wider = _widen(cells, hidden, leaks[0], row_totals, col_totals)
        if wider == hidden:  # cannot happen: a fully hidden table determines nothing
            raise AssertionError("suppression made no progress")
        hidden = wider


def _lines_of_one(cells: Mapping[Cell, int], hidden: Suppression) -> Suppression:
    """The classic first pass: a row or column with one suppressed cell gets a second one (the
    smallest published), or its total suppressed; the exact check then finishes the job."""
    changed = True
    while changed:
        changed = False
        for axis in (0, 1):
            for line in sorted({c[axis] for c in cells}):
                members = [c for c, v in cells.items() if c[axis] == line and v > 0]
                margin_hidden = line in (hidden.statuses if axis == 0 else hidden.places)
                if margin_hidden or sum(c in hidden.cells for c in members) != 1:
                    continue
                published = sorted((cells[c], c) for c in members if c not in hidden.cells)
                if published:
                    hidden = Suppression(hidden.cells | {published[0][1]}, hidden.statuses,
                                         hidden.places, hidden.total)
                elif axis == 0:
                    hidden = Suppression(hidden.cells, hidden.statuses | {line}, hidden.places,
                                         hidden.total)
                else:
                    hidden = Suppression(hidden.cells, hidden.statuses, hidden.places | {line},
                                         hidden.total)
                changed = True
    return hidden


def _widen(cells: Mapping[Cell, int], hidden: Suppression, leak: Unknown,
           row_totals: Mapping[str, int], col_totals: Mapping[str, int]) -> Suppression:
    """Suppress one more value so that ``leak`` is no longer determined."""
    kind, key = leak
    wider: Suppression | None = None
    if kind == "cell":
        status, place = str(key[0]), str(key[1])  # type: ignore[index]
        candidates = sorted((v, c) for c, v in cells.items() if c not in hidden.cells and v > 0
                            and (c[0] == status or c[1] == place))
        if candidates:
            wider = replace(hidden, cells=hidden.cells | {candidates[0][1]})
        elif status not in hidden.statuses:
            wider = replace(hidden, statuses=hidden.statuses | {status})
        elif place not in hidden.places:
            wider = replace(hidden, places=hidden.places | {place})
    elif kind == "status":
        rows = sorted((v, s) for s, v in row_totals.items() if s not in hidden.statuses)
        wider = replace(hidden, statuses=hidden.statuses | {rows[0][1]}) if rows else None
    elif kind == "place":
        columns = sorted((v, p) for p, v in col_totals.items() if p not in hidden.places)
        wider = replace(hidden, places=hidden.places | {columns[0][1]}) if columns else None
    if wider is None and not hidden.total:
        wider = replace(hidden, total=True)
    # Everything that could hide it is hidden already: suppress the whole table.
    return wider or Suppression(frozenset(c for c, v in cells.items() if v > 0), frozenset(row_totals),
                                frozenset(col_totals), True)


def suppress_together(tables: Sequence[Mapping[Cell, int]],
                      min_households: int = DEFAULT_MIN_HOUSEHOLDS) -> Suppression:
    """One pattern for tables published side by side (a bridge's two rulebooks), safe for each:
    a cell suppressed in one is suppressed in all, so their difference gives nothing away."""
    pattern = Suppression(frozenset(), frozenset(), frozenset(), False)
    while True:
        wider = pattern
        for table in tables:
            found = suppress(table, min_households, wider)
            wider = Suppression(wider.cells | found.cells, wider.statuses | found.statuses,
                                wider.places | found.places, wider.total or found.total)
        if wider == pattern:
            return pattern
        pattern = wider
