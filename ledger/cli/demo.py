"""``ledger demo``: the first quarter of 2026 in the Returns Working Group's camps, end to end.

Records the seeded Q1 2026 facts (:mod:`ledger.demo_q1_2026`), then prints both views, the bridge
between them, the FVM rounds and one household's audit story, and writes the HTML report.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from ledger.catalogue import parse_fact
from ledger.cli.demo_reported import reported_facts
from ledger.cli.output import console, print_json, progress_bar, table
from ledger.cli.read import bridge_document, place_label, print_bridge, view_document
from ledger.cli.report import write_report
from ledger.cli.state import workspace
from ledger.demo_q1_2026 import AUDIT_HOUSEHOLD, MEETING, STORY, q1_2026
from ledger.errors import StoreError
from ledger.outputs import OutputPath
from ledger.store.reading import facts_outside
from ledger.workspace import Workspace
from projections.audit import household_history
from projections.bridge import SiteInfo, accumulate
from projections.compare import Comparison, compare, comparison_document
from projections.queries import ViewResult, show
from projections.report import gather, render

DEMO_PREFIX = "demo-"


def _refuse_other_facts(ws: Workspace) -> None:
    with ws.db.cursor() as cur:
        others = facts_outside(cur, DEMO_PREFIX)
    if others:
        raise StoreError(
            f"the store ({ws.settings.describe()}) already holds {others} facts that are not "
            "the demo's; run the demo in its own store, e.g. "
            "LEDGER_DATABASE_URL=sqlite:///demo.db ledger demo"
        )


def _record(ws: Workspace, facts: list[dict[str, Any]], quiet: bool) -> tuple[int, int]:
    with progress_bar("recording the demo's facts", len(facts), quiet=quiet) as tick:
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


def run_demo(*, json_output: bool, html: OutputPath | None, seed: int) -> None:
    facts = q1_2026(seed)
    as_of = MEETING
    with workspace(initialised=False) as ws:
        ws.init()
        _refuse_other_facts(ws)
        total, recorded = _record(ws, facts, json_output)
        ws.catch_up()
        reported_total, reported_recorded = _record(ws, reported_facts(ws), json_output)
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
        store = ws.settings.describe()
    if html is not None:
        write_report(html, render(data, f"Movement Ledger — Q1 2026 FVM and camp figures "
                                        f"(demo, seed {seed})"))
    rounds = [{"round_id": r.round_id, "manifested": r.manifested, "withdrawn": r.withdrawn,
               "departed": r.departed, "departed_with_letter": r.departed_with_letter,
               "departed_without_letter": r.departed_without_letter, "reentered": r.reentered,
               "pending": r.pending} for r in data.rounds]
    if json_output:
        print_json({"store": store, "seed": seed, "facts": total, "recorded": recorded,
                    "as_of": as_of, "official": view_document(official, sites),
                    "operational": view_document(operational, sites),
                    "reconcile": bridge_document(bridge, sites),
                    "reconcile_adm1": bridge_document(bridge_adm1, sites),
                    "rounds": rounds, "audit": story, "digest": data.digest,
                    "compare": [comparison_document(c, lambda p: place_label(p, sites))
                                for c in (momd, dtm)],
                    "report": str(html.requested) if html else None})
        return
    _print_human(store, seed, total, recorded, (official, operational), bridge, bridge_adm1,
                 sites, rounds, story, html.requested if html else None)
    _print_reported((momd, dtm), sites)


def _print_human(store: str, seed: int, total: int, recorded: int,
                 views: tuple[ViewResult, ViewResult], bridge: Any, bridge_adm1: Any,
                 sites: dict[str, SiteInfo], rounds: list[dict[str, Any]],
                 story: dict[str, Any], html: Path | None) -> None:
    console.print(f"[bold]Movement Ledger demo[/] — Q1 2026 in the camps of Duhok, Erbil and East "
                  f"Mosul (seed {seed}), store {store}", highlight=False)
    console.print(f"{total:,} facts ({recorded:,} newly recorded), all dated on or before the "
                  f"Returns Working Group meeting of {MEETING:%d %B %Y}; figures as of that day.\n",
                  highlight=False)
    moved = [r for r in rounds if r["departed"]]
    table("FVM rounds (IOM): Q1 2026 and the rounds being organised",
          ["round", "manifested", "withdrawn", "departed", "without letter", "back in camp",
           "pending"],
          [[r["round_id"], r["manifested"], r["withdrawn"], r["departed"],
            r["departed_without_letter"], r["reentered"], r["pending"]] for r in rounds]
          + [["total", sum(r["manifested"] for r in rounds), sum(r["withdrawn"] for r in rounds),
              sum(r["departed"] for r in rounds), sum(r["departed_without_letter"] for r in rounds),
              sum(r["reentered"] for r in rounds), sum(r["pending"] for r in rounds)]],
          numeric=["manifested", "withdrawn", "departed", "without letter", "back in camp",
                   "pending"])
    console.print(f"{len(moved)} rounds moved {sum(r['departed'] for r in moved)} households; "
                  f"{sum(r['pending'] for r in rounds)} households wait on the manifests of the "
                  "rounds planned for late May and early June.\n", highlight=False)
    _print_views(views, sites)
    print_bridge(bridge_adm1, sites)
    _print_story(story, sites)
    if html is not None:
        console.print(f"\nHTML report: {html} (open it in a browser; no network needed)",
                      highlight=False)
    console.print(f"\nNext: ledger views show --rulebook official --as-of {MEETING} | ledger "
                  f"reconcile --by adm1 | ledger rounds report FVM-2026-01 | ledger audit household "
                  f"{AUDIT_HOUSEHOLD}", highlight=False)


def _print_reported(comparisons: tuple[Comparison, ...], sites: dict[str, SiteInfo]) -> None:
    console.print("\n[bold]Figures from outside[/] (reported − ledger = explained by the bridge + "
                  "remainder; try `ledger compare --rulebook operational --reported MoMD --via "
                  "official --by adm1`)", highlight=False)
    for result in comparisons:
        for row in result.rows:
            explained = sum(v.individuals for _, v in row.explained)
            coverage = row.coverage()[1]
            console.print(
                f"  {result.source} {row.status} {place_label(row.place, sites)}: reported "
                f"{row.reported.individuals:,}, {result.rulebook} {row.ledger.individuals:,} "
                f"({'-' if coverage is None else f'{coverage:.0%}'}); explained via {result.via} "
                f"{explained:+,}, {row.remainder_label or 'no remainder'} "
                f"{row.remainder.individuals:+,}", highlight=False)


def _print_views(views: tuple[ViewResult, ViewResult], sites: dict[str, SiteInfo]) -> None:
    official, operational = views
    cells = {(r.status, r.place): [r, None] for r in official.rows}
    for r in operational.rows:
        cells.setdefault((r.status, r.place), [None, None])[1] = r
    rows = []
    for (status, place), (left, right) in cells.items():
        rows.append([status, place_label(place, sites),
                     f"{left.households:,} / {left.individuals:,}" if left else "-",
                     f"{right.households:,} / {right.individuals:,}" if right else "-"])
    rows.append(["total", "", f"{official.total.households:,} / {official.total.individuals:,}",
                 f"{operational.total.households:,} / {operational.total.individuals:,}"])
    table(f"Both views as of {official.as_of} (households / individuals)",
          ["status", "place", official.rulebook, operational.rulebook], rows)


def _day(value: dt.date | None) -> str:
    return value.isoformat() if value else "…"


def _print_story(story: dict[str, Any], sites: dict[str, SiteInfo]) -> None:
    console.print(f"\n[bold]One audit story: household {story['household_id']}[/] — {story['story']}",
                  highlight=False)
    table(None, ["happened", "recorded", "fact", "by", "document", "details"],
          [[f["effective_on"], f"{f['recorded_at']:%Y-%m-%d %H:%M:%S}", f["type"],
            f["recorded_by"] or "", f["source_document"] or "",
            ", ".join(f"{k}={v}" for k, v in f["details"].items())] for f in story["facts"]])
    for book, intervals in story["status"].items():
        steps = "; ".join(
            f"{_day(i['from'])}→{_day(i['to'])}: {i['status']}"
            + (f" {place_label(i['place'], sites)}" if i["place"] else "")
            + (f" ({i['individuals']})" if i["individuals"] else "")
            for i in intervals)
        console.print(f"  [bold]{book}[/]: {steps}", highlight=False)
