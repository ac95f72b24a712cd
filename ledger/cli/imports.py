"""``ledger import FILE``: record every fact in a file; bad records go to a rejects file."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ledger import logs
from ledger.arguments import kobo_mapping_option, parse_as_of
from ledger.catalogue import CATALOGUE
from ledger.cli.options import Json
from ledger.cli.output import (
    Force,
    err_console,
    output_path,
    print_json,
    progress_bar,
    reports_errors,
    table,
)
from ledger.cli.state import workspace
from ledger.importing import Imported, ReportedTable, default_rejects_path, import_into


@reports_errors
def import_command(
    file: Annotated[Path, typer.Argument(help="A .jsonl, .csv or .xlsx file of facts.",
                                         exists=True, dir_okay=False, readable=True)],
    rejects: Annotated[Path | None, typer.Option(
        "--rejects", help="Where rejected records go (default: FILE.rejects.EXT beside the input).",
    )] = None,
    fact_type: Annotated[str | None, typer.Option(
        "--type", help="The fact type of every record, for a file without a `type` column.",
    )] = None,
    kobo_form: Annotated[str | None, typer.Option(
        "--kobo-form", metavar="registration|departure",
        help="Read a KoboToolbox export (a _uuid column) with the shipped mapping of this form.",
    )] = None,
    kobo_mapping: Annotated[Path | None, typer.Option(
        "--kobo-mapping", exists=True, dir_okay=False,
        help="Read a KoboToolbox export with your own mapping file (TOML, see docs/formats.md).",
    )] = None,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Refuse a file with columns that are not fact fields (by default they "
        "are ignored with one warning naming them).",
    )] = False,
    reported: Annotated[str | None, typer.Option(
        "--reported", metavar="SOURCE",
        help="The file holds figures SOURCE published (DTM, MoMD, CCCM...), not household facts: "
        "an HXL-tagged table read as figure_reported facts (needs --dataset).",
    )] = None,
    dataset: Annotated[str | None, typer.Option(
        "--dataset", help="With --reported: the publication, e.g. 'DTM Master List Round 13'.",
    )] = None,
    reported_as_of: Annotated[str | None, typer.Option(
        "--as-of", metavar="YYYY-MM-DD",
        help="With --reported: the date the figures describe, for a file with no #date column.",
    )] = None,
    reported_mapping: Annotated[Path | None, typer.Option(
        "--reported-mapping", exists=True, dir_okay=False,
        help="With --reported: your own hashtag mapping (TOML, see docs/formats.md).",
    )] = None,
    force: Force = False,
    json_output: Json = False,
) -> None:
    """Record every fact in a file, in order; bad records go to a rejects file with reasons.

    CSV and XLSX files have a header row of field names, or a row of HXL hashtags, or are
    KoboToolbox exports read through a mapping (--kobo-form / --kobo-mapping); see
    docs/formats.md. Already-recorded facts (same source_id, same content) are counted and
    skipped, so a file can be imported again safely. The totals always add up: total =
    recorded + already_recorded + rejected.

    The header is checked once first: a file of aggregate figures, a header with no fact field,
    no fact type or a required column missing stops there with one message (exit 1, nothing
    recorded). Columns that are not fact fields are ignored with one warning (on stderr, and
    under `warnings` with --json); those that look personal (names, phone or ID numbers) are
    never read or stored anywhere.
    """
    if fact_type is not None and fact_type not in CATALOGUE.recordable:
        raise typer.BadParameter(f"unknown fact type; expected one of {', '.join(CATALOGUE.recordable)}",
                                 param_hint="--type")
    kobo = kobo_mapping_option(file, kobo_form, kobo_mapping)
    if reported is None and (dataset or reported_as_of or reported_mapping):
        raise typer.BadParameter("--dataset, --as-of and --reported-mapping go with --reported",
                                 param_hint="--reported")
    if reported is not None and (fact_type or kobo):
        raise typer.BadParameter("a file of reported figures takes no --type or --kobo-*",
                                 param_hint="--reported")
    rejects_output = output_path(rejects or default_rejects_path(file), "rejects", force=force,
                                 inputs=[file, kobo_mapping, reported_mapping])
    table_of = None if reported is None else reported_table(file, reported, dataset,
                                                            reported_as_of, reported_mapping)
    with workspace() as ws, progress_bar(f"importing {file.name}", None, quiet=json_output) as tick:
        imported = import_into(ws, file, rejects_path=rejects_output, fact_type=fact_type,
                               kobo=kobo, strict=strict, reported=table_of, progress=tick)
    print_imported(file, imported, json_output)


def reported_table(file: Path, source: str, dataset: str | None, as_of: str | None,
                   mapping: Path | None) -> ReportedTable:
    if not dataset:
        raise typer.BadParameter("name the publication, e.g. --dataset 'DTM Master List Round 13'",
                                 param_hint="--dataset")
    if file.suffix.lower() not in (".csv", ".xlsx"):
        raise typer.BadParameter("a table of reported figures is a .csv or .xlsx file", param_hint="FILE")
    return ReportedTable(source, dataset, parse_as_of(as_of), mapping)


def print_imported(file: Path, imported: Imported, json_output: bool) -> None:
    """The totals (JSON or a table), then on stderr the warnings, the first rejections and
    whether the views are behind; exit code 1 when a record was rejected or the views are
    behind (the good records are recorded either way)."""
    report, views_behind = imported.report, imported.views_behind
    logs.info("facts_imported", total=report.total, recorded=report.recorded,
              already_recorded=report.already_recorded, rejected=report.rejected)
    for warning in report.warnings:
        typer.echo(f"warning: {warning}", err=True)
    if json_output:
        print_json(report.as_dict())
    else:
        table(f"Imported {file.name}", ["total", "recorded", "already recorded", "rejected"],
              [[report.total, report.recorded, report.already_recorded, report.rejected]],
              numeric=["total", "recorded", "already recorded", "rejected"])
    if views_behind is not None:
        err_console().print(f"[bold red]error:[/] {views_behind}", highlight=False, soft_wrap=True)
    if report.rejected:
        for rejection in report.first_rejections[:10]:
            typer.echo(f"  line {rejection['line']}: {rejection['error']}", err=True)
        typer.echo(f"All {report.rejected} rejected records with reasons: {report.rejects_file}",
                   err=True)
        raise typer.Exit(1)  # the good records are recorded; the exit code says some were not
    if views_behind is not None:
        raise typer.Exit(1)
