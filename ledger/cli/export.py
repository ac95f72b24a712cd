"""``ledger export view|reconcile|compare|audit ...``: views, reconciliation bridges, comparisons
and audit trails as CSV + HXL or XLSX."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ledger.arguments import parse_as_of, parse_known_at, parse_level
from ledger.cli.compare import Place as ComparedPlace
from ledger.cli.compare import Reported, Via, compared
from ledger.cli.compare import Rulebook as ComparedRulebook
from ledger.cli.options import AsOf, By, Json, KnownAt, Left, Output, Right, Rulebook
from ledger.cli.output import Force, output_path, print_json, reports_errors
from ledger.cli.public import DEFAULT as PUBLIC_MIN
from ledger.cli.public import MinHouseholds, NeverPublic, Public, refuse_public
from ledger.cli.state import workspace
from ledger.outputs import OutputPath, staged
from projections.export import (
    FORMATS,
    Export,
    bridge_export_answer,
    compare_export,
    count_export_answer,
    household_export_answer,
    view_export_answer,
    write_export,
)

app = typer.Typer(help="Write views, bridges and audit trails to CSV (with HXL hashtags) or XLSX.",
                  no_args_is_help=True)
audit_app = typer.Typer(help="Export audit trails: a household's history, or a figure's lineage.",
                        no_args_is_help=True)

Format = Annotated[str | None, typer.Option(
    "--format", metavar="csv|xlsx",
    help="csv: one file per table, header + HXL rows (the main table at --output, the others "
    "beside it); xlsx: one sheet per table and an 'about' sheet. Default: from --output's suffix.")]
Hxl = Annotated[bool, typer.Option(
    "--hxl/--no-hxl",
    help="Write the HXL hashtag row under the header (default). --no-hxl leaves it out, for "
    "tools that want a single header row; with it, read the file with pandas.read_csv or "
    "read_excel(..., skiprows=[1]).")]


def _format(fmt: str | None, output: Path) -> str:
    chosen = fmt or output.suffix.lower().lstrip(".")
    if chosen not in FORMATS:
        raise typer.BadParameter(f"{chosen!r}; expected one of {', '.join(FORMATS)}",
                                 param_hint="--format")
    return chosen


def _target(fmt: str | None, output: Path, force: bool) -> tuple[str, OutputPath]:
    """The format and the checked output path, before any work."""
    return _format(fmt, output), output_path(output, "export", force=force)


def _write(export: Export, output: OutputPath, fmt: str, json_output: bool, hxl: bool = True) -> None:
    with staged(output) as stage:
        write_export(export, stage.path, fmt, hxl)
    given = output.requested.parent
    written = [given / p.name for p in stage.published]
    if json_output:
        print_json({"title": export.title, "format": fmt, "files": [str(p) for p in written],
                    "tables": {t.name: len(t.rows) for t in export.tables}})
    else:
        for path in written:
            typer.echo(f"Wrote {path}")


@app.command("view")
@reports_errors
def export_view(
    rulebook: Rulebook,
    output: Output, fmt: Format = None, as_of: AsOf = None, known_at: KnownAt = None,
    by: By = "cell", hxl: Hxl = True, force: Force = False, public: Public = False,
    min_households: MinHouseholds = PUBLIC_MIN, json_output: Json = False,
) -> None:
    """One rulebook's figures, as `ledger views show` gives them (--public: safe to publish)."""
    level = parse_level(by)
    chosen, target = _target(fmt, output, force)
    with workspace() as ws:
        ws.catch_up()
        export = view_export_answer(ws.views, rulebook, as_of=parse_as_of(as_of),
                                    known_at=parse_known_at(known_at), level=level,
                                    public=min_households if public else None)
    _write(export, target, chosen, json_output, hxl)


@app.command("reconcile")
@reports_errors
def export_reconcile(
    output: Output, fmt: Format = None,
    left: Left = "official", right: Right = "operational",
    as_of: AsOf = None, known_at: KnownAt = None, by: By = "cell", hxl: Hxl = True,
    force: Force = False, public: Public = False, min_households: MinHouseholds = PUBLIC_MIN,
    json_output: Json = False,
) -> None:
    """The bridge between two rulebooks: each cell's figures and the reasons for every gap
    (--public: safe to publish, one row per figure)."""
    level = parse_level(by)
    chosen, target = _target(fmt, output, force)
    with workspace() as ws:
        ws.catch_up()
        export = bridge_export_answer(ws.views, left, right, as_of=parse_as_of(as_of),
                                      known_at=parse_known_at(known_at), level=level,
                                      public=min_households if public else None)
    _write(export, target, chosen, json_output, hxl)


@app.command("compare")
@reports_errors
def export_compare(
    rulebook: ComparedRulebook, reported: Reported, output: Output, fmt: Format = None,
    via: Via = None, as_of: AsOf = None, known_at: KnownAt = None, by: By = "cell",
    place: ComparedPlace = None, hxl: Hxl = True, force: Force = False, json_output: Json = False,
) -> None:
    """`ledger compare` to CSV (with HXL hashtags) or XLSX."""
    chosen, target = _target(fmt, output, force)
    answer = compared(rulebook, reported, via, as_of, known_at, by, place)
    _write(compare_export(answer), target, chosen, json_output, hxl)


@audit_app.command("household")
@reports_errors
def export_household(
    household_id: Annotated[str, typer.Argument(help="The household's id.")],
    output: Output, fmt: Format = None, known_at: KnownAt = None, hxl: Hxl = True, force: Force = False,
    public: NeverPublic = False, json_output: Json = False,
) -> None:
    """Every fact of a household (both times, who, which document, voids) and its status over
    time under every rulebook."""
    refuse_public(public, "`export audit household`")
    chosen, target = _target(fmt, output, force)
    with workspace() as ws:
        ws.catch_up()
        export = household_export_answer(ws.views, household_id, parse_known_at(known_at))
    _write(export, target, chosen, json_output, hxl)


@audit_app.command("count")
@reports_errors
def export_count(
    rulebook: Annotated[str, typer.Option("--rulebook", help="The rulebook of the figure.")],
    status: Annotated[str, typer.Option("--status", help="idp_in_camp, idp_out_of_camp, returnee "
                                                        "or locally_integrated.")],
    place: Annotated[str, typer.Option("--place", help="A site id or a p-code (as in a cell).")],
    output: Output, fmt: Format = None, as_of: AsOf = None, known_at: KnownAt = None,
    hxl: Hxl = True, force: Force = False, public: NeverPublic = False, json_output: Json = False,
) -> None:
    """The households behind one figure, with the facts that put each of them there."""
    refuse_public(public, "`export audit count`")
    chosen, target = _target(fmt, output, force)
    day, moment = parse_as_of(as_of), parse_known_at(known_at)
    with workspace() as ws:
        ws.catch_up()
        export = count_export_answer(ws.views, rulebook, status, place, day, moment)
    _write(export, target, chosen, json_output, hxl)


app.add_typer(audit_app, name="audit")
