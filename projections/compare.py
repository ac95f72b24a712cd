"""``ledger compare``: a figure someone else published, held against the ledger's own.

For every place a source reported (DTM's locations, MoMD's governorates, ...), the row gives the
reported figure, the ledger's figure under one rulebook at the same status and place, and their
difference, split into what the ledger can say and an explicit remainder, so that on every row
``reported − ledger = Σ explained + remainder`` (individuals always, households when the source
gave them):

* with ``via`` (another rulebook, e.g. ``operational`` for DTM), the part the bridge between the
  two rulebooks explains, reason by reason: ``ledger(via) − ledger(rulebook)`` at that place,
  each reason's contribution being minus its ``left − right`` contribution in
  ``reconcile --left RULEBOOK --right VIA``;
* the remainder, ``reported − ledger(via)`` (or ``reported − ledger`` without ``via``), labelled
  ``not_in_ledger`` when the source counts more people than the ledger holds facts for, and
  ``not_reported`` when the ledger holds households the source did not count.

Which reported figures: those of the source (and dataset, if named) known at K; for each
(status, place) the one with the latest ``as_of`` on or before D. D defaults to the latest
``as_of`` among them, so the ledger is counted at the date the source reported.

Grouping (``--by``): ``cell`` keeps every figure at the place it was reported for (a site, a
sub-district, a district, a governorate or the country). ``adm2``, ``adm1`` and ``national``
roll figures up to that level. Camps are grouped by governorate as ``via`` groups them (the
rulebook closest to the source's method, so the remainder compares like with like; the bridge's
``site_attribution`` reason then explains the rest), or as the rulebook itself does without
``via``. Inside one place, a figure covered by a coarser figure of the same
status (a camp inside a district the source also reported) is left out, so nothing is added
twice; figures coarser than the level are left out of it. Explanations come from the bridge
at the row's level (sites and sub-districts: the cell-level bridge rows inside the place).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ledger.errors import NotFoundError
from ledger.pcodes import NATIONAL, adm1_of, adm2_of
from projections.bridge import REASON_NAMES, Bridge, Figure, Level, SiteInfo
from projections.documents import place_label
from projections.export import ledger_digest
from projections.queries import ViewResult, reconcile, show
from projections.reported import ReportedFigure, reported_figures
from projections.rulebooks import Rulebook
from projections.views import Views

IDP_STATUSES = ("idp_in_camp", "idp_out_of_camp")
FINENESS = ("site", "adm3", "adm2", "adm1", "national")  # finest first
NOT_IN_LEDGER = "not_in_ledger"
NOT_REPORTED = "not_reported"


@dataclass(frozen=True, slots=True)
class Amount:
    """Households (None when the source did not give them) and individuals."""

    households: int | None
    individuals: int

    def __sub__(self, other: Amount) -> Amount:
        households = (None if self.households is None or other.households is None
                      else self.households - other.households)
        return Amount(households, self.individuals - other.individuals)

    def __add__(self, other: Amount) -> Amount:
        households = (None if self.households is None or other.households is None
                      else self.households + other.households)
        return Amount(households, self.individuals + other.individuals)

    def like(self, figure: Figure) -> Amount:
        """A ledger figure, with households kept only where this side has them."""
        return Amount(None if self.households is None else figure.households, figure.individuals)


@dataclass(frozen=True, slots=True)
class CompareRow:
    status: str
    place: str
    level: str
    reported_as_of: dt.date
    reported: Amount
    ledger: Amount
    explained: tuple[tuple[str, Amount], ...]
    remainder: Amount
    source_ids: tuple[str, ...] = ()  # the figure_reported facts summed on this row

    @property
    def difference(self) -> Amount:
        return self.reported - self.ledger

    @property
    def remainder_label(self) -> str | None:
        if self.remainder.individuals > 0:
            return NOT_IN_LEDGER
        if self.remainder.individuals < 0:
            return NOT_REPORTED
        return None

    def coverage(self) -> tuple[float | None, float | None]:
        """ledger ÷ reported, households and individuals (None where the source gave 0 or none)."""
        hh = (None if not self.reported.households or self.ledger.households is None
              else self.ledger.households / self.reported.households)
        ind = self.ledger.individuals / self.reported.individuals if self.reported.individuals else None
        return hh, ind


@dataclass(frozen=True, slots=True)
class Comparison:
    rulebook: str
    via: str | None
    source: str
    dataset: str | None
    as_of: dt.date
    known_at: dt.datetime
    level: Level
    rows: tuple[CompareRow, ...]


def level_of(place: str) -> str:
    if place == NATIONAL:
        return "national"
    if place.startswith("IQG"):
        return {5: "adm1", 8: "adm2"}.get(len(place), "adm3")
    return "site"


def _rolled_place(figure: ReportedFigure, level: Level, book: Rulebook,
                  sites: Mapping[str, SiteInfo]) -> str | None:
    """Where a reported figure falls at ``level`` (None: reported at a coarser level)."""
    if level == "cell":
        return figure.place
    if FINENESS.index(figure.level) > FINENESS.index(level):
        return None
    if level == "national":
        return NATIONAL
    pcode = figure.place
    if figure.level == "site":
        site = sites[figure.place]
        if level == "adm1" and book.site_attribution == "authority":
            return site.authority
        pcode = site.location_pcode
    return adm2_of(pcode) if level == "adm2" else adm1_of(pcode)


def _covers(outer: ReportedFigure, inner: ReportedFigure, book: Rulebook,
            sites: Mapping[str, SiteInfo]) -> bool:
    """Whether ``outer`` is a whole place's figure that contains ``inner``'s place.

    A figure for a location inside a place (``location`` set) is a part: it covers nothing.
    """
    if outer.location is not None or outer is inner:
        return False
    if outer.place == inner.place:
        return inner.location is not None
    if FINENESS.index(outer.level) <= FINENESS.index(inner.level):
        return False
    inside = inner.place.startswith(outer.place) or outer.place == NATIONAL
    if inner.level == "site":
        site = sites[inner.place]
        by_authority = outer.level == "adm1" and book.site_attribution == "authority"
        inside = (site.authority == outer.place if by_authority
                  else site.location_pcode.startswith(outer.place)) or outer.place == NATIONAL
    return inside


def _roll_up(figures: Sequence[ReportedFigure], level: Level, book: Rulebook,
             sites: Mapping[str, SiteInfo]) -> dict[tuple[str, str], tuple[str, list[ReportedFigure]]]:
    """(status, place at level) -> (the level of the place, the figures summed for it).

    Of the figures inside one place, those covered by a coarser figure of the same status are
    left out, so a district total and the camps in it are never added together.
    """
    groups: dict[tuple[str, str], list[ReportedFigure]] = {}
    for figure in figures:
        place = _rolled_place(figure, level, book, sites)
        if place is not None:
            groups.setdefault((figure.status, place), []).append(figure)
    chosen = {}
    for key, members in groups.items():
        kept = [f for f in members if not any(_covers(o, f, book, sites) for o in members)]
        chosen[key] = (kept[0].level if level == "cell" else level, kept)
    return chosen


def _latest(figures: Sequence[ReportedFigure], as_of: dt.date) -> list[ReportedFigure]:
    best: dict[tuple[str, str, str], ReportedFigure] = {}
    for figure in figures:  # in recorded order: a later recording of the same as_of wins
        if figure.as_of > as_of:
            continue
        key = (figure.status, figure.place, figure.location or "")
        if key not in best or figure.as_of >= best[key].as_of:
            best[key] = figure
    return list(best.values())


def _within(place: str, row_level: str, target: str, sites: Mapping[str, SiteInfo]) -> bool:
    """Whether a cell-level place (site or p-code) lies in ``target`` (a site or a sub-district)."""
    if row_level == "site":
        return place == target
    pcode = sites[place].location_pcode if place in sites else place
    return pcode.startswith(target)


class _Ledger:
    """The ledger's figures and bridges at one (D, K), computed once per level."""

    def __init__(self, views: Views, rulebook: str, via: str | None, as_of: dt.date,
                 known_at: dt.datetime) -> None:
        self.views, self.rulebook, self.via = views, rulebook, via
        self.as_of, self.known_at = as_of, known_at
        self._shown: dict[Level, ViewResult] = {}
        self._bridges: dict[Level, Bridge] = {}

    def shown(self, level: Level) -> ViewResult:
        if level not in self._shown:
            self._shown[level] = show(self.views, self.rulebook, as_of=self.as_of,
                                      known_at=self.known_at, level=level)
        return self._shown[level]

    def bridge(self, level: Level) -> Bridge:
        assert self.via is not None
        if level not in self._bridges:
            self._bridges[level] = reconcile(self.views, self.rulebook, self.via, as_of=self.as_of,
                                             known_at=self.known_at, level=level)
        return self._bridges[level]


def _query_level(place_level: str) -> Level:
    return "cell" if place_level in ("site", "adm3") else place_level  # type: ignore[return-value]


def compare(views: Views, rulebook: str, source: str, *, dataset: str | None = None,
            via: str | None = None, as_of: dt.date | None = None,
            known_at: dt.datetime | None = None, level: Level = "cell",
            place: str | None = None) -> Comparison:
    book = views.rulebook(rulebook)
    if via is not None:
        views.rulebook(via)
    known_at = known_at or dt.datetime.now(dt.UTC)
    figures = reported_figures(views.db, known_at, source=source, dataset=dataset)
    if not figures:
        what = f"{source}:{dataset}" if dataset else source
        raise NotFoundError(f"no figures reported by {what} are recorded (known at "
                            f"{known_at:%Y-%m-%d %H:%M:%S} UTC); import them with `ledger import "
                            "FILE --reported SOURCE --dataset NAME`", field="reported")
    as_of = as_of or max(f.as_of for f in figures)
    sites = views.sites_at(as_of, known_at)
    ledger = _Ledger(views, book.name, via, as_of, known_at)
    rows = []
    grouping = views.rulebook(via) if via is not None else book
    for (status, where), (place_level, members) in sorted(
            _roll_up(_latest(figures, as_of), level, grouping, sites).items(),
            key=lambda kv: (FINENESS.index(kv[1][0]), kv[0][1], kv[0][0])):
        if place is not None and not _in_place(where, place_level, place, sites, grouping):
            continue
        rows.append(_row(ledger, status, where, place_level, members, sites))
    return Comparison(book.name, via, source, dataset, as_of, known_at, level, tuple(rows))


def _in_place(where: str, place_level: str, place: str, sites: Mapping[str, SiteInfo],
              book: Rulebook) -> bool:
    if where == place:
        return True
    if place == NATIONAL:
        return True
    if place_level == "site":
        site = sites[where]
        return site.location_pcode.startswith(place) or (
            len(place) == 5 and book.site_attribution == "authority" and site.authority == place)
    return where.startswith(place) and where != NATIONAL


def _row(ledger: _Ledger, status: str, where: str, place_level: str,
         members: Sequence[ReportedFigure], sites: Mapping[str, SiteInfo]) -> CompareRow:
    statuses = IDP_STATUSES if status == "idp" else (status,)
    households = None if any(f.households is None for f in members) else sum(
        f.households or 0 for f in members)
    reported = Amount(households, sum(f.individuals for f in members))
    query_level = _query_level(place_level)

    def wanted(row_status: str, row_place: str) -> bool:
        if row_status not in statuses:
            return False
        if query_level != "cell":
            return row_place == where
        return _within(row_place, place_level, where, sites)

    own = Figure()
    for view_row in ledger.shown(query_level).rows:
        if wanted(view_row.status, view_row.place):
            own += Figure(view_row.households, view_row.individuals)
    ledger_amount = reported.like(own)
    explained: dict[str, Figure] = {}
    other = own  # without a second rulebook, the whole difference is the remainder
    if ledger.via is not None:
        other = Figure()
        for bridge_row in ledger.bridge(query_level).rows:
            if not wanted(bridge_row.status, bridge_row.place):
                continue
            other += bridge_row.right
            for reason, contribution in bridge_row.reasons.items():
                explained[reason] = explained.get(reason, Figure()) - contribution
    explained_amounts = tuple((reason, reported.like(explained[reason])) for reason in REASON_NAMES
                              if explained.get(reason, Figure()) != Figure())
    remainder = reported - reported.like(other)
    return CompareRow(status, where, place_level, max(f.as_of for f in members), reported,
                      ledger_amount, explained_amounts, remainder,
                      tuple(f.source_id for f in members))


def amount(value: Amount) -> dict[str, int | None]:
    return {"households": value.households, "individuals": value.individuals}


def totals(rows: Sequence[CompareRow]) -> dict[str, object] | None:
    """Sums over rows that partition the country (None at cell level, where places nest)."""
    if not rows:
        return None
    keys = ("reported", "ledger", "difference", "remainder")
    sums = {k: Amount(0, 0) for k in keys}
    explained: dict[str, Amount] = {}
    for row in rows:
        for key in keys:
            sums[key] = sums[key] + getattr(row, key)
        for reason, part in row.explained:
            explained[reason] = explained.get(reason, Amount(0, 0)) + part
    return {**{k: amount(v) for k, v in sums.items()},
            "explained": [{"reason": r, **amount(v)} for r, v in explained.items()]}


def comparison_document(result: Comparison, place_name: Callable[[str], str]) -> dict[str, object]:
    """The JSON document of ``ledger compare --json`` (``place_name``: place -> its name)."""
    rows = []
    for row in result.rows:
        households, individuals = row.coverage()
        rows.append({
            "status": row.status, "place": row.place, "place_name": place_name(row.place),
            "level": row.level, "reported_as_of": row.reported_as_of,
            "reported": amount(row.reported), "ledger": amount(row.ledger),
            "difference": amount(row.difference),
            "explained": [{"reason": r, **amount(v)} for r, v in row.explained],
            "remainder": {"label": row.remainder_label, **amount(row.remainder)},
            "coverage": {"households": None if households is None else round(households, 4),
                         "individuals": None if individuals is None else round(individuals, 4)},
            "source_ids": list(row.source_ids),
        })
    return {
        "rulebook": result.rulebook, "via": result.via, "source": result.source,
        "dataset": result.dataset, "as_of": result.as_of, "known_at": result.known_at,
        "by": result.level, "rows": rows,
        "totals": totals(result.rows) if result.level != "cell" else None,
    }


@dataclass(frozen=True, slots=True)
class CoverageRow:
    """One place of a reported dataset beside the ledger's figure under each rulebook."""

    status: str
    place: str
    reported: dict[str, Amount]  # by rulebook: camps roll up by each rulebook's attribution
    ledger: dict[str, Amount]

    def coverage(self, rulebook: str) -> float | None:
        reported = self.reported[rulebook].individuals
        return self.ledger[rulebook].individuals / reported if reported else None


@dataclass(frozen=True, slots=True)
class CoverageTable:
    source: str
    dataset: str
    as_of: dt.date
    rows: tuple[CoverageRow, ...]


def coverage_tables(views: Views, rulebooks: Sequence[str], as_of: dt.date,
                    known_at: dt.datetime) -> list[CoverageTable]:
    """Every reported dataset by governorate (and nationally) beside the ledger's rulebooks."""
    tables = []
    for source, dataset in dict.fromkeys((f.source, f.dataset)
                                         for f in reported_figures(views.db, known_at)):
        rows: dict[tuple[str, str], CoverageRow] = {}
        reported_as_of: dt.date | None = None
        levels: tuple[Level, ...] = ("adm1", "national")
        for level in levels:
            for book in rulebooks:
                try:
                    result = compare(views, book, source, dataset=dataset, as_of=as_of,
                                     known_at=known_at, level=level)
                except NotFoundError:
                    continue
                for row in result.rows:
                    key = (row.place, row.status)
                    found = rows.setdefault(key, CoverageRow(row.status, row.place, {}, {}))
                    found.reported[book] = row.reported
                    found.ledger[book] = row.ledger
                    reported_as_of = max(reported_as_of or row.reported_as_of, row.reported_as_of)
        if rows and reported_as_of is not None:
            ordered = sorted(rows.values(), key=lambda r: (r.place == NATIONAL, r.place, r.status))
            tables.append(CoverageTable(source, dataset, reported_as_of, tuple(ordered)))
    return tables


# ---- the compare command's answer -----------------------------------------------------------
@dataclass(frozen=True)
class ComparisonAnswer:
    comparison: Comparison
    document: dict[str, Any]  # as ``compare --json`` prints it
    books: list[Rulebook]  # --rulebook's, and --via's
    digest: str | None


def comparison_answer(views: Views, rulebook: str, source: str, *, dataset: str | None,
                      via: str | None, as_of: dt.date | None, known_at: dt.datetime | None,
                      level: Level, place: str | None) -> ComparisonAnswer:
    """A figure someone else published, held against the ledger's, place by place."""
    result = compare(views, rulebook, source, dataset=dataset, via=via, as_of=as_of,
                     known_at=known_at, level=level, place=place)
    sites = views.sites()
    books = [views.rulebook(rulebook)] + ([views.rulebook(via)] if via else [])
    digest = ledger_digest(views.db)
    document = comparison_document(result, lambda p: place_label(p, sites))
    return ComparisonAnswer(result, document, books, digest)
