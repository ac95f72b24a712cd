"""Published figures: publishing one (a ``figure_published`` fact with the ledger's digest),
reading them back, and retracting one published by mistake (a ``figure_retracted`` fact)."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any

from ledger.application import Outcome
from ledger.catalogue import parse_fact
from ledger.errors import RuleViolationError, StoreError
from ledger.workspace import Workspace
from projections.audit import (
    Retraction,
    chain_head,
    figure_values,
    load_figure,
    published_figures,
    retractions,
    rulebook_digest,
)
from projections.bridge import Level
from projections.documents import figures_document, published_document
from projections.public import public_figure, recorded_suppression, suppressed_cells
from projections.queries import ViewResult, now


@dataclass(frozen=True)
class Published:
    figure_id: str
    digest: str
    outcome: Outcome
    document: dict[str, Any]  # the figure as published (its public version with ``public``)


def publish_figure(ws: Workspace, rulebook: str, level: Level, as_of: dt.date,
                   recorded_by: str | None, source_document: str | None,
                   public: int | None = None) -> tuple[str, str, Outcome]:
    """Record the figure the views give now, at K = the chain head's recorded time; ``public``:
    the threshold of its public version, whose suppressed cells are recorded with it."""
    head = chain_head(ws.db)  # read before catching up: the views then cover at least the head
    if head is None:
        raise StoreError("nothing to publish: the ledger holds no fact yet")
    ws.catch_up()
    used = ws.views.references.versions().at(rulebook, head.recorded_at)
    book = used.book
    sites = ws.views.sites_at(as_of, head.recorded_at)
    rows = figure_values(ws.views, book, level, as_of, head.recorded_at, sites)
    today = now().date()
    key = f"{head.digest}|{book.name}|{level}|{as_of.isoformat()}".encode()
    if public is not None:
        key += f"|public>={public}".encode()
    hidden = suppressed_cells(ViewResult(book.name, as_of, head.recorded_at, level, tuple(rows)),
                              book, sites, public) if public is not None else set()
    figure_id = f"FIG-{today:%Y%m%d}-{hashlib.sha256(key).hexdigest()[:10]}"
    fact = parse_fact({
        "type": "figure_published", "source_id": figure_id, "effective_on": today.isoformat(),
        "recorded_by": recorded_by, "source_document": source_document,
        "figure_id": figure_id, "rulebook": book.name, "level": level, "as_of": as_of.isoformat(),
        "known_at": head.recorded_at.isoformat(), "ledger_digest": head.digest,
        "head_position": head.position, "rulebook_digest": rulebook_digest(book),
        "rulebook_version": used.version,
        "values": [{"status": r.status, "place": r.place, "households": r.households,
                    "individuals": r.individuals} for r in rows],
        **({"public_min_households": public,
            "suppressed": [{"status": c[0], "place": c[1]} for c in sorted(hidden)]}
           if public is not None else {}),
    }, internal=True)
    return figure_id, head.digest, ws.record(fact)


def read_published(ws: Workspace, figure_id: str) -> dict[str, Any]:
    return published_document(load_figure(ws.db, figure_id))


def publish(ws: Workspace, rulebook: str, level: Level, as_of: dt.date, recorded_by: str | None,
            source_document: str | None, public: int | None = None) -> Published:
    """Publish a figure and read it back as recorded (``public``: as the public sees it)."""
    figure_id, digest, outcome = publish_figure(ws, rulebook, level, as_of, recorded_by,
                                                source_document, public)
    document = read_published(ws, figure_id)
    if public is not None:
        document = public_figure(document, recorded_suppression(ws, figure_id), public)
    return Published(figure_id, digest, outcome, document)


def retract_figure(ws: Workspace, figure_id: str, reason: str, recorded_by: str | None,
                   source_document: str | None) -> Retraction:
    """Record a ``figure_retracted`` fact; a figure is retracted once, and only if published."""
    load_figure(ws.db, figure_id)  # a clear error for an unknown id
    with ws.db.cursor() as cur:
        earlier = retractions(cur, ws.db).get(figure_id)
    if earlier is not None:
        raise RuleViolationError(
            f"figure {figure_id!r} is already retracted ({earlier.recorded_at:%Y-%m-%d %H:%M} UTC: "
            f"{earlier.reason})", field="figure_id")
    ws.record(parse_fact({
        "type": "figure_retracted", "source_id": f"{figure_id}/retracted",
        "effective_on": now().date().isoformat(), "figure_id": figure_id, "reason": reason,
        "recorded_by": recorded_by, "source_document": source_document,
    }, internal=True))
    with ws.db.cursor() as cur:
        return retractions(cur, ws.db)[figure_id]


def list_figures(ws: Workspace) -> list[dict[str, Any]]:
    """Every published figure with its retraction, if any (``figures list``)."""
    with ws.db.cursor() as cur:
        figures, retracted = published_figures(cur, ws.db), retractions(cur, ws.db)
    return figures_document(figures, retracted)
