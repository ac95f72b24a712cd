"""``--public`` outputs: figures with small cells suppressed (``projections.disclosure``).

A public document keeps the keys of the ordinary one; a suppressed figure is null with
``"suppressed": true``, and it adds ``margins`` (totals by status and by place, as published)
and ``disclosure`` (the rule applied and the threshold).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from projections.bridge import Bridge, SiteInfo
from projections.disclosure import DEFAULT_MIN_HOUSEHOLDS, Suppression, rule, suppress, suppress_together
from projections.export import Export, Table
from projections.queries import ViewResult, totals
from projections.stored import decode, select_facts

Public = Annotated[bool, typer.Option(
    "--public", help="Figures safe to publish: cells and totals under --min-households are "
    "suppressed, with complementary suppression so that none can be computed from the rest.")]
MinHouseholds = Annotated[int, typer.Option(
    "--min-households", min=1, help="With --public: the smallest number of households a "
    "published cell may show.")]

NeverPublic = Annotated[bool, typer.Option(
    "--public", help="Refused: household-level outputs are never public.")]


def refuse_public(public: bool, what: str) -> None:
    if public:
        raise typer.BadParameter(f"{what} is about single households and is never public; "
                                 "publish `views show --public` or `reconcile --public` figures",
                                 param_hint="--public")


def _figure(households: int, individuals: int, hidden: bool) -> dict[str, Any]:
    if hidden:
        return {"households": None, "individuals": None, "suppressed": True}
    return {"households": households, "individuals": individuals}


def suppression_of(result: ViewResult, min_households: int) -> Suppression:
    return suppress({(r.status, r.place): r.households for r in result.rows}, min_households)


def public_view_document(result: ViewResult, sites: dict[str, SiteInfo], names: Any,
                         min_households: int = DEFAULT_MIN_HOUSEHOLDS) -> dict[str, Any]:
    """``names(place, sites)`` gives a place's name, as in the ordinary document."""
    hidden = suppression_of(result, min_households)
    statuses: dict[str, list[int]] = {}
    places: dict[str, list[int]] = {}
    for r in result.rows:
        for key, into in ((r.status, statuses), (r.place, places)):
            into.setdefault(key, [0, 0])
            into[key][0] += r.households
            into[key][1] += r.individuals
    return {
        "rulebook": result.rulebook, "as_of": result.as_of, "known_at": result.known_at,
        "by": result.level,
        "rows": [{"status": r.status, "place": r.place, "place_name": names(r.place, sites),
                  **_figure(r.households, r.individuals, (r.status, r.place) in hidden.cells)}
                 for r in result.rows],
        "margins": {
            "by_status": [{"status": s, **_figure(h, i, s in hidden.statuses)}
                          for s, (h, i) in statuses.items()],
            "by_place": [{"place": p, **_figure(h, i, p in hidden.places)}
                         for p, (h, i) in sorted(places.items())],
        },
        "total": _figure(result.total.households, result.total.individuals, hidden.total),
        "disclosure": {"public": True, "min_households": min_households, "rule": rule(min_households),
                       "suppressed_cells": len(hidden.cells)},
    }


def shown(figure: dict[str, Any], key: str) -> str:
    return "suppressed" if figure.get("suppressed") else f"{figure[key]:,}"


def public_bridge_document(bridge: Bridge, sites: dict[str, SiteInfo], names: Any,
                           min_households: int = DEFAULT_MIN_HOUSEHOLDS) -> dict[str, Any]:
    """The bridge, public: both rulebooks' tables under one suppression pattern; a row's delta
    only where both sides are published; the reasons only in total, and only when every
    reason counts at least ``min_households`` (else none: they explain single households)."""
    hidden = suppress_together([{(r.status, r.place): r.left.households for r in bridge.rows},
                                {(r.status, r.place): r.right.households for r in bridge.rows}],
                               min_households)
    left, right, reasons = totals(bridge.rows)
    reasons_safe = all(abs(f.households) >= min_households for f in reasons.values() if f.households)
    rows = []
    for r in bridge.rows:
        cut = (r.status, r.place) in hidden.cells
        rows.append({"status": r.status, "place": r.place, "place_name": names(r.place, sites),
                     "left": _figure(r.left.households, r.left.individuals, cut),
                     "right": _figure(r.right.households, r.right.individuals, cut),
                     "delta": _figure(r.delta.households, r.delta.individuals, cut)})
    return {
        "left": bridge.left, "right": bridge.right, "as_of": bridge.as_of,
        "known_at": bridge.known_at, "by": bridge.level, "rows": rows,
        "totals": {"left": _figure(left.households, left.individuals, hidden.total),
                   "right": _figure(right.households, right.individuals, hidden.total),
                   "delta": _figure((left - right).households, (left - right).individuals, hidden.total),
                   "reasons": [{"reason": k, "households": v.households, "individuals": v.individuals}
                               for k, v in reasons.items()] if reasons_safe and not hidden.total else None},
        "disclosure": {"public": True, "min_households": min_households, "rule": rule(min_households)
                       + "; reasons are given only in total, when each counts at least "
                       f"{min_households} households", "suppressed_cells": len(hidden.cells)},
    }


def _cells(figure: dict[str, Any]) -> tuple[Any, Any, bool]:
    return figure["households"], figure["individuals"], bool(figure.get("suppressed"))


def public_view_export(document: dict[str, Any], about: list[tuple[str, Any]]) -> Export:
    """A public view as an export: suppressed figures empty, a ``suppressed`` column, the
    margins as a second table, and the rule in the about rows."""
    head = (document["rulebook"], document["as_of"].isoformat(), document["known_at"].isoformat())
    rows = [(*head, r["status"], r["place"], r["place_name"], *_cells(r)) for r in document["rows"]]
    margins = [("status", m["status"], *_cells(m)) for m in document["margins"]["by_status"]]
    margins += [("place", m["place"], *_cells(m)) for m in document["margins"]["by_place"]]
    margins.append(("total", "", *_cells(document["total"])))
    return Export(f"{document['rulebook']} view by {document['by']}, public", [
        Table("view", ("rulebook", "as_of", "known_at", "status", "place", "place_name", "households",
                       "individuals", "suppressed"), rows),
        Table("margins", ("total_of", "key", "households", "individuals", "suppressed"), margins,
              ("#meta+total_of", "#meta+key", "#affected+hh", "#affected+ind", "#meta+suppressed")),
    ], [*about, *_disclosure_rows(document)])


def public_bridge_export(document: dict[str, Any], about: list[tuple[str, Any]]) -> Export:
    head = (document["left"], document["right"], document["as_of"].isoformat())
    rows = [(*head, r["status"], r["place"], r["place_name"], *_cells(r["left"])[:2],
             *_cells(r["right"])[:2], *_cells(r["delta"])[:2], bool(r["left"].get("suppressed")))
            for r in document["rows"]]
    return Export(f"{document['left']} vs {document['right']} by {document['by']}, public", [
        Table("bridge", ("left_rulebook", "right_rulebook", "as_of", "status", "place", "place_name",
                         "left_households", "left_individuals", "right_households",
                         "right_individuals", "delta_households", "delta_individuals", "suppressed"),
              rows),
    ], [*about, *_disclosure_rows(document)])


def _disclosure_rows(document: dict[str, Any]) -> list[tuple[str, Any]]:
    disclosure = document["disclosure"]
    return [("public", "yes"), ("min_households", disclosure["min_households"]),
            ("disclosure_rule", disclosure["rule"]),
            ("suppressed_cells", disclosure["suppressed_cells"])]


def figure_suppression(ws: Any, figure_id: str) -> set[tuple[str, str]]:
    """The cells a published figure's stored fact records as suppressed."""
    with ws.db.cursor() as cur:
        row = cur.execute(select_facts(ws.db) + " WHERE f.source_id = %s", (figure_id,)).fetchone()
    data = decode(row).data if row else {}
    return {(str(c["status"]), str(c["place"])) for c in data.get("suppressed") or ()}


def public_figure(published: dict[str, Any], hidden: set[tuple[str, str]],
                  min_households: int) -> dict[str, Any]:
    """A published figure's document as the public saw it."""
    values = [{"status": v["status"], "place": v["place"],
               **_figure(v["households"], v["individuals"], (v["status"], v["place"]) in hidden)}
              for v in published["values"]]
    return {**published, "values": values,
            "disclosure": {"public": True, "min_households": min_households,
                           "rule": rule(min_households), "suppressed_cells": len(hidden)}}
