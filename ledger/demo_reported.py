"""The demo's figures from outside: a DTM-like location list and MoMD's governorate table.

They are made from the demo's own households, as each organisation would count them, plus what
the ledger does not hold (stated here, so that `ledger compare` has a known remainder to find):

* **DTM** (Master List, round 13, as of 30 April 2026) counts each camp as the operational view
  does, plus households living in two Duhok camps that no registry has registered yet, and IDPs
  out of camp by district as the operational view does. It did not assess Dawudiya this round.
* **MoMD** (IDP figures, April 2026) counts each governorate as the official view does (IDPs in
  and out of camp), plus its pre-2014 caseload living out of camp, which is not in the ledger,
  and gives a national total that also covers governorates the ledger has no camps in.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ledger.demo_q1_2026 import MOMD
from ledger.pcodes import NATIONAL
from ledger.workspace import Workspace
from projections.queries import show

DTM_DATASET = "DTM Master List Round 13 (demo)"
MOMD_DATASET = "MoMD IDP figures, April 2026 (demo)"
REPORTED_ON = dt.date(2026, 4, 30)
DTM_NOT_IN_LEDGER = {"KHANKE": (6, 31), "SHARIYA": (3, 14)}  # households, individuals
DTM_SKIPPED = ("DAWUDIYA",)
MOMD_PRE_2014_OUT_OF_CAMP = {"IQG09": (140, 780), "IQG11": (60, 330)}
MOMD_ELSEWHERE = (250, 1_400)  # governorates without camps in the ledger


def _fact(source: str, dataset: str, place: str, households: int, individuals: int,
          recorded_by: str) -> dict[str, Any]:
    return {"type": "figure_reported", "source_id": f"demo-rep-{source}-{place}",
            "effective_on": REPORTED_ON.isoformat(), "recorded_by": recorded_by,
            "source": source, "dataset": dataset, "as_of": REPORTED_ON.isoformat(),
            "place": place, "status": "idp", "households": households, "individuals": individuals}


def reported_facts(ws: Workspace) -> list[dict[str, Any]]:
    """The two published tables, from the views of the demo's households (same for every run)."""
    facts = []
    operational = show(ws.views, "operational", as_of=REPORTED_ON)
    for row in operational.rows:
        if row.status == "idp_in_camp" and row.place not in DTM_SKIPPED:
            extra = DTM_NOT_IN_LEDGER.get(row.place, (0, 0))
            facts.append(_fact("DTM", DTM_DATASET, row.place, row.households + extra[0],
                               row.individuals + extra[1], "IOM DTM"))
    districts = show(ws.views, "operational", as_of=REPORTED_ON, level="adm2")
    facts += [{**_fact("DTM", DTM_DATASET, r.place, r.households, r.individuals, "IOM DTM"),
               "status": "idp_out_of_camp", "source_id": f"demo-rep-DTM-{r.place}-out"}
              for r in districts.rows if r.status == "idp_out_of_camp"]
    official = show(ws.views, "official", as_of=REPORTED_ON, level="adm1")
    governorates: dict[str, list[int]] = {}
    for row in official.rows:
        if row.status in ("idp_in_camp", "idp_out_of_camp"):
            total = governorates.setdefault(row.place, [0, 0])
            total[0] += row.households
            total[1] += row.individuals
    for place, (households, individuals) in MOMD_PRE_2014_OUT_OF_CAMP.items():
        total = governorates.setdefault(place, [0, 0])
        total[0] += households
        total[1] += individuals
    facts += [_fact("MoMD", MOMD_DATASET, place, hh, ind, MOMD)
              for place, (hh, ind) in sorted(governorates.items())]
    national = (sum(v[0] for v in governorates.values()) + MOMD_ELSEWHERE[0],
                sum(v[1] for v in governorates.values()) + MOMD_ELSEWHERE[1])
    facts.append(_fact("MoMD", MOMD_DATASET, NATIONAL, *national, MOMD))
    return facts
