"""Hypothesis strategies for random fact histories that a real store accepts.

A history is a list of fact dicts, exactly as a user would put them in a .jsonl file, in
recording order. The generator keeps a small model of each household (where it has been placed
and when, when it departed, which registries registered and closed it) so that every fact
passes the domain rules of SPEC §2: a departure only from a site the household was placed in
by that date, a re-entry only after a departure, a round departure only for a household on the
manifest, a closure only of an open registration, nothing dated before the first registration
or in the future. Effective dates are deliberately out of recording order (late facts) and
often tied (same-day facts apply in recorded order).

Voids come last, each of a different earlier fact (never a site registration, so every camp a
household was placed in stays known to the district and governorate groupings).
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

Fact = dict[str, Any]
Draw = Callable[[st.SearchStrategy[Any]], Any]

# The UTC date of yesterday: never in the future, whatever the hour.
LATEST = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
EARLIEST_DISPLACEMENT = dt.date(2005, 1, 1)
LATEST_DISPLACEMENT = dt.date(2020, 12, 31)
SITES_REGISTERED_ON = dt.date(2004, 6, 1)

SITES: dict[str, Fact] = {
    # Zakho, Duhok
    "CHAMISHKU": {"name": "Chamishku camp", "kind": "camp", "location_pcode": "IQG09Q04"},
    # Al-Shikhan, Ninewa, run by Duhok's authority (SPEC §1's Esyan case)
    "ESYAN": {"name": "Esyan camp", "kind": "camp", "location_pcode": "IQG15Q06",
              "authority_adm1": "IQG09"},
    # a sub-district p-code: grouped into its district Sumail, Duhok
    "KHANKE": {"name": "Khanke camp", "kind": "camp", "location_pcode": "IQG09Q03N01"},
    # an informal site in Erbil
    "BAHARKA": {"name": "Baharka informal site", "kind": "informal_site",
                "location_pcode": "IQG11Q02"},
}
SITE_IDS = tuple(SITES)
# Places out of camp and of return: districts and one sub-district, in three governorates.
PLACES = ("IQG15Q07", "IQG15Q02", "IQG15Q05", "IQG11Q02", "IQG09Q02", "IQG15Q07N02")
REGISTRIES = ("official", "operational")


def site_facts() -> list[Fact]:
    return [
        {"type": "site_registered", "source_id": f"site-{site_id}",
         "effective_on": SITES_REGISTERED_ON.isoformat(), "site_id": site_id, **fields}
        for site_id, fields in SITES.items()
    ]


def days_between(low: dt.date, high: dt.date) -> st.SearchStrategy[dt.date]:
    """A date in [low, high] (low when the range is empty)."""
    span = max((high - low).days, 0)
    return st.integers(0, span).map(lambda n: low + dt.timedelta(days=n))


@dataclass
class _Household:
    """What the domain rules will ask about one household, as its facts are generated."""

    household_id: str
    first_registered: dt.date
    placements: list[tuple[str, dt.date]] = field(default_factory=list)
    departures: list[dt.date] = field(default_factory=list)
    registered: set[str] = field(default_factory=set)
    closed: set[str] = field(default_factory=set)
    dates: list[dt.date] = field(default_factory=list)


class _Builder:
    """Draws one household's story; ``ids`` makes every source_id and round_id unique."""

    def __init__(self, draw: Draw, ids: Iterator[int], household_id: str) -> None:
        self.draw = draw
        self.ids = ids
        self.facts: list[Fact] = []
        displaced = draw(days_between(EARLIEST_DISPLACEMENT, LATEST_DISPLACEMENT))
        first = draw(days_between(displaced, dt.date(2022, 12, 31)))
        self.displaced_on = displaced
        self.h = _Household(household_id, first)

    def fact(self, fact_type: str, day: dt.date, **fields: Any) -> Fact:
        fact = {"type": fact_type, "source_id": f"{fact_type[:4]}-{next(self.ids)}",
                "effective_on": day.isoformat(), **fields}
        self.facts.append(fact)
        self.h.dates.append(day)
        return fact

    def day(self, low: dt.date | None = None) -> dt.date:
        """A date on or after ``low`` (default: the first registration), often one already used."""
        low = max(low or self.h.first_registered, self.h.first_registered)
        same_days = sorted({d for d in self.h.dates if d >= low})
        if same_days and self.draw(st.booleans()):
            return self.draw(st.sampled_from(same_days))
        return self.draw(days_between(low, LATEST))

    # ---- the facts ------------------------------------------------------------------------
    def register(self, registry: str, day: dt.date, *, displaced_on: dt.date | None = None) -> None:
        draw = self.draw
        place: Fact
        if draw(st.integers(0, 4)) == 0:
            place = {"location_pcode": draw(st.sampled_from(PLACES))}
        else:
            site = draw(st.sampled_from(SITE_IDS))
            place = {"site_id": site}
            self.h.placements.append((site, day))
        self.fact("household_registered", day, household_id=self.h.household_id, registry=registry,
                  registration_ref=f"{registry[:3].upper()}-{self.h.household_id}",
                  members=draw(st.integers(1, 12)),
                  displaced_on=(displaced_on or self.displaced_on).isoformat(),
                  origin_pcode="IQG15Q07", **place)
        self.h.registered.add(registry)

    def compose(self) -> None:
        self.fact("composition_changed", self.day(), household_id=self.h.household_id,
                  registry=self.draw(st.sampled_from(sorted(self.h.registered))),
                  members=self.draw(st.integers(1, 12)),
                  reason=self.draw(st.sampled_from(["birth", "death", "split", "correction"])))

    def depart(self) -> None:
        draw = self.draw
        site, placed_on = draw(st.sampled_from(self.h.placements))
        day = self.day(placed_on)
        pathway = draw(st.sampled_from(["return", "return", "relocation", "local_integration"]))
        destination: Fact = {"to_pcode": draw(st.sampled_from(PLACES))}
        if pathway == "relocation" and draw(st.booleans()):
            to_site = draw(st.sampled_from([s for s in SITE_IDS if s != site]))
            destination = {"to_site_id": to_site}
            self.h.placements.append((to_site, day))
        extra: Fact = {}
        if draw(st.booleans()):
            extra["departure_letter_ref"] = f"L-{next(self.ids)}"
        if draw(st.integers(0, 2)) == 0:
            extra["round_id"] = self.round_with_manifest(site, day)
        self.fact("household_departed", day, household_id=self.h.household_id, from_site_id=site,
                  pathway=pathway, **destination, **extra)
        self.h.departures.append(day)

    def round_with_manifest(self, site: str, by: dt.date) -> str:
        round_id = f"R{next(self.ids)}"
        planned = self.draw(days_between(self.h.first_registered, by))
        self.fact("round_planned", planned, round_id=round_id, from_site_ids=[site],
                  destination_pcodes=[self.draw(st.sampled_from(PLACES))],
                  planned_on=planned.isoformat())
        self.fact("household_manifested", planned, round_id=round_id,
                  household_id=self.h.household_id)
        return round_id

    def withdraw(self) -> None:
        site, _ = self.draw(st.sampled_from(self.h.placements))
        round_id = self.round_with_manifest(site, LATEST)
        self.fact("household_withdrawn", self.day(), round_id=round_id,
                  household_id=self.h.household_id, reason="changed mind")

    def reenter(self) -> None:
        site = self.draw(st.sampled_from(SITE_IDS))
        day = self.day(min(self.h.departures))
        self.fact("household_reentered", day, household_id=self.h.household_id, site_id=site)
        self.h.placements.append((site, day))

    def returnee(self) -> None:
        self.fact("returnee_registered", self.day(), household_id=self.h.household_id,
                  pcode=self.draw(st.sampled_from(PLACES)))

    def grant(self) -> None:
        self.fact("grant_disbursed", self.day(), household_id=self.h.household_id,
                  amount_iqd=4_000_000)

    def close(self) -> None:
        registry = self.draw(st.sampled_from(sorted(self.h.registered - self.h.closed)))
        self.fact("registration_closed", self.day(), household_id=self.h.household_id,
                  registry=registry,
                  reason=self.draw(st.sampled_from(["duplicate", "error", "solution_reached"])))
        self.h.closed.add(registry)

    def reregister(self) -> None:
        self.register(self.draw(st.sampled_from(REGISTRIES)), self.day())

    def possible(self) -> list[Callable[[], None]]:
        moves = [self.compose, self.returnee, self.grant, self.reregister]
        if self.h.placements:
            moves += [self.depart, self.depart, self.withdraw]
        if self.h.departures:
            moves += [self.reenter, self.reenter]
        if self.h.registered - self.h.closed:
            moves.append(self.close)
        return moves


@st.composite
def household_story(draw: Draw, household_id: str, ids: Iterator[int], max_events: int = 6) -> list[Fact]:
    """One household's facts in a valid recording order."""
    b = _Builder(draw, ids, household_id)
    order = draw(st.sampled_from([("official",), ("operational",), REGISTRIES, REGISTRIES[::-1]]))
    b.register(order[0], b.h.first_registered)
    if len(order) == 2:
        # Sometimes the registries disagree on when the displacement began (2006 vs 2014 rules).
        displaced = b.displaced_on if draw(st.booleans()) else draw(
            days_between(EARLIEST_DISPLACEMENT, b.h.first_registered))
        b.register(order[1], b.day(), displaced_on=displaced)
    for _ in range(draw(st.integers(0, max_events))):
        draw(st.sampled_from(b.possible()))()
    return b.facts


def _voidable(fact: Fact) -> bool:
    return fact["type"] not in {"site_registered", "site_closed", "fact_voided"}


@st.composite
def fact_histories(draw: Draw, max_households: int = 5, max_events: int = 6,
                   max_voids: int = 3) -> list[Fact]:
    """Sites, then households' stories interleaved, then voids of earlier facts (and closures)."""
    ids = itertools.count(1)
    stories = [
        draw(household_story(f"HH{n}", ids, max_events))
        for n in range(draw(st.integers(1, max_households)))
    ]
    turns = draw(st.permutations([n for n, story in enumerate(stories) for _ in story]))
    cursors = [iter(story) for story in stories]
    facts = site_facts() + [next(cursors[n]) for n in turns]
    voidable = [f for f in facts if _voidable(f)]
    targets = draw(st.lists(st.sampled_from(voidable), max_size=max_voids,
                            unique_by=lambda f: f["source_id"]))
    for target in targets:
        day = draw(days_between(dt.date.fromisoformat(target["effective_on"]), LATEST))
        facts.append({"type": "fact_voided", "source_id": f"void-{next(ids)}",
                      "effective_on": day.isoformat(), "voided_source_id": target["source_id"],
                      "reason": "entered in error"})
    if draw(st.booleans()):
        facts.append({"type": "site_closed", "source_id": f"close-{next(ids)}",
                      "effective_on": LATEST.isoformat(),
                      "site_id": draw(st.sampled_from(SITE_IDS))})
    return facts
