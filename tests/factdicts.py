"""Tiny builders of SPEC §6-style fact dicts, exactly as a user would type them in a .jsonl file.

Defaults follow the worked example: CHAMISHKU camp at IQG09Q04 (Zakho, Duhok); ESYAN camp at
IQG15Q06 (Al-Shikhan, Ninewa) run by Duhok's authority; households registered on 2015-01-10,
displaced 2014-08-03. Every builder takes overrides as keywords; ``source_id`` defaults to a
fresh unique value.
"""

from __future__ import annotations

import itertools
from typing import Any

from ledger.catalogue import parse_fact
from ledger.facts import FactInput

SITES: dict[str, dict[str, Any]] = {
    "CHAMISHKU": {"name": "Chamishku", "kind": "camp", "location_pcode": "IQG09Q04"},
    "ESYAN": {"name": "Esyan", "kind": "camp", "location_pcode": "IQG15Q06",
              "authority_adm1": "IQG09"},
}
_serial = itertools.count(1)


def fact(fact_type: str, *, source_id: str | None = None, effective_on: str = "2015-01-10",
         **fields: Any) -> dict[str, Any]:
    return {
        "type": fact_type,
        "source_id": source_id or f"{fact_type}-{next(_serial)}",
        "effective_on": effective_on,
        **fields,
    }


def site(site_id: str = "CHAMISHKU", **kw: Any) -> dict[str, Any]:
    kw.setdefault("effective_on", "2014-06-01")
    return fact("site_registered", site_id=site_id, **{**SITES.get(site_id, SITES["CHAMISHKU"]), **kw})


def registration(household_id: str = "H1", **kw: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "registry": "official", "registration_ref": f"REF-{household_id}", "members": 6,
        "displaced_on": "2014-08-03", "origin_pcode": "IQG15Q07",
    }
    fields.update(kw)
    if "location_pcode" not in fields:
        fields.setdefault("site_id", "CHAMISHKU")
    return fact("household_registered", household_id=household_id, **fields)


def composition(household_id: str = "H1", **kw: Any) -> dict[str, Any]:
    fields = {"registry": "official", "members": 8, "reason": "birth",
              "effective_on": "2025-06-01", **kw}
    return fact("composition_changed", household_id=household_id, **fields)


def departure(household_id: str = "H1", **kw: Any) -> dict[str, Any]:
    fields = {"from_site_id": "CHAMISHKU", "pathway": "return", "effective_on": "2026-02-15", **kw}
    if "to_site_id" not in fields:
        fields.setdefault("to_pcode", "IQG15Q07")
    return fact("household_departed", household_id=household_id, **fields)


def reentry(household_id: str = "H1", **kw: Any) -> dict[str, Any]:
    fields = {"site_id": "CHAMISHKU", "effective_on": "2026-04-20", **kw}
    return fact("household_reentered", household_id=household_id, **fields)


def round_planned(round_id: str = "R1", **kw: Any) -> dict[str, Any]:
    fields = {"from_site_ids": ["CHAMISHKU"], "destination_pcodes": ["IQG15Q07"],
              "planned_on": "2026-02-01", "effective_on": "2026-01-15", **kw}
    return fact("round_planned", round_id=round_id, **fields)


def manifested(household_id: str = "H1", round_id: str = "R1", **kw: Any) -> dict[str, Any]:
    kw.setdefault("effective_on", "2026-01-20")
    return fact("household_manifested", round_id=round_id, household_id=household_id, **kw)


def withdrawn(household_id: str = "H1", round_id: str = "R1", **kw: Any) -> dict[str, Any]:
    fields = {"reason": "changed mind", "effective_on": "2026-02-01", **kw}
    return fact("household_withdrawn", round_id=round_id, household_id=household_id, **fields)


def voided(voided_source_id: str, **kw: Any) -> dict[str, Any]:
    fields = {"reason": "entered in error", "effective_on": "2026-05-01", **kw}
    return fact("fact_voided", voided_source_id=voided_source_id, **fields)


def parsed(*dicts: dict[str, Any]) -> list[FactInput]:
    return [parse_fact(d) for d in dicts]
