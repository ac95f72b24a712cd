"""``ledger compare``: a published figure (DTM, MoMD, ...) against the ledger's own, place by place."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ledger.arguments import parse_as_of, parse_known_at, parse_level
from ledger.cli.options import AsOf, By, Json, KnownAt
from ledger.cli.output import pair, print_json, reports_errors, say
from ledger.cli.state import workspace
from projections.compare import Comparison, ComparisonAnswer, comparison_answer

Rulebook = Annotated[str, typer.Option(
    "--rulebook", help="The ledger's rulebook to hold the figures against (official, operational...).")]
Reported = Annotated[str, typer.Option(
    "--reported", metavar="SOURCE[:DATASET]",
    help="Whose figures: a source (e.g. DTM, MoMD), optionally one of its datasets "
    "(e.g. 'DTM:DTM Master List Round 13').")]
Via = Annotated[str | None, typer.Option(
    "--via", metavar="RULEBOOK",
    help="Split the difference with the bridge from --rulebook to this rulebook (the one closest "
    "to the source's method, e.g. operational for DTM); the rest is the remainder.")]
Place = Annotated[str | None, typer.Option(
    "--place", help="Only rows in this place (a site id or p-code, or IRQ).")]


def split_reported(reported: str) -> tuple[str, str | None]:
    """``SOURCE[:DATASET]`` -> (source, dataset or None)."""
    source, _, dataset = reported.partition(":")
    if not source.strip():
        raise typer.BadParameter("expected SOURCE or SOURCE:DATASET", param_hint="--reported")
    return source.strip(), dataset.strip() or None


def compared(rulebook: str, reported: str, via: str | None, as_of: str | None,
             known_at: str | None, by: str, place: str | None) -> ComparisonAnswer:
    """The comparison the options ask for (the command's and its export's), on current views."""
    source, dataset = split_reported(reported)
    level = parse_level(by)
    with workspace() as ws:
        ws.catch_up()
        return comparison_answer(ws.views, rulebook, source, dataset=dataset, via=via,
                                 as_of=parse_as_of(as_of), known_at=parse_known_at(known_at),
                                 level=level, place=place)


@reports_errors
def compare_command(
    rulebook: Rulebook, reported: Reported, via: Via = None, as_of: AsOf = None,
    known_at: KnownAt = None, by: By = "cell", place: Place = None, json_output: Json = False,
) -> None:
    """Hold a figure someone else published against the ledger's, place by place.

    Each row: the reported figure, the ledger's under --rulebook at the same status and place,
    their difference split into what the bridge to --via explains (by reason) and an explicit
    remainder (not_in_ledger: the source counts people the ledger has no facts for;
    not_reported: the ledger holds households the source did not count), and the coverage
    (ledger ÷ reported). On every row, reported − ledger = explained + remainder. --by cell keeps
    each figure at the place it was reported for; adm2, adm1 and national roll them up.
    """
    answer = compared(rulebook, reported, via, as_of, known_at, by, place)
    if json_output:
        print_json(answer.document)
        return
    print_comparison(answer.comparison, answer.document)


def _fmt(value: dict[str, Any]) -> str:
    return pair(value["households"], value["individuals"])


def _signed(value: dict[str, Any]) -> str:
    return pair(value["households"], value["individuals"], sign=True)


def print_comparison(result: Comparison, document: dict[str, Any]) -> None:
    what = f"{result.source}:{result.dataset}" if result.dataset else result.source
    say(f"[bold]{what} vs the ledger's {result.rulebook}[/] as of {result.as_of}, known at "
        f"{result.known_at:%Y-%m-%d %H:%M:%S} UTC, by {result.level} (households / "
        "individuals; reported − ledger = explained + remainder)")
    for row in document["rows"]:
        coverage = row["coverage"]["individuals"]
        say(f"\n[bold]{row['status']}[/] {row['place']} {row['place_name']} ({row['level']}, reported "
            f"as of {row['reported_as_of']}): reported {_fmt(row['reported'])}, ledger "
            f"{_fmt(row['ledger'])}, difference {_signed(row['difference'])}, coverage "
            f"{'-' if coverage is None else f'{coverage:.1%}'}")
        for part in row["explained"]:
            say(f"    {_signed(part):>22}  {part['reason']} (bridge to {result.via})")
        remainder = row["remainder"]
        if remainder["label"]:
            say(f"    {_signed(remainder):>22}  {remainder['label']}")
    if not document["rows"]:
        say("no reported figures at this level and place")
