"""``ledger demo``: the worked example, recorded and explained end to end."""

from __future__ import annotations

import typer

from ledger.cli.output import console, print_json, table
from ledger.cli.read import bridge_document, print_bridge, view_document
from ledger.cli.state import workspace
from ledger.demo import WORKED_EXAMPLE, worked_example
from ledger.errors import StoreError
from ledger.facts import parse_fact
from projections.queries import reconcile, show

DEMO_PREFIX = "demo-"


def run_demo(*, json_output: bool) -> None:
    with workspace(initialised=False) as ws:
        ws.init()
        with ws.db.cursor() as cur:
            row = cur.execute("SELECT count(*) FROM ledger_facts WHERE source_id IS NULL OR "
                              "source_id NOT LIKE %s", (DEMO_PREFIX + "%",)).fetchone()
        others = row[0] if row else 0
        if others:
            raise StoreError(
                f"the store ({ws.settings.describe()}) already holds {others} facts that are not "
                "the demo's; run the demo in its own store, e.g. "
                "LEDGER_DATABASE_URL=sqlite:///demo.db ledger demo"
            )
        outcomes = list(ws.record_many(parse_fact(f) for f in worked_example()))
        rejected = [o for o in outcomes if o.status == "rejected"]
        if rejected:
            raise StoreError(f"the demo's facts were rejected: {rejected[0].error}")
        recorded = sum(o.status == "recorded" for o in outcomes)
        as_of = None
        official = show(ws.views, "official", as_of=as_of)
        operational = show(ws.views, "operational", as_of=as_of)
        bridge = reconcile(ws.views, as_of=as_of)
        sites = ws.views.sites()
        store = ws.settings.describe()
    if json_output:
        print_json({"store": store, "facts": len(outcomes), "recorded": recorded,
                    "official": view_document(official, sites),
                    "operational": view_document(operational, sites),
                    "reconcile": bridge_document(bridge, sites)})
        return
    console.print(f"[bold]Movement Ledger demo[/] — {store}")
    console.print(f"{len(outcomes)} facts in the worked example ({recorded} newly recorded).\n")
    table("The households", ["household", "story"], list(WORKED_EXAMPLE.items()))
    for result in (official, operational):
        table(f"{result.rulebook} view", ["status", "place", "households", "individuals"],
              [[r.status, r.place, r.households, r.individuals] for r in result.rows],
              numeric=["households", "individuals"])
    print_bridge(bridge, sites)
    typer.echo("\nNext: ledger views show --rulebook official | ledger reconcile --by adm1 | "
               "ledger audit household H1")
