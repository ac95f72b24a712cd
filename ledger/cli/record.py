"""``ledger record TYPE --field value ...``: one sub-command per fact type, options from its model."""

from __future__ import annotations

import inspect
from typing import Any

import typer

from ledger.catalogue import CATALOGUE, FIELDS, parse_fact
from ledger.cli.output import print_json, reports_errors
from ledger.cli.state import workspace

DEFAULTED = {("figure_reported", "effective_on")}  # filled in by the model (from as_of)

app = typer.Typer(
    help="Record one fact. Each fact type is a sub-command: `ledger record TYPE --help` lists "
    "its fields.",
    no_args_is_help=True,
)


def _make_command(fact_type: str) -> Any:
    entry = CATALOGUE[fact_type]
    params = []
    for name in entry.fields:
        info = entry.model.model_fields[name]
        option = typer.Option(
            ... if info.is_required() and (fact_type, name) not in DEFAULTED else None,
            "--" + name.replace("_", "-"),
            help=FIELDS[name].help,
            show_default=False,
        )
        params.append(inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY,
                                        default=option, annotation=str | None))
    params.append(inspect.Parameter(
        "json_output", inspect.Parameter.KEYWORD_ONLY, annotation=bool,
        default=typer.Option(False, "--json", help="Print the outcome as JSON."),
    ))

    @reports_errors
    def command(**kwargs: Any) -> None:
        as_json = kwargs.pop("json_output")
        data: dict[str, Any] = {"type": fact_type}
        for name, value in kwargs.items():
            if value is None:
                continue
            is_list = name in CATALOGUE.list_fields
            data[name] = [v.strip() for v in value.split(",") if v.strip()] if is_list else value
        fact = parse_fact(data)
        with workspace() as ws:
            outcome = ws.record(fact)
        if as_json:
            print_json({"status": outcome.status, "source_id": outcome.source_id,
                        "position": outcome.position})
        else:
            verb = "recorded" if outcome.status == "recorded" else "already recorded (no change)"
            typer.echo(f"{fact_type} {outcome.source_id}: {verb} at position {outcome.position}")

    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__name__ = fact_type
    doc = (entry.model.__doc__ or "").strip().splitlines()
    command.__doc__ = f"Record a {fact_type} fact." + (f" {doc[0]}" if doc else "")
    return command


for _fact_type in CATALOGUE.recordable:
    app.command(_fact_type)(_make_command(_fact_type))
