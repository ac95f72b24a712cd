"""``ledger rounds report``: an FVM departure round from manifest to departure to return-to-camp."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from ledger.arguments import parse_as_of, parse_known_at
from ledger.cli.options import AsOf, Json, KnownAt
from ledger.cli.output import print_json, reports_errors, say, table
from ledger.cli.state import workspace
from ledger.pcodes import name_of
from projections.rounds import round_report

app = typer.Typer(help="FVM departure rounds.", no_args_is_help=True)


@app.command("report")
@reports_errors
def rounds_report(
    round_id: Annotated[str, typer.Argument(help="The round's id, e.g. R1.")],
    as_of: AsOf = None, known_at: KnownAt = None, json_output: Json = False,
) -> None:
    """A round from manifest to departure to return-to-camp: who left, with or without a letter,
    who came back (and how soon), who is still pending."""
    with workspace() as ws:
        report = round_report(ws.db, round_id, as_of=parse_as_of(as_of),
                              known_at=parse_known_at(known_at))
    if json_output:
        print_json(asdict(report))
        return
    say(f"[bold]Round {report.round_id}[/] planned {report.planned_on} from "
        f"{', '.join(report.from_site_ids)} to {', '.join(report.destination_pcodes)}"
        f"{' (closed)' if report.closed else ''}; as of {report.as_of}")
    table(None, ["manifested", "withdrawn", "departed", "with letter", "without letter",
                 "re-entered", "pending", "median days to re-entry"],
          [[report.manifested, report.withdrawn, report.departed, report.departed_with_letter,
            report.departed_without_letter, report.reentered, report.pending,
            report.median_days_to_reentry if report.median_days_to_reentry is not None else "-"]])
    if report.by_destination:
        table("Departed by destination and pathway", ["destination", "households"],
              [[f"{name_of(k)} ({k})", v] for k, v in report.by_destination.items()]
              + [[f"pathway: {k}", v] for k, v in report.by_pathway.items()])
