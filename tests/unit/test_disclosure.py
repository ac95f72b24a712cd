"""ISSUE 13 item 6: figures safe to publish. A published table is attacked by solving its margins.

The attacker here is written apart from ``projections.disclosure``: it builds the linear system a
reader of the public table has (every published row and column total, the grand total, and the
published cells moved to the right-hand side), computes a basis of its null space by exact
elimination, and recovers every suppressed cell whose value is the same in all solutions (a zero
component in every null vector).
"""

from __future__ import annotations

import datetime as dt
from fractions import Fraction
from itertools import product
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.public import ALL, public_bridge, public_view
from projections.queries import ViewResult, ViewRow
from projections.rulebooks import builtin_rulebooks

BOOKS = builtin_rulebooks()
STATUSES = ("idp_in_camp", "idp_out_of_camp", "returnee", "locally_integrated")
WHEN = dt.date(2026, 5, 6), dt.datetime(2026, 5, 6, tzinfo=dt.UTC)


def null_space(rows: list[list[Fraction]], width: int) -> list[list[Fraction]]:
    """A basis of {x : A x = 0} by Gauss-Jordan elimination."""
    matrix = [row[:] for row in rows]
    pivot_of: dict[int, int] = {}
    r = 0
    for c in range(width):
        found = next((i for i in range(r, len(matrix)) if matrix[i][c] != 0), None)
        if found is None:
            continue
        matrix[r], matrix[found] = matrix[found], matrix[r]
        matrix[r] = [v / matrix[r][c] for v in matrix[r]]
        for i in range(len(matrix)):
            if i != r and matrix[i][c] != 0:
                matrix[i] = [a - matrix[i][c] * b for a, b in zip(matrix[i], matrix[r], strict=True)]
        pivot_of[c] = r
        r += 1
    basis = []
    for free in (c for c in range(width) if c not in pivot_of):
        vector = [Fraction(0)] * width
        vector[free] = Fraction(1)
        for c, row in pivot_of.items():
            vector[c] = -matrix[row][free]
        basis.append(vector)
    return basis


def recoverable(table: dict[tuple[str, str], int | None]) -> set[tuple[str, str]]:
    """The suppressed (place, status) entries of a published table with margins that its own
    row, column and grand totals give away."""
    unknown = sorted(k for k, v in table.items() if v is None)
    index = {k: i for i, k in enumerate(unknown)}
    places = {p for p, _ in table if p != ALL}
    statuses = {s for _, s in table if s != ALL}
    equations = []
    for place in [*places, ALL]:  # each row adds up to its total
        equations.append({**{(place, s): 1 for s in statuses}, (place, ALL): -1})
    for status in [*statuses, ALL]:
        equations.append({**{(p, status): 1 for p in places}, (ALL, status): -1})
    rows = []
    for equation in equations:
        row = [Fraction(0)] * len(unknown)
        for key, weight in equation.items():
            if key in index:
                row[index[key]] += weight
        rows.append(row)
    basis = null_space(rows, len(unknown))
    return {k for k in unknown if all(v[index[k]] == 0 for v in basis)}


def published(view: Any) -> dict[tuple[str, str], int | None]:
    table: dict[tuple[str, str], int | None] = {}
    for (status, place), shown in view.cells.items():
        table[(place, status)] = shown.households
    for status, shown in view.by_status.items():
        table[(ALL, status)] = shown.households
    for place, shown in view.by_place.items():
        table[(place, ALL)] = shown.households
    table[(ALL, ALL)] = view.total.households
    places = {p for p, _ in table if p != ALL}
    statuses = {s for _, s in table if s != ALL}
    for place, status in product(places, statuses):  # cells not listed are published zeros
        table.setdefault((place, status), 0)
    return table


def a_view(cells: dict[tuple[str, str], int]) -> ViewResult:
    rows = tuple(ViewRow(status, place, hh, hh * 6) for (status, place), hh in cells.items())
    return ViewResult("official", WHEN[0], WHEN[1], "adm2", rows)


CAMP_TABLE = {("idp_in_camp", "IQG09Q04"): 40, ("idp_in_camp", "IQG09Q03"): 25,
              ("idp_out_of_camp", "IQG09Q04"): 3, ("idp_out_of_camp", "IQG09Q03"): 12,
              ("returnee", "IQG15Q07"): 30, ("idp_out_of_camp", "IQG15Q07"): 8}


def test_a_small_cell_alone_is_given_away_by_its_totals() -> None:
    """The attack works: hiding only the small cell leaves it in the row total minus the rest."""
    view = public_view(a_view(CAMP_TABLE), BOOKS["official"], {}, min_households=5)
    table = published(view)
    naive = {**table_of_truth(CAMP_TABLE), ("IQG09Q04", "idp_out_of_camp"): None}
    assert recoverable(naive) == {("IQG09Q04", "idp_out_of_camp")}
    assert table[("IQG09Q04", "idp_out_of_camp")] is None
    assert recoverable(table) == set()


def table_of_truth(cells: dict[tuple[str, str], int]) -> dict[tuple[str, str], int | None]:
    view = public_view(a_view(cells), BOOKS["official"], {}, min_households=1)  # nothing hidden
    return published(view)


@settings(max_examples=120, deadline=None, derandomize=True)
@given(st.dictionaries(
    st.tuples(st.sampled_from(STATUSES), st.sampled_from(["IQG09Q03", "IQG09Q04", "IQG11Q02",
                                                          "IQG15Q05", "IQG15Q07", "IQG08Q01"])),
    st.one_of(st.integers(1, 6), st.integers(7, 400)), min_size=1, max_size=14),
    st.integers(2, 10))
def test_no_published_table_gives_a_small_cell_away(cells: dict[tuple[str, str], int],
                                                    threshold: int) -> None:
    view = public_view(a_view(cells), BOOKS["official"], {}, min_households=threshold)
    table = published(view)
    truth = table_of_truth(cells)
    for key, value in table.items():
        if value is not None:
            assert value == truth[key]  # what is published is true
        truth_value = truth[key]
        if truth_value is not None and 0 < truth_value < threshold:
            assert value is None, key  # every small figure is hidden
    exposed = recoverable(table)
    small = {k for k in exposed if 0 < (truth[k] or 0) < threshold}
    assert small == set(), (small, table)


def test_a_public_bridge_hides_small_reasons_and_keeps_its_identity() -> None:
    from projections.bridge import Bridge, BridgeRow, Figure

    rows = (
        BridgeRow("idp_in_camp", "CAMP-A", Figure(40, 240), Figure(37, 222),
                  {"pre_cutoff_displacement": Figure(2, 12), "departure_without_letter": Figure(1, 6)}),
        BridgeRow("idp_in_camp", "CAMP-B", Figure(50, 300), Figure(30, 180),
                  {"only_official_registry": Figure(20, 120)}),
    )
    bridge = Bridge("official", "operational", WHEN[0], WHEN[1], "cell", rows, ())
    public = public_bridge(bridge, BOOKS["official"], BOOKS["operational"], {}, 5)
    a = public.rows[0]
    assert a.reasons["pre_cutoff_displacement"].suppressed
    assert a.reasons["departure_without_letter"].suppressed
    assert not public.rows[1].reasons["only_official_registry"].suppressed
    assert public.rows[1].reasons["only_official_registry"].households == 20
    # the delta (3) is what the two reasons add up to: published, it still hides each of them
    assert public.reason_totals["pre_cutoff_displacement"].suppressed
