"""``ledger export``: views, reconciliation bridges and audit trails as CSV + HXL or XLSX."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ledger.cli.options import AsOf, By, Json, KnownAt, parse_as_of, parse_known_at, parse_level
from ledger.cli.output import print_json, reports_errors
from ledger.cli.public import (
    MinHouseholds,
    NeverPublic,
    Public,
    public_bridge_document,
    public_bridge_export,
    public_view_document,
    public_view_export,
    refuse_public,
)
from ledger.cli.state import workspace
from projections.disclosure import DEFAULT_MIN_HOUSEHOLDS
from projections.export import (
    FORMATS,
    Export,
    bridge_export,
    count_export,
    household_export,
    ledger_digest,
    place_name,
    view_export,
    write_export,
)
from projections.queries import now, reconcile, show

app = typer.Typer(help="Write views, bridges and audit trails to CSV (with HXL hashtags) or XLSX.",
                  no_args_is_help=True)
audit_app = typer.Typer(help="Export audit trails: a household's history, or a figure's lineage.",
                        no_args_is_help=True)
app.add_typer(audit_app, name="audit")

Output = Annotated[Path, typer.Option("--output", "-o", dir_okay=False,
                                      help="The file to write (.csv or .xlsx).")]
Format = Annotated[str | None, typer.Option(
    "--format", metavar="csv|xlsx",
    help="csv: one file per table, header + HXL rows (the main table at --output, the others "
    "beside it); xlsx: one sheet per table and an 'about' sheet. Default: from --output's suffix.")]


def _format(fmt: str | None, output: Path) -> str:
    chosen = fmt or output.suffix.lower().lstrip(".")
    if chosen not in FORMATS:
        raise typer.BadParameter(f"{chosen!r}; expected one of {', '.join(FORMATS)}",
                                 param_hint="--format")
    return chosen


def _write(export: Export, output: Path, fmt: str, json_output: bool) -> None:
    written = write_export(export, output, fmt)
    if json_output:
        print_json({"title": export.title, "format": fmt, "files": [str(p) for p in written],
                    "tables": {t.name: len(t.rows) for t in export.tables}})
    else:
        for path in written:
            typer.echo(f"Wrote {path}")


@app.command("view")
@reports_errors
def export_view(
    rulebook: Annotated[str, typer.Option("--rulebook", help="official, operational or one you added.")],
    output: Output, fmt: Format = None, as_of: AsOf = None, known_at: KnownAt = None,
    by: By = "cell", json_output: Json = False,
    public: Public = False, min_households: MinHouseholds = DEFAULT_MIN_HOUSEHOLDS,
) -> None:
    """One rulebook's figures, as `ledger views show` gives them."""
    chosen, level = _format(fmt, output), parse_level(by)
    with workspace() as ws:
        ws.catch_up()
        result = show(ws.views, rulebook, as_of=parse_as_of(as_of),
                      known_at=parse_known_at(known_at), level=level)
        export = view_export(result, ws.views.sites(), ws.views.rulebook(rulebook),
                             ledger_digest(ws.db))
        if public:
            document = public_view_document(result, ws.views.sites(), place_name, min_households)
            export = public_view_export(document, export.about)
    _write(export, output, chosen, json_output)


@app.command("reconcile")
@reports_errors
def export_reconcile(
    output: Output, fmt: Format = None,
    left: Annotated[str, typer.Option("--left", help="Left rulebook.")] = "official",
    right: Annotated[str, typer.Option("--right", help="Right rulebook.")] = "operational",
    as_of: AsOf = None, known_at: KnownAt = None, by: By = "cell", json_output: Json = False,
    public: Public = False, min_households: MinHouseholds = DEFAULT_MIN_HOUSEHOLDS,
) -> None:
    """The bridge between two rulebooks: each cell's figures and the reasons for every gap."""
    chosen, level = _format(fmt, output), parse_level(by)
    with workspace() as ws:
        ws.catch_up()
        bridge = reconcile(ws.views, left, right, as_of=parse_as_of(as_of),
                           known_at=parse_known_at(known_at), level=level)
        books = [ws.views.rulebook(left), ws.views.rulebook(right)]
        export = bridge_export(bridge, ws.views.sites(), books, ledger_digest(ws.db))
        if public:
            document = public_bridge_document(bridge, ws.views.sites(), place_name, min_households)
            export = public_bridge_export(document, export.about)
    _write(export, output, chosen, json_output)


@audit_app.command("household")
@reports_errors
def export_household(
    household_id: Annotated[str, typer.Argument(help="The household's id.")],
    output: Output, fmt: Format = None, known_at: KnownAt = None, json_output: Json = False,
    public: NeverPublic = False,
) -> None:
    """Every fact of a household (both times, who, which document, voids) and its status over
    time under every rulebook."""
    refuse_public(public, "`export audit household`")
    chosen = _format(fmt, output)
    with workspace() as ws:
        ws.catch_up()
        books = list(ws.views.rulebooks().values())
        export = household_export(ws.db, household_id, books, ws.views.sites(),
                                  parse_known_at(known_at), ledger_digest(ws.db))
    if not export.tables[0].rows:
        from ledger.errors import NotFoundError  # noqa: PLC0415

        raise NotFoundError(f"unknown household {household_id!r}: no fact is recorded about it")
    _write(export, output, chosen, json_output)


@audit_app.command("count")
@reports_errors
def export_count(
    rulebook: Annotated[str, typer.Option("--rulebook", help="The rulebook of the figure.")],
    status: Annotated[str, typer.Option("--status", help="idp_in_camp, idp_out_of_camp, returnee "
                                                        "or locally_integrated.")],
    place: Annotated[str, typer.Option("--place", help="A site id or a p-code (as in a cell).")],
    output: Output, fmt: Format = None, as_of: AsOf = None, known_at: KnownAt = None,
    json_output: Json = False, public: NeverPublic = False,
) -> None:
    """The households behind one figure, with the facts that put each of them there."""
    refuse_public(public, "`export audit count`")
    chosen = _format(fmt, output)
    day, moment = parse_as_of(as_of) or now().date(), parse_known_at(known_at) or now()
    with workspace() as ws:
        ws.catch_up()
        book = ws.views.rulebook(rulebook)
        counted = [(h, s.individuals) for h, s in
                   ws.views.households_in(book.name, day, moment, status, [place])]
        export = count_export(ws.db, book, status, place, day, moment, counted, ws.views.sites(),
                              ledger_digest(ws.db))
    _write(export, output, chosen, json_output)
