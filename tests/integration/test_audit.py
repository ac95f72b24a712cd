"""Audit trails for disputed counts (SPEC §5) on the worked example of SPEC §6, on SQLite and
PostgreSQL: household history, count lineage and figure diff with a late fact and a void."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from ledger.catalogue import parse_fact
from ledger.demo import worked_example
from ledger.store.settings import StoreSettings
from ledger.workspace import Workspace
from projections.audit import (
    count_lineage,
    diff_rows,
    figure_diff,
    household_history,
    lineage_rows,
)
from projections.bridge import Figure
from tests.factdicts import composition, departure, registration, site, voided

D = dt.date(2026, 5, 1)
CAMP = ("idp_in_camp", "CHAMISHKU")


@dataclass
class Story:
    ws: Workspace
    k1: dt.datetime  # everything in SPEC §6 known
    k2: dt.datetime  # plus a late departure, a void and a correction


def record(ws: Workspace, *facts: dict[str, Any]) -> None:
    outcomes = list(ws.record_many([parse_fact(f) for f in facts]))
    assert [o.status for o in outcomes] == ["recorded"] * len(facts), [o.error for o in outcomes]


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@pytest.fixture
def story(store_settings: StoreSettings) -> Iterator[Story]:
    ws = Workspace(store_settings)
    ws.init()
    record(ws, *worked_example())
    k1 = now()
    record(
        ws,
        # learnt late: H5 had left with a letter on 10 March
        departure("H5", source_id="late-H5-departed", effective_on="2026-03-10",
                  departure_letter_ref="L-3", recorded_by="MoMD", source_document="letter L-3"),
        # H6's departure was entered in error: H6 never left
        voided("demo-H6-departed", source_id="void-H6-departed", recorded_by="IOM DTM"),
        # an official count of H2 after two births
        composition("H2", source_id="H2-births", registry="official", members=7),
        # changes nothing officially at CHAMISHKU
        composition("H4", source_id="H4-births", registry="operational", members=5),
    )
    k2 = now()
    yield Story(ws, k1, k2)
    ws.close()


def official(ws: Workspace) -> Any:
    return ws.views.rulebook("official")


def test_diff_lists_exactly_the_late_fact_the_void_and_the_correction(story: Story) -> None:
    result = figure_diff(story.ws.views, official(story.ws), CAMP, "cell", D, story.k1, story.k2)

    rows = {r["source_id"]: (r["type"], r["households"], r["individuals"]) for r in diff_rows(result)}
    assert rows == {
        "late-H5-departed": ("household_departed", -1, -6),
        "void-H6-departed": ("fact_voided", +1, +5),
        "H2-births": ("composition_changed", 0, +2),
    }
    assert result.before == Figure(3, 20)
    assert result.after == Figure(3, 21)
    assert result.explained == result.after - result.before
    assert result.adds_up
    assert result.facts_considered == 4


def test_diff_rows_come_in_recorded_order_with_their_recorded_time(story: Story) -> None:
    result = figure_diff(story.ws.views, official(story.ws), CAMP, "cell", D, story.k1, story.k2)

    rows = diff_rows(result)
    assert [r["source_id"] for r in rows] == ["late-H5-departed", "void-H6-departed", "H2-births"]
    assert all(story.k1 < r["recorded_at"] <= story.k2 for r in rows)
    assert rows[1]["voided_source_id"] == "demo-H6-departed"


def test_diff_over_a_window_with_no_relevant_fact_is_empty(story: Story) -> None:
    result = figure_diff(story.ws.views, official(story.ws), CAMP, "cell", D, story.k2, now())

    assert result.changes == ()
    assert result.before == result.after == Figure(3, 21)


def test_diff_at_governorate_level_adds_up(story: Story) -> None:
    cell = ("idp_in_camp", "IQG09")
    result = figure_diff(story.ws.views, official(story.ws), cell, "adm1", D, story.k1, story.k2)

    # Duhok's authority runs both camps; H7 is a returnee officially, so only CHAMISHKU counts
    assert result.before == Figure(3, 20)
    assert result.after == Figure(3, 21)
    assert result.adds_up


def test_count_lists_exactly_the_households_behind_the_figure(story: Story) -> None:
    lineage = count_lineage(story.ws.views, official(story.ws), CAMP, "cell", D, story.k2)

    assert {h.household_id: h.individuals for h in lineage.households} == {"H2": 7, "H3": 9, "H6": 5}
    assert lineage.figure == Figure(3, 21)
    behind = {h.household_id: [f.source_id for f in h.facts] for h in lineage.households}
    assert behind == {
        "H2": ["demo-H2-reg-off", "H2-births"],
        "H3": ["demo-H3-reg-off"],  # the departure without a letter does not move it officially
        "H6": ["demo-H6-reg-off"],  # its departure is voided
    }


def test_count_as_known_before_shows_the_spec_example(story: Story) -> None:
    official_then = count_lineage(story.ws.views, official(story.ws), CAMP, "cell", D, story.k1)
    operational_then = count_lineage(story.ws.views, story.ws.views.rulebook("operational"), CAMP,
                                     "cell", D, story.k1)

    assert {h.household_id for h in official_then.households} == {"H2", "H3", "H5"}
    assert official_then.figure == Figure(3, 20)
    assert {h.household_id: h.individuals for h in operational_then.households} == {
        "H1": 6, "H4": 4, "H5": 8}
    h1 = next(h for h in operational_then.households if h.household_id == "H1")
    assert [f.type for f in h1.facts] == [
        "household_registered", "household_departed", "household_reentered"]


def test_count_at_governorate_level_gathers_its_camps(story: Story) -> None:
    lineage = count_lineage(story.ws.views, story.ws.views.rulebook("operational"),
                            ("idp_in_camp", "IQG09"), "adm1", D, story.k1)

    # operational reports camps under their location: ESYAN (H7) is in Ninewa, not Duhok
    assert {h.household_id for h in lineage.households} == {"H1", "H4", "H5"}
    assert len(lineage_rows(lineage)) == sum(len(h.facts) for h in lineage.households)


def test_household_history_shows_every_fact_its_void_and_its_states(story: Story) -> None:
    history = household_history(story.ws.db, story.ws.views.rulebooks(), "H6")

    by_source = {f.source_id: f for f in history.facts}
    assert by_source["demo-H6-departed"].voided_by == "void-H6-departed"
    assert by_source["demo-H6-departed"].recorded_by == "IOM DTM"
    assert by_source["demo-H6-departed"].source_document == "FVM manifest R2"
    assert "void-H6-departed" in by_source
    effective = [f.effective_on for f in history.facts]
    assert effective == sorted(effective)
    official_states = [(s.valid_from, s.status, s.place) for s in history.states
                       if s.rulebook == "official"]
    assert official_states == [(dt.date(2015, 1, 10), "idp_in_camp", "CHAMISHKU")]


def test_household_history_as_known_before_the_void(story: Story) -> None:
    history = household_history(story.ws.db, story.ws.views.rulebooks(), "H6", story.k1)

    assert all(f.voided_by is None for f in history.facts)
    official_states = [(s.valid_from, s.status, s.place, s.individuals) for s in history.states
                       if s.rulebook == "official"]
    assert official_states == [
        (dt.date(2015, 1, 10), "idp_in_camp", "CHAMISHKU", 5),
        (dt.date(2026, 3, 1), "returnee", "IQG15Q02", 5),
    ]
    revisions = [r for r in household_history(story.ws.db, story.ws.views.rulebooks(), "H6").revisions
                 if r.rulebook == "official" and r.status == "returnee"]
    assert len(revisions) == 1
    assert revisions[0].recorded_to is not None  # it stopped being true when the void was learnt


def test_a_site_void_moving_a_camp_between_governorates_is_attributed_to_it(
        store_settings: StoreSettings) -> None:
    with Workspace(store_settings) as ws:
        ws.init()
        record(ws, site("ESYAN", source_id="esyan-1"), registration("H8", members=4, site_id="ESYAN"))
        k1 = now()
        record(ws, voided("esyan-1", source_id="void-esyan-1"),
               site("ESYAN", source_id="esyan-2", authority_adm1="IQG15"))
        result = figure_diff(ws.views, official(ws), ("idp_in_camp", "IQG09"), "adm1", D, k1, now())
        into_ninewa = figure_diff(ws.views, official(ws), ("idp_in_camp", "IQG15"), "adm1", D, k1,
                                  now())

    assert [(r["source_id"], r["households"], r["individuals"]) for r in diff_rows(result)] == [
        ("void-esyan-1", -1, -4)]
    assert result.adds_up
    assert [(r["source_id"], r["households"]) for r in diff_rows(into_ninewa)] == [("esyan-2", 1)]
    assert into_ninewa.adds_up
