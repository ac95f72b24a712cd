"""Audit trails for disputed counts (SPEC §5): household history, count lineage, figure diff and
the re-derivation of published figures.

Every figure here is counted the way ``ledger views show`` counts it (the views at (D, K),
grouped with :func:`projections.bridge.place_at`), and every explanation comes from the one fold,
:func:`projections.fold.state_at`, on the household's stored facts.

*Sites valid at D as known at K.* Grouping a camp's population into a district or governorate
needs the site's location and authority: here, as in the views and reconcile, they are the site
registration valid at D as known at K (:mod:`projections.sites`), so a figure re-derived at its
(D, K) uses the sites as they were known when it was published.

*Figure diff, exactly.* Between K1 and K2 the figure changes only when a fact is recorded. Walking
the facts recorded in (K1, K2] in recorded order, each fact's contribution is the figure just
after it became known minus just before (recorded times are strictly increasing, one
microsecond apart at least, so "just before" is ``recorded_at - 1µs``). A household fact (or a
void of one) changes only its household's state: its contribution is that household's cell
after minus before. A site fact (a registration, or a void of one) changes no household's state
but can move a whole camp between governorates (``authority_adm1``) or districts: its
contribution is every household counted in that camp at (D, that moment), re-grouped with the
sites after minus before. Round, grant and figure facts change no figure. The contributions
telescope, so they add up exactly to ``figure(K2) - figure(K1)``; the result says so
(``adds_up``) rather than assuming it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from ledger.errors import NotFoundError
from ledger.store.db import Cursor, Database
from ledger.store.reading import ChainHead as ChainHead  # noqa: PLC0414 (explicit re-export: the CLI imports it from here)
from ledger.store.reading import (
    FactRecord,
    chain_digest_at,
    facts_about_no_household,
    facts_of_households,
    facts_of_many_households,
    facts_of_type,
    recorded_between,
)
from ledger.store.reading import chain_head as read_chain_head
from projections.bridge import ZERO, Figure, Level, SiteInfo, place_at
from projections.fold import (
    IDP_IN_CAMP,
    HouseholdState,
    Interval,
    applied_facts,
    bitemporal_rows,
    fold_steps,
    state_at,
    timeline,
)
from projections.folded import folded_cells, folded_members
from projections.lineage import Explanation, explain_applied
from projections.places import check_places
from projections.queries import ViewRow, group_cells
from projections.rulebook_versions import RulebookVersion, RulebookVersions
from projections.rulebooks import Rulebook, builtin_rulebooks
from projections.sites import site_facts as site_facts  # noqa: PLC0414 (explicit re-export: verify and the CLI import it from here)
from projections.sites import sites_at
from projections.views import Views, collector_paused

PAGE = 5000
JUST_BEFORE = dt.timedelta(microseconds=1)
Cell = tuple[str, str]


# ---- shared helpers --------------------------------------------------------------------------
def rulebook_digest(book: Rulebook) -> str:
    """A fingerprint of a rulebook's counting parameters (its description is not one)."""
    params = {k: v for k, v in book.as_dict().items() if k != "description"}
    return hashlib.sha256(orjson.dumps(params, option=orjson.OPT_SORT_KEYS)).hexdigest()


def sites_known_at(facts: Sequence[FactRecord], known_at: dt.datetime | None,
                   as_of: dt.date | None = None) -> dict[str, SiteInfo]:
    """The sites valid at ``as_of`` as known at ``known_at`` (:func:`projections.sites.sites_at`;
    ``as_of`` None: each site's latest live registration)."""
    return sites_at(facts, as_of, known_at)


def where(state: HouseholdState, book: Rulebook, level: Level,
          sites: Mapping[str, SiteInfo]) -> Cell | None:
    """The cell (status, place at the level) a state is counted in; None when not counted."""
    try:
        place = place_at(state, book, level, sites)
    except NotFoundError:
        return None  # a camp whose registration is not (yet, or no longer) known
    return None if place is None else (state.status, place)


def _figure_of(state: HouseholdState, book: Rulebook, level: Level,
               sites: Mapping[str, SiteInfo], cell: Cell | None) -> tuple[Cell | None, Figure]:
    found = cell if cell is not None else where(state, book, level, sites)
    return found, (Figure(1, state.individuals) if found is not None else ZERO)


def figure_values(views: Views, book: Rulebook, level: Level, as_of: dt.date,
                  known_at: dt.datetime, sites: Mapping[str, SiteInfo]) -> tuple[ViewRow, ...]:
    """Every counted cell of a rulebook at (D, K), grouped at the level (``views show``); a
    version the views do not hold (an older one) is counted by the pure fold."""
    if views.rulebooks().get(book.name) == book:
        cells = views.cells(book.name, as_of, known_at)
    else:
        cells = folded_cells(views.db, book, as_of, known_at)
    return group_cells(cells, book, level, sites)


def figure_at(views: Views, book: Rulebook, cell: Cell, level: Level, as_of: dt.date,
              known_at: dt.datetime, sites: Mapping[str, SiteInfo]) -> Figure:
    for row in figure_values(views, book, level, as_of, known_at, sites):
        if (row.status, row.place) == cell:
            return Figure(row.households, row.individuals)
    return ZERO


@dataclass(frozen=True, slots=True)
class FactLine:
    """A stored fact as an audit trail shows it."""

    position: int
    source_id: str
    type: str
    subject_id: str
    effective_on: dt.date
    recorded_at: dt.datetime
    recorded_by: str | None
    source_document: str | None
    details: dict[str, Any]
    voided_by: str | None = None
    voided_at: dt.datetime | None = None

    @classmethod
    def of(cls, fact: FactRecord, voids: Mapping[str, FactRecord] | None = None) -> FactLine:
        void = voids.get(fact.source_id) if voids else None
        return cls(fact.position, fact.source_id, fact.type, fact.subject_id, fact.effective_on,
                   fact.recorded_at, fact.recorded_by, fact.source_document, dict(fact.data),
                   void.source_id if void else None, void.recorded_at if void else None)

    def as_dict(self) -> dict[str, Any]:
        return {
            "position": self.position, "source_id": self.source_id, "type": self.type,
            "subject_id": self.subject_id, "effective_on": self.effective_on,
            "recorded_at": self.recorded_at, "recorded_by": self.recorded_by,
            "source_document": self.source_document, "voided_by": self.voided_by,
            "voided_at": self.voided_at, "details": _plain(self.details),
        }


def _plain(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in data.items()}


def _voids(facts: Sequence[FactRecord], known_at: dt.datetime | None = None) -> dict[str, FactRecord]:
    return {f.data["voided_source_id"]: f for f in facts if f.type == "fact_voided"
            and (known_at is None or f.recorded_at <= known_at)}


# ---- household history ----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StateLine:
    """A household's state under one rulebook from ``valid_from`` (as-of dates), known from
    ``recorded_from`` to ``recorded_to`` (None: still)."""

    rulebook: str
    valid_from: dt.date
    valid_to: dt.date | None
    status: str
    place: str | None
    individuals: int
    recorded_from: dt.datetime | None = None
    recorded_to: dt.datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True)
class HouseholdHistory:
    household_id: str
    known_at: dt.datetime | None
    facts: tuple[FactLine, ...]
    states: tuple[StateLine, ...]
    revisions: tuple[StateLine, ...]


def household_history(db: Database, rulebooks: Mapping[str, Rulebook], household_id: str,
                      known_at: dt.datetime | None = None) -> HouseholdHistory:
    """Every fact of the household in effective order (voids shown against what they void), its
    state under each rulebook over as-of dates known at K (one line per change), and every
    revision of those states over recorded time."""
    with db.cursor() as cur:
        facts = facts_of_households(cur, db, [household_id])[household_id]
    if known_at is not None:
        facts = [f for f in facts if f.recorded_at <= known_at]
    if not facts:
        raise NotFoundError(f"household {household_id!r}: no fact about it is recorded"
                            + (f" by {known_at.isoformat()}" if known_at else ""))
    voids = _voids(facts)
    lines = tuple(FactLine.of(f, voids) for f in sorted(facts, key=lambda f: (f.effective_on,
                                                                           f.position)))
    states: list[StateLine] = []
    revisions: list[StateLine] = []
    for book in rulebooks.values():
        states += _changes(book.name, timeline(facts, book, known_at))
        for row in bitemporal_rows(facts, book):
            s = row.state
            revisions.append(StateLine(book.name, row.valid_from, row.valid_to, s.status, s.place,
                                       s.individuals, row.recorded_from, row.recorded_to))
    return HouseholdHistory(household_id, known_at, lines, tuple(states), tuple(revisions))


def _changes(rulebook: str, intervals: Sequence[Interval]) -> list[StateLine]:
    """One line per change of (status, place, individuals): intervals that differ only in
    what reconciliation judges on (flags) are merged."""
    lines: list[StateLine] = []
    for interval in intervals:
        s = interval.state
        if lines and (lines[-1].status, lines[-1].place, lines[-1].individuals) == _visible(s):
            lines[-1] = dataclasses.replace(lines[-1], valid_to=interval.valid_to)
            continue
        lines.append(StateLine(rulebook, interval.valid_from, interval.valid_to, s.status,
                               s.place, s.individuals))
    return lines


def history_rows(history: HouseholdHistory) -> list[dict[str, Any]]:
    """The history's facts as flat rows (for CSV): one per fact, details as JSON text."""
    return [
        {**{k: v for k, v in line.as_dict().items() if k != "details"},
         "household_id": history.household_id,
         "details": orjson.dumps(_plain(line.details), option=orjson.OPT_SORT_KEYS).decode()}
        for line in history.facts
    ]


# ---- count lineage --------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CountedHousehold:
    household_id: str
    status: str
    place: str
    individuals: int
    facts: tuple[FactLine, ...]
    explanation: Explanation | None = None  # its cause and what this rulebook did not apply


@dataclass(frozen=True, slots=True)
class CountLineage:
    rulebook: str
    status: str
    place: str
    level: Level
    as_of: dt.date
    known_at: dt.datetime
    households: tuple[CountedHousehold, ...]
    rulebook_version: int | None = None  # the version counted with (versioned_count)

    @property
    def figure(self) -> Figure:
        return Figure(len(self.households), sum(h.individuals for h in self.households))


def _visible(state: HouseholdState) -> tuple[str, str | None, int]:
    return (state.status, state.place, state.individuals)


def held(views: Views, book: Rulebook) -> bool:
    """Whether the views hold this rulebook version (they hold each rulebook's current one)."""
    return views.rulebooks().get(book.name) == book


def count_lineage(views: Views, book: Rulebook, cell: Cell, level: Level, as_of: dt.date,
                  known_at: dt.datetime) -> CountLineage:
    """The households behind one figure at (D, K), each with the facts that put it there; they
    add up to the figure exactly (they are the views' rows that make it, or for a version the
    views do not hold, the pure fold's, as :func:`figure_values` counts it).

    *Cost* (issue 12: one camp of 300,000 households, ~4,000 households and ~9,500 facts): the
    households come from the views by index; their facts recorded by K (no later one can
    change the fold at K) are read a page of households per statement, the next page read
    while this one is folded (:func:`ledger.store.reading.facts_of_many_households`), and
    decoded once; the facts each household's fold applies are put in order once and folded
    once, stepwise, under the rulebook (the facts behind and its own state, see
    :func:`lineage_of`), then once under each other built-in rulebook. A camp's site
    registrations are read only when the figure groups camps
    (``level`` other than ``cell``). The cyclic garbage collector waits meanwhile
    (:func:`projections.views.collector_paused`): a camp's lineage allocates some 100,000 small
    objects that live until it is returned and form no cycle, and the collector, triggered every
    700 allocations, would walk the growing young generations over and over (about a fifth of
    ``audit count``'s time at 300,000 households).
    """
    others = [b for name, b in builtin_rulebooks().items() if name != book.name]
    with collector_paused():
        if held(views, book):
            members = _members(views, book, cell, level, as_of, known_at)
            counted = list(_lineages(views.db, members, book, others, as_of, known_at))
        else:
            counted = _folded_lineages(views, book, others, cell, level, as_of, known_at)
    return CountLineage(book.name, cell[0], cell[1], level, as_of, known_at, tuple(counted))


def _members(views: Views, book: Rulebook, cell: Cell, level: Level, as_of: dt.date,
             known_at: dt.datetime) -> list[tuple[str, HouseholdState]]:
    """The views' households behind the figure: those of the cell, or of every cell grouped
    into it at the level (camps grouped by the sites valid at D as known at K)."""
    status, place = cell
    if level == "cell":
        return views.households_in(book.name, as_of, known_at, status, [place])
    sites = sites_known_at(views.references.site_facts(), known_at, as_of)
    places = sorted({p for s, p, _, _ in views.cells(book.name, as_of, known_at)
                     if s == status and where(HouseholdState(status=s, place=p),  # type: ignore[arg-type]
                                              book, level, sites) == cell})
    return views.households_in(book.name, as_of, known_at, status, places) if places else []


LINEAGE_PAGE = 1000  # households whose facts are read in one statement


def _lineages(db: Database, members: Sequence[tuple[str, HouseholdState]], book: Rulebook,
              others: Sequence[Rulebook], as_of: dt.date,
              known_at: dt.datetime) -> Iterator[CountedHousehold]:
    states = dict(members)
    for facts in facts_of_many_households(db, list(states), page=LINEAGE_PAGE, known_at=known_at):
        for household_id, household_facts in facts.items():
            yield lineage_of(household_id, states[household_id], household_facts, book, others,
                             as_of, known_at)


def _folded_lineages(views: Views, book: Rulebook, others: Sequence[Rulebook], cell: Cell,
                     level: Level, as_of: dt.date, known_at: dt.datetime) -> list[CountedHousehold]:
    """:func:`count_lineage` for a version the views do not hold: every household folded."""
    status, place = cell
    sites = views.sites_at(as_of, known_at) if level != "cell" else {}
    return [lineage_of(household_id, state, facts, book, others, as_of, known_at)
            for household_id, state, facts in folded_members(
                views.db, book, as_of, known_at, status, [place] if level == "cell" else None)
            if level == "cell" or where(state, book, level, sites) == cell]


def lineage_of(household_id: str, state: HouseholdState, facts: Sequence[FactRecord],
               book: Rulebook, others: Sequence[Rulebook], as_of: dt.date,
               known_at: dt.datetime) -> CountedHousehold:
    """One counted household (``state``: how the figure counts it) with the facts behind it and
    why (:func:`projections.lineage.explain`), from one stepwise fold of the facts it applies
    (:func:`projections.fold.fold_steps`): the facts after which its visible state changed, and
    its state under ``book``."""
    applied = applied_facts(facts, as_of, known_at)
    behind, own = fold_steps(applied, book)
    return CountedHousehold(household_id, state.status, state.place or "", state.individuals,
                            tuple(FactLine.of(f) for f in behind),
                            explain_applied(applied, own, book, others, as_of))


def versioned_count(views: Views, versions: RulebookVersions, rulebook: str, cell: Cell,
                    level: Level, as_of: dt.date, known_at: dt.datetime) -> CountLineage:
    """:func:`count_lineage` with the version of ``rulebook`` known at K."""
    used = versions.at(rulebook, known_at)
    lineage = count_lineage(views, used.book, cell, level, as_of, known_at)
    return dataclasses.replace(lineage, rulebook_version=used.version)


def lineage_rows(lineage: CountLineage) -> list[dict[str, Any]]:
    """One row per (household, fact behind it), for CSV."""
    return [
        {"household_id": h.household_id, "status": h.status, "place": h.place,
         "individuals": h.individuals, "source_id": f.source_id, "type": f.type,
         "effective_on": f.effective_on, "recorded_at": f.recorded_at,
         "recorded_by": f.recorded_by, "source_document": f.source_document}
        for h in lineage.households for f in h.facts
    ]


# ---- figure diff ------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class FactChange:
    """One fact recorded between K1 and K2 and what it changed, cell by cell."""

    fact: FactLine
    household_id: str | None
    cells: dict[Cell, Figure] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FigureDiff:
    rulebook: str
    status: str
    place: str
    level: Level
    as_of: dt.date
    known_at: dt.datetime
    vs_known_at: dt.datetime
    before: Figure
    after: Figure
    changes: tuple[tuple[FactChange, Figure], ...]
    facts_considered: int
    versions: tuple[int, int] | None = None  # the rulebook versions at K1 and K2 (versioned_diff)

    @property
    def explained(self) -> Figure:
        total = ZERO
        for _, contribution in self.changes:
            total += contribution
        return total

    @property
    def adds_up(self) -> bool:
        return self.after - self.before == self.explained


def fact_changes(views: Views, book: Rulebook, level: Level, as_of: dt.date,
                 known_at: dt.datetime, vs_known_at: dt.datetime,
                 counter: list[int] | None = None,
                 rule_changes: Mapping[str, Rulebook] | None = None) -> Iterator[FactChange]:
    """Every fact recorded in (K1, K2] that changed any cell at (D, level), with its exact
    contribution to each cell; streams in pages (memory stays flat).

    ``rule_changes``: the ``rulebook_defined`` facts (by source id) that replace ``book`` with
    a new version in between; each contributes the figure under the new version minus the old
    one at its moment, and the facts after it count with the new version."""
    db = views.db
    all_site_facts = views.references.site_facts()
    site_positions = {f.position for f in all_site_facts}
    sites = sites_known_at(all_site_facts, known_at, as_of)
    after = 0
    while True:
        with db.cursor() as cur:
            page = recorded_between(cur, db, known_at, vs_known_at, after=after, limit=PAGE)
            households = sorted({h for _, h in page if h is not None})
            facts = facts_of_households(cur, db, households) if households else {}
        if not page:
            return
        after = page[-1][0].position
        if counter is not None:
            counter[0] += len(page)
        for fact, household_id in page:
            if rule_changes and fact.source_id in rule_changes and household_id is None:
                new_book = rule_changes[fact.source_id]
                cells = _rule_change(views, book, new_book, level, as_of, fact, sites)
                book = new_book
            elif household_id is not None:
                cells = _household_change(facts[household_id], book, level, as_of, fact, sites)
            elif fact.position in site_positions:
                new_sites = sites_known_at(all_site_facts, fact.recorded_at, as_of)
                cells = _site_change(views, book, level, as_of, fact, sites, new_sites)
                sites = new_sites
            else:
                continue
            if cells:
                yield FactChange(FactLine.of(fact), household_id, cells)


def _household_change(facts: Sequence[FactRecord], book: Rulebook, level: Level, as_of: dt.date,
                      fact: FactRecord, sites: Mapping[str, SiteInfo]) -> dict[Cell, Figure]:
    before = state_at(facts, book, as_of, fact.recorded_at - JUST_BEFORE)
    after = state_at(facts, book, as_of, fact.recorded_at)
    cells: dict[Cell, Figure] = {}
    _move(cells, before, after, book, level, sites, sites)
    return cells


def _site_change(views: Views, book: Rulebook, level: Level, as_of: dt.date, fact: FactRecord,
                 before: Mapping[str, SiteInfo], after: Mapping[str, SiteInfo]) -> dict[Cell, Figure]:
    changed = sorted(s for s in set(before) | set(after) if before.get(s) != after.get(s))
    cells: dict[Cell, Figure] = {}
    if level == "cell" or not changed:
        return cells  # a cell is a site id: a site's registration does not move it
    if held(views, book):
        members = views.households_in(book.name, as_of, fact.recorded_at, IDP_IN_CAMP, changed)
    else:
        members = [(h, state) for h, state, _ in folded_members(
            views.db, book, as_of, fact.recorded_at, IDP_IN_CAMP, changed)]
    for _, state in members:
        _move(cells, state, state, book, level, before, after)
    return cells


def _rule_change(views: Views, old: Rulebook, new: Rulebook, level: Level, as_of: dt.date,
                 fact: FactRecord, sites: Mapping[str, SiteInfo]) -> dict[Cell, Figure]:
    """A new rulebook version: every cell under it at its moment minus under the old version
    just before (no household's facts change then, only how they are counted)."""
    cells: dict[Cell, Figure] = {}
    for row in figure_values(views, old, level, as_of, fact.recorded_at - JUST_BEFORE, sites):
        cells[(row.status, row.place)] = ZERO - Figure(row.households, row.individuals)
    for row in figure_values(views, new, level, as_of, fact.recorded_at, sites):
        key = (row.status, row.place)
        cells[key] = cells.get(key, ZERO) + Figure(row.households, row.individuals)
    return {c: f for c, f in cells.items() if f != ZERO}


def _move(cells: dict[Cell, Figure], old: HouseholdState, new: HouseholdState, book: Rulebook,
          level: Level, old_sites: Mapping[str, SiteInfo], new_sites: Mapping[str, SiteInfo]) -> None:
    old_cell, old_fig = _figure_of(old, book, level, old_sites, None)
    new_cell, new_fig = _figure_of(new, book, level, new_sites, None)
    if old_cell == new_cell and old_fig == new_fig:
        return
    if old_cell is not None:
        cells[old_cell] = cells.get(old_cell, ZERO) - old_fig
    if new_cell is not None:
        cells[new_cell] = cells.get(new_cell, ZERO) + new_fig
    for cell in [c for c, fig in cells.items() if fig == ZERO]:
        del cells[cell]


def figure_diff(views: Views, book: Rulebook, cell: Cell, level: Level, as_of: dt.date,
                known_at: dt.datetime, vs_known_at: dt.datetime,
                vs_book: Rulebook | None = None,
                rule_changes: Mapping[str, Rulebook] | None = None) -> FigureDiff:
    """The same figure known at K1 (under ``book``) and at K2 (under ``vs_book``, default the
    same), and every fact recorded in between that changed it, with its contribution (a new
    rulebook version among them, see :func:`fact_changes`); they add up to the change exactly."""
    all_site_facts = views.references.site_facts()
    before = figure_at(views, book, cell, level, as_of, known_at,
                       sites_known_at(all_site_facts, known_at, as_of))
    after = figure_at(views, vs_book or book, cell, level, as_of, vs_known_at,
                      sites_known_at(all_site_facts, vs_known_at, as_of))
    counter = [0]
    changes = tuple(
        (change, change.cells[cell])
        for change in fact_changes(views, book, level, as_of, known_at, vs_known_at, counter,
                                   rule_changes)
        if cell in change.cells
    )
    return FigureDiff(book.name, cell[0], cell[1], level, as_of, known_at, vs_known_at, before,
                      after, changes, counter[0])


def versioned_diff(views: Views, versions: RulebookVersions, rulebook: str, cell: Cell,
                   level: Level, as_of: dt.date, known_at: dt.datetime,
                   vs_known_at: dt.datetime) -> FigureDiff:
    """:func:`figure_diff` with the version of ``rulebook`` known at each of K1 and K2: a
    version recorded in between is one of the changes."""
    first, second = versions.at(rulebook, known_at), versions.at(rulebook, vs_known_at)
    changes: dict[str, Rulebook] = {}
    walking: RulebookVersion = first
    for version in versions.by_name[rulebook]:
        if (version.origin == "ledger" and version.source_id is not None
                and version.known_from is not None
                and known_at < version.known_from <= vs_known_at
                and version.version != walking.version):
            changes[version.source_id] = version.book
            walking = version
    result = figure_diff(views, first.book, cell, level, as_of, known_at, vs_known_at,
                         second.book, changes)
    return dataclasses.replace(result, versions=(first.version, second.version))


def diff_rows(diff: FigureDiff) -> list[dict[str, Any]]:
    """One row per fact that changed the figure, with its contribution (for JSON and CSV)."""
    return [
        {"position": c.fact.position, "source_id": c.fact.source_id, "type": c.fact.type,
         "household_id": c.household_id, "subject_id": c.fact.subject_id,
         "effective_on": c.fact.effective_on, "recorded_at": c.fact.recorded_at,
         "recorded_by": c.fact.recorded_by, "source_document": c.fact.source_document,
         "voided_source_id": c.fact.details.get("voided_source_id"),
         "households": fig.households, "individuals": fig.individuals}
        for c, fig in diff.changes
    ]


# ---- published figures ------------------------------------------------------------------------
def chain_head(db: Database) -> ChainHead | None:
    """The last link of the hash chain: the ledger's digest at this moment."""
    with db.cursor() as cur:
        return read_chain_head(cur)


@dataclass(frozen=True, slots=True)
class PublishedRecord:
    """A ``figure_published`` fact as stored."""

    figure_id: str
    position: int
    recorded_at: dt.datetime
    rulebook: str
    level: Level
    as_of: dt.date
    known_at: dt.datetime
    ledger_digest: str
    head_position: int
    rulebook_digest: str | None
    values: tuple[ViewRow, ...]
    recorded_by: str | None
    rulebook_version: int = 1  # figures published before rulebooks had versions: version 1

    @classmethod
    def of(cls, fact: FactRecord) -> PublishedRecord:
        d = fact.data
        as_of = d["as_of"] if isinstance(d["as_of"], dt.date) else dt.date.fromisoformat(d["as_of"])
        return cls(
            d["figure_id"], fact.position, fact.recorded_at, d["rulebook"], d["level"], as_of,
            dt.datetime.fromisoformat(d["known_at"]).astimezone(dt.UTC), d["ledger_digest"],
            int(d["head_position"]), d.get("rulebook_digest"),
            tuple(ViewRow(v["status"], v["place"], int(v["households"]), int(v["individuals"]))
                  for v in d["values"]),
            fact.recorded_by, int(d.get("rulebook_version") or 1),
        )


@dataclass(frozen=True, slots=True)
class Retraction:
    """A ``figure_retracted`` fact: the figure stays published and audited, no longer stood by."""

    figure_id: str
    source_id: str
    reason: str
    recorded_at: dt.datetime
    recorded_by: str | None

    def as_dict(self) -> dict[str, Any]:
        return {"source_id": self.source_id, "reason": self.reason,
                "recorded_at": self.recorded_at, "recorded_by": self.recorded_by}


def retractions(cur: Cursor, db: Database) -> dict[str, Retraction]:
    """Every retracted figure's retraction, by figure id (a figure is retracted at most once)."""
    found = {}
    for fact in facts_about_no_household(cur, db, ("figure_retracted",)):
        found[fact.data["figure_id"]] = Retraction(fact.data["figure_id"], fact.source_id,
                                                   fact.data["reason"], fact.recorded_at,
                                                   fact.recorded_by)
    return found


def published_figures(cur: Cursor, db: Database, figure_id: str | None = None) -> list[PublishedRecord]:
    return [PublishedRecord.of(fact)
            for fact in facts_of_type(cur, db, "figure_published", source_id=figure_id)]


@dataclass(frozen=True, slots=True)
class CellCheck:
    status: str
    place: str
    published: Figure
    known_then: Figure
    known_now: Figure
    changes: tuple[tuple[FactChange, Figure], ...] = ()


@dataclass(frozen=True, slots=True)
class FigureAudit:
    figure: PublishedRecord
    now: dt.datetime
    stored_head_digest: str | None
    rulebook_changed: bool
    cells: tuple[CellCheck, ...]
    retraction: Retraction | None = None

    @property
    def still_matches(self) -> bool:
        """Re-derived as known then, the figure is what was published."""
        return all(c.published == c.known_then for c in self.cells)

    @property
    def digest_matches(self) -> bool:
        return self.stored_head_digest == self.figure.ledger_digest


def load_figure(db: Database, figure_id: str) -> PublishedRecord:
    with db.cursor() as cur:
        found = published_figures(cur, db, figure_id)
    if not found:
        raise NotFoundError(f"figure {figure_id!r}: no published figure has that id "
                            "(`ledger publish --json` prints it)")
    return found[0]


def audit_figure(views: Views, rulebooks: Mapping[str, Rulebook], figure_id: str,
                 now: dt.datetime) -> FigureAudit:
    """Re-derive a published figure as known then (its K) and as known now, cell by cell, and
    explain every change since with the facts behind it (as ``audit diff`` does)."""
    db = views.db
    fig = load_figure(db, figure_id)
    book = book_of(fig, views.references.versions(), rulebooks)
    if book is None:
        raise NotFoundError(f"figure {figure_id!r} was counted with rulebook {fig.rulebook!r} "
                            f"version {fig.rulebook_version}, which this store does not have")
    all_site_facts = views.references.site_facts()
    with db.cursor() as cur:
        stored_head_digest = chain_digest_at(cur, fig.head_position)
        retraction = retractions(cur, db).get(figure_id)
    then = figure_values(views, book, fig.level, fig.as_of, fig.known_at,
                         sites_known_at(all_site_facts, fig.known_at, fig.as_of))
    current = figure_values(views, book, fig.level, fig.as_of, now,
                            sites_known_at(all_site_facts, now, fig.as_of))
    published = {(v.status, v.place): Figure(v.households, v.individuals) for v in fig.values}
    then_by = {(v.status, v.place): Figure(v.households, v.individuals) for v in then}
    now_by = {(v.status, v.place): Figure(v.households, v.individuals) for v in current}
    changed = {c for c in set(then_by) | set(now_by) if then_by.get(c, ZERO) != now_by.get(c, ZERO)}
    per_cell: dict[Cell, list[tuple[FactChange, Figure]]] = {c: [] for c in changed}
    if changed:
        for change in fact_changes(views, book, fig.level, fig.as_of, fig.known_at, now):
            for cell, contribution in change.cells.items():
                if cell in per_cell:
                    per_cell[cell].append((change, contribution))
    cells = tuple(
        CellCheck(c[0], c[1], published.get(c, ZERO), then_by.get(c, ZERO), now_by.get(c, ZERO),
                  tuple(per_cell.get(c, ())))
        for c in sorted(set(published) | set(then_by) | set(now_by))
    )
    return FigureAudit(fig, now, stored_head_digest,
                       fig.rulebook_digest not in (None, rulebook_digest(book)), cells, retraction)


def book_of(fig: PublishedRecord, versions: RulebookVersions,
            rulebooks: Mapping[str, Rulebook]) -> Rulebook | None:
    """The rulebook version a figure was published under (version 1 for figures published
    before rulebooks had versions)."""
    found = versions.find(fig.rulebook, fig.rulebook_version)
    return found.book if found is not None else rulebooks.get(fig.rulebook)


def figure_audit_rows(audit: FigureAudit) -> list[dict[str, Any]]:
    """One row per cell (published, re-derived then and now), for JSON and CSV."""
    return [
        {"figure_id": audit.figure.figure_id, "status": c.status, "place": c.place,
         "published_households": c.published.households,
         "published_individuals": c.published.individuals,
         "then_households": c.known_then.households, "then_individuals": c.known_then.individuals,
         "now_households": c.known_now.households, "now_individuals": c.known_now.individuals,
         "matches": c.published == c.known_then}
        for c in audit.cells
    ]


# ---- the audit commands' answers ----------------------------------------------------------
def audit_count(views: Views, rulebook: str, cell: Cell, level: Level, as_of: dt.date,
                 known_at: dt.datetime) -> CountLineage:
    """``audit count``: the households behind a figure (its place checked first), counted with
    the rulebook version known at K."""
    check_places([cell[1]], views.sites())
    return versioned_count(views, views.references.versions(), rulebook, cell, level, as_of,
                           known_at)


def audit_diff(views: Views, rulebook: str, cell: Cell, level: Level, as_of: dt.date,
                known_at: dt.datetime, vs_known_at: dt.datetime) -> FigureDiff:
    """``audit diff``: a figure known at two times (its place checked first), and the facts
    recorded in between that changed it."""
    check_places([cell[1]], views.sites())
    return versioned_diff(views, views.references.versions(), rulebook, cell, level, as_of,
                          known_at, vs_known_at)
