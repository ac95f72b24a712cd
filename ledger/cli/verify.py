"""``ledger verify``: the hash chain, the published figures and the views, checked."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import typer

from ledger.cli.options import Json
from ledger.cli.output import console, print_json, reports_errors, say, stamp, table
from ledger.cli.state import workspace
from projections.verify import FigureCheck, Verification
from projections.verify import verify as verify_ledger

MAX_CELLS_SHOWN = 50


@reports_errors
def verify_command(
    digest: Annotated[list[str] | None, typer.Option(
        "--digest", metavar="HEX",
        help="A digest kept outside the database (e.g. printed by `publish`); it must appear in "
        "the recomputed chain. Repeatable.")] = None,
    figures: Annotated[bool, typer.Option(
        "--figures/--no-figures", help="Re-derive every published figure from the stored facts "
        "(default) or only check their digests.")] = True,
    views: Annotated[bool, typer.Option(
        "--views", help="Also recompute every view row from the log (household page by page) "
        "and report every cell that differs from the stored views. Without it, the views are "
        "checked against the digest kept with their position, which notices most edits.")] = False,
    json_output: Json = False,
) -> None:
    """Recompute the hash chain over every stored fact and every published figure; report OK,
    or the first fact that no longer matches and the published figures that depend on it; and
    check that the views were not edited behind the projector's back. Exits 1 when the ledger
    does not verify."""
    with workspace() as ws:
        result = verify_ledger(ws.db, ws.views.rulebooks(), anchors=digest or (), figures=figures,
                               views=ws.views if views else None)
    if json_output:
        print_json(result.as_dict())
    else:
        print_verification(result)
    if not result.ok:
        raise typer.Exit(1)


def print_view_problems(views: dict[str, Any]) -> None:
    if views.get("tables_changed"):
        say(f"[bold red]VIEWS CHANGED[/]: {', '.join(views['tables_changed'])} no longer "
            f"match the digest kept at position {views['digest_position']}: edited "
            "behind the projector's back (`ledger verify --views` lists the cells, "
            "`ledger views rebuild` repairs them)")
    check = views.get("check")
    if check and check["differences"]:
        cells = check["cells"]
        table(f"View cells that differ from the log ({check['differences']:,})",
              ["table", "key", "column", "stored", "expected"],
              [[c["table"], " ".join(str(v) for v in c["key"].values()), c["column"], c["stored"],
                c["expected"]] for c in cells[:MAX_CELLS_SHOWN]])
        if len(cells) > MAX_CELLS_SHOWN:
            console().print(f"  ... and {len(cells) - MAX_CELLS_SHOWN:,} more (all of them with --json)")


def print_verification(r: Verification) -> None:
    first = r.first_break
    retracted = [f for f in r.figures if f.retracted]
    if not r.views["ok"]:
        print_view_problems(r.views)
    if r.ok:
        say(f"[bold green]OK[/]: {r.facts:,} facts chained, head {r.head_position} "
            f"digest {r.head_digest}; {len(r.figures) - len(retracted)} published "
            f"figures re-derive" + (f", {len(retracted)} retracted" if retracted else ""))
        print_retracted(retracted)
        return
    if first is not None:
        say(f"[bold red]TAMPERED[/]: fact at position {first.position} "
            f"(source_id {first.source_id}, {first.fact_type}): {first.problem}")
        say(f"  {r.broken_links} broken link(s) in {r.facts:,} facts")
    else:
        say("[bold red]DOES NOT VERIFY[/]")
    for d, position in r.anchors.items():
        if position is None:
            say(f"  digest {d} does not appear in the chain")
    print_retracted(retracted)
    bad = [f for f in r.figures if not f.ok and not f.retracted]
    if bad:
        table("Published figures affected", ["figure", "head position", "depends on the break",
                                             "digest", "re-derives"],
              [[f.figure_id, f.head_position, "yes" if f.depends_on_break else "no",
                "matches" if f.digest_matches else "differs",
                {True: "yes", False: "no", None: "not checked"}[f.rederives]] for f in bad])


def print_retracted(figures: Sequence[FigureCheck]) -> None:
    if figures:
        table("Retracted figures (re-derived, not failing the run)",
              ["figure", "retracted (UTC)", "reason", "re-derives"],
              [[f.figure_id, stamp(f.retraction.recorded_at) if f.retraction else "",
                f.retraction.reason if f.retraction else "",
                {True: "yes", False: "no", None: "not checked"}[f.rederives]] for f in figures])
