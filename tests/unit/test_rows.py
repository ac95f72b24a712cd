"""A household's view rows computed in one pass (``projections.rows``, what the projector writes)
are exactly the rows of the reference definitions: every rulebook's ``bitemporal_rows`` and every
pair's ``pair_rows``, with states numbered."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ledger.store.reading import FactRecord
from projections.fold import Fields, bitemporal_rows, state_fields
from projections.pairs import pair_rows
from projections.rows import household_rows
from projections.rulebooks import Rulebook
from tests.unit.test_fold_properties import (
    OFFICIAL,
    OPERATIONAL,
    PROPERTY_SETTINGS,
    RULEBOOKS,
    START,
    histories,
)


class Numbering(dict[Fields, int]):
    """States numbered on first sight, as the views number them."""

    def __missing__(self, fields: Fields) -> int:
        number = self[fields] = len(self) + 1
        return number


def reference_rows(facts: Sequence[FactRecord], books: Sequence[Rulebook],
                   numbers: Numbering) -> tuple[list[set[Any]], list[set[Any]]]:
    rows = [bitemporal_rows(facts, book) for book in books]
    states = [{(r.valid_from, r.valid_to, r.recorded_from, r.recorded_to,
                numbers[state_fields(r.state)]) for r in book_rows} for book_rows in rows]
    pairs = [{(p.valid_from, p.valid_to, p.recorded_from, p.recorded_to,
               numbers[state_fields(p.left)], numbers[state_fields(p.right)])
              for p in pair_rows(rows[i], rows[j])}
             for i in range(len(books)) for j in range(i + 1, len(books))]
    return states, pairs


def recorded_together(facts: list[FactRecord], every: int) -> list[FactRecord]:
    """The same facts, ``every`` consecutive ones recorded at one time (one version)."""
    return [f._replace(recorded_at=START + dt.timedelta(minutes=f.position // every))
            for f in facts]


@PROPERTY_SETTINGS
@given(histories(), st.lists(st.sampled_from(RULEBOOKS), min_size=1, max_size=4,
                             unique_by=lambda b: b.name), st.integers(1, 3))
def test_one_pass_gives_every_rulebooks_rows_and_every_pairs_overlay(
    households: dict[str, list[FactRecord]], books: list[Rulebook], every: int,
) -> None:
    numbers = Numbering()
    for facts in households.values():
        history = recorded_together(facts, every)
        states, pairs = household_rows(history, books, numbers)
        expected_states, expected_pairs = reference_rows(history, books, numbers)
        assert [set(rows) for rows in states] == expected_states
        assert [set(rows) for rows in pairs] == expected_pairs
        assert all(len(set(rows)) == len(rows) for rows in [*states, *pairs]), "no row twice"


def test_a_household_with_no_facts_has_no_rows() -> None:
    assert household_rows([], [OFFICIAL, OPERATIONAL], Numbering()) == ([[], []], [[]])
