"""Why a household is counted where it is: its cause, and what this rulebook did not apply.

``ledger audit count`` lists the households behind a figure. For each one, beside the facts
that changed its (status, place, individuals), this module names:

- ``cause``: the fact that placed it in its cell under this rulebook — the last live fact as of
  D, known at K, that this rulebook places households on (a registration in its registry, a
  departure it applies, a counted re-entry or returnee registration), with a sentence saying so;
- ``not_applied``: the live facts this rulebook did not act on that another built-in rulebook
  did, each with why (no letter, re-entry not counted, returnee registration not counted, the
  other registry's record);
- ``other_rulebooks``: how each other built-in rulebook counts the household at the same
  (D, K) and, when it differs, the bridge's reason and why (never registered there, before its
  caseload start, registration closed).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ledger.store.reading import FactRecord
from projections.bridge import classify
from projections.fold import NOT_PLACING as _NOT_PLACING
from projections.fold import HouseholdState, applies, state_of_applied
from projections.rulebooks import Rulebook


@dataclass(frozen=True, slots=True)
class Explained:
    """A fact with why it matters here (``applied_by``: the rulebooks that did act on it)."""

    fact: FactRecord
    why: str
    applied_by: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class OtherView:
    rulebook: str
    state: HouseholdState
    reason: str | None
    why: str

    def as_dict(self) -> dict[str, Any]:
        return {"rulebook": self.rulebook, "status": self.state.status, "place": self.state.place,
                "individuals": self.state.individuals, "reason": self.reason, "why": self.why}


@dataclass(frozen=True, slots=True)
class Explanation:
    cause: Explained | None
    not_applied: tuple[Explained, ...]
    others: tuple[OtherView, ...]


def placed_because(fact: FactRecord) -> str:
    d = fact.data
    if fact.type == "household_registered":
        where = d.get("site_id") or d.get("location_pcode")
        return f"registered by the {d['registry']} registry at {where}"
    if fact.type == "household_departed":
        letter = d.get("departure_letter_ref")
        to = d.get("to_site_id") or d.get("to_pcode")
        how = f"with letter {letter}" if letter else "without a letter"
        return f"departed {d.get('from_site_id')} ({d['pathway']}) to {to} {how}"
    if fact.type == "household_reentered":
        return f"re-entered {d['site_id']}"
    return f"registered as a returnee at {d['pcode']}"


def not_applied_because(fact: FactRecord, book: Rulebook) -> str:
    d = fact.data
    if fact.type in ("household_registered", "composition_changed", "registration_closed"):
        return (f"a record of the {d['registry']} registry; {book.name} reads the "
                f"{book.registry} registry")
    if fact.type == "household_departed":
        if book.departures_move == "with_letter":
            return f"no letter: {book.name} moves a household only on a departure letter"
        return f"{book.name} moves no household on a departure"
    if fact.type == "household_reentered":
        return f"re-entry not counted by {book.name}"
    return f"returnee registration not counted by {book.name}"


def _other_why(state: HouseholdState, other: Rulebook, facts: Sequence[FactRecord]) -> str:
    if state.counted:
        return f"counted as {state.status} at {state.place} with {state.individuals}"
    if not state.registered:
        return f"never registered in the {other.registry} registry"
    if state.closed:
        return f"its registration in the {other.registry} registry is closed"
    if state.pre_caseload:
        displaced = [f.data.get("displaced_on") for f in facts
                     if f.type == "household_registered" and f.data["registry"] == other.registry]
        on = displaced[-1] if displaced else None
        return (f"displaced on {on}, before the caseload start of {other.name} "
                f"({other.caseload_start})")
    return "not counted"


def explain_applied(applied: Sequence[FactRecord], mine: HouseholdState, book: Rulebook,
                    others: Sequence[Rulebook], as_of: dt.date) -> Explanation:
    """Why a household is counted where it is under ``book`` and how the other rulebooks see it,
    from its applied facts (live at K, effective by D, in the order the fold applies them) and
    its state under ``book`` (``audit count`` has both already). Folding facts that are
    already live, in order and effective by D is the fold at (D, K) itself: no void is left to
    apply, none is later."""
    placing = None  # the last fact that places the household (places(fact, book))
    skipped = []
    for fact in applied:
        if applies(fact, book):
            if fact.type not in _NOT_PLACING:
                placing = fact
            continue
        by = tuple([o.name for o in others if applies(fact, o)])
        if by:
            skipped.append(Explained(fact, not_applied_because(fact, book), by))
    cause = None if placing is None else Explained(placing, placed_because(placing), (book.name,))
    views = tuple(_other_view(mine, state_of_applied(applied, other), book, other, applied)
                  for other in others)
    return Explanation(cause, tuple(skipped), views)


# How another rulebook sees a household depends only on the two states and the two rulebooks
# (and on the facts only for a household displaced before that rulebook's caseload start): a
# camp's households share a few dozen such views, so each is made once and handed out again.
# The states are the fold's and the views' kept ones (:func:`projections.fold.state_of`): equal
# states are one object, and the key holds them by identity, the value holds them alive.
VIEWS_KEPT = 4096
_views: dict[tuple[int, int, int, int], tuple[HouseholdState, HouseholdState, Rulebook,
                                              Rulebook, OtherView]] = {}


def _other_view(mine: HouseholdState, theirs: HouseholdState, book: Rulebook, other: Rulebook,
                applied: Sequence[FactRecord]) -> OtherView:
    if theirs.pre_caseload:  # its sentence names the household's own displacement date
        return OtherView(other.name, theirs, classify(mine, theirs, book, other, "cell", {}),
                         _other_why(theirs, other, applied))
    key = (id(mine), id(theirs), id(book), id(other))
    kept = _views.get(key)
    if kept is not None and kept[0] is mine and kept[1] is theirs and kept[2] is book \
            and kept[3] is other:
        return kept[4]
    view = OtherView(other.name, theirs, classify(mine, theirs, book, other, "cell", {}),
                     _other_why(theirs, other, applied))
    if len(_views) >= VIEWS_KEPT:
        _views.clear()
    _views[key] = (mine, theirs, book, other, view)
    return view
