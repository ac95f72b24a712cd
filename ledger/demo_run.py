"""``ledger demo``, run on a store: the first quarter of 2026 in the Returns Working Group's camps.

Records the seeded Q1 2026 facts (:mod:`ledger.demo_q1_2026`) and the figures two organisations
published about them (:mod:`ledger.demo_reported`), then gathers what the demo shows: both views,
the bridge between them, the FVM rounds, one household's audit story, the comparisons with the
published figures, and the HTML report's page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from ledger.catalogue import parse_fact
from ledger.demo_q1_2026 import AUDIT_HOUSEHOLD, MEETING, STORY, q1_2026
from ledger.demo_reported import reported_facts
from ledger.errors import StoreError
from ledger.store.reading import facts_outside
from ledger.workspace import Workspace
from projections.audit import household_history
from projections.bridge import Bridge, SiteInfo, accumulate
from projections.compare import Comparison, compare
from projections.queries import ViewResult, show

DEMO_PREFIX = "demo-"
Tick = Callable[[int], None]
Progress = Callable[[str, int], AbstractContextManager[Tick]]  # (what, how many) -> a bar's tick


@dataclass(frozen=True)
class DemoRun:
    store: str
    seed: int
    facts: int  # the demo's facts, recorded now or by an earlier run
    recorded: int  # newly recorded
    as_of: dt.date
    official: ViewResult
    operational: ViewResult
    bridge: Bridge
    bridge_adm1: Bridge
    sites: dict[str, SiteInfo]
    rounds: list[dict[str, Any]]
    story: dict[str, Any]
    digest: str | None
    comparisons: tuple[Comparison, Comparison]  # MoMD's and DTM's published figures
    page: str | None  # the HTML report, when asked for


def refuse_other_facts(ws: Workspace) -> None:
    with ws.db.cursor() as cur:
        others = facts_outside(cur, DEMO_PREFIX)
    if others:
        raise StoreError(
            f"the store ({ws.settings.describe()}) already holds {others} facts that are not "
            "the demo's; run the demo in its own store, e.g. "
            "LEDGER_DATABASE_URL=sqlite:///demo.db ledger demo"
        )


def record_demo_facts(ws: Workspace, facts: list[dict[str, Any]],
                      progress: Progress) -> tuple[int, int]:
    """Record the facts in one batch: (how many, how many newly recorded)."""
    with progress("recording the demo's facts", len(facts)) as tick:
        outcomes = []
        for outcome in ws.record_many((parse_fact(f) for f in facts), batch_size=len(facts)):
            outcomes.append(outcome)
            tick(1)
    rejected = [o for o in outcomes if o.status == "rejected"]
    if rejected:
        raise StoreError(
            f"the demo's facts were rejected ({len(rejected)}), e.g.: {rejected[0].error}. The "
            "store may hold a demo recorded with another --seed or an older version; run the demo "
            "in a fresh store, e.g. LEDGER_DATABASE_URL=sqlite:///demo2.db ledger demo")
    return len(outcomes), sum(o.status == "recorded" for o in outcomes)


def audit_story(ws: Workspace, household_id: str) -> dict[str, Any]:
    """The household's facts with both times, and its status over time under both rulebooks
    (the household history of ``ledger audit household``)."""
    books = {name: ws.views.rulebook(name) for name in ("official", "operational")}
    history = household_history(ws.db, books, household_id)
    return {
        "household_id": household_id,
        "story": STORY.get(household_id, ""),
        "facts": [{"effective_on": f.effective_on, "recorded_at": f.recorded_at, "type": f.type,
                   "source_id": f.source_id, "recorded_by": f.recorded_by,
                   "source_document": f.source_document, "voided_by": f.voided_by,
                   "details": {k: v for k, v in f.details.items()
                               if k != "household_id" and v is not None}}
                  for f in history.facts],
        "status": {name: [{"from": s.valid_from, "to": s.valid_to, "status": s.status,
                           "place": s.place, "individuals": s.individuals}
                          for s in history.states if s.rulebook == name] for name in books},
    }


def run_demo(ws: Workspace, seed: int, *, html: bool, progress: Progress) -> DemoRun:
    """Record the demo (in a store that is empty or holds only the demo's facts) and gather
    everything it shows; ``html``: also render the report's page."""
    from projections.report import gather, render  # noqa: PLC0415  (plotly: only here)

    facts = q1_2026(seed)
    as_of = MEETING
    ws.init()
    refuse_other_facts(ws)
    total, recorded = record_demo_facts(ws, facts, progress)
    ws.catch_up()
    reported_total, reported_recorded = record_demo_facts(ws, reported_facts(ws), progress)
    total, recorded = total + reported_total, recorded + reported_recorded
    momd = compare(ws.views, "operational", "MoMD", via="official", level="national")
    dtm = compare(ws.views, "official", "DTM", via="operational", level="adm1")
    official = show(ws.views, "official", as_of=as_of)
    operational = show(ws.views, "operational", as_of=as_of, known_at=official.known_at)
    sites = ws.views.sites()
    known_at = official.known_at
    books = ws.views.rulebook("official"), ws.views.rulebook("operational")
    pairs = ws.views.state_pairs(books[0].name, books[1].name, as_of, known_at)
    bridge = accumulate(pairs, *books, as_of, known_at, "cell", sites)
    bridge_adm1 = accumulate(pairs, *books, as_of, known_at, "adm1", sites)
    story = audit_story(ws, AUDIT_HOUSEHOLD)
    data = gather(ws.views, ws.db, as_of=as_of, known_at=known_at, bridge=bridge)
    page = render(data, f"Movement Ledger — Q1 2026 FVM and camp figures (demo, seed {seed})"
                  ) if html else None
    return DemoRun(ws.settings.describe(), seed, total, recorded, as_of, official, operational,
                   bridge, bridge_adm1, sites, _rounds(data.rounds), story, data.digest,
                   (momd, dtm), page)


def _rounds(reports: Iterable[Any]) -> list[dict[str, Any]]:
    return [{"round_id": r.round_id, "manifested": r.manifested, "withdrawn": r.withdrawn,
             "departed": r.departed, "departed_with_letter": r.departed_with_letter,
             "departed_without_letter": r.departed_without_letter, "reentered": r.reentered,
             "pending": r.pending} for r in reports]
