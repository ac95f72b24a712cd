"""``ledger reconcile``: two rulebooks' figures side by side, every gap explained."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

import typer

from ledger.arguments import parse_as_of, parse_known_at, parse_level
from ledger.cli.options import AsOf, By, Json, KnownAt, Left, Right
from ledger.cli.output import figure_pair, print_json, reports_errors, say, signed
from ledger.cli.public import DEFAULT as PUBLIC_MIN
from ledger.cli.public import MinHouseholds, Public, print_public_bridge
from ledger.cli.state import workspace
from projections.answers import bridge_answer
from projections.bridge import Bridge, SiteInfo
from projections.documents import bridge_document, place_label
from projections.places import UsageError
from projections.queries import totals


@reports_errors
def reconcile_command(
    left: Left = "official", right: Right = "operational",
    as_of: AsOf = None, known_at: KnownAt = None, by: By = "cell",
    place: Annotated[str | None, typer.Option(
        "--place", help="Only the rows in this place: a site id (a per-camp bridge, by cell), a "
        "district or a governorate p-code (rows whose place lies in it; a camp lies in its "
        "location's district and governorate and in its authority's); totals are the place's.",
    )] = None,
    public: Public = False, min_households: MinHouseholds = PUBLIC_MIN, json_output: Json = False,
) -> None:
    """Put two rulebooks' figures side by side and explain every gap, household by household.

    Each row shows left, right, their difference and the reasons that make it up; the reasons
    always add up exactly to the difference, in households and in individuals. Contributions
    are left − right (docs/counting.md defines every reason).
    """
    level = parse_level(by)
    with workspace() as ws:
        ws.catch_up()
        try:
            answer = bridge_answer(ws.views, left, right, as_of=parse_as_of(as_of),
                                   known_at=parse_known_at(known_at), level=level, place=place)
        except UsageError as exc:
            raise typer.BadParameter(str(exc), param_hint="--place") from None
    if public:
        document = answer.public(min_households)
        print_json(document) if json_output else print_public_bridge(document)
    elif json_output:
        print_json({**bridge_document(answer.bridge, answer.sites, answer.versions),
                    **({"place": place} if place else {})})
    else:
        if place is not None:
            say(f"Only the rows in {place} ({place_label(place, answer.sites)}); the totals are "
                "its own")
        print_bridge(answer.bridge, answer.sites, answer.versions)


def print_bridge(bridge: Bridge, sites: Mapping[str, SiteInfo],
                 versions: Mapping[str, int] | None = None) -> None:
    """The bridge for people: each row's two figures, then the reasons that make up the gap."""
    names = (bridge.left, bridge.right) if versions is None else (
        f"{bridge.left} v{versions[bridge.left]}", f"{bridge.right} v{versions[bridge.right]}")
    say(f"[bold]{names[0]} vs {names[1]}[/] as of {bridge.as_of}, by {bridge.level} "
        f"(households / individuals; each reason's contribution is {bridge.left} − "
        f"{bridge.right})")
    for row in bridge.rows:
        name = place_label(row.place, sites)
        where = row.place if name == row.place else f"{row.place} {name}"
        say(f"\n[bold]{row.status}[/] {where}: {bridge.left} {figure_pair(row.left)}, "
            f"{bridge.right} {figure_pair(row.right)}, delta {signed(row.delta)}")
        for reason, figure in row.reasons.items():
            say(f"    {signed(figure):>18}  {reason}")
    left, right, reasons = totals(bridge.rows)
    say(f"\n[bold]In all[/]: {bridge.left} {figure_pair(left)}")
    for reason, figure in reasons.items():
        if figure.households or figure.individuals:
            say(f"    {signed(figure):>18}  {reason}")
    say(f"  = {bridge.right} {figure_pair(right)}")
