"""``ledger report --html FILE``: the figures, the bridge and their charts in one offline page."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ledger.arguments import parse_as_of, parse_known_at
from ledger.cli.options import AsOf, Json, KnownAt, Left, Right
from ledger.cli.output import Force, output_path, print_json, reports_errors
from ledger.cli.public import DEFAULT as PUBLIC_MIN
from ledger.cli.public import MinHouseholds, Public
from ledger.cli.state import workspace
from ledger.outputs import OutputPath, staged
from projections.answers import report_answer
from projections.documents import bridge_document


@reports_errors
def report_command(
    html: Annotated[Path, typer.Option("--html", dir_okay=False,
                                       help="The HTML file to write (self-contained, opens offline).")],
    as_of: AsOf = None, known_at: KnownAt = None,
    left: Left = "official", right: Right = "operational",
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
        answer = report_answer(ws.views, as_of=parse_as_of(as_of),
                               known_at=parse_known_at(known_at), left=left, right=right,
                               place=place, public=min_households if public else None)
    write_report(target, answer.page)
    if json_output:
        local = answer.place_bridge
        print_json({"html": str(html), "as_of": answer.as_of, "known_at": answer.known_at,
                    "rulebooks": [b.name for b in answer.books], "digest": answer.digest,
                    **({"place_bridge": bridge_document(local, answer.sites)} if local else {})})
    else:
        typer.echo(f"Wrote {html} (as of {answer.as_of}, {answer.books[0].name} vs "
                   f"{answer.books[1].name}); open it in a browser, no network needed")


def write_report(output: OutputPath, page: str) -> None:
    with staged(output) as stage:
        stage.path.write_text(page, encoding="utf-8")
