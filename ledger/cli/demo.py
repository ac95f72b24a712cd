"""``ledger demo``: the first quarter of 2026 in the Returns Working Group's camps, end to end.

Records the seeded Q1 2026 facts and gathers what the demo shows (:mod:`ledger.demo_run`), then
prints both views, the bridge between them, the FVM rounds and one household's audit story, and
writes the HTML report.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer

from ledger.cli.options import Json
from ledger.cli.output import (
    Force,
    figure_pair,
    output_path,
    print_json,
    progress_bar,
    reports_errors,
    say,
    table,
)
from ledger.cli.reconcile import print_bridge
from ledger.cli.report import write_report
from ledger.cli.state import workspace
from ledger.demo_q1_2026 import AUDIT_HOUSEHOLD, MEETING
from ledger.demo_run import DemoRun, run_demo
from projections.bridge import SiteInfo
from projections.compare import Comparison
from projections.compare import comparison_document as comparison_doc
from projections.documents import bridge_document, place_label, view_document


@reports_errors
def demo_command(
    html: Annotated[Path | None, typer.Option(
        "--html", dir_okay=False, help="Where to write the HTML report.",
    )] = Path("ledger-report.html"),
    no_html: Annotated[bool, typer.Option("--no-html", help="Do not write the HTML report.")] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the demo's households (the headline "
                                                     "figures are the same for every seed).")] = 2026,
    force: Force = False,
    json_output: Json = False,
) -> None:
    """Record a realistic first quarter of 2026 (the Returns Working Group's FVM rounds, camps and
    registries), then show both views, the bridge, the rounds and one household's audit story,
    and write the HTML report.

    Uses the store of LEDGER_DATABASE_URL (default ./ledger.db) when it is empty or holds only
    the demo's own facts (running the demo again records nothing new); it refuses to mix the
    demo into a store that holds other facts.
    """
    report = None if no_html or html is None else output_path(html, "report", force=force)
    with workspace(initialised=False) as ws:
        run = run_demo(ws, seed, html=report is not None,
                       progress=lambda what, total: progress_bar(what, total, quiet=json_output))
    if report is not None and run.page is not None:
        write_report(report, run.page)
    where = report.requested if report is not None else None
    if json_output:
        print_json(demo_document(run, where))
        return
    print_demo(run, where)


def demo_document(run: DemoRun, html: Path | None) -> dict[str, Any]:
    sites = run.sites
    return {"store": run.store, "seed": run.seed, "facts": run.facts, "recorded": run.recorded,
            "as_of": run.as_of, "official": view_document(run.official, sites),
            "operational": view_document(run.operational, sites),
            "reconcile": bridge_document(run.bridge, sites),
            "reconcile_adm1": bridge_document(run.bridge_adm1, sites),
            "rounds": run.rounds, "audit": run.story, "digest": run.digest,
            "compare": [comparison_doc(c, lambda p: place_label(p, sites)) for c in run.comparisons],
            "report": str(html) if html else None}


def print_demo(run: DemoRun, html: Path | None) -> None:
    rounds, sites = run.rounds, run.sites
    say(f"[bold]Movement Ledger demo[/] — Q1 2026 in the camps of Duhok, Erbil and East "
        f"Mosul (seed {run.seed}), store {run.store}")
    say(f"{run.facts:,} facts ({run.recorded:,} newly recorded), all dated on or before the "
        f"Returns Working Group meeting of {MEETING:%d %B %Y}; figures as of that day.\n")
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
    say(f"{len(moved)} rounds moved {sum(r['departed'] for r in moved)} households; "
        f"{sum(r['pending'] for r in rounds)} households wait on the manifests of the "
        "rounds planned for late May and early June.\n")
    _print_views(run)
    print_bridge(run.bridge_adm1, sites)
    _print_story(run.story, sites)
    if html is not None:
        say(f"\nHTML report: {html} (open it in a browser; no network needed)")
    say(f"\nNext: ledger views show --rulebook official --as-of {MEETING} | ledger "
        f"reconcile --by adm1 | ledger rounds report FVM-2026-01 | ledger audit household "
        f"{AUDIT_HOUSEHOLD}")
    _print_reported(run.comparisons, sites)


def _print_reported(comparisons: tuple[Comparison, ...], sites: dict[str, SiteInfo]) -> None:
    say("\n[bold]Figures from outside[/] (reported − ledger = explained by the bridge + "
        "remainder; try `ledger compare --rulebook operational --reported MoMD --via "
        "official --by adm1`)")
    for result in comparisons:
        for row in result.rows:
            explained = sum(v.individuals for _, v in row.explained)
            coverage = row.coverage()[1]
            say(f"  {result.source} {row.status} {place_label(row.place, sites)}: reported "
                f"{row.reported.individuals:,}, {result.rulebook} {row.ledger.individuals:,} "
                f"({'-' if coverage is None else f'{coverage:.0%}'}); explained via {result.via} "
                f"{explained:+,}, {row.remainder_label or 'no remainder'} "
                f"{row.remainder.individuals:+,}")


def _print_views(run: DemoRun) -> None:
    official, operational, sites = run.official, run.operational, run.sites
    cells: dict[tuple[str, str], list[Any]] = {(r.status, r.place): [r, None] for r in official.rows}
    for r in operational.rows:
        cells.setdefault((r.status, r.place), [None, None])[1] = r
    rows = []
    for (status, place), (left, right) in cells.items():
        rows.append([status, place_label(place, sites),
                     figure_pair(left) if left else "-", figure_pair(right) if right else "-"])
    rows.append(["total", "", figure_pair(official.total), figure_pair(operational.total)])
    table(f"Both views as of {official.as_of} (households / individuals)",
          ["status", "place", official.rulebook, operational.rulebook], rows)


def _day(value: dt.date | None) -> str:
    return value.isoformat() if value else "…"


def _print_story(story: dict[str, Any], sites: dict[str, SiteInfo]) -> None:
    say(f"\n[bold]One audit story: household {story['household_id']}[/] — {story['story']}")
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
        say(f"  [bold]{book}[/]: {steps}")
