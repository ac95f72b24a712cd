"""ISSUE 3, the materialised views on real stores: known-at, late facts, voids, and properties.

The properties record random valid fact histories into a real store (a SQLite file; PostgreSQL
on a few examples) and check that the views caught up after every small batch equal a full
rebuild, row for row, and that both give exactly the pure fold's figures (``tally``,
``reconcile_pure`` on the facts read back from the store), and that the bridge adds up on every
row of every grouping.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tempfile
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.catalogue import parse_fact
from ledger.store.db import Database
from ledger.store.reading import FactRecord, all_facts
from ledger.store.settings import StoreSettings
from ledger.workspace import Workspace
from projections.bridge import (
    LEVELS,
    Bridge,
    SiteInfo,
    check_identity,
    reconcile_pure,
    tally,
)
from projections.queries import reconcile, show
from projections.views import Views
from tests.conftest import PG_URL, drop_pg_schema, fresh_pg_schema
from tests.factdicts import departure, registration, site, voided
from tests.integration import test_projector_crash as crash
from tests.strategies import LATEST, fact_histories

AS_OF = dt.date(2026, 5, 1)
NOW = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
BOOKS = ("official", "operational")


# ---- helpers ---------------------------------------------------------------------------------------
@pytest.fixture
def workspace(store_settings: StoreSettings) -> Iterator[Workspace]:
    ws = Workspace(store_settings)
    ws.init()
    yield ws
    ws.close()


def record(ws: Workspace, *facts: dict[str, Any]) -> None:
    outcomes = list(ws.record_many(parse_fact(f) for f in facts))
    assert [o.status for o in outcomes] == ["recorded"] * len(facts), [o.error for o in outcomes]


def stored_facts(ws: Workspace) -> list[FactRecord]:
    with ws.db.cursor() as cur:
        return list(all_facts(cur, ws.db))


def recorded_at(ws: Workspace, source_id: str) -> dt.datetime:
    [found] = [f.recorded_at for f in stored_facts(ws) if f.source_id == source_id]
    return found


def figure(ws: Workspace, rulebook: str, status: str, place: str, *, as_of: dt.date = AS_OF,
           known_at: dt.datetime | None = None) -> tuple[int, int]:
    rows = show(ws.views, rulebook, as_of=as_of, known_at=known_at).rows
    found = [(r.households, r.individuals) for r in rows if (r.status, r.place) == (status, place)]
    return found[0] if found else (0, 0)


MICROSECOND = dt.timedelta(microseconds=1)


# ---- known-at: late facts and voids -----------------------------------------------------------------
def test_a_departure_recorded_late_changes_the_figure_only_from_when_it_was_known(
    workspace: Workspace,
) -> None:
    record(workspace, site("CHAMISHKU"), registration("H1", registry="operational", members=6))
    record(workspace, departure("H1", source_id="late-departure", effective_on="2026-02-15"))
    learnt = recorded_at(workspace, "late-departure")

    before = figure(workspace, "operational", "idp_in_camp", "CHAMISHKU", known_at=learnt - MICROSECOND)
    at = figure(workspace, "operational", "idp_in_camp", "CHAMISHKU", known_at=learnt)
    now = figure(workspace, "operational", "returnee", "IQG15Q07")

    assert before == (1, 6), "as published before the ledger learnt of the departure"
    assert at == (0, 0)
    assert now == (1, 6)
    assert figure(workspace, "operational", "returnee", "IQG15Q07",
                  known_at=learnt - MICROSECOND) == (0, 0)
    assert figure(workspace, "operational", "idp_in_camp", "CHAMISHKU",
                  as_of=dt.date(2026, 2, 14)) == (1, 6), "before the departure happened"


def test_a_voided_registration_stops_counting_from_when_the_void_was_recorded(
    workspace: Workspace,
) -> None:
    record(workspace, site("CHAMISHKU"),
           registration("H1", registry="official", members=6, source_id="wrong-reg"))
    record(workspace, voided("wrong-reg", source_id="the-void", effective_on="2026-05-01"))
    void_known = recorded_at(workspace, "the-void")

    for as_of in (dt.date(2016, 1, 1), AS_OF):
        assert figure(workspace, "official", "idp_in_camp", "CHAMISHKU", as_of=as_of,
                      known_at=void_known - MICROSECOND) == (1, 6)
        assert figure(workspace, "official", "idp_in_camp", "CHAMISHKU", as_of=as_of,
                      known_at=void_known) == (0, 0), "a void removes the fact for every as-of date"
        assert figure(workspace, "official", "idp_in_camp", "CHAMISHKU", as_of=as_of) == (0, 0)


def test_a_correction_is_a_void_then_the_right_fact(workspace: Workspace) -> None:
    record(workspace, site("CHAMISHKU"),
           registration("H1", registry="official", members=6, source_id="typo-reg"))
    record(workspace, voided("typo-reg", source_id="void-typo"))
    record(workspace, registration("H1", registry="official", members=5, source_id="right-reg"))
    voided_at, corrected_at = recorded_at(workspace, "void-typo"), recorded_at(workspace, "right-reg")

    published = figure(workspace, "official", "idp_in_camp", "CHAMISHKU",
                       known_at=voided_at - MICROSECOND)
    between = figure(workspace, "official", "idp_in_camp", "CHAMISHKU", known_at=voided_at)
    corrected = figure(workspace, "official", "idp_in_camp", "CHAMISHKU", known_at=corrected_at)

    assert (published, between, corrected) == ((1, 6), (0, 0), (1, 5))


def test_known_at_reproduces_the_bridge_as_it_was(workspace: Workspace) -> None:
    record(workspace, site("CHAMISHKU"), registration("H1", registry="official"),
           registration("H1", registry="operational"))
    record(workspace, departure("H1", source_id="dep-no-letter"))
    learnt = recorded_at(workspace, "dep-no-letter")

    then = reconcile(workspace.views, as_of=AS_OF, known_at=learnt - MICROSECOND)
    now = reconcile(workspace.views, as_of=AS_OF)

    assert [(r.status, r.place, r.delta.households, dict(r.reasons)) for r in then.rows] == [
        ("idp_in_camp", "CHAMISHKU", 0, {})]
    assert {(r.status, r.place): {k: (v.households, v.individuals) for k, v in r.reasons.items()}
            for r in now.rows} == {
        ("idp_in_camp", "CHAMISHKU"): {"departure_without_letter": (1, 6)},
        ("returnee", "IQG15Q07"): {"departure_without_letter": (-1, -6)},
    }


# ---- readers beside a projector ---------------------------------------------------------------------
def test_a_reader_meeting_a_state_numbered_since_it_read_the_states_counts_it(
    workspace: Workspace,
) -> None:
    """The race seen in CI (test_follow): a reader has read the states it met, a projector then
    numbers a new one and commits rows in it, and the reader's next query meets rows in it."""
    record(workspace, site("CHAMISHKU"), registration("H1", registry="operational", members=6))
    with Database(workspace.settings) as db:
        reader = Views(db)
        assert reader.cells("operational", AS_OF, NOW) == [("idp_in_camp", "CHAMISHKU", 1, 6)]
        assert reader.state_pairs("official", "operational", AS_OF, NOW)
        known = set(reader._named)

        record(workspace, registration("H2", registry="operational", members=9))  # a new state

        assert reader.cells("operational", AS_OF, NOW) == [("idp_in_camp", "CHAMISHKU", 2, 15)]
        assert set(reader._named) > known  # it was read, not assumed
        assert reader.cells("operational", AS_OF, NOW, places=["CHAMISHKU"]) == [
            ("idp_in_camp", "CHAMISHKU", 2, 15)]
        assert [h for h, _ in reader.households_in("operational", AS_OF, NOW, "idp_in_camp",
                                                   ["CHAMISHKU"])] == ["H1", "H2"]
        pairs = reader.state_pairs("official", "operational", AS_OF, NOW)
        assert sum(n for _, right, n in pairs if right.counted) == 2


def test_a_reader_asking_about_one_camp_reads_only_the_states_placed_there(
    workspace: Workspace,
) -> None:
    record(workspace, site("CHAMISHKU"), site("ESYAN"),
           registration("H1", registry="operational", members=6),
           registration("H2", registry="operational", members=9),
           registration("H3", registry="operational", members=4, site_id="ESYAN"))
    with Database(workspace.settings) as db:
        reader = Views(db)

        assert reader.cells("operational", AS_OF, NOW, places=["CHAMISHKU"]) == [
            ("idp_in_camp", "CHAMISHKU", 2, 15)]
        assert [(h, s.individuals) for h, s in reader.households_in(
            "operational", AS_OF, NOW, "idp_in_camp", ["CHAMISHKU"])] == [("H1", 6), ("H2", 9)]
        assert reader.households_in("operational", AS_OF, NOW, "returnee", ["CHAMISHKU"]) == []
        assert reader.cells("operational", AS_OF, NOW, places=["NOWHERE"]) == []

        # Neither loaded the country's states: only the two placed at Chamishku were read.
        assert reader._numbers.count == 0
        assert {(s.place, s.individuals) for s in reader._named.values()} == {
            ("CHAMISHKU", 6), ("CHAMISHKU", 9)}
        country = reader.cells("operational", AS_OF, NOW)
        assert sorted(country) == [("idp_in_camp", "CHAMISHKU", 2, 15),
                                   ("idp_in_camp", "ESYAN", 1, 4)]


def test_states_read_by_number_are_read_again_once_the_views_layout_is_replaced(
    workspace: Workspace,
) -> None:
    """``ledger init`` of a new views layout replaces the numbered states (by another process,
    for a long-running reader): the states it kept by their old numbers must not be used."""
    record(workspace, site("CHAMISHKU"), registration("H1", registry="operational", members=6))
    with Database(workspace.settings) as db:
        reader = Views(db)
        assert reader.cells("operational", AS_OF, NOW, places=["CHAMISHKU"]) == [
            ("idp_in_camp", "CHAMISHKU", 1, 6)]
        (sig,) = reader._named
        reader._named[sig] = dataclasses.replace(reader._named[sig], individuals=99)  # stale
        assert reader.cells("operational", AS_OF, NOW) == [("idp_in_camp", "CHAMISHKU", 1, 99)]

        with db.transaction() as cur:  # what a new layout's `ledger init` writes
            cur.execute("UPDATE view_meta SET value = %s WHERE key = 'version'", ("next",))

        assert reader.cells("operational", AS_OF, NOW, places=["CHAMISHKU"]) == [
            ("idp_in_camp", "CHAMISHKU", 1, 6)]


# ---- properties on real stores ---------------------------------------------------------------------
def normal_bridge(bridge: Bridge) -> dict[tuple[str, str], Any]:
    check_identity(bridge)
    rows = {}
    for row in bridge.rows:
        assert "unexplained" not in row.reasons, (bridge.level, row)
        rows[(row.status, row.place)] = (row.left, row.right, tuple(row.reasons.items()))
    return rows


Moment = tuple[dt.date, dt.datetime]


def from_views(ws: Workspace, moments: Sequence[Moment]) -> dict[Any, Any]:
    found: dict[Any, Any] = {}
    for as_of, known_at in moments:
        for level in LEVELS:
            for book in BOOKS:
                result = show(ws.views, book, as_of=as_of, known_at=known_at, level=level)
                found[(as_of, known_at, level, book)] = {
                    (r.status, r.place): (r.households, r.individuals) for r in result.rows}
            found[(as_of, known_at, level, "bridge")] = normal_bridge(
                reconcile(ws.views, *BOOKS, as_of=as_of, known_at=known_at, level=level))
    return found


def from_pure_fold(ws: Workspace, moments: Sequence[Moment]) -> dict[Any, Any]:
    with ws.db.cursor() as cur:
        household_of = dict(cur.execute("SELECT notification_id, household_id FROM ledger_facts")
                            .fetchall())
    households: dict[str, list[FactRecord]] = defaultdict(list)
    sites: dict[str, SiteInfo] = {}
    for fact in stored_facts(ws):
        if household_of[fact.position] is not None:
            households[household_of[fact.position]].append(fact)
        elif fact.type == "site_registered":
            d = fact.data
            sites[d["site_id"]] = SiteInfo(d["site_id"], d["name"], d["kind"], d["location_pcode"],
                                           d.get("authority_adm1"))
    books = [ws.views.rulebook(name) for name in BOOKS]
    found: dict[Any, Any] = {}
    for as_of, known_at in moments:
        for level in LEVELS:
            for book in books:
                found[(as_of, known_at, level, book.name)] = {
                    cell: (f.households, f.individuals)
                    for cell, f in tally(households, book, as_of, known_at, level, sites).items()}
            found[(as_of, known_at, level, "bridge")] = normal_bridge(
                reconcile_pure(households, *books, as_of, known_at, level, sites))
    return found


@contextmanager
def fresh_store(kind: str) -> Iterator[Workspace]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as where:
            ws = Workspace(StoreSettings.from_url(f"sqlite:///{Path(where) / 'ledger.db'}"))
            try:
                ws.init()
                yield ws
            finally:
                ws.close()
        return
    schema = fresh_pg_schema()
    ws = Workspace(StoreSettings.from_url(f"{PG_URL}?schema={schema}"))
    try:
        ws.init()
        yield ws
    finally:
        ws.close()
        drop_pg_schema(schema)


def check_history(kind: str, facts: list[dict[str, Any]], data: st.DataObject) -> None:
    with fresh_store(kind) as ws:
        # Given the facts recorded a few at a time, the views catching up after each batch,
        start = 0
        while start < len(facts):
            size = data.draw(st.integers(1, 8), label="facts per write")
            chunk = facts[start:start + size]
            outcomes = list(ws.ledger.record_many(parse_fact(f) for f in chunk))
            assert [o.status for o in outcomes] == ["recorded"] * len(chunk), [
                (o.source_id, str(o.error)) for o in outcomes if o.status != "recorded"]
            ws.views.catch_up(batch=data.draw(st.integers(1, 5), label="facts per projector batch"))
            start += size
        stored = stored_facts(ws)
        times = sorted({f.recorded_at for f in stored})
        known = [times[0] - MICROSECOND,
                 data.draw(st.sampled_from(times), label="known at"),
                 dt.datetime.now(dt.UTC)]
        days = sorted({f.effective_on for f in stored})
        as_ofs = [data.draw(st.sampled_from(days), label="as of"), LATEST]
        moments = [(d, k) for d in as_ofs for k in known]
        incremental_rows = crash.view_content(ws)
        incremental = from_views(ws, moments)

        # when the views are rebuilt from nothing,
        ws.views.rebuild()

        # then the rows are the same, and every figure is the pure fold's.
        assert crash.view_content(ws) == incremental_rows
        assert incremental_rows["position"] == stored[-1].position
        assert from_views(ws, moments) == incremental
        assert from_pure_fold(ws, moments) == incremental


PROPERTY = settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                           HealthCheck.data_too_large])


@PROPERTY
@given(facts=fact_histories(), data=st.data())
def test_incremental_views_equal_a_rebuild_and_the_pure_fold_on_sqlite(
    facts: list[dict[str, Any]], data: st.DataObject
) -> None:
    check_history("sqlite", facts, data)


@pytest.mark.postgres
@settings(PROPERTY, max_examples=4)
@given(facts=fact_histories(max_households=4), data=st.data())
def test_incremental_views_equal_a_rebuild_and_the_pure_fold_on_postgres(
    facts: list[dict[str, Any]], data: st.DataObject
) -> None:
    check_history("postgres", facts, data)
