"""``ledger rulebooks add|list|show``: rulebooks as recorded, versioned facts of the ledger
(docs/rulebooks.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ledger.cli.options import Json
from ledger.cli.output import print_json, progress_bar, reports_errors, table
from ledger.cli.state import workspace
from ledger.errors import RulebookError
from ledger.rulebooks import add_rulebook
from projections.documents import book_document

app = typer.Typer(help="Rulebooks: how an organisation turns facts into figures, version by "
                  "version.", no_args_is_help=True)


@app.command("add")
@reports_errors
def add(
    file: Annotated[Path, typer.Argument(help="A TOML rulebook (see examples/iris.toml).",
                                         exists=True, dir_okay=False)],
    new_version: Annotated[bool, typer.Option(
        "--new-version", help="The name exists: record this file as its next version (figures "
        "published under earlier versions keep re-deriving with theirs).")] = False,
    recorded_by: Annotated[str | None, typer.Option(
        "--recorded-by", help="Who defines it (organisation or user).")] = None,
    json_output: Json = False,
) -> None:
    """Add a rulebook from a TOML file, recorded in the ledger with its full text and digest;
    no code change needed to compare it. A name that exists is refused unless --new-version."""
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise RulebookError(f"{file}: not a UTF-8 text file") from None
    with workspace() as ws, progress_bar("projecting households", None, quiet=json_output) as tick:
        defined = add_rulebook(ws, text, str(file), new_version=new_version,
                               recorded_by=recorded_by, progress=tick)
    if json_output:
        print_json({"added": defined.name, "version": defined.version, "digest": defined.digest})
    else:
        typer.echo(f"Rulebook {defined.name!r} version {defined.version} added; try `ledger "
                   f"reconcile --left official --right {defined.name}`")


@app.command("list")
@reports_errors
def list_rulebooks(json_output: Json = False) -> None:
    """The rulebooks this store knows, each in its current version, and their earlier versions."""
    with workspace() as ws:
        versions = ws.views.references.versions()
    if json_output:
        print_json([{**book_document(current), "versions": [
            v.as_dict() for v in versions.by_name[name]]}
            for name, current in versions.current().items()])
        return
    table("Rulebooks", ["name", "version", "registry", "caseload since", "departures",
                        "re-entry counts", "returnee reg. counts", "camps reported under",
                        "return ends displ."],
          [[name, f"{v.version} of {len(versions.by_name[name])}", b.registry, b.caseload_start,
            b.departures_move, b.reentry_counts, b.returnee_registration_counts,
            b.site_attribution, b.return_ends_displacement]
           for name, v in versions.current().items() for b in (v.book,)])


@app.command("show")
@reports_errors
def show(
    name: Annotated[str, typer.Argument(help="The rulebook's name.")],
    version: Annotated[int | None, typer.Option(
        "--version", min=1, help="Which version (default: the current one).")] = None,
    json_output: Json = False,
) -> None:
    """Print one version of a rulebook: its TOML text as recorded (or JSON with --json)."""
    with workspace() as ws:
        found = ws.views.references.versions().get(name, version)
    if json_output:
        print_json({**book_document(found), "definition": found.definition})
        return
    typer.echo(found.definition, nl=not found.definition.endswith("\n"))
