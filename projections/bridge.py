"""Reconciliation: the bridge between two rulebooks' figures, household by household (SPEC §4).

For every household, both rulebooks' states come from :func:`projections.fold.state_at`. A
household whose (status, place at the chosen level, individuals) differ between the two gets
exactly one reason — the first of :data:`REASONS` that applies (their definitions, with a worked
example each, are in docs/counting.md; 4–6 are judged by cause, 7–9 at the row's level) — and
contributes ``+(1, its left individuals)`` to its left cell and ``−(1, its right individuals)``
to its right cell under that reason. Households that do not differ contribute to no reason (their
left and right contributions fall in the same cell and cancel). So for every row, by
construction, ``left − right = Σ reasons``; :func:`check_identity` verifies it.

Reasons 1–9 are SPEC §4's. Three reasons follow them for status differences that 1–9 do not
name: ``return_not_ending_displacement`` (a rulebook with ``return_ends_displacement = false``),
``departure_rule_differs`` (e.g. ``departures_move`` 'none' vs 'with_letter') and
``registration_differs`` (the two registries placed the household differently), and
``combined_causes`` (two of reasons 4–6 together, none of them the cause alone). For the
built-in pair official/operational every difference is one of these: each side's placement then
comes from a registration, a departure with a letter (which both apply), or a fact only one
side applies (flagged, and caught by reasons 4–6 or ``combined_causes``), so ``unexplained``
means a bug.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from ledger.errors import NotFoundError
from ledger.pcodes import NATIONAL, adm1_of, adm2_of
from ledger.store.reading import FactRecord
from projections.fold import COUNTED_STATUSES, IDP_IN_CAMP, HouseholdState, state_at
from projections.rulebooks import Rulebook

Level = Literal["cell", "adm2", "adm1", "national"]
LEVELS: tuple[Level, ...] = ("cell", "adm2", "adm1", "national")

REASONS: tuple[tuple[str, str], ...] = (
    ("only_official_registry", "registered in the official registry only"),
    ("only_operational_registry", "registered in the operational registry only"),
    (
        "pre_cutoff_displacement",
        "displaced between the two caseload_start dates: inside one caseload only",
    ),
    (
        "registration_closed_in_one",
        "registered in both, the registration closed in one and open in the other",
    ),
    (
        "returnee_registered_in_place",
        "the returnee registration made it a returnee under one rulebook; without it both "
        "would count it in the same place",
    ),
    (
        "reentry_not_registered",
        "the re-entry put it back in the camp under one rulebook; without it both would count "
        "it in the same place",
    ),
    (
        "departure_without_letter",
        "a departure without a letter moved it under one rulebook; without it both would count "
        "it in the same place",
    ),
    (
        "site_attribution",
        "same status, site and members, reported under different governorates (authority vs "
        "location)",
    ),
    ("location_differs", "same status and members, different place, none of the above"),
    ("composition_differs", "same status, different member counts"),
    (
        "return_not_ending_displacement",
        "a return made the household a returnee under one rulebook; it stays displaced "
        "(idp_out_of_camp) under the other",
    ),
    (
        "departure_rule_differs",
        "a departure moved the household under one rulebook; the other's departures rule "
        "ignores it",
    ),
    (
        "registration_differs",
        "the two registries' own registrations place the household differently (in or out of "
        "camp, or re-registered after a movement in one registry only)",
    ),
    (
        "combined_causes",
        "several of reasons 4–6 together (e.g. a departure without a letter, then a returnee "
        "registration): removing any one of those facts would not make the two agree",
    ),
    ("unexplained", "no reason applies: a bug, never expected"),
)
REASON_NAMES: tuple[str, ...] = tuple(name for name, _ in REASONS)
UNEXPLAINED = "unexplained"


@dataclass(frozen=True, slots=True)
class SiteInfo:
    """What reporting needs of a site: where it is and whose authority runs it."""

    site_id: str
    name: str
    kind: str
    location_pcode: str
    authority_adm1: str | None = None

    @property
    def authority(self) -> str:
        """The governorate whose authority runs the site (defaults to the location's)."""
        return self.authority_adm1 or adm1_of(self.location_pcode)


@dataclass(frozen=True, slots=True)
class Figure:
    households: int = 0
    individuals: int = 0

    def __add__(self, other: Figure) -> Figure:
        return Figure(self.households + other.households, self.individuals + other.individuals)

    def __sub__(self, other: Figure) -> Figure:
        return Figure(self.households - other.households, self.individuals - other.individuals)

    def __neg__(self) -> Figure:
        return Figure(-self.households, -self.individuals)


ZERO = Figure()


@dataclass(frozen=True, slots=True)
class BridgeRow:
    """One cell (status, place at the level): both figures and what explains their gap."""

    status: str
    place: str
    left: Figure
    right: Figure
    reasons: dict[str, Figure] = field(default_factory=dict)

    @property
    def delta(self) -> Figure:
        return self.left - self.right


@dataclass(frozen=True, slots=True)
class HouseholdDifference:
    """One household counted differently, with its places at the bridge's level."""

    household_id: str
    reason: str
    left: HouseholdState
    right: HouseholdState
    left_place: str | None
    right_place: str | None


@dataclass(frozen=True, slots=True)
class Bridge:
    left: str
    right: str
    as_of: dt.date
    known_at: dt.datetime | None
    level: Level
    rows: tuple[BridgeRow, ...]
    differences: tuple[HouseholdDifference, ...]


def place_at(
    state: HouseholdState, rulebook: Rulebook, level: Level, sites: Mapping[str, SiteInfo]
) -> str | None:
    """Where ``state`` is reported at ``level`` under ``rulebook`` (None: not counted)."""
    place = state.place
    if not state.counted or place is None:
        return None
    if level == "cell":
        return place
    if level == "national":
        return NATIONAL
    pcode, governorate = place, None
    if state.status == IDP_IN_CAMP:
        site = sites.get(place)
        if site is None:
            raise NotFoundError(f"site {place!r} is not registered; cannot place it in a district")
        pcode = site.location_pcode
        if rulebook.site_attribution == "authority":
            governorate = site.authority
    if level == "adm2":
        return adm2_of(pcode)
    if level == "adm1":
        return governorate or adm1_of(pcode)
    raise ValueError(f"unknown level {level!r}; expected one of {', '.join(LEVELS)}")


def classify(
    left: HouseholdState,
    right: HouseholdState,
    left_rulebook: Rulebook,
    right_rulebook: Rulebook,
    level: Level,
    sites: Mapping[str, SiteInfo],
) -> str | None:
    """The reason the household is counted differently at ``level``, or None if it is not."""
    left_place = place_at(left, left_rulebook, level, sites)
    right_place = place_at(right, right_rulebook, level, sites)
    return _reason(
        (left, left_place, left_rulebook.registry), (right, right_place, right_rulebook.registry)
    )


# (state, place at the level, registry the rulebook reads)
_Side = tuple[HouseholdState, str | None, str]


def _reason(left_side: _Side, right_side: _Side) -> str | None:
    left, left_place, left_registry = left_side
    right, right_place, right_registry = right_side
    if (left.status, left_place, left.individuals) == (
        right.status,
        right_place,
        right.individuals,
    ):
        return None
    if left.registered != right.registered:
        return f"only_{left_registry if left.registered else right_registry}_registry"
    flagged = _flag_reason(left, right) or _cause_reason(left, right)
    if flagged is not None:
        return flagged
    if left.status == right.status:
        return _same_status_reason(left, right, left_place, right_place)
    return _status_reason(left, right)


def _same_status_reason(
    left: HouseholdState, right: HouseholdState, left_place: str | None, right_place: str | None
) -> str:
    """Reasons 7–9, on the places at the row's level (docs/counting.md).

    A different member count is ``composition_differs`` wherever the two places are: so every
    reason but ``site_attribution`` adds up the same at every grouping (a household's member
    difference is the same in a camp's row as in the country's).
    """
    if left.individuals != right.individuals:
        return "composition_differs"
    if left.status == IDP_IN_CAMP and left.place == right.place:
        return "site_attribution"
    return "location_differs"


_FLAG_REASONS = (
    ("pre_caseload", "pre_cutoff_displacement"),
    ("closed", "registration_closed_in_one"),
)
# Reasons 4–6: the flag that says which kind of fact placed the household (SPEC §4 order).
_CAUSE_REASONS = (
    ("returnee_by_registration", "returnee_registered_in_place"),
    ("in_camp_by_reentry", "reentry_not_registered"),
    ("moved_by_unlettered_departure", "departure_without_letter"),
)


def _flag_reason(left: HouseholdState, right: HouseholdState) -> str | None:
    for flag, reason in _FLAG_REASONS:
        if getattr(left, flag) != getattr(right, flag):
            return reason
    return None


def _cause_reason(left: HouseholdState, right: HouseholdState) -> str | None:
    """Reasons 4–6 by cause: on one side a fact of that kind placed the household, the other
    side does not count it in that same cell, and without that fact the first side would count
    it where the other does (its placement just before the fact)."""
    for flag, reason in _CAUSE_REASONS:
        for side, other in ((left, right), (right, left)):
            if getattr(side, flag) and _caused_by_last_placement(side, other):
                return reason
    return None


def _caused_by_last_placement(side: HouseholdState, other: HouseholdState) -> bool:
    here = (side.status, side.place)
    there = (other.status, other.place)
    return here != there and (side.prior_status, side.prior_place) == there


def _status_reason(left: HouseholdState, right: HouseholdState) -> str:
    """Reasons after SPEC's nine: different statuses that none of reasons 1–6 explains."""
    if left.return_kept_displaced != right.return_kept_displaced:
        return "return_not_ending_displacement"
    if (left.skipped_departure and right.cause == "departure") or (
        right.skipped_departure and left.cause == "departure"
    ):
        return "departure_rule_differs"
    if "registration" in (left.cause, right.cause):
        return "registration_differs"
    if any(getattr(state, flag) for state in (left, right) for flag, _ in _CAUSE_REASONS):
        return "combined_causes"
    return UNEXPLAINED


class _Cells:
    """Mutable accumulation of bridge rows, frozen once every household is in."""

    def __init__(self) -> None:
        self.left: dict[tuple[str, str], Figure] = {}
        self.right: dict[tuple[str, str], Figure] = {}
        self.reasons: dict[tuple[str, str], dict[str, Figure]] = {}

    def add(self, side: dict[tuple[str, str], Figure], cell: tuple[str, str], fig: Figure) -> None:
        side[cell] = side.get(cell, ZERO) + fig

    def explain(self, cell: tuple[str, str], reason: str, fig: Figure) -> None:
        reasons = self.reasons.setdefault(cell, {})
        reasons[reason] = reasons.get(reason, ZERO) + fig

    def rows(self) -> tuple[BridgeRow, ...]:
        order: dict[str, int] = {status: i for i, status in enumerate(COUNTED_STATUSES)}
        cells = sorted(
            set(self.left) | set(self.right) | set(self.reasons),
            key=lambda cell: (order.get(cell[0], len(order)), cell[1]),
        )
        return tuple(
            BridgeRow(
                status=status,
                place=place,
                left=self.left.get((status, place), ZERO),
                right=self.right.get((status, place), ZERO),
                reasons=_in_reason_order(self.reasons.get((status, place), {})),
            )
            for status, place in cells
        )


def _in_reason_order(reasons: dict[str, Figure]) -> dict[str, Figure]:
    return {name: reasons[name] for name in REASON_NAMES if name in reasons}


def reconcile_pure(
    households: Mapping[str, Sequence[FactRecord]],
    left: Rulebook,
    right: Rulebook,
    as_of: dt.date,
    known_at: dt.datetime | None,
    level: Level,
    sites: Mapping[str, SiteInfo],
) -> Bridge:
    """The bridge between ``left`` and ``right`` at (D, K), by cell or grouping ``level``."""
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; expected one of {', '.join(LEVELS)}")
    cells = _Cells()
    differences = []
    for household_id, facts in households.items():
        left_state = state_at(facts, left, as_of, known_at)
        right_state = state_at(facts, right, as_of, known_at)
        left_place = place_at(left_state, left, level, sites)
        right_place = place_at(right_state, right, level, sites)
        left_figure = Figure(1, left_state.individuals)
        right_figure = Figure(1, right_state.individuals)
        left_cell = (left_state.status, left_place) if left_place is not None else None
        right_cell = (right_state.status, right_place) if right_place is not None else None
        if left_cell:
            cells.add(cells.left, left_cell, left_figure)
        if right_cell:
            cells.add(cells.right, right_cell, right_figure)
        reason = _reason(
            (left_state, left_place, left.registry), (right_state, right_place, right.registry)
        )
        if reason is None:
            continue
        if left_cell:
            cells.explain(left_cell, reason, left_figure)
        if right_cell:
            cells.explain(right_cell, reason, -right_figure)
        differences.append(
            HouseholdDifference(
                household_id, reason, left_state, right_state, left_place, right_place
            )
        )
    differences.sort(key=lambda difference: difference.household_id)
    return Bridge(
        left=left.name,
        right=right.name,
        as_of=as_of,
        known_at=known_at,
        level=level,
        rows=cells.rows(),
        differences=tuple(differences),
    )


def tally(
    households: Mapping[str, Sequence[FactRecord]],
    rulebook: Rulebook,
    as_of: dt.date,
    known_at: dt.datetime | None,
    level: Level,
    sites: Mapping[str, SiteInfo],
) -> dict[tuple[str, str], Figure]:
    """One rulebook's figures by (status, place at ``level``): the pure reference for views."""
    figures: dict[tuple[str, str], Figure] = {}
    for facts in households.values():
        state = state_at(facts, rulebook, as_of, known_at)
        place = place_at(state, rulebook, level, sites)
        if place is not None:
            cell = (state.status, place)
            figures[cell] = figures.get(cell, ZERO) + Figure(1, state.individuals)
    return figures


class BridgeIdentityError(AssertionError):
    """left − right ≠ Σ reasons in some row: a bug in reconciliation, never a user error."""


def check_identity(bridge: Bridge) -> None:
    """Raise :class:`BridgeIdentityError` unless every row's gap equals the sum of its reasons."""
    for row in bridge.rows:
        explained = sum(row.reasons.values(), ZERO)
        if row.delta != explained:
            raise BridgeIdentityError(
                f"{bridge.left} vs {bridge.right} at {bridge.level} ({row.status}, {row.place}): "
                f"delta {row.delta} but reasons sum to {explained}"
            )


def accumulate(
    pairs: Iterable[tuple[HouseholdState, HouseholdState, int]],
    left: Rulebook,
    right: Rulebook,
    as_of: dt.date,
    known_at: dt.datetime | None,
    level: Level,
    sites: Mapping[str, SiteInfo],
) -> Bridge:
    """The bridge from (left state, right state, number of households) combinations.

    The views answer with combinations rather than households (at national scale there are
    far fewer combinations); each is judged by the same rules as one household in
    :func:`reconcile_pure`, weighted by its count.
    """
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}; expected one of {', '.join(LEVELS)}")
    cells = _Cells()
    places: dict[tuple[bool, str, str | None], str | None] = {}

    def where(state: HouseholdState, book: Rulebook, is_left: bool) -> str | None:
        key = (is_left, state.status, state.place)
        if key not in places:
            places[key] = place_at(state, book, level, sites)
        return places[key]

    # Sum plain integers per (left cell, right cell, reason) first: far fewer keys than pairs.
    sums: dict[tuple[tuple[str, str] | None, tuple[str, str] | None, str | None], list[int]] = {}
    for left_state, right_state, count in pairs:
        left_place = where(left_state, left, True)
        right_place = where(right_state, right, False)
        left_at = (left_state.status, left_place) if left_place is not None else None
        right_at = (right_state.status, right_place) if right_place is not None else None
        reason = _reason((left_state, left_place, left.registry),
                         (right_state, right_place, right.registry))
        total = sums.setdefault((left_at, right_at, reason), [0, 0, 0])
        total[0] += count
        total[1] += count * left_state.individuals
        total[2] += count * right_state.individuals
    for (left_key, right_key, reason), (count, left_individuals, right_individuals) in sums.items():
        left_cell, right_cell = left_key, right_key
        left_figure = Figure(count, left_individuals)
        right_figure = Figure(count, right_individuals)
        if left_cell:
            cells.add(cells.left, left_cell, left_figure)
        if right_cell:
            cells.add(cells.right, right_cell, right_figure)
        if reason is None:
            continue
        if left_cell:
            cells.explain(left_cell, reason, left_figure)
        if right_cell:
            cells.explain(right_cell, reason, -right_figure)
    return Bridge(left=left.name, right=right.name, as_of=as_of, known_at=known_at, level=level,
                  rows=cells.rows(), differences=())
