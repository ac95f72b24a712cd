"""The one definition of counting: a household's facts folded through a rulebook.

Everything that reports a figure (views, reconciliation, audit, published figures) derives it
from :func:`state_at`, or from :func:`timeline` / :func:`bitemporal_rows`, which are the same
fold evaluated for every as-of date and known-at time at once.

Decided semantics
-----------------
*Which facts.* A fact is known at K when ``recorded_at <= K`` (K None: every fact). A known
``fact_voided`` removes the fact with its ``voided_source_id`` entirely, for every as-of date
(SPEC §2: it stops counting from the moment the ledger learnt of the void). A void cannot be
un-voided: record the right fact again under a new ``source_id``. The live facts with
``effective_on <= D`` are applied in (``effective_on``, ``position``) order.

*What each fact does* under a rulebook R (facts of the other registry are ignored where it says
"R's registry"):

- ``household_registered`` in R's registry places the household (``idp_in_camp`` at its
  ``site_id`` or ``idp_out_of_camp`` at its ``location_pcode``), sets ``members`` and
  ``displaced_on`` and reopens a closed registration. The latest one wins.
- ``composition_changed`` in R's registry sets ``members``.
- ``registration_closed`` in R's registry closes the registration until the next registration.
- ``household_departed`` moves the household when R applies it (``departures_move`` 'all';
  'with_letter' and a ``departure_letter_ref`` is set; never for 'none'): ``return`` →
  ``returnee`` at ``to_pcode`` (``idp_out_of_camp`` there when not
  ``return_ends_displacement``); ``relocation`` → ``idp_out_of_camp`` at ``to_pcode`` or
  ``idp_in_camp`` at ``to_site_id``; ``local_integration`` → ``locally_integrated`` at
  ``to_pcode``. A departure R does not apply leaves the placement and is remembered
  (``skipped_departure``) until the next placement.
- ``household_reentered`` → ``idp_in_camp`` at its ``site_id`` when ``reentry_counts``.
- ``returnee_registered`` → ``returnee`` at its ``pcode`` when ``returnee_registration_counts``.
- Every other fact (grants, rounds, manifests, sites) changes nothing.

Movements apply whether or not R's registry has registered the household yet; a later
registration in R's registry replaces the placement.

*The result.* The household is counted when R's registry has registered it (as of D), that
registration is not closed, and its ``displaced_on`` is not before ``caseload_start``
(``displaced_on`` unknown counts). Otherwise it is ``not_counted``, with no place, 0
individuals and ``cause`` None, and the flags ``registered`` / ``closed`` / ``pre_caseload``
say why. ``individuals`` = the latest ``members`` of R's registry as of D; ``members`` keeps that
number even when not counted (for audit).

*The placement before the cause* (``prior_status``, ``prior_place``): when the current placement
comes from a fact only some rulebooks apply (a returnee registration, a re-entry, a departure
without a letter), the state also keeps where the household was placed just before that fact.
That is where this rulebook would count it had the fact never been recorded (no later fact
placed it, or the fact would not be the current placement), so reconciliation can judge reasons
4–6 by cause (docs/counting.md). Otherwise both are None.

The flags that describe the placement (``returnee_by_registration``, ``in_camp_by_reentry``,
``moved_by_unlettered_departure``, ``return_kept_displaced``, ``skipped_departure``) describe
the *current* placement (the fact that last placed the household), and are all false when the
household is not counted. They are what reconciliation judges its reasons on.

*The default state* (:data:`NOT_REGISTERED`: not counted, never registered in R's registry, no
members, every flag false) is what a household with no relevant facts has. It is the value of
every date and time no bitemporal row covers, so :func:`bitemporal_rows` omits rows in it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from operator import attrgetter
from typing import Any, Literal

from ledger.store.reading import FactRecord
from projections.rulebooks import Rulebook

Status = Literal["idp_in_camp", "idp_out_of_camp", "returnee", "locally_integrated", "not_counted"]
Cause = Literal["registration", "departure", "reentry", "returnee_registration"]

IDP_IN_CAMP: Status = "idp_in_camp"
IDP_OUT_OF_CAMP: Status = "idp_out_of_camp"
RETURNEE: Status = "returnee"
LOCALLY_INTEGRATED: Status = "locally_integrated"
NOT_COUNTED: Status = "not_counted"
COUNTED_STATUSES: tuple[Status, ...] = (
    IDP_IN_CAMP,
    IDP_OUT_OF_CAMP,
    RETURNEE,
    LOCALLY_INTEGRATED,
)


@dataclass(frozen=True, slots=True)
class HouseholdState:
    """A household's standing under one rulebook at one (D, K)."""

    status: Status = NOT_COUNTED
    place: str | None = None
    individuals: int = 0
    cause: Cause | None = None
    members: int | None = None
    registered: bool = False
    pre_caseload: bool = False
    closed: bool = False
    returnee_by_registration: bool = False
    in_camp_by_reentry: bool = False
    moved_by_unlettered_departure: bool = False
    return_kept_displaced: bool = False
    skipped_departure: bool = False
    prior_status: Status | None = None
    prior_place: str | None = None

    @property
    def counted(self) -> bool:
        return self.status != NOT_COUNTED


NOT_REGISTERED = HouseholdState()

# A state as the tuple of its fields, in declaration order: what the fold compares and hashes
# (``HouseholdState(*fields)`` is the state; the views number states by these tuples).
Fields = tuple[Any, ...]
FIELD_NAMES = tuple(f.name for f in fields(HouseholdState))
DEFAULT_FIELDS: Fields = tuple(getattr(NOT_REGISTERED, name) for name in FIELD_NAMES)


# Every state made from fields is kept by them and handed out again: a fold makes the same few
# thousand states over and over (a camp's households share them), and a kept state is a
# dictionary look-up where a new one costs fifteen frozen-field assignments (~2.8 µs). States
# are immutable, so sharing one is safe; past ``STATES_KEPT`` the store starts afresh.
STATES_KEPT = 65_536
_states: dict[Fields, HouseholdState] = {}


def state_of(fields: Fields) -> HouseholdState:
    """The state with these fields (the one made before, when there is one)."""
    state = _states.get(fields)
    if state is None:
        if len(_states) >= STATES_KEPT:
            _states.clear()
        state = _states[fields] = HouseholdState(*fields)
    return state


def state_fields(state: HouseholdState) -> Fields:
    return tuple(getattr(state, name) for name in FIELD_NAMES)


_NO_FLAGS: Fields = (False, False, False, False, False, None, None)

# Facts that carry a ``registry`` and count only under the rulebook reading that registry.
_REGISTRY_FACTS = frozenset({"household_registered", "composition_changed", "registration_closed"})
# How the fold reads every fact type of the catalogue (``ledger.catalogue``): the ones that place
# a household or size it (``Fold.apply``), and the ones that change no household's state (sites
# group camps into places at query time, voids strike facts in ``live_facts``, rounds, grants and
# figures count nothing). tests/unit/test_catalogue.py checks every fact type is in one of them.
FOLDED = frozenset({*_REGISTRY_FACTS, "household_departed", "household_reentered",
                    "returnee_registered"})
NOT_FOLDED = frozenset({"site_registered", "site_closed", "grant_disbursed", "round_planned",
                        "household_manifested", "household_withdrawn", "round_closed",
                        "fact_voided", "personal_data_erased", "figure_published",
                        "figure_reported", "figure_retracted", "rulebook_defined"})


@dataclass(frozen=True, slots=True)
class Interval:
    """The state from ``valid_from`` (inclusive) to ``valid_to`` (exclusive; None: open)."""

    valid_from: dt.date
    valid_to: dt.date | None
    state: HouseholdState


@dataclass(frozen=True, slots=True)
class BitemporalRow:
    """``state`` for as-of dates in [valid_from, valid_to) known in [recorded_from, recorded_to)."""

    valid_from: dt.date
    valid_to: dt.date | None
    recorded_from: dt.datetime
    recorded_to: dt.datetime | None
    state: HouseholdState


class Fold:
    """The mutable accumulator behind every state; one per (household, rulebook) pass."""

    __slots__ = (
        "closed",
        "displaced_on",
        "kept_displaced",
        "members",
        "place",
        "placed_by",
        "prior",
        "registered",
        "rulebook",
        "skipped",
        "status",
        "unlettered",
    )

    def __init__(self, rulebook: Rulebook) -> None:
        self.rulebook = rulebook
        self.registered = False
        self.closed = False
        self.displaced_on: dt.date | None = None
        self.members: int | None = None
        self.status: Status = NOT_COUNTED
        self.place: str | None = None
        self.placed_by: Cause | None = None
        self.prior: tuple[Status, str | None] = (NOT_COUNTED, None)
        self.unlettered = False
        self.kept_displaced = False
        self.skipped = False

    def apply(self, fact: FactRecord) -> bool:
        """Apply one fact; whether it touched the fold (False: the state is as it was)."""
        kind = fact.type
        data = fact.data
        if kind == "household_departed":
            self._departed(data)
        elif kind in _REGISTRY_FACTS:
            if data["registry"] != self.rulebook.registry:
                return False
            self._registry_fact(kind, data)
        elif kind == "household_reentered" and self.rulebook.reentry_counts:
            self._place(IDP_IN_CAMP, data["site_id"], "reentry")
        elif kind == "returnee_registered" and self.rulebook.returnee_registration_counts:
            self._place(RETURNEE, data["pcode"], "returnee_registration")
        else:
            return False
        return True

    def _registry_fact(self, kind: str, data: dict[str, Any]) -> None:
        if kind == "household_registered":
            self.registered = True
            self.closed = False
            self.members = data["members"]
            self.displaced_on = data.get("displaced_on")
            site = data.get("site_id")
            if site:
                self._place(IDP_IN_CAMP, site, "registration")
            else:
                self._place(IDP_OUT_OF_CAMP, data["location_pcode"], "registration")
        elif kind == "composition_changed":
            self.members = data["members"]
        else:
            self.closed = True

    def _place(self, status: Status, place: str, cause: Cause) -> None:
        self.prior = (self.status, self.place)
        self.status = status
        self.place = place
        self.placed_by = cause
        self.unlettered = False
        self.kept_displaced = False
        self.skipped = False

    def _departed(self, data: dict[str, Any]) -> None:
        letter: str | None = data.get("departure_letter_ref")
        if not self.rulebook.applies_departure(letter):
            self.skipped = True
            return
        pathway = data["pathway"]
        to_site: str | None = data.get("to_site_id")
        if pathway == "return" and self.rulebook.return_ends_displacement:
            self._place(RETURNEE, data["to_pcode"], "departure")
        elif pathway == "return":
            self._place(IDP_OUT_OF_CAMP, data["to_pcode"], "departure")
            self.kept_displaced = True
        elif pathway == "relocation" and to_site:
            self._place(IDP_IN_CAMP, to_site, "departure")
        elif pathway == "relocation":
            self._place(IDP_OUT_OF_CAMP, data["to_pcode"], "departure")
        elif pathway == "local_integration":
            self._place(LOCALLY_INTEGRATED, data["to_pcode"], "departure")
        else:
            raise ValueError(f"unknown departure pathway {pathway!r}")
        self.unlettered = not letter

    def fields(self) -> Fields:
        """The state's fields in declaration order (a tuple: cheap to compare and hash)."""
        registered = self.registered
        members = self.members
        closed = registered and self.closed
        pre = (
            registered
            and self.displaced_on is not None
            and self.displaced_on < self.rulebook.caseload_start
        )
        if not registered or closed or pre or members is None:
            return (NOT_COUNTED, None, 0, None, members, registered, pre, closed, *_NO_FLAGS)
        cause = self.placed_by
        unlettered = cause == "departure" and self.unlettered
        by_rule = unlettered or cause in ("returnee_registration", "reentry")
        prior_status, prior_place = self.prior if by_rule else (None, None)
        return (
            self.status,
            self.place,
            members,
            cause,
            members,
            True,
            False,
            False,
            cause == "returnee_registration",
            cause == "reentry",
            unlettered,
            self.kept_displaced,
            self.skipped,
            prior_status,
            prior_place,
        )

    def state(self) -> HouseholdState:
        return state_of(self.fields())


# The order facts apply in: effective date, then position (a C getter: sorting a household's
# facts calls it once for each).
fact_order: Callable[[FactRecord], tuple[dt.date, int]] = attrgetter("effective_on", "position")


def live_facts(facts: Iterable[FactRecord], known_at: dt.datetime | None) -> list[FactRecord]:
    """The facts known at ``known_at`` and not voided by then, in the order they apply."""
    return live_in_order(sorted(facts, key=fact_order), known_at)


def live_in_order(ordered: Sequence[FactRecord], known_at: dt.datetime | None) -> list[FactRecord]:
    if known_at is None:
        known: Sequence[FactRecord] = ordered
    else:
        known = [fact for fact in ordered if fact.recorded_at <= known_at]
    voided = {fact.data["voided_source_id"] for fact in known if fact.type == "fact_voided"}
    return [
        fact for fact in known if fact.type != "fact_voided" and fact.source_id not in voided
    ]


def state_at(
    facts: Iterable[FactRecord],
    rulebook: Rulebook,
    as_of: dt.date,
    known_at: dt.datetime | None = None,
) -> HouseholdState:
    """The household's state under ``rulebook`` as of D = ``as_of``, known at K = ``known_at``."""
    return state_of_applied(applied_facts(facts, as_of, known_at), rulebook)


def applied_facts(facts: Iterable[FactRecord], as_of: dt.date,
                  known_at: dt.datetime | None = None) -> list[FactRecord]:
    """The facts the fold at (D, K) applies: live at K, effective by D, in the order they apply
    (the same for every rulebook; each rulebook decides what each one does)."""
    live = live_facts(facts, known_at)
    for index, fact in enumerate(live):
        if fact.effective_on > as_of:
            return live[:index]
    return live


def state_of_applied(applied: Iterable[FactRecord], rulebook: Rulebook) -> HouseholdState:
    """The state after ``applied`` (:func:`applied_facts`) under ``rulebook``."""
    fold = Fold(rulebook)
    for fact in applied:
        fold.apply(fact)
    return fold.state()


def fold_steps(applied: Iterable[FactRecord], rulebook: Rulebook
               ) -> tuple[list[FactRecord], HouseholdState]:
    """``applied`` (:func:`applied_facts`) folded one fact at a time: the facts after which the
    visible state (status, place, individuals) differs from the one before, and the last state
    (``state_at``'s). A household's facts behind its figure, in one pass."""
    fold = Fold(rulebook)
    changed: list[FactRecord] = []
    visible = DEFAULT_FIELDS[:3]
    for fact in applied:
        if not fold.apply(fact):
            continue  # untouched: the state is the one before
        fields = fold.fields()
        if fields[:3] != visible:
            changed.append(fact)
            visible = fields[:3]
    return changed, fold.state()


def timeline(
    facts: Iterable[FactRecord], rulebook: Rulebook, known_at: dt.datetime | None = None
) -> list[Interval]:
    """The household's states over as-of dates, known at K; before the first one: the default.

    Consecutive equal states are merged; a state equal to the default can appear after the first
    interval (e.g. a registration voided later in effect), never as the first interval.
    """
    return _timeline(sorted(facts, key=fact_order), rulebook, known_at)


def _timeline(
    ordered: Sequence[FactRecord], rulebook: Rulebook, known_at: dt.datetime | None
) -> list[Interval]:
    builder = _TimelineBuilder(rulebook)
    builder.extend(live_in_order(ordered, known_at))
    return [
        Interval(start, end, state_of(fields)) for start, end, fields in builder.intervals()
    ]


class _TimelineBuilder:
    """A timeline grown by applying live facts in order; later facts can extend it cheaply."""

    __slots__ = ("fold", "last", "starts")

    def __init__(self, rulebook: Rulebook) -> None:
        self.fold = Fold(rulebook)
        self.starts: list[tuple[dt.date, Fields]] = []
        self.last: tuple[dt.date, int] | None = None

    def extend(self, live: Sequence[FactRecord]) -> None:
        """Apply ``live`` (in order, all after every fact applied so far)."""
        fold, starts = self.fold, self.starts
        index, count = 0, len(live)
        while index < count:
            day = live[index].effective_on
            while index < count and live[index].effective_on == day:
                fold.apply(live[index])
                index += 1
            fields = fold.fields()
            if starts and starts[-1][0] == day:
                starts.pop()  # more facts on the day the timeline last changed: its state again
            if fields != (starts[-1][1] if starts else DEFAULT_FIELDS):
                starts.append((day, fields))
        if count:
            self.last = fact_order(live[-1])

    def can_extend(self, new: Sequence[FactRecord], voided: set[str]) -> bool:
        """Whether ``new`` facts only add to the end: no voids, none before what is applied."""
        last = self.last
        return all(
            fact.type != "fact_voided"
            and fact.source_id not in voided
            and (last is None or fact_order(fact) > last)
            for fact in new
        )

    def intervals(self) -> list[tuple[dt.date, dt.date | None, Fields]]:
        starts = self.starts
        ends: list[dt.date | None] = [start for start, _ in starts[1:]]
        ends.append(None)  # the last interval is open; with no starts, zip drops this lone end
        return [(start, end, fields) for (start, fields), end in zip(starts, ends, strict=False)]


def bitemporal_rows(facts: Iterable[FactRecord], rulebook: Rulebook) -> list[BitemporalRow]:
    """Every version of the household's timeline, one row per (interval, known-at range).

    A version starts at each distinct ``recorded_at`` of the household's facts; an interval
    unchanged from the previous version keeps its ``recorded_from``. Rows in the default state
    are omitted: where no row covers (D, K), the state is :data:`NOT_REGISTERED`. Looking up
    ``valid_from <= D < valid_to`` and ``recorded_from <= K < recorded_to`` (None: infinity)
    gives exactly ``state_at(facts, rulebook, D, K)``.

    Cost: a version that only adds facts dated on or after every earlier one (the usual case)
    extends the previous timeline; any other version (a void, a back-dated fact) refolds the
    household, so the worst case is quadratic in the household's own fact count.
    """
    ordered = sorted(facts, key=fact_order)
    recorded: dict[dt.datetime, list[FactRecord]] = {}
    for fact in ordered:
        recorded.setdefault(fact.recorded_at, []).append(fact)
    rows: list[tuple[dt.date, dt.date | None, dt.datetime, dt.datetime | None, Fields]] = []
    open_since: dict[tuple[dt.date, dt.date | None, Fields], dt.datetime] = {}
    builder = _TimelineBuilder(rulebook)
    voided: set[str] = set()
    for known_at in sorted(recorded):
        new = recorded[known_at]
        if builder.can_extend(new, voided):
            builder.extend(new)
        else:
            builder = _TimelineBuilder(rulebook)
            builder.extend(live_in_order(ordered, known_at))
        voided.update(fact.data["voided_source_id"] for fact in new if fact.type == "fact_voided")
        current = {key for key in builder.intervals() if key[2] != DEFAULT_FIELDS}
        for key in [key for key in open_since if key not in current]:
            rows.append((key[0], key[1], open_since.pop(key), known_at, key[2]))
        for key in current:
            if key not in open_since:
                open_since[key] = known_at
    rows.extend((key[0], key[1], since, None, key[2]) for key, since in open_since.items())
    rows.sort(key=lambda row: (row[2], row[0]))
    return [BitemporalRow(start, end, since, until, state_of(fields))
            for start, end, since, until, fields in rows]


def state_from_rows(
    rows: Iterable[BitemporalRow], as_of: dt.date, known_at: dt.datetime | None = None
) -> HouseholdState:
    """Look a state up in bitemporal rows the way the SQL view does (the reference lookup)."""
    for row in rows:
        if row.valid_from <= as_of and (row.valid_to is None or as_of < row.valid_to):
            if known_at is None:
                if row.recorded_to is None:
                    return row.state
            elif row.recorded_from <= known_at and (
                row.recorded_to is None or known_at < row.recorded_to
            ):
                return row.state
    return NOT_REGISTERED


def applies(fact: FactRecord, rulebook: Rulebook) -> bool:
    """Whether ``rulebook`` acts on ``fact`` at all (the rules of :class:`Fold.apply`)."""
    kind = fact.type
    if kind in _REGISTRY_FACTS:
        return bool(fact.data["registry"] == rulebook.registry)
    if kind == "household_departed":
        return rulebook.applies_departure(fact.data.get("departure_letter_ref"))
    if kind == "household_reentered":
        return rulebook.reentry_counts
    if kind == "returnee_registered":
        return rulebook.returnee_registration_counts
    return False


# The facts a rulebook may act on without placing the household anywhere.
NOT_PLACING = frozenset({"composition_changed", "registration_closed"})


def places(fact: FactRecord, rulebook: Rulebook) -> bool:
    """Whether ``fact`` places the household (sets its status and place) under ``rulebook``."""
    return fact.type not in NOT_PLACING and applies(fact, rulebook)
