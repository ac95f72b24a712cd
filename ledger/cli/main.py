"""``ledger``: the Movement Ledger command line.

The store is chosen by LEDGER_DATABASE_URL (sqlite:///path.db, the default being ledger.db in
the working directory, or postgresql://user:password@host:port/dbname?schema=NAME).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import structlog
import typer

from ledger.catalogue import CATALOGUE
from ledger.cli import export, figures, read, record, report, rulebooks, serve, tokens
from ledger.cli.logs import configure_logging
from ledger.cli.options import parse_as_of
from ledger.cli.output import (
    Force,
    err_console,
    fail,
    output_path,
    print_json,
    progress_bar,
    reports_errors,
    table,
)
from ledger.cli.settings import check_settings
from ledger.cli.state import workspace
from ledger.errors import LedgerError
from ledger.importing import default_rejects_path, import_file
from ledger.kobo import FORMS as KOBO_FORMS
from ledger.kobo import KoboMapping, builtin_mapping_path, load_mapping
from ledger.readers import RawRecord
from ledger.reported import ReportedReader, site_name_key
from ledger.reported import load_mapping as load_reported_mapping
from ledger.workspace import Workspace

app = typer.Typer(
    name="ledger",
    help=(
        "Movement Ledger: household departures, returns to camp and registrations stored once, "
        "immutably, and counted by competing rulebooks (official MoMD, operational IOM DTM / "
        "UNHCR, or your own), with every gap between two figures explained household by "
        "household.\n\nThe store is chosen by LEDGER_DATABASE_URL: sqlite:///path/to/ledger.db "
        "(default: ./ledger.db) or postgresql://user:password@host:port/dbname[?schema=NAME]. "
        "Start with `ledger init`, or `ledger demo` for a worked example."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
app.add_typer(record.app, name="record")
app.add_typer(read.views_app, name="views")
app.add_typer(rulebooks.app, name="rulebooks")
app.add_typer(read.rounds_app, name="rounds")
app.add_typer(export.app, name="export")
app.add_typer(figures.app, name="figures")
app.add_typer(tokens.app, name="tokens")
app.command("serve")(serve.serve_command)
from ledger.cli import people as people_cli  # noqa: E402 - kept beside its registration

app.add_typer(people_cli.people_app, name="people")
app.add_typer(people_cli.vault_app, name="vault")
app.add_typer(people_cli.households_app, name="households")
from ledger.cli import audit as audit_cli  # noqa: E402 - kept beside its registration

app.add_typer(audit_cli.audit_app, name="audit")
app.command("publish")(audit_cli.publish_command)
app.command("verify")(audit_cli.verify_command)
app.command("report")(report.report_command)
app.command("reconcile")(read.reconcile_command)
from ledger.cli import compare as compare_cli  # noqa: E402 - kept beside its registration

app.command("compare")(compare_cli.compare_command)
export.app.command("compare")(compare_cli.export_compare_command)

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


@app.callback()
def _main() -> None:
    # Help needs no settings. The group's callback runs before the subcommand parses its options,
    # so `--help` is looked for on the command line itself.
    if not {"--help", "-h"} & set(sys.argv[1:]):
        try:
            check_settings(os.environ)
        except LedgerError as exc:
            fail(str(exc), code=2)
    configure_logging()


@app.command()
@reports_errors
def init(
    roles: Annotated[bool, typer.Option(
        "--roles", help="PostgreSQL: also create the roles ledger_writer, ledger_reader, "
        "ledger_auditor, ledger_protection and ledger_projector (needs CREATEROLE), to grant to "
        "login roles (docs/deployment.md). Without it, existing roles get their rights refreshed.",
    )] = False,
    json_output: JsonOption = False,
) -> None:
    """Create or upgrade the store (tables, immutability triggers, views). Safe to run again."""
    with workspace(initialised=False) as ws:
        existing = ws.init(roles=roles)
        described = ws.settings.describe()
    structlog.get_logger().info("store_initialised", store=described, roles=len(existing))
    if json_output:
        print_json({"ok": True, "store": described, "roles": existing})
    else:
        typer.echo(f"Store ready: {described}")
        if existing:
            typer.echo(f"Roles: {', '.join(existing)}")


@app.command("import")
@reports_errors
def import_(
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
    json_output: JsonOption = False,
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
    with workspace() as ws:
        with progress_bar(f"importing {file.name}", None, quiet=json_output) as tick:
            records = None
            if reported is not None:
                records = reported_records(ws, file, reported, dataset, reported_as_of,
                                           reported_mapping)
            report = import_file(ws.record_without_views, file, rejects_path=rejects_output,
                                 fact_type=fact_type, kobo=kobo, progress=tick, strict=strict,
                                 records=records)
        views_behind = ws.catch_up_after_writing()
    structlog.get_logger().info("facts_imported", total=report.total, recorded=report.recorded,
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
        err_console.print(f"[bold red]error:[/] {views_behind}", highlight=False, soft_wrap=True)
    if report.rejected:
        for rejection in report.first_rejections[:10]:
            typer.echo(f"  line {rejection['line']}: {rejection['error']}", err=True)
        typer.echo(f"All {report.rejected} rejected records with reasons: {report.rejects_file}",
                   err=True)
        raise typer.Exit(1)  # the good records are recorded; the exit code says some were not
    if views_behind is not None:
        raise typer.Exit(1)


def reported_records(ws: Workspace, file: Path, source: str, dataset: str | None,
                     as_of: str | None, mapping: Path | None) -> Iterator[RawRecord]:
    """The figure_reported records of an HXL table; its header is checked before any is read."""
    if not dataset:
        raise typer.BadParameter("name the publication, e.g. --dataset 'DTM Master List Round 13'",
                                 param_hint="--dataset")
    if file.suffix.lower() not in (".csv", ".xlsx"):
        raise typer.BadParameter("a table of reported figures is a .csv or .xlsx file", param_hint="FILE")
    ws.catch_up()
    sites = ws.views.sites()
    known = {site_id: site_id for site_id in sites}
    known.update({site_name_key(info.name): site_id for site_id, info in sites.items()})
    reader = ReportedReader(file, source=source, dataset=dataset, as_of=parse_as_of(as_of),
                            sites=known, mapping=load_reported_mapping(mapping) if mapping else None)
    return reader.records()


def kobo_mapping_option(file: Path, form: str | None, mapping: Path | None) -> KoboMapping | None:
    if form is not None and mapping is not None:
        raise typer.BadParameter("give --kobo-form or --kobo-mapping, not both", param_hint="--kobo-form")
    if form is None and mapping is None:
        return None
    if file.suffix.lower() not in (".csv", ".xlsx"):
        raise typer.BadParameter("a KoboToolbox export is a .csv or .xlsx file", param_hint="FILE")
    if form is not None and form not in KOBO_FORMS:
        raise typer.BadParameter(f"{form!r}; expected one of {', '.join(KOBO_FORMS)}",
                                 param_hint="--kobo-form")
    return load_mapping(mapping if mapping is not None else builtin_mapping_path(form or ""))


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        sys.exit(130)


@app.command()
@reports_errors
def demo(
    html: Annotated[Path | None, typer.Option(
        "--html", dir_okay=False, help="Where to write the HTML report.",
    )] = Path("ledger-report.html"),
    no_html: Annotated[bool, typer.Option("--no-html", help="Do not write the HTML report.")] = False,
    seed: Annotated[int, typer.Option("--seed", help="Seed of the demo's households (the headline "
                                                     "figures are the same for every seed).")] = 2026,
    force: Force = False,
    json_output: JsonOption = False,
) -> None:
    """Record a realistic first quarter of 2026 (the Returns Working Group's FVM rounds, camps and
    registries), then show both views, the bridge, the rounds and one household's audit story,
    and write the HTML report.

    Uses the store of LEDGER_DATABASE_URL (default ./ledger.db) when it is empty or holds only
    the demo's own facts (running the demo again records nothing new); it refuses to mix the
    demo into a store that holds other facts.
    """
    from ledger.cli.demo import run_demo  # noqa: PLC0415

    report = None if no_html or html is None else output_path(html, "report", force=force)
    run_demo(json_output=json_output, html=report, seed=seed)
