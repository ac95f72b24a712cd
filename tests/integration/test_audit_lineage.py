"""``audit count`` on random histories in real stores: the households behind every figure and,
for each, the facts behind it, its cause, what its rulebook did not apply and how the other
rulebooks count it, exactly as the straightforward derivation gives them.

The straightforward derivation (:func:`straightforward`) is the definition written out: every
household of the ledger folded with :func:`projections.fold.state_at` at (D, K), those counted
in the figure kept, and for each one the facts after which the stepwise fold's (status, place,
individuals) changed, the last live placing fact, the live facts only another rulebook acts on,
and each other rulebook's own fold. ``count_lineage`` instead takes the households from the
views, reads their facts a page of households at a time and folds each household once; the
property says the two agree on every cell and grouping, at every (D, K) tried, for a rulebook
version the views hold and for one they do not (which ``count_lineage`` answers by the pure
fold).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.catalogue import parse_fact
from ledger.store.reading import FactRecord, all_facts, facts_of_households
from ledger.workspace import Workspace
from projections import audit
from projections.audit import CountLineage, count_lineage, sites_known_at, where
from projections.bridge import LEVELS, Level, SiteInfo, classify
from projections.fold import HouseholdState, applies, live_facts, places, state_at
from projections.rulebooks import Rulebook, builtin_rulebooks
from projections.sites import site_facts
from tests.integration.test_views import fresh_store
from tests.strategies import LATEST, fact_histories

MICROSECOND = dt.timedelta(microseconds=1)
Cell = tuple[str, str]


def straightforward(households: dict[str, list[FactRecord]], book: Rulebook, cell: Cell,
                    level: Level, as_of: dt.date, known_at: dt.datetime,
                    sites: dict[str, SiteInfo]) -> list[tuple[Any, ...]]:
    """The lineage of the figure by definition, one tuple per counted household."""
    others = [b for name, b in builtin_rulebooks().items() if name != book.name]
    rows = []
    for household_id in sorted(households):
        facts = households[household_id]
        state = state_at(facts, book, as_of, known_at)
        if where(state, book, level, sites) != cell:
            continue
        live = [f for f in live_facts(facts, known_at) if f.effective_on <= as_of]
        behind, previous = [], (HouseholdState().status, None, 0)
        for count, fact in enumerate(live, start=1):  # the state after each live fact in turn
            after = state_at(live[:count], book, as_of)
            if (after.status, after.place, after.individuals) != previous:
                behind.append(fact.source_id)
                previous = (after.status, after.place, after.individuals)
        placing = [f.source_id for f in live if places(f, book)]
        skipped = [(f.source_id, tuple(o.name for o in others if applies(f, o)))
                   for f in live if not applies(f, book) and any(applies(f, o) for o in others)]
        theirs = [(o.name, state_at(facts, o, as_of, known_at)) for o in others]
        rows.append((household_id, state.status, state.place, state.individuals, behind,
                     placing[-1] if placing else None, skipped,
                     [(name, s, classify(state, s, book, o, "cell", {}))
                      for (name, s), o in zip(theirs, others, strict=True)]))
    return rows


def as_rows(lineage: CountLineage) -> list[tuple[Any, ...]]:
    rows = []
    for h in lineage.households:
        explained = h.explanation
        assert explained is not None
        rows.append((h.household_id, h.status, h.place, h.individuals,
                     [f.source_id for f in h.facts],
                     explained.cause.fact.source_id if explained.cause else None,
                     [(i.fact.source_id, i.applied_by) for i in explained.not_applied],
                     [(o.rulebook, o.state, o.reason) for o in explained.others]))
    return rows


def stored_households(ws: Workspace) -> dict[str, list[FactRecord]]:
    with ws.db.cursor() as cur:
        household_ids = sorted({h for (h,) in cur.execute(
            "SELECT DISTINCT household_id FROM ledger_facts WHERE household_id IS NOT NULL")})
        return facts_of_households(cur, ws.db, household_ids)


def figures(households: dict[str, list[FactRecord]], book: Rulebook, level: Level,
            as_of: dt.date, known_at: dt.datetime, sites: dict[str, SiteInfo]) -> set[Cell]:
    """Every cell (at the level) the pure fold counts someone in."""
    found = {where(state_at(facts, book, as_of, known_at), book, level, sites)
             for facts in households.values()}
    return {cell for cell in found if cell is not None}


def moments(ws: Workspace, data: st.DataObject) -> list[tuple[dt.date, dt.datetime]]:
    with ws.db.cursor() as cur:
        stored = list(all_facts(cur, ws.db))
    times = sorted({f.recorded_at for f in stored})
    known = [times[0] - MICROSECOND, data.draw(st.sampled_from(times), label="known at"),
             dt.datetime.now(dt.UTC)]
    days = sorted({f.effective_on for f in stored})
    return [(d, k) for d in (data.draw(st.sampled_from(days), label="as of"), LATEST)
            for k in known]


def check_lineages(kind: str, facts: list[dict[str, Any]], data: st.DataObject,
                   levels: Sequence[Level]) -> None:
    with fresh_store(kind) as ws:
        # Given a random history recorded and projected,
        outcomes = list(ws.ledger.record_many(parse_fact(f) for f in facts))
        assert [o.status for o in outcomes] == ["recorded"] * len(facts)
        ws.views.catch_up()
        households = stored_households(ws)
        official = ws.views.rulebook("official")
        # (a version the views do not hold: counted by the pure fold)
        unheld = dataclasses.replace(official, caseload_start=dt.date(2010, 1, 1))
        for as_of, known_at in moments(ws, data):
            with ws.db.cursor() as cur:
                sites = sites_known_at(site_facts(cur, ws.db), known_at, as_of)
            for book in (official, ws.views.rulebook("operational"), unheld):
                for level in levels:
                    for cell in sorted(figures(households, book, level, as_of, known_at, sites)):
                        # when audit count lists the households behind each figure,
                        lineage = count_lineage(ws.views, book, cell, level, as_of, known_at)
                        # then they are the definition's, with the same facts and explanations.
                        expected = straightforward(households, book, cell, level, as_of,
                                                   known_at, sites)
                        assert as_rows(lineage) == expected, (book.name, cell, level, as_of,
                                                              known_at)


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two households a page, so a handful of households spans several statements."""
    monkeypatch.setattr(audit, "LINEAGE_PAGE", 2)


PROPERTY = settings(max_examples=12, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


@PROPERTY
@given(facts=fact_histories(), data=st.data())
def test_audit_count_lists_the_households_and_facts_the_definition_gives_on_sqlite(
    small_pages: None, facts: list[dict[str, Any]], data: st.DataObject
) -> None:
    check_lineages("sqlite", facts, data, LEVELS)


@pytest.mark.postgres
@settings(PROPERTY, max_examples=4)
@given(facts=fact_histories(max_households=5), data=st.data())
def test_audit_count_lists_the_households_and_facts_the_definition_gives_on_postgres(
    small_pages: None, facts: list[dict[str, Any]], data: st.DataObject
) -> None:
    check_lineages("postgres", facts, data, ("cell", "adm1"))
