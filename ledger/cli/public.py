"""``--public``: the options and the printing of figures safe to publish (projections.public)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ledger.cli.output import pair, say, table
from projections.disclosure import DEFAULT_MIN_HOUSEHOLDS

Public = Annotated[bool, typer.Option(
    "--public", help="Figures safe to publish: cells of fewer than --min-households households are "
    "suppressed, with complementary suppression so that none can be recovered from the totals.")]
MinHouseholds = Annotated[int, typer.Option(
    "--min-households", min=1, max=1000,
    help="With --public: the smallest number of households a published cell may count.")]
NeverPublic = Annotated[bool, typer.Option(
    "--public", help="Refused: this output lists households one by one and is never public.")]
DEFAULT = DEFAULT_MIN_HOUSEHOLDS


def value(shown: dict[str, Any], key: str) -> str:
    return "suppressed" if shown["suppressed"] else f"{shown[key]:,}"


def refuse_public(public: bool, what: str) -> None:
    if public:
        raise typer.BadParameter(f"{what} lists households one by one: it is never public; publish "
                                 "`views show --public` or `reconcile --public` instead",
                                 param_hint="--public")


def print_public_view(document: dict[str, Any]) -> None:
    rows = [[r["status"], r["place"], r["place_name"], value(r, "households"), value(r, "individuals")]
            for r in document["rows"]]
    rows += [[f"total {s['status']}", "", "", value(s, "households"), value(s, "individuals")]
             for s in document["totals"]["by_status"]]
    rows.append(["total", "", "", value(document["total"], "households"),
                 value(document["total"], "individuals")])
    table(f"{document['rulebook']} view as of {document['as_of']}, by {document['by']} (public)",
          ["status", "place", "name", "households", "individuals"], rows,
          numeric=["households", "individuals"])
    say(f"Public figures: {document['public']['rule']} "
                  f"({document['public']['suppressed']} suppressed).")


def print_public_bridge(document: dict[str, Any]) -> None:
    say(f"[bold]{document['left']} vs {document['right']}[/] as of {document['as_of']}, by "
                  f"{document['by']} (households / individuals, public)")
    for row in document["rows"]:
        say(f"\n[bold]{row['status']}[/] {row['place']} {row['place_name']}: "
                      f"{document['left']} {_pair(row['left'])}, {document['right']} "
                      f"{_pair(row['right'])}, delta {_pair(row['delta'])}")
        for reason in row["reasons"]:
            say(f"    {_pair(reason):>18}  {reason['reason']}")
    totals = document["totals"]
    say(f"\n[bold]In all[/]: {document['left']} {_pair(totals['left'])}, "
                  f"{document['right']} {_pair(totals['right'])}")
    for reason in totals["reasons"]:
        say(f"    {_pair(reason):>18}  {reason['reason']}")
    say(f"Public figures: {document['public']['rule']} "
                  f"({document['public']['suppressed']} suppressed).")


def _pair(shown: dict[str, Any]) -> str:
    if shown["suppressed"]:
        return "suppressed"
    return pair(shown["households"], shown["individuals"])
