"""Commands that report: views, reconcile, rulebooks."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Mapping
from typing import Annotated, Any

import typer

from ledger.cli.options import AsOf, By, Json, KnownAt, parse_as_of, parse_known_at, parse_level
from ledger.cli.output import console, print_json, progress_bar, reports_errors, table
from ledger.cli.public import DEFAULT as PUBLIC_MIN
from ledger.cli.public import MinHouseholds, Public, print_public_bridge, print_public_view
from ledger.cli.state import workspace
from ledger.pcodes import NATIONAL, name_of
from projections.bridge import Bridge, Figure, Level, SiteInfo
from projections.places import (
    UsageError,
    bridge_in,
    check_grouping,
    check_places,
    check_view_place,
)
from projections.public import public_bridge, public_bridge_document, public_view, public_view_document
from projections.queries import ViewResult, reconcile, show, totals
from projections.rulebook_versions import load_versions

views_app = typer.Typer(help="The population figures of one rulebook, and the views behind them.",
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
        "rulebook": result.rulebook, "rulebook_version": result.version,
        "as_of": result.as_of, "known_at": result.known_at,
        "by": result.level,
        "rows": [{"status": r.status, "place": r.place, "place_name": place_label(r.place, sites),
                  "households": r.households, "individuals": r.individuals} for r in result.rows],
        "total": fig(result.total),
    }


def bridge_document(bridge: Bridge, sites: dict[str, SiteInfo],
                    versions: Mapping[str, int] | None = None) -> dict[str, Any]:
    """The bridge as JSON; ``versions`` (rulebook name -> version counted with) adds
    ``left_version`` and ``right_version``."""
    left, right, reasons = totals(bridge.rows)
    used = {} if versions is None else {"left_version": versions[bridge.left],
                                        "right_version": versions[bridge.right]}
    return {
        "left": bridge.left, "right": bridge.right, **used, "as_of": bridge.as_of,
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


def _known(bridge: Bridge) -> dt.datetime:
    assert bridge.known_at is not None  # the views' bridges always carry their K
    return bridge.known_at


@views_app.command("show")
@reports_errors
def views_show(
    rulebook: Annotated[str, typer.Option("--rulebook", help="official, operational or one you added.")],
    as_of: AsOf = None, known_at: KnownAt = None, by: By = "cell",
    place: Annotated[list[str] | None, typer.Option(
        "--place", help="Only this place (a site id, or a p-code at the --by level); repeatable. "
        "An unknown place is an error naming the closest known ones; a known place where "
        "nobody is counted shows 0 and says so (JSON: nobody_counted_at).",
    )] = None,
    public: Public = False, min_households: MinHouseholds = PUBLIC_MIN,
    json_output: Json = False,
) -> None:
    """Population figures under one rulebook, by cell, district, governorate or nationally."""
    level = parse_level(by)
    if public:
        _public_view(rulebook, as_of, known_at, level, place, min_households, json_output)
        return
    with workspace() as ws:
        ws.catch_up()
        sites = ws.views.sites()
        check_places(place or [], sites)
        for where in place or []:
            try:
                check_view_place(where, level, sites)
            except UsageError as exc:
                raise typer.BadParameter(str(exc), param_hint="--place") from None
        result = show(ws.views, rulebook, as_of=parse_as_of(as_of),
                      known_at=parse_known_at(known_at), level=level, places=place)
    empty = [p for p in dict.fromkeys(place or []) if all(r.place != p for r in result.rows)]
    if json_output:
        print_json({**view_document(result, sites), "nobody_counted_at": empty})
        return
    for where in empty:
        console.print(f"Nobody is counted at {where} ({place_label(where, sites)}) under "
                      f"{result.rulebook} as of {result.as_of} by {result.level}: 0 / 0",
                      highlight=False)
    table(f"{result.rulebook} v{result.version} view as of {result.as_of}, known at "
          f"{result.known_at:%Y-%m-%d %H:%M:%S} UTC, by {result.level}",
          ["status", "place", "name", "households", "individuals"],
          [[r.status, r.place, place_label(r.place, sites), f"{r.households:,}", f"{r.individuals:,}"]
           for r in result.rows]
          + [["total", "", "", f"{result.total.households:,}", f"{result.total.individuals:,}"]],
          numeric=["households", "individuals"])


def _public_view(rulebook: str, as_of: str | None, known_at: str | None, level: Level,
                 place: list[str] | None, min_households: int, json_output: bool) -> None:
    """Suppressed on the whole table (what --place leaves out is published elsewhere), then kept."""
    with workspace() as ws:
        ws.catch_up()
        result = show(ws.views, rulebook, as_of=parse_as_of(as_of),
                      known_at=parse_known_at(known_at), level=level)
        sites = ws.views.sites()
        book = ws.views.rulebook(rulebook)
    document = public_view_document(public_view(result, book, sites, min_households),
                                    lambda p: place_label(p, sites))
    if place:
        document["rows"] = [r for r in document["rows"] if r["place"] in set(place)]
    if json_output:
        print_json(document)
    else:
        print_public_view(document)


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
    as_of: AsOf = None, known_at: KnownAt = None, by: By = "cell",
    place: Annotated[str | None, typer.Option(
        "--place", help="Only the rows in this place: a site id (a per-camp bridge, by cell), a "
        "district or a governorate p-code (rows whose place lies in it; a camp lies in its "
        "location's district and governorate and in its authority's); totals are the place's.",
    )] = None,
    public: Public = False, min_households: MinHouseholds = PUBLIC_MIN, json_output: Json = False,
) -> None:
    """Put two rulebooks' figures side by side and explain every gap, household by household.

    Each row shows left, right, their difference and the reasons that make it up; the reasons
    always add up exactly to the difference, in households and in individuals. Contributions
    are left − right (docs/counting.md defines every reason).
    """
    level = parse_level(by)
    with workspace() as ws:
        ws.catch_up()
        sites = ws.views.sites()
        if place is not None:
            check_places([place], sites)
            try:
                check_grouping(place, level, sites)
            except UsageError as exc:
                raise typer.BadParameter(str(exc), param_hint="--place") from None
        bridge = reconcile(ws.views, left, right, as_of=parse_as_of(as_of),
                           known_at=parse_known_at(known_at), level=level)
        versions = load_versions(ws.db).numbers_at(bridge.known_at)
        if place is not None:
            bridge = bridge_in(bridge, place, ws.views.sites_at(bridge.as_of, _known(bridge)))
        books = ws.views.rulebook(left), ws.views.rulebook(right)
    if public:
        document = public_bridge_document(public_bridge(bridge, *books, sites, min_households),
                                          lambda p: place_label(p, sites))
        print_json(document) if json_output else print_public_bridge(document)
        return
    if json_output:
        print_json({**bridge_document(bridge, sites, versions), **({"place": place} if place else {})})
        return
    if place is not None:
        console.print(f"Only the rows in {place} ({place_label(place, sites)}); the totals are "
                      "its own", highlight=False)
    print_bridge(bridge, sites, versions)


def print_bridge(bridge: Bridge, sites: dict[str, SiteInfo],
                 versions: Mapping[str, int] | None = None) -> None:
    """The bridge for people: each row's two figures, then the reasons that make up the gap."""
    names = (bridge.left, bridge.right) if versions is None else (
        f"{bridge.left} v{versions[bridge.left]}", f"{bridge.right} v{versions[bridge.right]}")
    console.print(f"[bold]{names[0]} vs {names[1]}[/] as of {bridge.as_of}, by {bridge.level} "
                  f"(households / individuals; each reason's contribution is {bridge.left} − "
                  f"{bridge.right})", highlight=False)
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
