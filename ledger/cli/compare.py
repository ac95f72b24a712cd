"""``ledger compare``: a published figure (DTM, MoMD, ...) against the ledger's own, place by place."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ledger.cli.export import Format, Hxl, Output, _target, _write
from ledger.cli.options import AsOf, By, Json, KnownAt, parse_as_of, parse_known_at, parse_level
from ledger.cli.output import Force, console, print_json, reports_errors
from ledger.cli.read import place_label
from ledger.cli.state import workspace
from projections.compare import Amount, Comparison, compare, comparison_document
from projections.export import Export, Table, about_rows, ledger_digest

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


def _split(reported: str) -> tuple[str, str | None]:
    source, _, dataset = reported.partition(":")
    if not source.strip():
        raise typer.BadParameter("expected SOURCE or SOURCE:DATASET", param_hint="--reported")
    return source.strip(), dataset.strip() or None


def _run(rulebook: str, reported: str, via: str | None, as_of: str | None, known_at: str | None,
         by: str, place: str | None) -> tuple[Comparison, dict[str, Any], Any]:
    source, dataset = _split(reported)
    level = parse_level(by)
    with workspace() as ws:
        ws.catch_up()
        result = compare(ws.views, rulebook, source, dataset=dataset, via=via,
                         as_of=parse_as_of(as_of), known_at=parse_known_at(known_at),
                         level=level, place=place)
        sites = ws.views.sites()
        books = [ws.views.rulebook(rulebook)] + ([ws.views.rulebook(via)] if via else [])
        digest = ledger_digest(ws.db)
    document = comparison_document(result, lambda p: place_label(p, sites))
    return result, document, (books, digest)


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
    result, document, _ = _run(rulebook, reported, via, as_of, known_at, by, place)
    if json_output:
        print_json(document)
        return
    _print(result, document)


def _fmt(value: dict[str, Any]) -> str:
    households = "-" if value["households"] is None else f"{value['households']:,}"
    return f"{households} / {value['individuals']:,}"


def _signed(value: dict[str, Any]) -> str:
    households = "-" if value["households"] is None else f"{value['households']:+,}"
    return f"{households} / {value['individuals']:+,}"


def _print(result: Comparison, document: dict[str, Any]) -> None:
    what = f"{result.source}:{result.dataset}" if result.dataset else result.source
    console.print(f"[bold]{what} vs the ledger's {result.rulebook}[/] as of {result.as_of}, known at "
                  f"{result.known_at:%Y-%m-%d %H:%M:%S} UTC, by {result.level} (households / "
                  "individuals; reported − ledger = explained + remainder)", highlight=False)
    for row in document["rows"]:
        coverage = row["coverage"]["individuals"]
        console.print(
            f"\n[bold]{row['status']}[/] {row['place']} {row['place_name']} ({row['level']}, reported "
            f"as of {row['reported_as_of']}): reported {_fmt(row['reported'])}, ledger "
            f"{_fmt(row['ledger'])}, difference {_signed(row['difference'])}, coverage "
            f"{'-' if coverage is None else f'{coverage:.1%}'}", highlight=False)
        for part in row["explained"]:
            console.print(f"    {_signed(part):>22}  {part['reason']} (bridge to {result.via})",
                          highlight=False)
        remainder = row["remainder"]
        if remainder["label"]:
            console.print(f"    {_signed(remainder):>22}  {remainder['label']}", highlight=False)
    if not document["rows"]:
        console.print("no reported figures at this level and place", highlight=False)


def compare_export(result: Comparison, document: dict[str, Any], books: Any, digest: str | None) -> Export:
    reasons = list(dict.fromkeys(p["reason"] for r in document["rows"] for p in r["explained"]))
    units = ("households", "individuals")
    columns = ("rulebook", "source", "dataset", "as_of", "status", "place", "place_name", "level",
               "reported_as_of",
               *(f"{part}_{unit}" for part in ("reported", "ledger", "difference") for unit in units),
               *(f"{reason}_{unit}" for reason in reasons for unit in units),
               "remainder", "remainder_households", "remainder_individuals",
               "coverage_households", "coverage_individuals")
    tags = ("#meta+rulebook", "#org+source", "#meta+dataset", "#date+asof", "#status", "#loc+code",
            "#loc+name", "#meta+level", "#date+reported",
            *(f"#affected+{u}+{part}" for part in ("reported", "ledger", "difference")
              for u in ("hh", "ind")),
            *(f"#affected+{u}+{reason}" for reason in reasons for u in ("hh", "ind")),
            "#meta+remainder", "#affected+hh+remainder", "#affected+ind+remainder",
            "#indicator+coverage+hh", "#indicator+coverage+ind")
    rows = []
    for row in document["rows"]:
        parts = {p["reason"]: p for p in row["explained"]}
        values: list[Any] = [result.rulebook, result.source, result.dataset or "", result.as_of.isoformat(),
                             row["status"], row["place"], row["place_name"], row["level"],
                             row["reported_as_of"].isoformat()]
        for part in ("reported", "ledger", "difference"):
            values += [row[part]["households"], row[part]["individuals"]]
        for reason in reasons:
            part = parts.get(reason, {"households": 0, "individuals": 0})
            values += [part["households"], part["individuals"]]
        values += [row["remainder"]["label"] or "", row["remainder"]["households"],
                   row["remainder"]["individuals"], row["coverage"]["households"],
                   row["coverage"]["individuals"]]
        rows.append(tuple(values))
    about = about_rows(books, result.as_of, result.known_at, digest, result.level)
    about.append(("reported", f"{result.source}:{result.dataset}" if result.dataset else result.source))
    return Export(f"{result.source} vs {result.rulebook} by {result.level}",
                  [Table("compare", columns, rows, tags)], about)


@reports_errors
def export_compare_command(
    rulebook: Rulebook, reported: Reported, output: Output, fmt: Format = None, via: Via = None,
    as_of: AsOf = None, known_at: KnownAt = None, by: By = "cell", place: Place = None,
    hxl: Hxl = True, force: Force = False, json_output: Json = False,
) -> None:
    """`ledger compare` to CSV (with HXL hashtags) or XLSX."""
    chosen, target = _target(fmt, output, force)
    result, document, (books, digest) = _run(rulebook, reported, via, as_of, known_at, by, place)
    _write(compare_export(result, document, books, digest), target, chosen, json_output, hxl)


__all__ = ["Amount", "compare_command", "export_compare_command"]
