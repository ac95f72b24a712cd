"""The FVM round report: from manifest to departure to return-to-camp, in households.

Judged on the live facts as of D, known at K, like every other figure: ``manifested`` is every
household put on the manifest (and not voided); ``withdrawn`` those taken off it since;
``departed`` those with a live departure naming the round (with or without a letter);
``reentered`` departed households observed back in a camp after that departure; ``pending``
those on the manifest, not withdrawn, not departed.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ledger.errors import NotFoundError
from ledger.fact_kinds import ROUND_FACTS
from ledger.store.db import Database
from ledger.store.reading import FactRecord, facts_about, facts_of_households
from projections.fold import applied_facts


@dataclass
class RoundReport:
    round_id: str
    as_of: dt.date
    known_at: dt.datetime | None
    planned_on: dt.date | None = None
    from_site_ids: list[str] = field(default_factory=list)
    destination_pcodes: list[str] = field(default_factory=list)
    closed: bool = False
    manifested: int = 0
    withdrawn: int = 0
    departed: int = 0
    departed_with_letter: int = 0
    departed_without_letter: int = 0
    reentered: int = 0
    pending: int = 0
    median_days_to_reentry: float | None = None
    by_destination: dict[str, int] = field(default_factory=dict)
    by_pathway: dict[str, int] = field(default_factory=dict)
    households: list[dict[str, Any]] = field(default_factory=list)


def _round_facts(db: Database, round_id: str) -> list[FactRecord]:
    with db.cursor() as cur:
        return facts_about(cur, db, round_id, (*ROUND_FACTS, "fact_voided"))


def round_report(db: Database, round_id: str, *, as_of: dt.date | None = None,
                 known_at: dt.datetime | None = None) -> RoundReport:
    as_of = as_of or dt.datetime.now(dt.UTC).date()
    facts = applied_facts(_round_facts(db, round_id), as_of, known_at)
    plans = [f for f in facts if f.type == "round_planned"]
    if not plans:
        raise NotFoundError(f"unknown round {round_id!r}: no live round_planned fact as of {as_of}")
    report = RoundReport(round_id, as_of, known_at)
    plan = plans[-1].data
    report.planned_on = plan["planned_on"]
    report.from_site_ids = list(plan["from_site_ids"])
    report.destination_pcodes = list(plan["destination_pcodes"])
    report.closed = any(f.type == "round_closed" for f in facts)
    on_manifest: dict[str, bool] = {}
    for fact in facts:
        if fact.type in ("household_manifested", "household_withdrawn"):
            on_manifest[fact.data["household_id"]] = fact.type == "household_manifested"
    report.manifested = len(on_manifest)
    report.withdrawn = sum(not on for on in on_manifest.values())
    with db.cursor() as cur:
        by_household = facts_of_households(cur, db, sorted(on_manifest))
    days_to_reentry = []
    destinations: Counter[str] = Counter()
    pathways: Counter[str] = Counter()
    for household_id, on in sorted(on_manifest.items()):
        household = applied_facts(by_household[household_id], as_of, known_at)
        departure = next((f for f in household if f.type == "household_departed"
                          and f.data.get("round_id") == round_id), None)
        row: dict[str, Any] = {"household_id": household_id, "on_manifest": on}
        if departure is None:
            row["state"] = "pending" if on else "withdrawn"
            report.pending += on
            report.households.append(row)
            continue
        report.departed += 1
        letter = departure.data.get("departure_letter_ref")
        report.departed_with_letter += bool(letter)
        report.departed_without_letter += not letter
        destinations[departure.data.get("to_pcode") or departure.data.get("to_site_id") or "?"] += 1
        pathways[departure.data["pathway"]] += 1
        back = next((f for f in household if f.type == "household_reentered"
                     and f.effective_on >= departure.effective_on), None)
        row.update(state="departed", departed_on=departure.effective_on, letter=letter,
                   destination=departure.data.get("to_pcode") or departure.data.get("to_site_id"))
        if back is not None:
            report.reentered += 1
            days_to_reentry.append((back.effective_on - departure.effective_on).days)
            row.update(state="reentered", reentered_on=back.effective_on,
                       reentered_site=back.data["site_id"])
        report.households.append(row)
    report.median_days_to_reentry = statistics.median(days_to_reentry) if days_to_reentry else None
    report.by_destination = dict(sorted(destinations.items()))
    report.by_pathway = dict(sorted(pathways.items()))
    return report
