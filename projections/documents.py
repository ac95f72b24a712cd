"""The read side's answers as JSON documents: what ``ledger ... --json`` prints and the HTTP API
returns, built in one place so that both edges say the same thing (dates and times stay
``datetime`` objects here; the edge writes them as ISO 8601)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ledger.pcodes import NATIONAL, name_of
from projections.queries import totals

if TYPE_CHECKING:  # (the audit trails' modules load only for their documents)
    from projections.audit import (
        CountLineage,
        FigureAudit,
        FigureDiff,
        HouseholdHistory,
        PublishedRecord,
        Retraction,
    )
    from projections.bridge import Bridge, Figure, SiteInfo
    from projections.lineage import Explained, Explanation
    from projections.queries import ViewResult
    from projections.rulebook_versions import RulebookVersion


def place_label(place: str, sites: Mapping[str, SiteInfo]) -> str:
    """A place as people name it: the site's name, a p-code's name, or Iraq."""
    if place in sites:
        return sites[place].name
    if place == NATIONAL:
        return "Iraq"
    return name_of(place)


def fig(figure: Figure) -> dict[str, int]:
    return {"households": figure.households, "individuals": figure.individuals}


# ---- views and bridges ----------------------------------------------------------------------
def view_document(result: ViewResult, sites: Mapping[str, SiteInfo]) -> dict[str, Any]:
    return {
        "rulebook": result.rulebook, "rulebook_version": result.version,
        "as_of": result.as_of, "known_at": result.known_at,
        "by": result.level,
        "rows": [{"status": r.status, "place": r.place, "place_name": place_label(r.place, sites),
                  "households": r.households, "individuals": r.individuals} for r in result.rows],
        "total": fig(result.total),
    }


def nobody_counted_at(result: ViewResult, places: Sequence[str] | None) -> list[str]:
    """The places asked for that no row of the view counts (their figure is 0, said so)."""
    return [p for p in dict.fromkeys(places or []) if all(r.place != p for r in result.rows)]


def bridge_document(bridge: Bridge, sites: Mapping[str, SiteInfo],
                    versions: Mapping[str, int] | None = None) -> dict[str, Any]:
    """The bridge as JSON; ``versions`` (rulebook name -> version counted with) adds
    ``left_version`` and ``right_version``."""
    left, right, reasons = totals(bridge.rows)
    used = {} if versions is None else {"left_version": versions[bridge.left],
                                        "right_version": versions[bridge.right]}
    return {
        "left": bridge.left, "right": bridge.right, **used, "as_of": bridge.as_of,
        "known_at": bridge.known_at, "by": bridge.level,
        "rows": [
            {"status": r.status, "place": r.place, "place_name": place_label(r.place, sites),
             "left": fig(r.left), "right": fig(r.right), "delta": fig(r.delta),
             "reasons": [{"reason": k, **fig(v)} for k, v in r.reasons.items()]}
            for r in bridge.rows
        ],
        "totals": {"left": fig(left), "right": fig(right), "delta": fig(left - right),
                   "reasons": [{"reason": k, **fig(v)} for k, v in reasons.items()]},
    }


# ---- audit trails ---------------------------------------------------------------------------
def history_document(history: HouseholdHistory) -> dict[str, Any]:
    return {
        "household_id": history.household_id, "known_at": history.known_at,
        "facts": [line.as_dict() for line in history.facts],
        "states": [s.as_dict() for s in history.states],
        "revisions": [s.as_dict() for s in history.revisions],
    }


def lineage_document(lineage: CountLineage) -> dict[str, Any]:
    return {
        "rulebook": lineage.rulebook, "rulebook_version": lineage.rulebook_version,
        "status": lineage.status, "place": lineage.place, "by": lineage.level,
        "as_of": lineage.as_of, "known_at": lineage.known_at,
        "figure": fig(lineage.figure),
        "rows": [{"household_id": h.household_id, "status": h.status, "cell_place": h.place,
                  "individuals": h.individuals,
                  "facts": [{k: v for k, v in f.as_dict().items() if k != "details"}
                            for f in h.facts],
                  **explanation_document(h.explanation)}
                 for h in lineage.households],
    }


def _explained(item: Explained) -> dict[str, Any]:
    from projections.audit import FactLine  # noqa: PLC0415  (audit documents only)

    line = {k: v for k, v in FactLine.of(item.fact).as_dict().items()
            if k not in {"voided_by", "voided_at"}}
    return {**line, "why": item.why, "applied_by": list(item.applied_by)}


def explanation_document(explanation: Explanation | None) -> dict[str, Any]:
    """``cause`` (the fact that placed the household in its cell under this rulebook, with
    ``why``), ``not_applied`` (facts this rulebook did not act on that another built-in one did,
    each with ``why`` and ``applied_by``) and ``other_rulebooks`` (how each other built-in
    rulebook counts it: ``status``, ``place``, ``individuals``, the bridge ``reason``, ``why``)."""
    if explanation is None:
        return {}
    return {
        "cause": _explained(explanation.cause) if explanation.cause else None,
        "not_applied": [_explained(item) for item in explanation.not_applied],
        "other_rulebooks": [other.as_dict() for other in explanation.others],
    }


def diff_document(d: FigureDiff) -> dict[str, Any]:
    from projections.audit import diff_rows  # noqa: PLC0415  (audit documents only)

    return {
        "rulebook": d.rulebook, "status": d.status, "place": d.place, "by": d.level,
        "as_of": d.as_of, "known_at": d.known_at, "vs_known_at": d.vs_known_at,
        "versions": ({"known_at": d.versions[0], "vs_known_at": d.versions[1]}
                     if d.versions else None),
        "before": fig(d.before), "after": fig(d.after), "change": fig(d.after - d.before),
        "explained": fig(d.explained), "adds_up": d.adds_up,
        "facts_considered": d.facts_considered, "rows": diff_rows(d),
    }


# ---- published figures ----------------------------------------------------------------------
def figure_document(a: FigureAudit) -> dict[str, Any]:
    f = a.figure
    return {
        "figure_id": f.figure_id, "rulebook": f.rulebook, "rulebook_version": f.rulebook_version,
        "by": f.level, "as_of": f.as_of,
        "known_at": f.known_at, "published_at": f.recorded_at, "digest": f.ledger_digest,
        "head_position": f.head_position, "digest_matches": a.digest_matches,
        "still_matches": a.still_matches, "rulebook_changed": a.rulebook_changed, "now": a.now,
        "retracted": a.retraction is not None,
        "retraction": a.retraction.as_dict() if a.retraction is not None else None,
        "cells": [
            {"status": c.status, "place": c.place, "published": fig(c.published),
             "known_then": fig(c.known_then), "known_now": fig(c.known_now),
             "change": fig(c.known_now - c.known_then),
             "facts": [{"source_id": ch.fact.source_id, "type": ch.fact.type,
                        "recorded_at": ch.fact.recorded_at, "household_id": ch.household_id,
                        **fig(contribution)} for ch, contribution in c.changes]}
            for c in a.cells
        ],
    }


def published_document(record: PublishedRecord) -> dict[str, Any]:
    """A published figure as ``publish --json`` shows it (besides its id, digest and outcome)."""
    return {"rulebook": record.rulebook, "rulebook_version": record.rulebook_version,
            "by": record.level, "as_of": record.as_of,
            "known_at": record.known_at, "head_position": record.head_position,
            "values": [{"status": v.status, "place": v.place, "households": v.households,
                        "individuals": v.individuals} for v in record.values]}


def figures_document(figures: Sequence[PublishedRecord],
                     retracted: Mapping[str, Retraction]) -> list[dict[str, Any]]:
    """Every published figure, and whether (and why) it was retracted (``figures list``)."""
    return [
        {"figure_id": f.figure_id, "rulebook": f.rulebook, "rulebook_version": f.rulebook_version,
         "by": f.level, "as_of": f.as_of, "known_at": f.known_at, "published_at": f.recorded_at,
         "retracted": f.figure_id in retracted,
         "retraction": retracted[f.figure_id].as_dict() if f.figure_id in retracted else None}
        for f in figures]


# ---- rulebooks ------------------------------------------------------------------------------
def book_document(v: RulebookVersion) -> dict[str, Any]:
    return {**v.book.as_dict(), "version": v.version, "digest": v.digest,
            "known_from": v.known_from, "origin": v.origin}
