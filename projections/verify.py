"""Tamper evidence (SPEC §5): recompute the hash chain over every stored fact, and every
published figure, from what is stored now.

The chain is walked in notification order, in keyset pages of the fact index and of the events
table side by side, so memory stays flat however large the ledger. Each link is recomputed
from the *stored* digest of the link before it: a changed fact breaks its own link (and a
changed digest breaks the next one too), so every tampered row is found, and the first break is
the first fact that no longer matches. An event without its index row, or an index row without
its event, is a break as well.

A published figure *depends on* a broken fact when the fact's position is at or before the
figure's head position (the chain head it was published at). Each figure is also re-derived
from the stored facts themselves (not from the views, which tampering behind the ledger's back
would leave untouched): every household's facts are folded through the figure's rulebook at its
(D, K), household page by household page, and compared with the values published.

What the chain cannot show by itself: someone able to rewrite every row can recompute every
digest after their change, and cutting the newest facts off leaves a shorter, consistent chain.
Both are caught against a digest kept outside the database: a published figure's digest
(``--digest``), which must appear in the recomputed chain.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from ledger.store.chain import GENESIS, FactMeta, format_time, link_digest
from ledger.store.db import Cursor, Database
from ledger.store.reading import (
    chain_digest_at,
    decode,
    event_rows_after,
    household_pages,
    index_rows_after,
)
from projections.audit import (
    PublishedRecord,
    Retraction,
    book_of,
    retractions,
    rulebook_digest,
    site_facts,
    sites_known_at,
    where,
)
from projections.bridge import ZERO, Figure
from projections.fold import HouseholdState, state_at
from projections.rulebook_versions import load_versions
from projections.rulebooks import Rulebook
from projections.viewcheck import check_views, views_digest_status
from projections.views import Views

PAGE = 5000
HOUSEHOLD_PAGE = 1000
MAX_BREAKS_LISTED = 20
Cell = tuple[str, str]


@dataclass(frozen=True, slots=True)
class Break:
    """A fact that no longer matches the chain."""

    position: int
    source_id: str | None
    fact_type: str | None
    problem: str


@dataclass(frozen=True, slots=True)
class FigureCheck:
    figure_id: str
    position: int
    head_position: int
    digest_matches: bool
    rederives: bool | None  # None: not re-derived (verify --no-figures)
    depends_on_break: bool
    rulebook_changed: bool
    differences: tuple[tuple[str, str, Figure, Figure], ...] = ()  # status, place, published, now
    retraction: Retraction | None = None

    @property
    def ok(self) -> bool:
        return self.digest_matches and self.rederives is not False and not self.depends_on_break

    @property
    def retracted(self) -> bool:
        """Withdrawn by ``ledger figures retract``: still re-derived and reported, but a
        retracted figure that no longer re-derives does not fail the run."""
        return self.retraction is not None


@dataclass(slots=True)
class Verification:
    facts: int = 0
    events: int = 0
    head_position: int | None = None
    head_digest: str = GENESIS
    breaks: list[Break] = field(default_factory=list)
    broken_links: int = 0
    figures: list[FigureCheck] = field(default_factory=list)
    anchors: dict[str, int | None] = field(default_factory=dict)
    # The views against their digest ({"ok", "digest_position", "tables_changed"}) and, with
    # ``verify --views``, every cell recomputed from the log ({"check": ViewCheck.as_dict()}).
    views: dict[str, Any] = field(default_factory=lambda: {"ok": True})

    @property
    def first_break(self) -> Break | None:
        return self.breaks[0] if self.breaks else None

    @property
    def ok(self) -> bool:
        return (self.broken_links == 0 and all(f.ok or f.retracted for f in self.figures)
                and all(p is not None for p in self.anchors.values()) and self.views["ok"])

    def as_dict(self) -> dict[str, Any]:
        first = self.first_break
        return {
            "ok": self.ok,
            "facts": self.facts,
            "events": self.events,
            "head": {"position": self.head_position, "digest": self.head_digest},
            "first_break": _break_dict(first) if first else None,
            "broken_links": self.broken_links,
            "breaks": [_break_dict(b) for b in self.breaks],
            "figures": [_figure_dict(f) for f in self.figures],
            "figures_affected": [f.figure_id for f in self.figures
                                 if not f.ok and not f.retracted],
            "figures_retracted": [f.figure_id for f in self.figures if f.retracted],
            "anchors": [{"digest": d, "position": p, "found": p is not None}
                        for d, p in self.anchors.items()],
            "views": self.views,
        }


def _break_dict(b: Break) -> dict[str, Any]:
    return {"position": b.position, "source_id": b.source_id, "type": b.fact_type,
            "problem": b.problem}


def _figure_dict(f: FigureCheck) -> dict[str, Any]:
    return {
        "figure_id": f.figure_id, "position": f.position, "head_position": f.head_position,
        "ok": f.ok, "digest_matches": f.digest_matches, "rederives": f.rederives,
        "depends_on_break": f.depends_on_break, "rulebook_changed": f.rulebook_changed,
        "retracted": f.retracted,
        "retraction": f.retraction.as_dict() if f.retraction is not None else None,
        "differences": [{"status": s, "place": p,
                         "published": {"households": a.households, "individuals": a.individuals},
                         "rederived": {"households": b.households, "individuals": b.individuals}}
                        for s, p, a, b in f.differences],
    }


# ---- the chain ------------------------------------------------------------------------------------
PageReader = Callable[[Cursor, int, int], list[tuple[Any, ...]]]


def _pages(db: Database, read: PageReader) -> Iterator[tuple[Any, ...]]:
    """Rows in position order, a keyset page at a time (``read(cursor, after, limit)``)."""
    after = 0
    while True:
        with db.cursor() as cur:
            rows = read(cur, after, PAGE)
        if not rows:
            return
        yield from rows
        after = int(rows[-1][0])


def _text_time(db: Database, value: Any) -> str:
    # SQLite keeps the exact text that was hashed; PostgreSQL a timestamptz that formats back.
    return format_time(value) if db.is_postgres else str(value)


def _link(db: Database, previous: str, f: tuple[Any, ...], e: tuple[Any, ...]) -> str:
    """The digest this (index row, event) pair should carry; ValueError when unreadable."""
    meta = None
    if f[1] is not None:
        effective = f[7] if isinstance(f[7], dt.date) else dt.date.fromisoformat(f[7])
        meta = FactMeta(f[1], f[2], f[3], f[4], effective, f[9])
    return link_digest(previous, int(f[0]), _text_time(db, f[8]), meta, UUID(str(e[1])),
                       int(e[2]), str(e[3]), bytes(e[4]))


class _Walk:
    """The state of one pass over the chain."""

    def __init__(self, db: Database, result: Verification, anchors: Sequence[str]) -> None:
        self.db = db
        self.result = result
        self.previous = GENESIS
        self.anchors = set(anchors)
        self.figures: list[PublishedRecord] = []

    def broke(self, position: int, f: tuple[Any, ...] | None, problem: str) -> None:
        self.result.broken_links += 1
        if len(self.result.breaks) < MAX_BREAKS_LISTED:
            self.result.breaks.append(Break(position, f[1] if f else None, f[2] if f else None,
                                            problem))

    def pair(self, f: tuple[Any, ...], e: tuple[Any, ...]) -> None:
        position = int(f[0])
        try:
            link = _link(self.db, self.previous, f, e)
            same_event = (UUID(str(f[5])), int(f[6])) == (UUID(str(e[1])), int(e[2]))
        except (ValueError, TypeError):
            link, same_event = "", True
        if not same_event:
            self.broke(position, f, "the index row names another event than the one stored at "
                       "its position")
        elif link != f[10]:
            self.broke(position, f, "the stored fact no longer matches its link in the hash "
                       "chain: its event, its index row or its digest was changed")
        if link in self.anchors:
            self.result.anchors[link] = position
        if f[2] == "figure_published":
            self.figure(f, e)
        self.previous = str(f[10])
        self.result.head_position, self.result.head_digest = position, link or str(f[10])

    def figure(self, f: tuple[Any, ...], e: tuple[Any, ...]) -> None:
        try:
            fact = decode((f[0], f[8], f[1], f[2], f[3], f[7], e[4], f[4]))
            self.figures.append(PublishedRecord.of(fact))
        except (ValueError, KeyError, TypeError):
            pass  # its own link is broken already; nothing published can be read from it


def verify_chain(db: Database, anchors: Sequence[str] = ()) -> tuple[Verification,
                                                                      list[PublishedRecord]]:
    """Walk the whole chain once; returns the result and the published figures found on it."""
    result = Verification(anchors=dict.fromkeys(anchors))
    walk = _Walk(db, result, anchors)
    facts = _pages(db, index_rows_after)
    events = _pages(db, lambda cur, after, limit: event_rows_after(cur, db, after, limit))
    f, e = next(facts, None), next(events, None)
    while f is not None or e is not None:
        if e is not None and (f is None or int(e[0]) < int(f[0])):
            result.events += 1
            walk.broke(int(e[0]), None, "a stored event has no row in the fact index (the chain "
                       "does not cover it)")
            e = next(events, None)
        elif f is not None and (e is None or int(f[0]) < int(e[0])):
            result.facts += 1
            walk.broke(int(f[0]), f, "the fact index has a row whose event is missing")
            walk.previous = str(f[10])
            f = next(facts, None)
        else:
            assert f is not None
            assert e is not None
            result.facts += 1
            result.events += 1
            walk.pair(f, e)
            f, e = next(facts, None), next(events, None)
    return result, walk.figures


# ---- published figures --------------------------------------------------------------------------
def rederive(db: Database, rulebooks: Mapping[str, Rulebook],
             figures: Sequence[PublishedRecord]) -> dict[str, dict[Cell, Figure]]:
    """Every figure's values from the stored facts (not the views), household page by page."""
    versions = load_versions(db)
    found = {f.figure_id: book_of(f, versions, rulebooks) for f in figures}
    books = {figure_id: book for figure_id, book in found.items() if book is not None}
    todo = [f for f in figures if f.figure_id in books]
    values: dict[str, dict[Cell, Figure]] = {f.figure_id: {} for f in todo}
    if not todo:
        return values
    with db.cursor() as cur:
        all_site_facts = site_facts(cur, db)
    sites = {f.figure_id: sites_known_at(all_site_facts, f.known_at, f.as_of) for f in todo}
    up_to = max(f.head_position for f in todo)
    for facts in household_pages(db, page=HOUSEHOLD_PAGE, up_to=up_to):
        for household_facts in facts.values():
            states: dict[tuple[str, int, dt.date, dt.datetime], HouseholdState] = {}
            for fig in todo:
                book = books[fig.figure_id]
                key = (book.name, fig.rulebook_version, fig.as_of, fig.known_at)
                if key not in states:
                    states[key] = state_at(household_facts, book, fig.as_of, fig.known_at)
                cell = where(states[key], book, fig.level, sites[fig.figure_id])
                if cell is not None:
                    acc = values[fig.figure_id]
                    acc[cell] = acc.get(cell, ZERO) + Figure(1, states[key].individuals)
    return values


def check_figures(db: Database, rulebooks: Mapping[str, Rulebook], result: Verification,
                  figures: Sequence[PublishedRecord], *, rederive_values: bool = True) -> None:
    first = result.first_break
    derived = rederive(db, rulebooks, figures) if rederive_values else {}
    versions = load_versions(db)
    with db.cursor() as cur:
        retracted = retractions(cur, db)
        for fig in figures:
            head_digest = chain_digest_at(cur, fig.head_position)
            book = book_of(fig, versions, rulebooks)
            published = {(v.status, v.place): Figure(v.households, v.individuals)
                         for v in fig.values}
            now = derived.get(fig.figure_id)
            differences = () if now is None else tuple(
                (c[0], c[1], published.get(c, ZERO), now.get(c, ZERO))
                for c in sorted(set(published) | set(now))
                if published.get(c, ZERO) != now.get(c, ZERO)
            )
            rederives = None if not rederive_values else (now is not None and not differences)
            result.figures.append(FigureCheck(
                figure_id=fig.figure_id, position=fig.position, head_position=fig.head_position,
                digest_matches=head_digest is not None and head_digest == fig.ledger_digest,
                rederives=rederives,
                depends_on_break=first is not None and first.position <= fig.head_position,
                rulebook_changed=book is None or (fig.rulebook_digest is not None
                                                  and fig.rulebook_digest != rulebook_digest(book)),
                differences=differences, retraction=retracted.get(fig.figure_id),
            ))


def verify(db: Database, rulebooks: Mapping[str, Rulebook], *, anchors: Sequence[str] = (),
           figures: bool = True, views: Views | None = None) -> Verification:
    """Recompute the chain and every published figure (``figures`` false: only their digests
    and which of them depend on a broken fact, without re-deriving their values), and check the
    view tables against their digest; with ``views``, recompute every view cell from the log."""
    result, published = verify_chain(db, anchors)
    check_figures(db, rulebooks, result, published, rederive_values=figures)
    result.views = views_digest_status(db)
    if views is not None:
        check = check_views(views)
        result.views = {**result.views, "ok": result.views["ok"] and check.ok,
                        "check": check.as_dict()}
    return result
