"""Several processes recording about the same households at once (PostgreSQL).

Each process opens its own ledger from the URL, as separate `ledger import` runs would. Some
source ids are shared by every process (the same file imported twice at once), some are each
process's own. Afterwards nothing is lost, nothing is stored twice, and every household's
stream is one contiguous sequence of versions.
"""

from __future__ import annotations

import multiprocessing
import queue
import traceback
from collections import Counter
from typing import Any

import pytest

from ledger.domain.base import aggregate_id
from ledger.store.db import Database
from ledger.store.settings import StoreSettings
from ledger.writer import Writer
from tests.factdicts import composition, departure, parsed, reentry, registration, site

pytestmark = pytest.mark.postgres

WORKERS = 5
HOUSEHOLDS = [f"H{i}" for i in range(1, 6)]


def facts_of_worker(worker: int) -> list[dict[str, Any]]:
    """Shared facts (same source id, same content in every worker) and the worker's own."""
    dicts = []
    turn = worker % len(HOUSEHOLDS)
    for h in HOUSEHOLDS[turn:] + HOUSEHOLDS[:turn]:
        dicts += [
            departure(h, source_id=f"dep-{h}"),
            composition(h, source_id=f"comp-{h}", registry="operational", members=8),
            reentry(h, source_id=f"re-{h}"),
            composition(h, source_id=f"comp-{h}-w{worker}", registry="operational",
                        members=6 + worker, effective_on=f"2025-07-{10 + worker}"),
        ]
    return dicts


def record_in_process(url: str, worker: int, barrier: Any, results: Any) -> None:
    try:
        ledger = Writer(StoreSettings.from_url(url))
        try:
            facts = parsed(*facts_of_worker(worker))
            barrier.wait(timeout=60)
            outcomes = list(ledger.record_many(facts, batch_size=3))
        finally:
            ledger.close()
        results.put((worker, [(o.source_id, o.status, str(o.error or "")) for o in outcomes]))
    except Exception:  # the parent reports it; a child's traceback is otherwise lost
        results.put((worker, traceback.format_exc()))


def run_workers(url: str) -> dict[int, list[tuple[str, str, str]]]:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(WORKERS)
    results = context.Queue()
    processes = [context.Process(target=record_in_process, args=(url, w, barrier, results))
                 for w in range(WORKERS)]
    for process in processes:
        process.start()
    collected: dict[int, Any] = {}
    try:
        for _ in processes:
            worker, outcome = results.get(timeout=180)
            collected[worker] = outcome
    except queue.Empty:
        pytest.fail(f"workers did not finish; got results from {sorted(collected)}")
    finally:
        for process in processes:
            process.join(timeout=30)
            if process.is_alive():
                process.kill()
    failures = {w: o for w, o in collected.items() if isinstance(o, str)}
    assert not failures, failures
    return collected


@pytest.mark.slow
def test_concurrent_writers_lose_nothing_and_store_nothing_twice(
    pg_app: Writer, pg_settings: StoreSettings
) -> None:
    setup = [site("CHAMISHKU")] + [
        registration(h, registry="operational", source_id=f"reg-{h}") for h in HOUSEHOLDS
    ]
    for fact_in in parsed(*setup):
        pg_app.record(fact_in)

    results = run_workers(pg_settings.url)

    outcomes = [o for worker in results.values() for o in worker]
    assert {status for _, status, _ in outcomes} <= {"recorded", "already_recorded"}, [
        o for o in outcomes if o[1] == "rejected"
    ]
    recorded = Counter(source for source, status, _ in outcomes if status == "recorded")
    expected = {d["source_id"] for w in range(WORKERS) for d in facts_of_worker(w)}
    assert set(recorded) == expected
    assert all(n == 1 for n in recorded.values()), recorded.most_common(3)

    with Database(pg_settings) as db, db.cursor() as cur:
        stored = Counter(dict(cur.execute(
            "SELECT source_id, count(*) FROM ledger_facts GROUP BY source_id").fetchall()))
        events = cur.execute("SELECT count(*) FROM ledger_events").fetchone()
        versions = {
            h: [r[0] for r in cur.execute(
                "SELECT originator_version FROM ledger_events WHERE originator_id = %s "
                "ORDER BY originator_version", (aggregate_id("household", h),)).fetchall()]
            for h in HOUSEHOLDS
        }
    assert set(stored) == expected | {d["source_id"] for d in setup}
    assert set(stored.values()) == {1}
    assert events == (sum(stored.values()),)
    per_household = 1 + 3 + WORKERS  # registration, shared departure/composition/re-entry, own
    assert versions == {h: list(range(1, per_household + 1)) for h in HOUSEHOLDS}
