"""``ledger figures ...``: published figures, and withdrawing one published by mistake."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ledger.catalogue import parse_fact
from ledger.cli.options import Json
from ledger.cli.output import console, print_json, reports_errors, table
from ledger.cli.state import workspace
from ledger.errors import RuleViolationError
from ledger.workspace import Workspace
from projections.audit import Retraction, load_figure, published_figures, retractions
from projections.queries import now

app = typer.Typer(help="Published figures: list them, retract one published by mistake.",
                  no_args_is_help=True)


def retract_figure(ws: Workspace, figure_id: str, reason: str, recorded_by: str | None,
                   source_document: str | None) -> Retraction:
    """Record a ``figure_retracted`` fact; a figure is retracted once, and only if published."""
    load_figure(ws.db, figure_id)  # a clear error for an unknown id
    with ws.db.cursor() as cur:
        earlier = retractions(cur, ws.db).get(figure_id)
    if earlier is not None:
        raise RuleViolationError(
            f"figure {figure_id!r} is already retracted ({earlier.recorded_at:%Y-%m-%d %H:%M} UTC: "
            f"{earlier.reason})", field="figure_id")
    ws.record(parse_fact({
        "type": "figure_retracted", "source_id": f"{figure_id}/retracted",
        "effective_on": now().date().isoformat(), "figure_id": figure_id, "reason": reason,
        "recorded_by": recorded_by, "source_document": source_document,
    }, internal=True))
    with ws.db.cursor() as cur:
        return retractions(cur, ws.db)[figure_id]


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
        console.print(f"Retracted [bold]{figure_id}[/]: {done.reason}", highlight=False)


@app.command("list")
@reports_errors
def list_figures(json_output: Json = False) -> None:
    """Every published figure: its rulebook and version, grouping, D, K, and whether it is
    retracted."""
    with workspace() as ws, ws.db.cursor() as cur:
        figures, retracted = published_figures(cur, ws.db), retractions(cur, ws.db)
    rows: list[dict[str, Any]] = [
        {"figure_id": f.figure_id, "rulebook": f.rulebook, "rulebook_version": f.rulebook_version,
         "by": f.level, "as_of": f.as_of, "known_at": f.known_at, "published_at": f.recorded_at,
         "retracted": f.figure_id in retracted,
         "retraction": retracted[f.figure_id].as_dict() if f.figure_id in retracted else None}
        for f in figures]
    if json_output:
        print_json(rows)
        return
    table("Published figures", ["figure", "rulebook", "by", "as of", "known at (UTC)", "retracted"],
          [[r["figure_id"], f"{r['rulebook']} v{r['rulebook_version']}", r["by"], r["as_of"],
            f"{r['known_at']:%Y-%m-%d %H:%M:%S}",
            r["retraction"]["reason"] if r["retraction"] else ""] for r in rows])
