"""``ledger report --html FILE``: the figures, the bridge and their charts in one offline page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ledger.cli.options import AsOf, Json, KnownAt, parse_as_of, parse_known_at
from ledger.cli.output import Force, output_path, print_json, reports_errors
from ledger.cli.public import DEFAULT as PUBLIC_MIN
from ledger.cli.public import MinHouseholds, Public
from ledger.cli.read import bridge_document, place_label
from ledger.cli.state import workspace
from ledger.outputs import OutputPath, staged
from projections.places import bridge_in, check_places
from projections.public import public_bridge, public_view, render_public
from projections.queries import reconcile
from projections.report import gather, place_bridge_section, render


@reports_errors
def report_command(
    html: Annotated[Path, typer.Option("--html", dir_okay=False,
                                       help="The HTML file to write (self-contained, opens offline).")],
    as_of: AsOf = None, known_at: KnownAt = None,
    left: Annotated[str, typer.Option("--left", help="Left rulebook.")] = "official",
    right: Annotated[str, typer.Option("--right", help="Right rulebook.")] = "operational",
    place: Annotated[str | None, typer.Option(
        "--place", help="Also a bridge for this place: a site id (by camp), a district or a "
        "governorate p-code (JSON: place_bridge, keys as for `ledger reconcile --json`).")] = None,
    public: Public = False, min_households: MinHouseholds = PUBLIC_MIN,
    force: Force = False, json_output: Json = False,
) -> None:
    """Write one HTML page: the reconciliation bridge as a waterfall, both views by governorate
    and camp, population by status over time, the FVM round funnel, and the as-of date,
    known-at time, rulebooks and ledger digest they come from."""
    target = output_path(html, "report", force=force)
    with workspace() as ws:
        ws.catch_up()
        data = gather(ws.views, ws.db, as_of=parse_as_of(as_of), known_at=parse_known_at(known_at),
                      left=left, right=right)
        sites = ws.views.sites()
        local = None
        if place is not None:
            check_places([place], sites)
            local = bridge_in(reconcile(ws.views, left, right, as_of=data.as_of,
                                        known_at=data.known_at, level="cell"),
                              place, ws.views.sites_at(data.as_of, data.known_at))
    if public:  # the public tables only: a chart would show every value
        views = tuple(public_view(v, b, sites, min_households) for v, b in zip(data.views_adm1,
                                                                                data.books, strict=True))
        bridge = public_bridge(data.bridge, *data.books, sites, min_households)
        page = render_public((views[0], views[1]), bridge, data.digest,
                             "Movement Ledger: public figures")
        local = None  # a camp's bridge lists too few households to be public
    else:
        page = render(data)
        if local is not None:
            section = place_bridge_section(local, place or "", place_label(place or "", sites))
            page = page.replace("</main>", section + "</main>", 1)
    write_report(target, page)
    if json_output:
        print_json({"html": str(html), "as_of": data.as_of, "known_at": data.known_at,
                    "rulebooks": [b.name for b in data.books], "digest": data.digest,
                    **({"place_bridge": bridge_document(local, sites)} if local else {})})
    else:
        typer.echo(f"Wrote {html} (as of {data.as_of}, {data.books[0].name} vs "
                   f"{data.books[1].name}); open it in a browser, no network needed")


def write_report(output: OutputPath, page: str) -> None:
    with staged(output) as stage:
        stage.path.write_text(page, encoding="utf-8")
