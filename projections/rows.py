"""A household's rows in the view tables, for every rulebook and every pair of them at once.

:func:`projections.fold.bitemporal_rows` and :func:`projections.pairs.pair_rows` define the rows
of ``view_states`` and ``view_pairs``, one rulebook (one pair) at a time, with states as
:class:`~projections.fold.HouseholdState`. Projecting a whole ledger that way folds each
household once per rulebook, then rebuilds every version of both timelines from those rows to
overlay them, and hashes dataclasses at every step. :func:`household_rows` gives the same rows
(tests/unit/test_rows.py holds them equal on random histories) in one pass over the household's
versions:

- every rulebook's timeline is grown fact by fact (or refolded after a void or a back-dated
  fact), exactly as ``bitemporal_rows`` does, and the pairs are overlaid from those same
  timelines at each version, not rebuilt from the rows;
- a state is a number from the start: the fold's field tuple is looked up once in ``numbers``
  (the views' signature numbering), so intervals are compared and hashed as small tuples of
  dates and integers;
- a version that leaves a rulebook's timeline as it was (a fact of the other registry) costs
  that rulebook and its pairs nothing.

Rows come back as plain tuples: ``(valid_from, valid_to, recorded_from, recorded_to, sig)`` and
``(..., left_sig, right_sig)``, ``None`` for an open end, in no particular order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from ledger.store.reading import FactRecord
from projections.fold import DEFAULT_FIELDS, Fields, Fold, fact_order, live_in_order
from projections.rulebooks import Rulebook

StateRow = tuple[dt.date, dt.date | None, dt.datetime, dt.datetime | None, int]
PairRow = tuple[dt.date, dt.date | None, dt.datetime, dt.datetime | None, int, int]
_Start = tuple[dt.date, int]  # a timeline's interval: from this day on, this state (0: default)
_Key = tuple[dt.date, dt.date | None, int]
_PairKey = tuple[dt.date, dt.date | None, int, int]
DEFAULT = 0  # the default state's number inside a timeline (never a signature)


def _overlay(left: list[_Start], right: list[_Start]) -> set[_PairKey]:
    """Two timelines side by side: intervals of (left, right), merged, without (default, default)."""
    cuts = sorted({day for day, _ in left} | {day for day, _ in right})
    keys: set[_PairKey] = set()
    i = j = 0
    left_state = right_state = DEFAULT
    since: dt.date | None = None
    current = (DEFAULT, DEFAULT)
    for cut in cuts:
        while i < len(left) and left[i][0] <= cut:
            left_state = left[i][1]
            i += 1
        while j < len(right) and right[j][0] <= cut:
            right_state = right[j][1]
            j += 1
        pair = (left_state, right_state)
        if pair == current:
            continue
        if since is not None and current != (DEFAULT, DEFAULT):
            keys.add((since, cut, *current))
        since, current = cut, pair
    if since is not None and current != (DEFAULT, DEFAULT):
        keys.add((since, None, *current))
    return keys


@cache
def _pairs(count: int) -> tuple[tuple[int, int, int], ...]:
    """(pair index, left, right) of every pair of ``count`` rulebooks."""
    pairs = [(i, j) for i in range(count) for j in range(i + 1, count)]
    return tuple((index, i, j) for index, (i, j) in enumerate(pairs))


def _extends(new: Sequence[FactRecord], voided: set[str], last: tuple[dt.date, int] | None) -> bool:
    """Whether ``new`` (in order) only adds to the end: no voids, none before what is applied."""
    if last is not None and fact_order(new[0]) <= last:
        return False
    return all(fact.type != "fact_voided" and fact.source_id not in voided for fact in new)


def _by_day(live: Sequence[FactRecord]) -> list[tuple[dt.date, list[FactRecord]]]:
    groups: list[tuple[dt.date, list[FactRecord]]] = []
    for fact in live:
        day = fact.effective_on
        if groups and groups[-1][0] == day:
            groups[-1][1].append(fact)
        else:
            groups.append((day, [fact]))
    return groups


def _grow(folds: list[Fold], timelines: list[list[_Start]], live: Sequence[FactRecord],
          numbers: Mapping[Fields, int]) -> list[bool]:
    """Apply ``live`` (in order, after every fact applied so far) to every rulebook's fold and
    timeline (as ``_TimelineBuilder.extend`` does, numbering states); which timelines changed."""
    changed = [False] * len(folds)
    for day, facts in [(live[0].effective_on, live)] if len(live) == 1 else _by_day(live):
        for index, fold in enumerate(folds):
            touched = False
            for fact in facts:
                touched = fold.apply(fact) or touched
            if not touched:
                continue  # the fold is as it was, so is the timeline
            fields = fold.fields()
            state = DEFAULT if fields == DEFAULT_FIELDS else numbers[fields]
            timeline = timelines[index]
            if timeline and timeline[-1][0] == day:
                timeline.pop()  # more facts on the day the timeline last changed: its state again
                changed[index] = True
            if state != (timeline[-1][1] if timeline else DEFAULT):
                timeline.append((day, state))
                changed[index] = True
    return changed


def _intervals(timeline: list[_Start]) -> set[_Key]:
    """A timeline's intervals in a state other than the default."""
    ends: list[dt.date | None] = [day for day, _ in timeline[1:]]
    ends.append(None)  # the last interval is open; with no starts, zip drops this lone end
    return {(day, end, state) for (day, state), end in zip(timeline, ends, strict=False) if state}


def _beside_default(intervals: set[_Key], left: bool) -> set[_PairKey]:
    """The overlay of a timeline with one never placed: its intervals (each differs from the
    next) beside the default state."""
    if left:
        return {(start, end, state, DEFAULT) for start, end, state in intervals}
    return {(start, end, DEFAULT, state) for start, end, state in intervals}


def _close_and_open(opened: dict[Any, dt.datetime], current: set[Any], known_at: dt.datetime,
                    closed: list[tuple[Any, dt.datetime, dt.datetime]]) -> None:
    """Rows open but no longer current close at ``known_at``; current ones not open open."""
    for key in opened.keys() - current:
        closed.append((key, opened.pop(key), known_at))
    for key in current - opened.keys():
        opened[key] = known_at


def household_rows(
    facts: Sequence[FactRecord], books: Sequence[Rulebook], numbers: Mapping[Fields, int]
) -> tuple[list[list[StateRow]], list[list[PairRow]]]:
    """Every rulebook's rows (in the order of ``books``) and every pair's rows (pairs ``(i, j)``,
    ``i < j``, in order: (0, 1), (0, 2)..., (1, 2)...) of one household.

    ``numbers`` gives each state's signature (fields in :class:`HouseholdState` order); a lookup
    of a state it does not hold may add it (the views' numbering does). The default state is
    looked up only when a pair row needs it.

    Versions (the facts recorded at one time) are applied in order as ``bitemporal_rows`` does:
    one that only adds facts after every applied one extends the timelines, any other (a void,
    a back-dated fact) refolds what is live then. After each, every changed timeline's intervals
    and every overlay with a changed side are compared with the rows open: rows no longer
    current close, new ones open. (One frame, lists indexed by rulebook: this is the rebuild's
    inner loop, and attribute look-ups cost more than the work.)
    """
    ordered = sorted(facts, key=fact_order)
    versions: dict[dt.datetime, list[FactRecord]] = {}
    for fact in ordered:
        versions.setdefault(fact.recorded_at, []).append(fact)
    pairs = _pairs(len(books))
    folds = [Fold(book) for book in books]
    timelines: list[list[_Start]] = [[] for _ in books]
    state_open: list[dict[_Key, dt.datetime]] = [{} for _ in books]
    state_closed: list[list[tuple[_Key, dt.datetime, dt.datetime]]] = [[] for _ in books]
    pair_open: list[dict[_PairKey, dt.datetime]] = [{} for _ in pairs]
    pair_closed: list[list[tuple[_PairKey, dt.datetime, dt.datetime]]] = [[] for _ in pairs]
    voided: set[str] = set()
    last: tuple[dt.date, int] | None = None
    for known_at in sorted(versions):
        new = versions[known_at]
        if _extends(new, voided, last):
            changed = _grow(folds, timelines, new, numbers)
            last = fact_order(new[-1])
        else:  # a void or a back-dated fact: refold what is live at this version
            live = live_in_order(ordered, known_at)
            folds = [Fold(book) for book in books]
            timelines = [[] for _ in books]
            _grow(folds, timelines, live, numbers)
            changed = [True] * len(books)
            last = fact_order(live[-1]) if live else None
        for fact in new:
            if fact.type == "fact_voided":
                voided.add(fact.data["voided_source_id"])
        intervals = [_intervals(timeline) if changed[index] else None
                     for index, timeline in enumerate(timelines)]
        for index, current in enumerate(intervals):
            if current is not None:
                _close_and_open(state_open[index], current, known_at, state_closed[index])
        for index, i, j in pairs:
            if changed[i] or changed[j]:
                if timelines[i] and timelines[j]:
                    overlay = _overlay(timelines[i], timelines[j])
                else:
                    side = i if timelines[i] else j
                    overlay = _beside_default(intervals[side] or _intervals(timelines[side]),
                                              left=side == i)
                _close_and_open(pair_open[index], overlay, known_at, pair_closed[index])
    return _state_rows(state_closed, state_open), _pair_rows(pair_closed, pair_open, numbers)


def _state_rows(closed: list[list[tuple[_Key, dt.datetime, dt.datetime]]],
                opened: list[dict[_Key, dt.datetime]]) -> list[list[StateRow]]:
    return [[(start, end, since, until, state) for (start, end, state), since, until in book_closed]
            + [(start, end, since, None, state) for (start, end, state), since in book_open.items()]
            for book_closed, book_open in zip(closed, opened, strict=True)]


def _pair_rows(closed: list[list[tuple[_PairKey, dt.datetime, dt.datetime]]],
               opened: list[dict[_PairKey, dt.datetime]],
               numbers: Mapping[Fields, int]) -> list[list[PairRow]]:
    if not any(opened) and not any(closed):
        return [[] for _ in opened]
    default = numbers[DEFAULT_FIELDS]  # pair rows name the default state by its signature
    return [[(start, end, since, until, left or default, right or default)
             for (start, end, left, right), since, until in pair_closed]
            + [(start, end, since, None, left or default, right or default)
               for (start, end, left, right), since in pair_open.items()]
            for pair_closed, pair_open in zip(closed, opened, strict=True)]
