"""Figures someone else published (``figure_reported`` facts), as the ledger knew them at K.

A reported figure is an aggregate (DTM's location counts, MoMD's governorate totals), never a
household: it takes no part in the views or the bridge. It is read here for ``ledger compare``
and the report, with the same bitemporal rule as every fact: recorded at or before K, and not
voided by a void recorded at or before K.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ledger.pcodes import NATIONAL
from ledger.store.db import Database
from ledger.store.reading import facts_about_no_household

REPORTED = "figure_reported"


@dataclass(frozen=True, slots=True)
class ReportedFigure:
    source: str
    dataset: str
    as_of: dt.date
    place: str
    status: str
    location: str | None  # the source's location, when the figure is for a part of ``place``
    households: int | None
    individuals: int
    source_id: str
    recorded_at: dt.datetime

    @property
    def level(self) -> str:
        """site, adm3, adm2, adm1 or national: how fine the place it was reported for is."""
        if self.place == NATIONAL:
            return "national"
        if self.place.startswith("IQG"):
            return {5: "adm1", 8: "adm2", 11: "adm3"}.get(len(self.place), "adm3")
        return "site"


def _as_date(value: object) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


def reported_figures(db: Database, known_at: dt.datetime, *, source: str | None = None,
                     dataset: str | None = None) -> list[ReportedFigure]:
    """The live reported figures known at ``known_at`` (of one source and dataset if given)."""
    with db.cursor() as cur:
        # A reported figure is about no household, like the voids that can void it.
        facts = facts_about_no_household(cur, db, (REPORTED, "fact_voided"))
    known = [f for f in facts if f.recorded_at <= known_at]
    voided = {f.data["voided_source_id"] for f in known if f.type == "fact_voided"}
    found = []
    for fact in known:
        if fact.type != REPORTED or fact.source_id in voided:
            continue
        d = fact.data
        if (source is not None and d["source"] != source) or (
                dataset is not None and d["dataset"] != dataset):
            continue
        households = d.get("households")
        found.append(ReportedFigure(
            d["source"], d["dataset"], _as_date(d["as_of"]), d["place"], d["status"],
            d.get("location"), None if households is None else int(households), int(d["individuals"]),
            fact.source_id, fact.recorded_at))
    return found


def datasets(figures: list[ReportedFigure]) -> list[tuple[str, str]]:
    """(source, dataset) pairs in first-recorded order."""
    return list(dict.fromkeys((f.source, f.dataset) for f in figures))
