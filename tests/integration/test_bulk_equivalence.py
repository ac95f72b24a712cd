"""Recording facts one at a time or in bulk stores the same facts and gives the same views.

``ledger record`` saves one fact per call; ``ledger import`` saves batches, reads the input a
batch ahead and keeps aggregates between batches. Whatever the path, every fact must be stored
with the same index entry (type, subject, effective date, content hash) and the same event
(topic and state; only the event's timestamp, the moment of recording, may differ), and the
views caught up afterwards must count the same households in the same cells.

(Positions and recorded times are not compared: a batch stores its events aggregate by
aggregate, so the order of facts about different households may differ, by design.)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import count, pairwise
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.catalogue import parse_fact
from ledger.store.settings import StoreSettings
from ledger.workspace import Workspace
from tests.conftest import drop_pg_schema
from tests.strategies import LATEST, fact_histories

STORES = count(1)


@contextmanager
def fresh_store(settings: StoreSettings, name: str) -> Iterator[Workspace]:
    """A new, initialised store beside the test's own (one per example and per path)."""
    n = next(STORES)
    if settings.kind == "sqlite":
        assert settings.sqlite_path is not None
        path = settings.sqlite_path.with_name(f"{name}-{n}.db")
        url = f"sqlite:///{path}"
    else:
        schema = f"{settings.schema}_{name[0]}{n}"
        url = settings.url.split("?", maxsplit=1)[0] + f"?schema={schema}"
    ws = Workspace(StoreSettings.from_url(url))
    try:
        ws.init()
        yield ws
    finally:
        ws.close()
        if settings.kind == "sqlite":
            path.unlink(missing_ok=True)
        else:
            drop_pg_schema(schema)


def stored(ws: Workspace) -> dict[str, tuple[Any, ...]]:
    """Every stored fact by source_id: its index entry, and its event without the timestamp."""
    events = {}
    for n in ws.ledger.store.recorder.select_notifications(start=1, limit=100_000):
        state = orjson.loads(n.state)
        del state["timestamp"]
        events[n.id] = (str(n.originator_id), n.originator_version, n.topic, state)
    with ws.db.cursor() as cur:
        rows = cur.execute(
            "SELECT notification_id, source_id, fact_type, subject_id, household_id, effective_on, "
            "content_hash FROM ledger_facts ORDER BY notification_id").fetchall()
    assert len(rows) == len(events)
    return {row[1]: (*(str(v) for v in row[2:]), *events[row[0]]) for row in rows}


def views(ws: Workspace, as_ofs: list[dt.date]) -> dict[str, Any]:
    """What the views count: every rulebook's cells and the rulebook pair's states."""
    ws.catch_up()
    now = dt.datetime.now(dt.UTC)
    books = sorted(ws.views.rulebooks())
    found: dict[str, Any] = {}
    for day in as_ofs:
        for book in books:
            found[f"{book} cells {day}"] = sorted(ws.views.cells(book, day, now))
        for left, right in pairwise(books):
            found[f"{left}/{right} pairs {day}"] = sorted(
                (repr(a), repr(b), n) for a, b, n in ws.views.state_pairs(left, right, day, now))
    return found


PROPERTY = settings(max_examples=6, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.data_too_large,
    HealthCheck.function_scoped_fixture,  # the fixture only names the store; each example makes its own
])


@PROPERTY
@given(facts=fact_histories(max_households=4), data=st.data())
def test_facts_recorded_one_at_a_time_or_in_bulk_are_stored_and_counted_alike(
    store_settings: StoreSettings, facts: list[dict[str, Any]], data: st.DataObject
) -> None:
    inputs = [parse_fact(f) for f in facts]
    batch_size = data.draw(st.sampled_from([1_000, 4]), label="batch size")
    days = sorted({f.effective_on for f in inputs})
    as_ofs = [data.draw(st.sampled_from(days), label="as of"), LATEST]

    # Given the same facts, recorded one at a time in one store and in bulk in another,
    with fresh_store(store_settings, "single") as single, fresh_store(store_settings, "bulk") as bulk:
        for fact in inputs:
            assert single.ledger.record(fact).status == "recorded"
        outcomes = list(bulk.ledger.record_many(inputs, batch_size=batch_size))

        # then every fact is recorded by both, stored alike, and the views count alike.
        assert [(o.status, o.source_id) for o in outcomes] == [
            ("recorded", f.source_id) for f in inputs]
        assert sorted(o.position for o in outcomes if o.position) == list(range(1, len(inputs) + 1))
        assert stored(bulk) == stored(single)
        assert views(bulk, as_ofs) == views(single, as_ofs)
