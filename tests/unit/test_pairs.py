"""The materialised pairs are the two rulebooks' lookups side by side, at every (D, K)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from hypothesis import given

from ledger.store.reading import FactRecord
from projections.fold import NOT_REGISTERED, HouseholdState, bitemporal_rows
from projections.pairs import PairRow, pair_rows
from tests.unit.test_fold_properties import (
    PAIRS,
    PROPERTY_SETTINGS,
    as_of_dates,
    histories,
    known_at_times,
    lookup,
)


def pair_lookup(rows: Sequence[PairRow], as_of: dt.date,
                known_at: dt.datetime | None) -> tuple[HouseholdState, HouseholdState]:
    matching = [
        (row.left, row.right)
        for row in rows
        if row.valid_from <= as_of
        and (row.valid_to is None or as_of < row.valid_to)
        and (known_at is None or row.recorded_from <= known_at)
        and (row.recorded_to is None or (known_at is not None and known_at < row.recorded_to))
    ]
    assert len(matching) <= 1, matching
    return matching[0] if matching else (NOT_REGISTERED, NOT_REGISTERED)


@PROPERTY_SETTINGS
@given(histories())
def test_a_pair_row_is_both_rulebooks_states_at_every_as_of_date_and_known_at_time(
    households: dict[str, list[FactRecord]],
) -> None:
    for facts in households.values():
        for left, right in PAIRS:
            left_rows, right_rows = bitemporal_rows(facts, left), bitemporal_rows(facts, right)
            pairs = pair_rows(left_rows, right_rows)
            assert all((row.left, row.right) != (NOT_REGISTERED, NOT_REGISTERED) for row in pairs)
            for known_at in known_at_times(facts):
                for as_of in as_of_dates(facts):
                    expected = (lookup(left_rows, as_of, known_at), lookup(right_rows, as_of, known_at))
                    assert pair_lookup(pairs, as_of, known_at) == expected, (left.name, as_of, known_at)


def test_a_household_known_to_neither_rulebook_has_no_pair_rows() -> None:
    assert pair_rows([], []) == []
