"""The questions ``views show``, ``reconcile`` and ``report`` ask of the views, each answered
whole: the figures with what showing them takes (site names, rulebooks and their versions),
after the places a user named are checked.

A command (CLI or HTTP) parses its options, calls one of these and prints the answer. A place
that is not known raises ``NotFoundError``; one that is known but does not fit the grouping asked
for raises :class:`projections.places.UsageError` (a usage mistake at the edge). The other
commands' answers sit beside what they wrap: ``audit_count`` and ``audit_diff`` in
:mod:`projections.audit`, ``comparison_answer`` in :mod:`projections.compare`, the ``export``
answers in :mod:`projections.export`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from projections.bridge import Bridge, Level, SiteInfo
from projections.documents import nobody_counted_at, place_label
from projections.places import bridge_in, check_grouping, check_places, check_view_place
from projections.public import (
    public_bridge,
    public_bridge_document,
    public_view,
    public_view_document,
    render_public,
)
from projections.queries import ViewResult, reconcile, show
from projections.rulebooks import Rulebook
from projections.views import Views


# ---- views show -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ViewAnswer:
    result: ViewResult
    sites: dict[str, SiteInfo]
    nobody_counted_at: list[str]  # the places asked for where nobody is counted (0, said so)


def view_answer(views: Views, rulebook: str, *, as_of: dt.date | None, known_at: dt.datetime | None,
                level: Level, places: Sequence[str] | None) -> ViewAnswer:
    """One rulebook's figures (``places``: only those, each a place of the ``level`` rows)."""
    sites = views.sites()
    check_places(places or [], sites)
    for where in places or []:
        check_view_place(where, level, sites)
    result = show(views, rulebook, as_of=as_of, known_at=known_at, level=level, places=places)
    return ViewAnswer(result, sites, nobody_counted_at(result, places))


def public_view_answer(views: Views, rulebook: str, *, as_of: dt.date | None,
                       known_at: dt.datetime | None, level: Level, places: Sequence[str] | None,
                       min_households: int) -> dict[str, Any]:
    """The figures safe to publish, as a document: suppressed on the whole table (what
    ``places`` leaves out is published elsewhere), then kept to ``places``."""
    result = show(views, rulebook, as_of=as_of, known_at=known_at, level=level)
    sites = views.sites()
    book = views.rulebook(rulebook)
    document = public_view_document(public_view(result, book, sites, min_households),
                                    lambda p: place_label(p, sites))
    if places:
        document["rows"] = [r for r in document["rows"] if r["place"] in set(places)]
    return document


# ---- reconcile ------------------------------------------------------------------------------
@dataclass(frozen=True)
class BridgeAnswer:
    bridge: Bridge
    sites: dict[str, SiteInfo]
    versions: dict[str, int]  # rulebook name -> the version counted with
    books: tuple[Rulebook, Rulebook]

    def public(self, min_households: int) -> dict[str, Any]:
        """The bridge safe to publish, as a document."""
        return public_bridge_document(
            public_bridge(self.bridge, *self.books, self.sites, min_households),
            lambda p: place_label(p, self.sites))


def bridge_answer(views: Views, left: str, right: str, *, as_of: dt.date | None,
                  known_at: dt.datetime | None, level: Level, place: str | None) -> BridgeAnswer:
    """The bridge between two rulebooks (``place``: only its rows, with its own totals)."""
    sites = views.sites()
    if place is not None:
        check_places([place], sites)
        check_grouping(place, level, sites)
    bridge = reconcile(views, left, right, as_of=as_of, known_at=known_at, level=level)
    assert bridge.known_at is not None  # the views' bridges always carry their K
    versions = views.references.versions().numbers_at(bridge.known_at)
    if place is not None:
        bridge = bridge_in(bridge, place, views.sites_at(bridge.as_of, bridge.known_at))
    return BridgeAnswer(bridge, sites, versions, (views.rulebook(left), views.rulebook(right)))


# ---- report ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReportAnswer:
    as_of: dt.date
    known_at: dt.datetime
    books: tuple[Rulebook, Rulebook]
    digest: str | None
    page: str  # the HTML page
    place_bridge: Bridge | None  # the bridge of the place asked for (never on a public page)
    sites: dict[str, SiteInfo]


def report_answer(views: Views, *, as_of: dt.date | None, known_at: dt.datetime | None,
                  left: str, right: str, place: str | None, public: int | None) -> ReportAnswer:
    """``report --html``: the page (``place``: with that place's bridge; ``public``: the
    threshold, the public tables only, since a chart would show every value)."""
    from projections.report import gather, place_bridge_section, render  # noqa: PLC0415  (plotly)

    data = gather(views, views.db, as_of=as_of, known_at=known_at, left=left, right=right)
    sites = data.sites
    local = None
    if place is not None:
        check_places([place], sites)
        local = bridge_in(reconcile(views, left, right, as_of=data.as_of,
                                    known_at=data.known_at, level="cell"),
                          place, views.sites_at(data.as_of, data.known_at))
    if public is not None:
        tables = tuple(public_view(v, b, sites, public)
                       for v, b in zip(data.views_adm1, data.books, strict=True))
        page = render_public((tables[0], tables[1]), public_bridge(data.bridge, *data.books, sites,
                                                                   public),
                             data.digest, "Movement Ledger: public figures")
        local = None  # a camp's bridge lists too few households to be public
    else:
        page = render(data)
        if local is not None:
            section = place_bridge_section(local, place or "", place_label(place or "", sites))
            page = page.replace("</main>", section + "</main>", 1)
    return ReportAnswer(data.as_of, data.known_at, data.books, data.digest, page, local, sites)
