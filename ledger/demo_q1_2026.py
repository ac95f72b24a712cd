"""The demo's facts: a seeded, realistic first quarter of 2026 from the Returns Working Group.

The RWG meeting of 6 May 2026 reported, for IOM's Facilitated Voluntary Movements (FVM) in Q1
2026: 9 departure rounds (6 from Duhok camps to Sinjar and Al-Baaj, 3 from Erbil and the East
Mosul camps), 112 households departed, further rounds being organised for about 800 households
(late May to early June), households back in camp with no departure letter and not re-registered,
and the MoMD vs IOM DTM gap explained by MoMD counting people displaced as far back as 2006.

:func:`q1_2026` builds that quarter as facts, with every story of the SPEC §6 worked example in
it under real p-codes:

* ``CHM-0001`` left Chamishku in round FVM-2026-01 with a letter and was back in camp on
  2026-04-20 without papers (official: returnee in Sinjar; operational: IDP in Chamishku);
* ``CHM-0002`` was displaced in 2007 (official caseload only), ``CHM-0003`` left without a letter,
  ``CHM-0004`` is known to CCCM only (no civil documents), ``CHM-0005`` had two births recorded
  operationally, ``CHM-0006`` left for Al-Baaj with a letter;
* ``ESY-0001`` lives in Esyan camp (Al-Shikhan, Ninewa, run by Duhok's authority), was registered
  by MoMD as a returnee in Sinjar and paid the 4 million IQD grant, and is still in camp.

The rest of the camp population is drawn from ``random.Random(seed)``; the headline figures (9
rounds, 112 departures, the planned rounds' ~800 households) are the same for every seed. Every
``source_id`` starts with ``demo-`` and every date is on or before the meeting.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

Fact = dict[str, Any]

MEETING = dt.date(2026, 5, 6)
DEFAULT_SEED = 2026
GRANT_IQD = 4_000_000
IOM, CCCM, MOMD = "IOM FVM", "UNHCR/IOM CCCM", "MoMD"
SINJAR, BAAJ, MOSUL, TELAFAR, HAMDANIYA = "IQG15Q07", "IQG15Q02", "IQG15Q05", "IQG15Q08", "IQG15Q03"
ERBIL_DISTRICT, DUHOK_DISTRICT, SUMEL = "IQG11Q02", "IQG09Q02", "IQG09Q03"
AUDIT_HOUSEHOLD = "CHM-0001"


@dataclass(frozen=True)
class Camp:
    site_id: str
    prefix: str
    name: str
    location_pcode: str
    households: int
    authority_adm1: str | None = None
    opened_on: str = "2014-09-01"


# Real camps at their OCHA districts: Duhok (Zakho IQG09Q04, Sumel IQG09Q03, Al-Amadiya
# IQG09Q01), Esyan in Al-Shikhan (Ninewa) run by Duhok, Erbil district, and the East Mosul camps
# in Al-Hamdaniya (Ninewa) administered from Erbil.
CAMPS: tuple[Camp, ...] = (
    Camp("CHAMISHKU", "CHM", "Chamishku camp", "IQG09Q04", 300, opened_on="2014-08-20"),
    Camp("BERSEVE-1", "BR1", "Berseve 1 camp", "IQG09Q04", 170),
    Camp("KABARTO-2", "KB2", "Kabarto 2 camp", SUMEL, 240),
    Camp("KHANKE", "KHN", "Khanke camp", SUMEL, 280, opened_on="2014-08-25"),
    Camp("SHARIYA", "SHR", "Sharya camp", SUMEL, 220),
    Camp("DAWUDIYA", "DWD", "Dawudiya camp", "IQG09Q01", 80),
    Camp("ESYAN", "ESY", "Esyan camp", "IQG15Q06", 220, authority_adm1="IQG09"),
    Camp("HARSHM", "HRS", "Harshm camp", ERBIL_DISTRICT, 90, opened_on="2014-12-01"),
    Camp("BAHARKA", "BHK", "Baharka camp", ERBIL_DISTRICT, 80, opened_on="2014-07-01"),
    Camp("HASANSHAM-U3", "HS3", "Hasansham U3 camp", HAMDANIYA, 140, authority_adm1="IQG11",
         opened_on="2016-10-25"),
    Camp("KHAZER-M1", "KM1", "Khazer M1 camp", HAMDANIYA, 120, authority_adm1="IQG11",
         opened_on="2016-11-05"),
)
CAMP_BY_ID = {camp.site_id: camp for camp in CAMPS}
DUHOK_CAMPS = ("CHAMISHKU", "BERSEVE-1", "KABARTO-2", "KHANKE", "SHARIYA", "DAWUDIYA", "ESYAN")


@dataclass(frozen=True)
class Round:
    round_id: str
    departs_on: dt.date
    from_site_ids: tuple[str, ...]
    destinations: tuple[str, ...]
    departures: int  # households that departed (the meeting's 112 in all)
    withdrawals: int = 0


Q1_ROUNDS: tuple[Round, ...] = (
    Round("FVM-2026-01", dt.date(2026, 1, 14), ("CHAMISHKU", "BERSEVE-1"), (SINJAR,), 14, 2),
    Round("FVM-2026-02", dt.date(2026, 1, 28), ("KHANKE", "SHARIYA"), (SINJAR,), 15, 1),
    Round("FVM-2026-03", dt.date(2026, 2, 11), ("KABARTO-2",), (SINJAR, BAAJ), 13, 2),
    Round("FVM-2026-04", dt.date(2026, 2, 25), ("CHAMISHKU", "ESYAN"), (SINJAR, BAAJ), 12, 1),
    Round("FVM-2026-05", dt.date(2026, 3, 11), ("KHANKE", "KABARTO-2"), (BAAJ, SINJAR), 14, 2),
    Round("FVM-2026-06", dt.date(2026, 3, 25), ("DAWUDIYA", "BERSEVE-1"), (SINJAR,), 11, 1),
    Round("FVM-2026-07", dt.date(2026, 2, 4), ("HARSHM", "BAHARKA"), (MOSUL, TELAFAR), 11, 2),
    Round("FVM-2026-08", dt.date(2026, 3, 4), ("HASANSHAM-U3", "KHAZER-M1"), (MOSUL, HAMDANIYA),
          12, 1),
    Round("FVM-2026-09", dt.date(2026, 3, 18), ("HASANSHAM-U3", "HARSHM"), (MOSUL, TELAFAR), 10, 1),
)
# Rounds being organised at the meeting: manifests of about 800 households, nobody departed yet.
PLANNED_ROUNDS: tuple[tuple[str, dt.date, tuple[str, ...], tuple[str, ...], int], ...] = (
    ("FVM-2026-10", dt.date(2026, 5, 26), ("KHANKE", "SHARIYA"), (SINJAR,), 190),
    ("FVM-2026-11", dt.date(2026, 5, 28), ("CHAMISHKU", "BERSEVE-1"), (SINJAR, BAAJ), 170),
    ("FVM-2026-12", dt.date(2026, 6, 2), ("KABARTO-2", "DAWUDIYA"), (SINJAR,), 160),
    ("FVM-2026-13", dt.date(2026, 6, 4), ("HASANSHAM-U3", "KHAZER-M1"), (MOSUL, HAMDANIYA), 150),
    ("FVM-2026-14", dt.date(2026, 6, 9), ("ESYAN",), (SINJAR,), 136),
)
Q1_DEPARTURES = sum(r.departures for r in Q1_ROUNDS)  # 112
PLANNED_HOUSEHOLDS = sum(r[4] for r in PLANNED_ROUNDS)  # 806
REENTRIES = 8  # households back in camp after a departure, without papers
OUT_OF_CAMP = 260

STORY = {
    "CHM-0001": "left Chamishku in FVM-2026-01 with a departure letter; back in camp on 2026-04-20 "
                "without papers (not re-registered)",
    "CHM-0002": "displaced in 2007: inside MoMD's caseload (since 2006), outside DTM's (since 2014)",
    "CHM-0003": "left in FVM-2026-01 without a departure letter",
    "CHM-0004": "known to CCCM only: no civil documents, never registered by MoMD",
    "CHM-0005": "two births recorded by CCCM in June 2025 (6 -> 8 members)",
    "CHM-0006": "left for Al-Baaj in FVM-2026-04 with a departure letter",
    "ESY-0001": "Esyan camp (Ninewa by location, Duhok by authority): registered by MoMD as a "
                "returnee in Sinjar and paid the 4 million IQD grant, still in camp",
}


@dataclass
class _Household:
    household_id: str
    camp: Camp
    members: int
    displaced_on: dt.date
    origin: str
    registered_on: dt.date
    registries: tuple[str, ...] = ("official", "operational")
    busy: bool = False  # already given a story, a departure or a manifest


@dataclass
class _Builder:
    rng: random.Random
    facts: list[tuple[dt.date, int, int, Fact]] = field(default_factory=list)
    households: dict[str, _Household] = field(default_factory=dict)

    def add(self, day: dt.date | str, phase: int, fact: Fact) -> None:
        when = day if isinstance(day, dt.date) else dt.date.fromisoformat(day)
        fact["effective_on"] = when.isoformat()
        self.facts.append((when, phase, len(self.facts), fact))

    def ordered(self) -> Iterator[Fact]:
        for _day, _phase, _n, fact in sorted(self.facts, key=lambda t: t[:3]):
            yield fact


def _date_between(rng: random.Random, start: dt.date, end: dt.date) -> dt.date:
    return start + dt.timedelta(days=rng.randint(0, (end - start).days))


def _sites(b: _Builder) -> None:
    for camp in CAMPS:
        fact: Fact = {"type": "site_registered", "source_id": f"demo-site-{camp.site_id}",
                      "site_id": camp.site_id, "name": camp.name, "kind": "camp",
                      "location_pcode": camp.location_pcode, "recorded_by": "CCCM cluster",
                      "source_document": "CCCM camp master list"}
        if camp.authority_adm1:
            fact["authority_adm1"] = camp.authority_adm1
        b.add(camp.opened_on, 0, fact)


def _register(b: _Builder, hh: _Household) -> None:
    for registry in hh.registries:
        short = "MoMD" if registry == "official" else "CCCM"
        day = hh.registered_on + dt.timedelta(days=0 if registry == "official" else 3)
        b.add(day, 1, {
            "type": "household_registered", "source_id": f"demo-reg-{short.lower()}-{hh.household_id}",
            "household_id": hh.household_id, "registry": registry,
            "registration_ref": f"{short}-{hh.camp.prefix}-{hh.household_id[-4:]}",
            "site_id": hh.camp.site_id, "members": hh.members,
            "displaced_on": hh.displaced_on.isoformat(), "origin_pcode": hh.origin,
            "recorded_by": MOMD if registry == "official" else CCCM,
            "source_document": "MoMD camp register" if registry == "official"
            else f"CCCM household list {hh.camp.name}",
        })


def _camp_population(b: _Builder) -> None:
    rng = b.rng
    for camp in CAMPS:
        in_duhok = camp.site_id in DUHOK_CAMPS
        for n in range(1, camp.households + 1):
            household_id = f"{camp.prefix}-{n:04d}"
            if in_duhok:
                origin = SINJAR if rng.random() < 0.8 else BAAJ
                displaced = dt.date(2014, 8, 3) + dt.timedelta(days=rng.randint(0, 20))
            else:
                origin = rng.choice((MOSUL, MOSUL, TELAFAR, HAMDANIYA))
                displaced = _date_between(rng, dt.date(2014, 6, 10), dt.date(2017, 6, 30))
            # A few families displaced by the 2006-2008 violence (Qahtaniya, Baghdad): MoMD counts
            # them, DTM's caseload starts in 2014.
            if rng.random() < 0.04:
                displaced = _date_between(rng, dt.date(2006, 3, 1), dt.date(2008, 12, 31))
            opened = dt.date.fromisoformat(camp.opened_on)
            registered = max(opened, displaced) + dt.timedelta(days=rng.randint(5, 400))
            registries: tuple[str, ...] = ("official", "operational")
            if rng.random() < 0.03:
                registries = ("operational",)  # no civil documents: MoMD cannot register them
            hh = _Household(household_id, camp, rng.choice((3, 4, 4, 5, 5, 5, 6, 6, 7, 8, 9, 11)),
                            displaced, origin, registered, registries)
            b.households[household_id] = hh


def _story(b: _Builder) -> None:
    """The worked example's households, with fixed ids, overriding what the seed drew."""
    chamishku, esyan = CAMP_BY_ID["CHAMISHKU"], CAMP_BY_ID["ESYAN"]
    displaced, registered = dt.date(2014, 8, 3), dt.date(2015, 1, 10)
    for household_id, members in (("CHM-0001", 6), ("CHM-0002", 5), ("CHM-0003", 9),
                                  ("CHM-0004", 4), ("CHM-0005", 6), ("CHM-0006", 5)):
        b.households[household_id] = _Household(household_id, chamishku, members, displaced,
                                                SINJAR, registered, busy=True)
    b.households["CHM-0002"].displaced_on = dt.date(2007, 3, 1)
    b.households["CHM-0004"].registries = ("operational",)
    b.households["ESY-0001"] = _Household("ESY-0001", esyan, 6, displaced, SINJAR, registered,
                                          busy=True)
    b.add("2025-06-01", 2, {"type": "composition_changed", "source_id": "demo-births-CHM-0005",
                            "household_id": "CHM-0005", "registry": "operational", "members": 8,
                            "reason": "birth", "recorded_by": CCCM})
    _returnee_in_place(b, "ESY-0001", SINJAR, dt.date(2026, 1, 10), grant_on=dt.date(2026, 1, 25))


def _returnee_in_place(b: _Builder, household_id: str, pcode: str, day: dt.date,
                       grant_on: dt.date | None) -> None:
    b.add(day, 6, {"type": "returnee_registered", "source_id": f"demo-returnee-{household_id}",
                   "household_id": household_id, "pcode": pcode, "recorded_by": MOMD,
                   "source_document": f"MoMD returnee list {day:%Y-%m}"})
    if grant_on is not None:
        b.add(min(grant_on, MEETING), 6, {"type": "grant_disbursed",
                                          "source_id": f"demo-grant-{household_id}",
                            "household_id": household_id, "amount_iqd": GRANT_IQD,
                            "recorded_by": MOMD, "source_document": "MoMD grant payment list"})


def _free(b: _Builder, sites: tuple[str, ...], count: int, *, both: bool = True) -> list[_Household]:
    """``count`` households in ``sites`` not used by another story yet, drawn by the seed."""
    pool = [hh for hh in b.households.values()
            if hh.camp.site_id in sites and not hh.busy
            and (not both or len(hh.registries) == 2) and hh.displaced_on.year >= 2014]
    chosen = b.rng.sample(sorted(pool, key=lambda hh: hh.household_id), count)
    for hh in chosen:
        hh.busy = True
    return chosen


def _letter(b: _Builder, hh: _Household) -> str:
    office = "DHK" if hh.camp.site_id in DUHOK_CAMPS else "ERB"
    return f"{office}-JCC/2026/{b.rng.randint(100, 9999):04d}"


def _q1_rounds(b: _Builder) -> list[tuple[_Household, Round, Fact]]:
    """The nine Q1 rounds: plans, manifests, withdrawals, 112 departures, closures."""
    rng = b.rng
    fixed = {"FVM-2026-01": ["CHM-0001", "CHM-0003"], "FVM-2026-04": ["CHM-0006"]}
    departures: list[tuple[_Household, Round, Fact]] = []
    for rnd in Q1_ROUNDS:
        planned = rnd.departs_on - dt.timedelta(days=21)
        b.add(planned, 3, {
            "type": "round_planned", "source_id": f"demo-plan-{rnd.round_id}",
            "round_id": rnd.round_id, "from_site_ids": list(rnd.from_site_ids),
            "destination_pcodes": sorted({*rnd.destinations, ERBIL_DISTRICT}
                                         if rnd.round_id == "FVM-2026-07" else rnd.destinations),
            "planned_on": rnd.departs_on.isoformat(), "recorded_by": IOM,
            "source_document": f"FVM movement plan {rnd.round_id}"})
        story = [b.households[h] for h in fixed.get(rnd.round_id, [])]
        leaving = story + _free(b, rnd.from_site_ids, rnd.departures - len(story))
        staying = _free(b, rnd.from_site_ids, rnd.withdrawals)
        for hh in leaving + staying:
            b.add(planned + dt.timedelta(days=rng.randint(1, 10)), 4, {
                "type": "household_manifested", "source_id": f"demo-manifest-{rnd.round_id}-"
                f"{hh.household_id}", "round_id": rnd.round_id, "household_id": hh.household_id,
                "recorded_by": IOM, "source_document": f"FVM manifest {rnd.round_id}"})
        for hh in staying:
            b.add(rnd.departs_on - dt.timedelta(days=rng.randint(1, 3)), 5, {
                "type": "household_withdrawn", "source_id": f"demo-withdrawn-{rnd.round_id}-"
                f"{hh.household_id}", "round_id": rnd.round_id, "household_id": hh.household_id,
                "reason": rng.choice(("no-show on departure day", "changed mind",
                                      "medical case in family", "waiting for exam results")),
                "recorded_by": IOM})
        for hh in leaving:
            departures.append((hh, rnd, _departure(b, hh, rnd)))
        b.add(rnd.departs_on + dt.timedelta(days=1), 7, {
            "type": "round_closed", "source_id": f"demo-closed-{rnd.round_id}",
            "round_id": rnd.round_id, "recorded_by": IOM})
    return departures


def _departure(b: _Builder, hh: _Household, rnd: Round) -> Fact:
    rng = b.rng
    fact: Fact = {"type": "household_departed", "source_id": f"demo-departed-{hh.household_id}",
                  "household_id": hh.household_id, "from_site_id": hh.camp.site_id,
                  "round_id": rnd.round_id, "recorded_by": IOM,
                  "source_document": f"FVM departure list {rnd.round_id}"}
    if hh.household_id in {"CHM-0001", "CHM-0003"}:
        fact.update(pathway="return", to_pcode=SINJAR)
    elif hh.household_id == "CHM-0006":
        fact.update(pathway="return", to_pcode=BAAJ)
    elif rnd.round_id == "FVM-2026-07" and rng.random() < 0.35:
        fact.update(pathway="local_integration", to_pcode=ERBIL_DISTRICT)
    elif hh.origin in rnd.destinations:
        fact.update(pathway="return", to_pcode=hh.origin)
    else:
        fact.update(pathway="relocation", to_pcode=rnd.destinations[0])
    # Most departures carry a JCC departure letter; some leave before theirs is issued.
    if hh.household_id != "CHM-0003" and (hh.household_id in STORY or rng.random() < 0.88):
        fact["departure_letter_ref"] = _letter(b, hh)
    b.add(rnd.departs_on, 6, fact)
    return fact


def _after_departure(b: _Builder, departures: list[tuple[_Household, Round, Fact]]) -> None:
    """Returnee grants for some who left; re-entries of a few, without papers."""
    rng = b.rng
    lettered = [(hh, rnd, f) for hh, rnd, f in departures
                if f.get("departure_letter_ref") and hh.household_id not in STORY
                and f["pathway"] == "return"]
    back = [entry for entry in lettered if entry[0].camp.site_id in DUHOK_CAMPS]
    back = rng.sample(back, REENTRIES - 1)
    story = next(entry for entry in departures if entry[0].household_id == AUDIT_HOUSEHOLD)
    for hh, rnd, _fact in [story, *back]:
        day = (dt.date(2026, 4, 20) if hh.household_id == AUDIT_HOUSEHOLD
               else rnd.departs_on + dt.timedelta(days=rng.randint(20, 60)))
        b.add(min(day, MEETING), 8, {
            "type": "household_reentered", "source_id": f"demo-reentered-{hh.household_id}",
            "household_id": hh.household_id, "site_id": hh.camp.site_id, "recorded_by": CCCM,
            "source_document": "CCCM re-entry monitoring"})
    returned = {entry[0].household_id for entry in back} | {AUDIT_HOUSEHOLD}
    for hh, rnd, fact in lettered:
        if hh.household_id not in returned and rng.random() < 0.5:
            _returnee_in_place(b, hh.household_id, fact["to_pcode"],
                               rnd.departs_on + dt.timedelta(days=rng.randint(10, 30)),
                               grant_on=rnd.departs_on + dt.timedelta(days=rng.randint(31, 45)))


def _registry_differences(b: _Builder) -> None:
    """Births and deaths one registry recorded, headcount closures, returnees still in camp."""
    rng = b.rng
    for hh in _free(b, tuple(CAMP_BY_ID), 120):
        registry = "operational" if rng.random() < 0.7 else "official"
        change = rng.choice((1, 1, 2)) if registry == "operational" else -1
        members = max(1, min(60, hh.members + change))
        if members == hh.members:
            continue
        b.add(_date_between(rng, dt.date(2024, 1, 1), dt.date(2026, 3, 31)), 2, {
            "type": "composition_changed", "source_id": f"demo-composition-{hh.household_id}",
            "household_id": hh.household_id, "registry": registry, "members": members,
            "reason": "birth" if members > hh.members else "death",
            "recorded_by": CCCM if registry == "operational" else MOMD})
    for hh in _free(b, tuple(CAMP_BY_ID), 30):
        b.add(_date_between(rng, dt.date(2025, 10, 1), dt.date(2025, 12, 15)), 2, {
            "type": "registration_closed", "source_id": f"demo-closed-ops-{hh.household_id}",
            "household_id": hh.household_id, "registry": "operational", "reason": "other",
            "recorded_by": CCCM, "source_document": "CCCM headcount verification 2025: not found"})
    for hh in _free(b, DUHOK_CAMPS, 14):
        day = _date_between(rng, dt.date(2026, 1, 5), dt.date(2026, 3, 31))
        grant = day + dt.timedelta(days=rng.randint(7, 30)) if rng.random() < 0.7 else None
        _returnee_in_place(b, hh.household_id, hh.origin, day, grant)


def _planned_rounds(b: _Builder) -> None:
    """Rounds being organised at the meeting: plans and manifests, no departures yet."""
    rng = b.rng
    for round_id, departs_on, sites, destinations, size in PLANNED_ROUNDS:
        planned = dt.date(2026, 4, 12) + dt.timedelta(days=rng.randint(0, 8))
        b.add(planned, 3, {
            "type": "round_planned", "source_id": f"demo-plan-{round_id}", "round_id": round_id,
            "from_site_ids": list(sites), "destination_pcodes": list(destinations),
            "planned_on": departs_on.isoformat(), "recorded_by": IOM,
            "source_document": f"FVM movement plan {round_id}"})
        for hh in _free(b, sites, size):
            b.add(_date_between(rng, planned, MEETING - dt.timedelta(days=2)), 4, {
                "type": "household_manifested",
                "source_id": f"demo-manifest-{round_id}-{hh.household_id}",
                "round_id": round_id, "household_id": hh.household_id, "recorded_by": IOM,
                "source_document": f"FVM manifest {round_id}"})


def _out_of_camp(b: _Builder) -> None:
    """Families living out of camp (rented housing, host families), many displaced before 2014."""
    rng = b.rng
    places = (DUHOK_DISTRICT, ERBIL_DISTRICT, SUMEL, "IQG11Q06", "IQG09Q04", "IQG08Q01")
    for n in range(1, OUT_OF_CAMP + 1):
        household_id = f"OOC-{n:04d}"
        early = rng.random() < 0.4
        displaced = (_date_between(rng, dt.date(2006, 2, 22), dt.date(2008, 12, 31)) if early
                     else _date_between(rng, dt.date(2014, 6, 10), dt.date(2017, 7, 10)))
        registered = displaced + dt.timedelta(days=rng.randint(20, 700))
        place = rng.choice(places)
        members = rng.choice((3, 4, 5, 5, 6, 7, 8))
        registries = ("official",) if rng.random() < 0.1 else ("official", "operational")
        for registry in registries:
            short = "MoMD" if registry == "official" else "DTM"
            b.add(registered + dt.timedelta(days=0 if registry == "official" else 30), 1, {
                "type": "household_registered", "source_id": f"demo-reg-{short.lower()}-{household_id}",
                "household_id": household_id, "registry": registry,
                "registration_ref": f"{short}-OOC-{n:04d}", "location_pcode": place,
                "members": members, "displaced_on": displaced.isoformat(),
                "origin_pcode": rng.choice((SINJAR, MOSUL, "IQG08Q01", "IQG10Q01")),
                "recorded_by": MOMD if registry == "official" else "IOM DTM",
                "source_document": "MoMD registration" if registry == "official"
                else "DTM master list"})


def _correction(b: _Builder) -> None:
    """A typo corrected the ledger's way: the wrong fact voided, the right one recorded."""
    hh = _free(b, ("KHANKE",), 1)[0]
    wrong = f"demo-composition-typo-{hh.household_id}"
    b.add("2025-09-14", 2, {"type": "composition_changed", "source_id": wrong,
                            "household_id": hh.household_id, "registry": "operational",
                            "members": hh.members * 10 % 60 or 12, "reason": "correction",
                            "recorded_by": CCCM, "source_document": "CCCM data entry"})
    b.add("2025-09-20", 9, {"type": "fact_voided", "source_id": f"demo-void-{hh.household_id}",
                            "voided_source_id": wrong, "reason": "members typed with an extra digit",
                            "recorded_by": CCCM})


def q1_2026(seed: int = DEFAULT_SEED) -> list[Fact]:
    """Every fact of the demo, in an order the ledger accepts (effective date, then phase)."""
    b = _Builder(random.Random(seed))  # noqa: S311 - a seeded demo, nothing secret
    _sites(b)
    _camp_population(b)
    _story(b)
    departures = _q1_rounds(b)
    _after_departure(b, departures)
    _registry_differences(b)
    _planned_rounds(b)
    _correction(b)
    for hh in sorted(b.households.values(), key=lambda h: h.household_id):
        _register(b, hh)
    _out_of_camp(b)
    return list(b.ordered())
