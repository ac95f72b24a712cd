"""Commands that report: views, reconcile, rulebooks."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated, Any

import typer

from ledger.cli.options import AsOf, By, Json, KnownAt, parse_as_of, parse_known_at, parse_level
from ledger.cli.output import console, print_json, progress_bar, reports_errors, table
from ledger.cli.public import MinHouseholds, Public, public_bridge_document, public_view_document, shown
from ledger.cli.state import workspace
from ledger.errors import RulebookError
from ledger.pcodes import NATIONAL, name_of
from projections.bridge import Bridge, Figure, SiteInfo
from projections.disclosure import DEFAULT_MIN_HOUSEHOLDS
from projections.queries import ViewResult, reconcile, show, totals

views_app = typer.Typer(help="The population figures of one rulebook, and the views behind them.",
                        no_args_is_help=True)
rulebooks_app = typer.Typer(help="Rulebooks: how an organisation turns facts into figures.",
                            no_args_is_help=True)


def place_label(place: str, sites: dict[str, SiteInfo]) -> str:
    if place in sites:
        return sites[place].name
    if place == NATIONAL:
        return "Iraq"
    return name_of(place)


def fig(figure: Figure) -> dict[str, int]:
    return {"households": figure.households, "individuals": figure.individuals}


def signed(figure: Figure) -> str:
    return f"{figure.households:+,} / {figure.individuals:+,}"


def view_document(result: ViewResult, sites: dict[str, SiteInfo]) -> dict[str, Any]:
    return {
        "rulebook": result.rulebook, "as_of": result.as_of, "known_at": result.known_at,
        "by": result.level,
        "rows": [{"status": r.status, "place": r.place, "place_name": place_label(r.place, sites),
                  "households": r.households, "individuals": r.individuals} for r in result.rows],
        "total": fig(result.total),
    }


def bridge_document(bridge: Bridge, sites: dict[str, SiteInfo]) -> dict[str, Any]:
    left, right, reasons = totals(bridge.rows)
    return {
        "left": bridge.left, "right": bridge.right, "as_of": bridge.as_of,
        "known_at": bridge.known_at, "by": bridge.level,
        "rows": [
            {"status": r.status, "place": r.place, "place_name": place_label(r.place, sites),
             "left": fig(r.left), "right": fig(r.right), "delta": fig(r.delta),
             "reasons": [{"reason": k, **fig(v)} for k, v in r.reasons.items()]}
            for r in bridge.rows
        ],
        "totals": {"left": fig(left), "right": fig(right), "delta": fig(left - right),
                   "reasons": [{"reason": k, **fig(v)} for k, v in reasons.items()]},
    }


@views_app.command("show")
@reports_errors
def views_show(
    rulebook: Annotated[str, typer.Option("--rulebook", help="official, operational or one you added.")],
    as_of: AsOf = None, known_at: KnownAt = None, by: By = "cell",
    place: Annotated[list[str] | None, typer.Option(
        "--place", help="Only this place (a site id, or a p-code at the --by level); repeatable.",
    )] = None,
    json_output: Json = False,
    public: Public = False,
    min_households: MinHouseholds = DEFAULT_MIN_HOUSEHOLDS,
) -> None:
    """Population figures under one rulebook, by cell, district, governorate or nationally."""
    level = parse_level(by)
    with workspace() as ws:
        ws.catch_up()
        result = show(ws.views, rulebook, as_of=parse_as_of(as_of),
                      known_at=parse_known_at(known_at), level=level, places=place)
        sites = ws.views.sites()
    if public:
        print_public_view(public_view_document(result, sites, place_label, min_households), json_output)
        return
    if json_output:
        print_json(view_document(result, sites))
        return
    table(f"{result.rulebook} view as of {result.as_of}, known at {result.known_at:%Y-%m-%d %H:%M:%S}"
          f" UTC, by {result.level}",
          ["status", "place", "name", "households", "individuals"],
          [[r.status, r.place, place_label(r.place, sites), f"{r.households:,}", f"{r.individuals:,}"]
           for r in result.rows]
          + [["total", "", "", f"{result.total.households:,}", f"{result.total.individuals:,}"]],
          numeric=["households", "individuals"])


def print_public_view(document: dict[str, Any], json_output: bool) -> None:
    if json_output:
        print_json(document)
        return
    table(f"{document['rulebook']} view as of {document['as_of']}, by {document['by']}: public",
          ["status", "place", "name", "households", "individuals"],
          [[r["status"], r["place"], r["place_name"], shown(r, "households"), shown(r, "individuals")]
           for r in document["rows"]]
          + [["total", "", "", shown(document["total"], "households"),
              shown(document["total"], "individuals")]],
          numeric=["households", "individuals"])
    typer.echo(document["disclosure"]["rule"].capitalize() + ".")


@views_app.command("rebuild")
@reports_errors
def views_rebuild(json_output: Json = False) -> None:
    """Rebuild every view from the ledger, from the first fact (safe to interrupt: run again)."""
    with workspace() as ws:
        head = ws.views.ledger_head()
        started = time.perf_counter()
        with progress_bar("rebuilding views", head, quiet=json_output) as tick:
            applied = ws.views.rebuild(progress=tick)
        seconds = time.perf_counter() - started
    if json_output:
        print_json({"facts": applied, "seconds": round(seconds, 3)})
    else:
        typer.echo(f"Rebuilt the views from {applied:,} facts in {seconds:.1f} s")


@views_app.command("catch-up")
@reports_errors
def views_catch_up(json_output: Json = False) -> None:
    """Apply facts recorded since the views were last brought up to date."""
    with workspace() as ws:
        behind = ws.views.ledger_head() - ws.views.position()
        with progress_bar("catching up", max(behind, 0), quiet=json_output) as tick:
            applied = ws.catch_up(progress=tick)
        position = ws.views.position()
    if json_output:
        print_json({"applied": applied, "position": position})
    else:
        typer.echo(f"Applied {applied:,} facts; views at position {position:,}")


@views_app.command("follow")
@reports_errors
def views_follow(
    poll: Annotated[float, typer.Option(help="Seconds between polls when no notification comes.")] = 1.0,
    max_seconds: Annotated[float | None, typer.Option(help="Stop after this long (default: never).")] = None,
) -> None:
    """Keep the views up to date as facts arrive (PostgreSQL: LISTEN/NOTIFY plus polling)."""
    from projections.follow import follow  # noqa: PLC0415

    with workspace() as ws:
        follow(ws.views, ws.db, poll_seconds=poll, max_seconds=max_seconds)


@views_app.command("status")
@reports_errors
def views_status(json_output: Json = False) -> None:
    """How far the views are behind the ledger."""
    with workspace() as ws:
        head, position = ws.views.ledger_head(), ws.views.position()
    if json_output:
        print_json({"ledger_head": head, "views_position": position, "behind": head - position})
    else:
        typer.echo(f"ledger head {head:,}, views at {position:,} ({head - position:,} behind)")


@reports_errors
def reconcile_command(
    left: Annotated[str, typer.Option("--left", help="Left rulebook.")] = "official",
    right: Annotated[str, typer.Option("--right", help="Right rulebook.")] = "operational",
    as_of: AsOf = None, known_at: KnownAt = None, by: By = "cell", json_output: Json = False,
    public: Public = False, min_households: MinHouseholds = DEFAULT_MIN_HOUSEHOLDS,
) -> None:
    """Put two rulebooks' figures side by side and explain every gap, household by household.

    Each row shows left, right, their difference and the reasons that make it up; the reasons
    always add up exactly to the difference, in households and in individuals.
    """
    level = parse_level(by)
    with workspace() as ws:
        ws.catch_up()
        bridge = reconcile(ws.views, left, right, as_of=parse_as_of(as_of),
                           known_at=parse_known_at(known_at), level=level)
        sites = ws.views.sites()
    if public:
        print_public_bridge(public_bridge_document(bridge, sites, place_label, min_households),
                            json_output)
        return
    if json_output:
        print_json(bridge_document(bridge, sites))
        return
    print_bridge(bridge, sites)


def print_public_bridge(document: dict[str, Any], json_output: bool) -> None:
    if json_output:
        print_json(document)
        return
    left, right = document["left"], document["right"]
    table(f"{left} vs {right} as of {document['as_of']}, by {document['by']}: public",
          ["status", "place", "name", f"{left} households", f"{right} households", "delta"],
          [[r["status"], r["place"], r["place_name"], shown(r["left"], "households"),
            shown(r["right"], "households"), shown(r["delta"], "households")]
           for r in document["rows"]]
          + [["total", "", "", shown(document["totals"]["left"], "households"),
              shown(document["totals"]["right"], "households"),
              shown(document["totals"]["delta"], "households")]])
    typer.echo(document["disclosure"]["rule"].capitalize() + ".")


def print_bridge(bridge: Bridge, sites: dict[str, SiteInfo]) -> None:
    """The bridge for people: each row's two figures, then the reasons that make up the gap."""
    console.print(f"[bold]{bridge.left} vs {bridge.right}[/] as of {bridge.as_of}, by {bridge.level} "
                  "(households / individuals)", highlight=False)
    for row in bridge.rows:
        name = place_label(row.place, sites)
        where = row.place if name == row.place else f"{row.place} {name}"
        console.print(
            f"\n[bold]{row.status}[/] {where}: {bridge.left} {row.left.households:,} / "
            f"{row.left.individuals:,}, {bridge.right} {row.right.households:,} / "
            f"{row.right.individuals:,}, delta {signed(row.delta)}", highlight=False)
        for reason, figure in row.reasons.items():
            console.print(f"    {signed(figure):>18}  {reason}", highlight=False)
    left, right, reasons = totals(bridge.rows)
    console.print(f"\n[bold]In all[/]: {bridge.left} {left.households:,} / {left.individuals:,}",
                  highlight=False)
    for reason, figure in reasons.items():
        if figure.households or figure.individuals:
            console.print(f"    {signed(figure):>18}  {reason}", highlight=False)
    console.print(f"  = {bridge.right} {right.households:,} / {right.individuals:,}", highlight=False)


@rulebooks_app.command("list")
@reports_errors
def rulebooks_list(json_output: Json = False) -> None:
    """The rulebooks this store knows: the two built-in ones and any you added."""
    with workspace() as ws:
        books = ws.views.rulebooks()
    if json_output:
        print_json([{"name": b.name, "description": b.description, "registry": b.registry,
                     "caseload_start": b.caseload_start, "departures_move": b.departures_move,
                     "reentry_counts": b.reentry_counts,
                     "returnee_registration_counts": b.returnee_registration_counts,
                     "site_attribution": b.site_attribution,
                     "return_ends_displacement": b.return_ends_displacement}
                    for b in books.values()])
        return
    table("Rulebooks", ["name", "registry", "caseload since", "departures", "re-entry counts",
                        "returnee reg. counts", "camps reported under", "return ends displ."],
          [[b.name, b.registry, b.caseload_start, b.departures_move, b.reentry_counts,
            b.returnee_registration_counts, b.site_attribution, b.return_ends_displacement]
           for b in books.values()])


@rulebooks_app.command("add")
@reports_errors
def rulebooks_add(
    file: Annotated[Path, typer.Argument(help="A TOML rulebook (see examples/iris.toml).",
                                         exists=True, dir_okay=False)],
    json_output: Json = False,
) -> None:
    """Add (or replace) a rulebook from a TOML file; no code change needed to compare it."""
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise RulebookError(f"{file}: not a UTF-8 text file") from None
    with workspace() as ws, progress_bar("projecting households", None, quiet=json_output) as tick:
        book = ws.views.add_rulebook(text, str(file), progress=tick)
    if json_output:
        print_json({"added": book.name})
    else:
        typer.echo(f"Rulebook {book.name!r} added; try `ledger reconcile --left official "
                   f"--right {book.name}`")


rounds_app = typer.Typer(help="FVM departure rounds.", no_args_is_help=True)


@rounds_app.command("report")
@reports_errors
def rounds_report(
    round_id: Annotated[str, typer.Argument(help="The round's id, e.g. R1.")],
    as_of: AsOf = None, known_at: KnownAt = None, json_output: Json = False,
) -> None:
    """A round from manifest to departure to return-to-camp: who left, with or without a letter,
    who came back (and how soon), who is still pending."""
    from dataclasses import asdict  # noqa: PLC0415

    from projections.rounds import round_report  # noqa: PLC0415

    with workspace() as ws:
        report = round_report(ws.db, round_id, as_of=parse_as_of(as_of),
                              known_at=parse_known_at(known_at))
    if json_output:
        print_json(asdict(report))
        return
    console.print(f"[bold]Round {report.round_id}[/] planned {report.planned_on} from "
                  f"{', '.join(report.from_site_ids)} to {', '.join(report.destination_pcodes)}"
                  f"{' (closed)' if report.closed else ''}; as of {report.as_of}", highlight=False)
    table(None, ["manifested", "withdrawn", "departed", "with letter", "without letter",
                 "re-entered", "pending", "median days to re-entry"],
          [[report.manifested, report.withdrawn, report.departed, report.departed_with_letter,
            report.departed_without_letter, report.reentered, report.pending,
            report.median_days_to_reentry if report.median_days_to_reentry is not None else "-"]])
    if report.by_destination:
        table("Departed by destination and pathway", ["destination", "households"],
              [[f"{name_of(k)} ({k})", v] for k, v in report.by_destination.items()]
              + [[f"pathway: {k}", v] for k, v in report.by_pathway.items()])
