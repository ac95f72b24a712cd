"""``ledger publish``: record a published figure with the ledger's digest, to re-derive later."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from ledger.arguments import parse_as_of, parse_level
from ledger.cli.options import AsOf, Json, Rulebook
from ledger.cli.output import print_json, reports_errors, say, table
from ledger.cli.public import MinHouseholds, Public
from ledger.cli.state import workspace
from ledger.figures import Published, publish
from projections.disclosure import DEFAULT_MIN_HOUSEHOLDS
from projections.queries import now


@reports_errors
def publish_command(
    rulebook: Rulebook, as_of: AsOf = None,
    by: Annotated[str, typer.Option("--by", metavar="cell|adm2|adm1|national",
                                    help="The grouping of the published figure.")] = "cell",
    recorded_by: Annotated[str | None, typer.Option(
        "--recorded-by", help="Who publishes it (organisation or user).")] = None,
    source_document: Annotated[str | None, typer.Option(
        "--source-document", help="Where it is published (report, dashboard, letter).")] = None,
    planning: Annotated[bool, typer.Option(
        "--planning", help="Allow an --as-of after today: figures for a planning date (the facts "
        "recorded so far, as they stand on that date).")] = False,
    json_output: Json = False,
    public: Public = False, min_households: MinHouseholds = DEFAULT_MIN_HOUSEHOLDS,
) -> None:
    """Record a published figure (rulebook, grouping, D, K = now, its values) with the ledger's
    digest at this moment, so anyone can later re-derive it and check it matches.

    An --as-of after today is refused unless --planning is given (a typo such as 9999-12-31
    would otherwise be published for ever); a figure published by mistake can be withdrawn with
    `ledger figures retract`.

    With --public the figure is published with small cells suppressed (as `views show
    --public`): the fact records the exact values (so it re-derives), the threshold and the
    suppressed cells; the output shows the public figure."""
    level = parse_level(by)
    day = parse_as_of(as_of, announce=planning) or now().date()
    if day > now().date() and not planning:
        raise typer.BadParameter(
            f"{day} is after today ({now().date()}); give --planning to publish figures for a "
            "planning date", param_hint="--as-of")
    with workspace() as ws:
        published = publish(ws, rulebook, level, day, recorded_by, source_document,
                            min_households if public else None)
    if json_output:
        print_json({"figure_id": published.figure_id, "digest": published.digest,
                    "status": published.outcome.status, "position": published.outcome.position,
                    **published.document})
        return
    print_published(published, public=public)


def print_published(published: Published, *, public: bool) -> None:
    say(f"Published [bold]{published.figure_id}[/] ({published.outcome.status}); ledger digest "
        f"{published.digest}")
    table(None, ["status", "place", "households", "individuals"],
          [[v["status"], v["place"], _shown(v, "households"), _shown(v, "individuals")]
           for v in published.document["values"]], numeric=["households", "individuals"])
    if public:
        say(published.document["disclosure"]["rule"].capitalize() + ".")
    say(f"Check it any time: ledger audit figure {published.figure_id}")


def _shown(value: dict[str, Any], key: str) -> str:
    return "suppressed" if value[key] is None else f"{value[key]:,}"
