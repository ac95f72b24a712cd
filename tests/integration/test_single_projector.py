"""Exactly one projector writes the views at a time (issue 11, item 1).

A rebuild builds new tables aside and swaps them in under the projector's lock, while catch-ups
(a follower, a `record`) keep the live tables current. Whatever the interleaving, once everything
has stopped the views must equal a clean rebuild, and `views status` must say 0 behind only
when that is true. Before the fix, a catch-up that ran while a rebuild had reset the position
re-folded households up to its own batch end and the rebuild then declared the views current.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from ledger.catalogue import parse_fact
from ledger.rulebooks import define_rulebook
from ledger.store.settings import StoreSettings
from ledger.workspace import Workspace
from projections.views import Views
from tests.integration.test_projector_crash import many_facts, view_content

ROUNDS = 2
IRIS = Path(__file__).resolve().parents[2] / "examples" / "iris.toml"
ROUNDS_SLOW = 8
# Small batches and chunks: many interleavings of catch-up batches and rebuild chunks per round.
FOLLOWER_BATCH = 200
REBUILD_CHUNK = 100


ORDER = ("site_registered", "household_registered", "household_departed", "household_reentered")


def spread_facts() -> list[dict[str, Any]]:
    """`many_facts` with each kind recorded in its own stretch (all registrations, then all
    departures...), as a real ledger grows: a household's facts lie far apart in the log, so a
    fold that stops at a batch end sees only part of them."""
    return sorted(many_facts(), key=lambda f: ORDER.index(f["type"]))


def follower(settings: StoreSettings, stop: threading.Event, errors: list[BaseException]) -> None:
    """What `ledger views follow` does, slowly: one batch, a pause, the next batch..."""
    try:
        with Workspace(settings) as ws:
            while not stop.is_set():
                ws.views.catch_up(batch=FOLLOWER_BATCH, max_batches=1)
                stop.wait(0.05)
    except BaseException as exc:
        errors.append(exc)


def record_during(settings: StoreSettings, facts: list[dict[str, Any]],
                  errors: list[BaseException]) -> None:
    try:
        with Workspace(settings) as ws:
            for fact in facts:
                ws.record(parse_fact(fact))
    except BaseException as exc:
        errors.append(exc)


def departures(round_no: int, ws: Workspace) -> list[dict[str, Any]]:
    """Facts that change households' states: each household voids its registration."""
    with ws.db.cursor() as cur:
        rows = cur.execute(
            "SELECT source_id FROM ledger_facts WHERE fact_type = 'household_registered' "
            "ORDER BY notification_id LIMIT 25 OFFSET %s", (round_no * 25,)).fetchall()
    return [{"type": "fact_voided", "source_id": f"void-{round_no}-{i}",
             "effective_on": "2025-06-01", "voided_source_id": source_id,
             "reason": "registered twice"} for i, (source_id,) in enumerate(rows)]


def run_rounds(settings: StoreSettings, rounds: int, *, workers: int = 1) -> None:
    """``workers``: the rebuild's worker processes (PostgreSQL; 1: the rebuild folds itself)."""
    ws = Workspace(settings)
    ws.init()
    try:
        outcomes = list(ws.ledger.record_many(parse_fact(f) for f in spread_facts()))
        assert all(o.status == "recorded" for o in outcomes)
        ws.views.catch_up()
        for round_no in range(rounds):
            errors: list[BaseException] = []
            stop = threading.Event()
            # Even rounds: a follower beside the rebuild (the reproduction); odd rounds:
            # facts recorded meanwhile as well, each `record` catching up on its own.
            recorded = departures(round_no, ws) if round_no % 2 else []
            threads = [threading.Thread(target=follower, args=(settings, stop, errors)),
                       threading.Thread(target=record_during, args=(settings, recorded, errors))]
            for thread in threads:
                thread.start()
            with Workspace(settings) as rebuilder:
                Views(rebuilder.db, rebuild_workers=workers, parallel_from=0).rebuild()
            threads[1].join(timeout=300)
            stop.set()
            threads[0].join(timeout=300)
            assert not errors, errors

            behind = ws.views.ledger_head() - ws.views.position()
            assert behind == 0, "every writer caught up before it returned"
            after = view_content(ws)
            ws.views.rebuild()
            assert view_content(ws) == after, f"round {round_no}: 0 behind, yet not a clean rebuild"
    finally:
        ws.close()


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("projections.views.REBUILD_CHUNK", REBUILD_CHUNK)


@pytest.mark.usefixtures("small_chunks")
def test_rebuilds_beside_catch_ups_leave_the_views_a_clean_rebuild_would(
    store_settings: StoreSettings,
) -> None:
    run_rounds(store_settings, ROUNDS)


@pytest.mark.postgres
@pytest.mark.usefixtures("small_chunks")
def test_rebuilds_in_worker_processes_beside_catch_ups_leave_the_views_a_clean_rebuild_would(
    pg_settings: StoreSettings,
) -> None:
    run_rounds(pg_settings, ROUNDS, workers=2)


@pytest.mark.slow
@pytest.mark.usefixtures("small_chunks")
def test_many_rounds_of_rebuilds_beside_catch_ups(store_settings: StoreSettings) -> None:
    run_rounds(store_settings, ROUNDS_SLOW)


def test_readers_see_the_old_views_until_the_rebuild_swaps_the_new_ones_in(
    store_settings: StoreSettings,
) -> None:
    with Workspace(store_settings) as ws:
        ws.init()
        list(ws.ledger.record_many(parse_fact(f) for f in spread_facts()[:400]))
        ws.views.catch_up()
        before = view_content(ws)
        seen: list[dict[str, Any]] = []
        original = ws.views._build_households

        def build_and_look(*args: Any) -> int:
            count = original(*args)
            with Workspace(store_settings) as reader:
                seen.append(view_content(reader))
            return count

        ws.views._build_households = build_and_look  # type: ignore[method-assign]
        ws.views.rebuild()
        assert seen
        assert all(s == before for s in seen)
        assert view_content(ws) == before


@pytest.mark.usefixtures("small_chunks")
def test_a_rulebook_added_beside_a_follower_is_in_every_household_row(
    store_settings: StoreSettings,
) -> None:
    ws = Workspace(store_settings)
    ws.init()
    try:
        list(ws.ledger.record_many(parse_fact(f) for f in spread_facts()))
        ws.views.catch_up()
        errors: list[BaseException] = []
        stop = threading.Event()
        thread = threading.Thread(target=follower, args=(store_settings, stop, errors))
        thread.start()
        with Workspace(store_settings) as adder:
            # `ledger rulebooks add`: record the rulebook_defined fact, then project it
            define_rulebook(adder, IRIS.read_text(encoding="utf-8"), str(IRIS), new_version=False,
                            recorded_by=None)
            adder.views.catch_up()
        stop.set()
        thread.join(timeout=300)
        assert not errors, errors
        assert ws.views.ledger_head() == ws.views.position()
        after = view_content(ws)
        assert {row[0] for row in after["states"]} == {"official", "operational", "iris"}
        ws.views.rebuild()
        assert view_content(ws) == after
    finally:
        ws.close()
