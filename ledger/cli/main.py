"""``ledger``: the Movement Ledger command line.

The store is chosen by LEDGER_DATABASE_URL (sqlite:///path.db, the default being ledger.db in
the working directory, or postgresql://user:password@host:port/dbname?schema=NAME).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import structlog
import typer

from ledger.cli import export, read, record, report
from ledger.cli.logs import configure_logging
from ledger.cli.output import print_json, progress_bar, reports_errors, table
from ledger.cli.state import workspace
from ledger.facts import FACT_TYPES
from ledger.importing import import_file
from ledger.kobo import FORMS as KOBO_FORMS
from ledger.kobo import KoboMapping, builtin_mapping_path, load_mapping

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
app.add_typer(read.rulebooks_app, name="rulebooks")
app.add_typer(read.rounds_app, name="rounds")
app.add_typer(export.app, name="export")
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

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]


@app.callback()
def _main() -> None:
    configure_logging()


@app.command()
@reports_errors
def init(json_output: JsonOption = False) -> None:
    """Create or upgrade the store (tables, immutability triggers, views). Safe to run again."""
    with workspace(initialised=False) as ws:
        ws.init()
        described = ws.settings.describe()
    structlog.get_logger().info("store_initialised", store=described)
    if json_output:
        print_json({"ok": True, "store": described})
    else:
        typer.echo(f"Store ready: {described}")


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
    json_output: JsonOption = False,
) -> None:
    """Record every fact in a file, in order; bad records go to a rejects file with reasons.

    CSV and XLSX files have a header row of field names, or a row of HXL hashtags, or are
    KoboToolbox exports read through a mapping (--kobo-form / --kobo-mapping); see
    docs/formats.md. Already-recorded facts (same source_id, same content) are counted and
    skipped, so a file can be imported again safely. The totals always add up: total =
    recorded + already_recorded + rejected.
    """
    if fact_type is not None and fact_type not in FACT_TYPES:
        raise typer.BadParameter(f"unknown fact type; expected one of {', '.join(FACT_TYPES)}",
                                 param_hint="--type")
    kobo = kobo_mapping_option(file, kobo_form, kobo_mapping)
    with workspace() as ws, progress_bar(f"importing {file.name}", None, quiet=json_output) as tick:
        report = import_file(ws.record_many, file, rejects_path=rejects, fact_type=fact_type,
                             kobo=kobo, progress=tick)
    structlog.get_logger().info("facts_imported", total=report.total, recorded=report.recorded,
                                already_recorded=report.already_recorded, rejected=report.rejected)
    if json_output:
        print_json(report.as_dict())
    else:
        table(f"Imported {file.name}", ["total", "recorded", "already recorded", "rejected"],
              [[report.total, report.recorded, report.already_recorded, report.rejected]],
              numeric=["total", "recorded", "already recorded", "rejected"])
    if report.rejected:
        for rejection in report.first_rejections[:10]:
            typer.echo(f"  line {rejection['line']}: {rejection['error']}", err=True)
        typer.echo(f"All {report.rejected} rejected records with reasons: {report.rejects_file}",
                   err=True)
        raise typer.Exit(1)  # the good records are recorded; the exit code says some were not


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

    run_demo(json_output=json_output, html=None if no_html else html, seed=seed)
