"""Two rulebooks' bitemporal rows of one household, overlaid: the states side by side.

Reconciliation compares two rulebooks household by household. Joining two views of ~340,000
households at query time costs more than the whole answer should, so the views also keep, for
every pair of rulebooks, each household's (left state, right state) over valid and recorded
time. :func:`pair_rows` computes them from the two sides' rows, so a pair row is by
construction the two lookups side by side.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from projections.fold import NOT_REGISTERED, BitemporalRow, HouseholdState


@dataclass(frozen=True, slots=True)
class PairRow:
    valid_from: dt.date
    valid_to: dt.date | None
    recorded_from: dt.datetime
    recorded_to: dt.datetime | None
    left: HouseholdState
    right: HouseholdState


_Key = tuple[dt.date, dt.date | None, HouseholdState, HouseholdState]


def _active(rows: Sequence[BitemporalRow], known_at: dt.datetime) -> list[BitemporalRow]:
    active = [r for r in rows
              if r.recorded_from <= known_at and (r.recorded_to is None or known_at < r.recorded_to)]
    return sorted(active, key=lambda r: r.valid_from)


def _state_in(rows: list[BitemporalRow], start: dt.date) -> HouseholdState:
    for row in rows:
        if row.valid_from <= start and (row.valid_to is None or start < row.valid_to):
            return row.state
    return NOT_REGISTERED


def _overlay(left: list[BitemporalRow], right: list[BitemporalRow]) -> set[_Key]:
    """Valid-time intervals of (left, right) at one known-at time, merged, without default pairs."""
    cuts = sorted({r.valid_from for r in left + right} | {r.valid_to for r in left + right if r.valid_to})
    keys: set[_Key] = set()
    current: tuple[dt.date, HouseholdState, HouseholdState] | None = None
    for cut in cuts:
        pair = (_state_in(left, cut), _state_in(right, cut))
        if current is not None and (current[1], current[2]) == pair:
            continue
        if current is not None and (current[1], current[2]) != (NOT_REGISTERED, NOT_REGISTERED):
            keys.add((current[0], cut, current[1], current[2]))
        current = (cut, *pair)
    if current is not None and (current[1], current[2]) != (NOT_REGISTERED, NOT_REGISTERED):
        keys.add((current[0], None, current[1], current[2]))
    return keys


def pair_rows(left: Sequence[BitemporalRow], right: Sequence[BitemporalRow]) -> list[PairRow]:
    """The overlay of two sides' rows: where neither side has a row, both are the default."""
    versions = sorted({r.recorded_from for r in (*left, *right)}
                      | {r.recorded_to for r in (*left, *right) if r.recorded_to is not None})
    rows: list[PairRow] = []
    open_since: dict[_Key, dt.datetime] = {}
    for known_at in versions:
        current = _overlay(_active(left, known_at), _active(right, known_at))
        for key in [key for key in open_since if key not in current]:
            rows.append(PairRow(key[0], key[1], open_since.pop(key), known_at, key[2], key[3]))
        for key in current:
            open_since.setdefault(key, known_at)
    rows.extend(PairRow(k[0], k[1], since, None, k[2], k[3]) for k, since in open_since.items())
    rows.sort(key=lambda r: (r.recorded_from, r.valid_from))
    return rows
