"""Public figures: no suppressed value can be recovered from the published cells and margins.

The check solves the table's margins independently of the implementation: a suppressed value
is recoverable when adding "this value" to the system of published equations does not raise
the rank of the system (rank over the rationals, by fractions).
"""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from projections.disclosure import Suppression, suppress

STATUSES = ("idp_in_camp", "idp_out_of_camp", "returnee")


def rank(rows: list[list[Fraction]]) -> int:
    rows = [r[:] for r in rows]
    found = 0
    for column in range(len(rows[0]) if rows else 0):
        pivot = next((i for i in range(found, len(rows)) if rows[i][column] != 0), None)
        if pivot is None:
            continue
        rows[found], rows[pivot] = rows[pivot], rows[found]
        for i in range(len(rows)):
            if i != found and rows[i][column] != 0:
                factor = rows[i][column] / rows[found][column]
                rows[i] = [a - factor * b for a, b in zip(rows[i], rows[found], strict=True)]
        found += 1
    return found


def recoverable(cells: dict[tuple[str, str], int], hidden: Suppression) -> list[object]:
    """Every suppressed value that the published cells and margins give away."""
    statuses = sorted({s for s, _ in cells})
    places = sorted({p for _, p in cells})
    unknowns: list[object] = [*sorted(hidden.cells), *(("row", s) for s in sorted(hidden.statuses)),
                              *(("col", p) for p in sorted(hidden.places))]
    if hidden.total:
        unknowns.append("total")
    position = {u: i for i, u in enumerate(unknowns)}

    def equation(terms: list[tuple[object, int]]) -> list[Fraction]:
        row = [Fraction(0)] * len(unknowns)
        for unknown, sign in terms:
            if unknown in position:
                row[position[unknown]] += sign
        return row

    system = [equation([((s, p), 1) for p in places if (s, p) in cells] + [(("row", s), -1)])
              for s in statuses]
    system += [equation([((s, p), 1) for s in statuses if (s, p) in cells] + [(("col", p), -1)])
               for p in places]
    system.append(equation([(("row", s), 1) for s in statuses] + [("total", -1)]))
    system.append(equation([(("col", p), 1) for p in places] + [("total", -1)]))
    base = rank(system)
    given_away = []
    for unknown in unknowns:
        if unknown in hidden.cells or unknown == "total":
            probe = equation([(unknown, 1)])
            if rank([*system, probe]) == base:
                given_away.append(unknown)
    return given_away


def test_a_lone_small_cell_takes_a_partner_in_its_row_and_column() -> None:
    cells = {("idp_in_camp", "KHANKE"): 3, ("idp_in_camp", "SHARIYA"): 40, ("idp_in_camp", "ESYAN"): 25,
             ("returnee", "KHANKE"): 30, ("returnee", "SHARIYA"): 12, ("returnee", "ESYAN"): 9}
    hidden = suppress(cells, 5)
    assert ("idp_in_camp", "KHANKE") in hidden.cells
    assert len(hidden.cells) >= 4  # a rectangle at least: its row and column each need a second
    assert recoverable(cells, hidden) == []


def test_a_small_cell_alone_in_its_row_hides_the_row_total_too() -> None:
    cells = {("idp_in_camp", "KHANKE"): 50, ("idp_in_camp", "SHARIYA"): 40, ("returnee", "KHANKE"): 2}
    hidden = suppress(cells, 5)
    assert ("returnee", "KHANKE") in hidden.cells
    assert recoverable(cells, hidden) == []


def test_a_table_with_nothing_small_is_published_whole() -> None:
    cells = {("idp_in_camp", "KHANKE"): 50, ("returnee", "KHANKE"): 7}
    assert suppress(cells, 5) == Suppression(frozenset(), frozenset(), frozenset(), False)


tables = st.dictionaries(
    st.tuples(st.sampled_from(STATUSES), st.sampled_from([f"S{i}" for i in range(6)])),
    st.integers(min_value=1, max_value=30), min_size=1, max_size=14)


@settings(max_examples=60, deadline=None)
@given(tables, st.integers(min_value=2, max_value=10))
def test_no_suppressed_value_can_be_recovered_from_the_margins(cells: dict[tuple[str, str], int],
                                                              threshold: int) -> None:
    hidden = suppress(cells, threshold)
    assert {c for c, v in cells.items() if v < threshold} <= hidden.cells
    assert recoverable(cells, hidden) == []
