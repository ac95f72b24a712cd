"""``ledger figures retract|list``: published figures, and withdrawing one published by mistake."""

from __future__ import annotations

from typing import Annotated

import typer

from ledger.cli.options import Json
from ledger.cli.output import print_json, reports_errors, say, table
from ledger.cli.state import workspace
from ledger.figures import list_figures, retract_figure

app = typer.Typer(help="Published figures: list them, retract one published by mistake.",
                  no_args_is_help=True)


@app.command("retract")
@reports_errors
def retract(
    figure_id: Annotated[str, typer.Argument(help="The id `ledger publish` printed.")],
    reason: Annotated[str, typer.Option("--reason", help="Why it is withdrawn (kept in the ledger).")],
    recorded_by: Annotated[str | None, typer.Option(
        "--recorded-by", help="Who retracts it (organisation or user).")] = None,
    source_document: Annotated[str | None, typer.Option(
        "--source-document", help="Where the retraction is announced.")] = None,
    json_output: Json = False,
) -> None:
    """Withdraw a published figure (a typo in its as-of, the wrong rulebook...). The figure and
    its retraction stay in the ledger and its hash chain; `ledger verify` still re-derives it
    and lists it as retracted, but no longer fails because of it. A correction is a new
    `ledger publish`."""
    with workspace() as ws:
        done = retract_figure(ws, figure_id, reason, recorded_by, source_document)
    if json_output:
        print_json({"figure_id": figure_id, "retracted": True, **done.as_dict()})
    else:
        say(f"Retracted [bold]{figure_id}[/]: {done.reason}")


@app.command("list")
@reports_errors
def list_(json_output: Json = False) -> None:
    """Every published figure: its rulebook and version, grouping, D, K, and whether it is
    retracted."""
    with workspace() as ws:
        rows = list_figures(ws)
    if json_output:
        print_json(rows)
        return
    table("Published figures", ["figure", "rulebook", "by", "as of", "known at (UTC)", "retracted"],
          [[r["figure_id"], f"{r['rulebook']} v{r['rulebook_version']}", r["by"], r["as_of"],
            f"{r['known_at']:%Y-%m-%d %H:%M:%S}",
            r["retraction"]["reason"] if r["retraction"] else ""] for r in rows])
