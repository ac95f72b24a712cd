"""``ledger record TYPE --field value ...``: one sub-command per fact type, options from its model."""

from __future__ import annotations

import inspect
from typing import Any

import typer

from ledger.cli.output import print_json, reports_errors
from ledger.cli.state import workspace
from ledger.facts import DERIVED_FIELDS, FACT_MODELS, FACT_TYPES, LIST_FIELDS, parse_fact

FIELD_HELP = {
    "source_id": "Unique id of the source record (form uuid, letter number, row key).",
    "effective_on": "Date the real-world thing happened, YYYY-MM-DD (not in the future).",
    "recorded_by": "Organisation or user that supplied the fact.",
    "source_document": "Reference to the paper trail (letter number, form, list).",
    "from_site_ids": "Sites the round departs from, comma-separated.",
    "destination_pcodes": "Destination p-codes, comma-separated.",
    "location_pcode": "OCHA p-code (district IQGnnQmm or sub-district IQGnnQmmNkk).",
    "authority_adm1": "Governorate whose authority runs the site (default: the location's).",
    "departure_letter_ref": "Official departure letter number; omit when none was issued.",
    # figure_reported: a figure someone else published
    "source": "Who published the figure: DTM, MoMD, CCCM, ... (letters, digits, . _ -).",
    "dataset": "The publication, e.g. 'DTM Master List Round 13'.",
    "as_of": "The date the figure describes, YYYY-MM-DD (effective_on defaults to it).",
    "place": "A registered site id, an OCHA p-code (IQGnn, IQGnnQmm, IQGnnQmmNkk) or IRQ.",
    "status": "idp (in and out of camp, the default), idp_in_camp, idp_out_of_camp, returnee "
              "or locally_integrated.",
    "location": "The source's own location, when the figure is for only a part of --place.",
    "households": "Households (families) counted, if the source gives them.",
    "individuals": "Individuals counted.",
    "head_name": "Head of household's name (personal: kept encrypted in the vault, never logged).",
    "head_sex": "Head of household's sex: female, male or other (personal).",
    "head_birth_year": "Head of household's year of birth (personal).",
    "phone": "Contact phone number (personal).",
    "id_document_type": "national_id, unified_nationality_card, passport or other (personal).",
    "id_document_number": "ID document number (personal; the fact keeps only a keyed hash).",
    "members_names": "Members' names, comma-separated (personal).",
}
DEFAULTED = {("figure_reported", "effective_on")}  # filled in by the model (from as_of)

app = typer.Typer(
    help="Record one fact. Each fact type is a sub-command: `ledger record TYPE --help` lists "
    "its fields.",
    no_args_is_help=True,
)


def _make_command(fact_type: str) -> Any:
    model = FACT_MODELS[fact_type]
    params = []
    for name, info in model.model_fields.items():
        if name == "type" or name in DERIVED_FIELDS:
            continue
        option = typer.Option(
            ... if info.is_required() and (fact_type, name) not in DEFAULTED else None,
            "--" + name.replace("_", "-"),
            help=FIELD_HELP.get(name, info.description or name.replace("_", " ")),
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
            data[name] = [v.strip() for v in value.split(",") if v.strip()] if name in LIST_FIELDS else value
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
    doc = (model.__doc__ or "").strip().splitlines()
    command.__doc__ = f"Record a {fact_type} fact." + (f" {doc[0]}" if doc else "")
    return command


for _fact_type in FACT_TYPES:
    app.command(_fact_type)(_make_command(_fact_type))
