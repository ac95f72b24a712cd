"""The worked example of SPEC §6, as facts: two camps, two FVM rounds, seven households.

Every household is registered in both registries at CHAMISHKU on 2015-01-10 (displaced
2014-08-03 from Sinjar) unless said otherwise; the story of each is in ``WORKED_EXAMPLE``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

Fact = dict[str, Any]
SINJAR, BAAJ = "IQG15Q07", "IQG15Q02"
IOM, MOMD = "IOM DTM", "MoMD"

WORKED_EXAMPLE = {
    "H1": "left in round R1 with letter L-1, back in camp 2026-04-20 without papers",
    "H2": "displaced in 2007: official caseload only",
    "H3": "left in round R1 without a letter",
    "H4": "operational registry only (no civil documents)",
    "H5": "two births recorded operationally (6 -> 8)",
    "H6": "left in round R2 with letter L-2",
    "H7": "registered at ESYAN, registered as a returnee in Sinjar, still in camp",
}


def _registration(household: str, registry: str, members: int, *, site: str = "CHAMISHKU",
                  displaced_on: str = "2014-08-03") -> Fact:
    short = "off" if registry == "official" else "ops"
    return {
        "type": "household_registered", "source_id": f"demo-{household}-reg-{short}",
        "effective_on": "2015-01-10", "household_id": household, "registry": registry,
        "registration_ref": f"{short.upper()}-{household}", "site_id": site, "members": members,
        "displaced_on": displaced_on, "origin_pcode": SINJAR,
        "recorded_by": MOMD if registry == "official" else IOM,
        "source_document": "MoMD camp register" if registry == "official" else "CCCM site list",
    }


def worked_example() -> Iterator[Fact]:
    yield {"type": "site_registered", "source_id": "demo-site-chamishku",
           "effective_on": "2014-08-20", "site_id": "CHAMISHKU", "name": "Chamishku camp",
           "kind": "camp", "location_pcode": "IQG09Q04", "recorded_by": "CCCM cluster"}
    yield {"type": "site_registered", "source_id": "demo-site-esyan", "effective_on": "2014-09-01",
           "site_id": "ESYAN", "name": "Esyan camp", "kind": "camp", "location_pcode": "IQG15Q06",
           "authority_adm1": "IQG09", "recorded_by": "CCCM cluster"}
    members = {"H1": 6, "H2": 5, "H3": 9, "H5": 6, "H6": 5}
    for household, size in members.items():
        displaced = "2007-03-01" if household == "H2" else "2014-08-03"
        yield _registration(household, "official", size, displaced_on=displaced)
        yield _registration(household, "operational", size, displaced_on=displaced)
    yield _registration("H4", "operational", 4)
    yield _registration("H7", "official", 6, site="ESYAN")
    yield _registration("H7", "operational", 6, site="ESYAN")
    yield {"type": "composition_changed", "source_id": "demo-H5-births",
           "effective_on": "2025-06-01", "household_id": "H5", "registry": "operational",
           "members": 8, "reason": "birth", "recorded_by": IOM}
    yield {"type": "returnee_registered", "source_id": "demo-H7-returnee",
           "effective_on": "2026-01-10", "household_id": "H7", "pcode": SINJAR,
           "recorded_by": MOMD, "source_document": "MoMD returnee list 2026-01"}
    yield {"type": "grant_disbursed", "source_id": "demo-H7-grant", "effective_on": "2026-01-25",
           "household_id": "H7", "amount_iqd": 4_000_000, "recorded_by": MOMD}
    for round_id, planned, destination, households in (
        ("R1", "2026-02-01", SINJAR, ("H1", "H3")),
        ("R2", "2026-02-20", BAAJ, ("H6",)),
    ):
        yield {"type": "round_planned", "source_id": f"demo-{round_id}-plan",
               "effective_on": planned, "round_id": round_id, "from_site_ids": ["CHAMISHKU"],
               "destination_pcodes": [destination], "planned_on": planned, "recorded_by": IOM}
        for household in households:
            yield {"type": "household_manifested", "source_id": f"demo-{round_id}-{household}",
                   "effective_on": planned, "round_id": round_id, "household_id": household,
                   "recorded_by": IOM}
    yield _departure("H1", "R1", "2026-02-15", SINJAR, "L-1")
    yield _departure("H3", "R1", "2026-02-15", SINJAR, None)
    yield _departure("H6", "R2", "2026-03-01", BAAJ, "L-2")
    yield {"type": "round_closed", "source_id": "demo-R1-closed", "effective_on": "2026-02-16",
           "round_id": "R1", "recorded_by": IOM}
    yield {"type": "household_reentered", "source_id": "demo-H1-back", "effective_on": "2026-04-20",
           "household_id": "H1", "site_id": "CHAMISHKU", "recorded_by": IOM,
           "source_document": "CCCM re-entry monitoring"}


def _departure(household: str, round_id: str, day: str, to: str, letter: str | None) -> Fact:
    fact: Fact = {"type": "household_departed", "source_id": f"demo-{household}-departed",
                  "effective_on": day, "household_id": household, "from_site_id": "CHAMISHKU",
                  "pathway": "return", "to_pcode": to, "round_id": round_id, "recorded_by": IOM,
                  "source_document": f"FVM manifest {round_id}"}
    if letter:
        fact["departure_letter_ref"] = letter
    return fact
