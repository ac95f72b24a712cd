"""The store's reader (ledger/store/reading.py) on SQLite and PostgreSQL, on the worked example
of SPEC §6: the questions the read side puts to the fact index answer as the plain reading of
every fact in order does."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger.catalogue import parse_fact
from ledger.demo import worked_example
from ledger.store.reading import (
    FactRecord,
    all_facts,
    chain_digest_at,
    chain_head,
    facts_of_households,
    facts_of_many_households,
    recorded_between,
)
from ledger.store.settings import StoreSettings
from ledger.workspace import Workspace


@pytest.fixture
def ws(store_settings: StoreSettings) -> Iterator[Workspace]:
    workspace = Workspace(store_settings)
    workspace.init()
    outcomes = list(workspace.record_many(parse_fact(f) for f in worked_example()))
    assert {o.status for o in outcomes} == {"recorded"}
    yield workspace
    workspace.close()


def every_fact(ws: Workspace) -> list[FactRecord]:
    with ws.db.cursor() as cur:
        return list(all_facts(cur, ws.db))


def test_many_households_read_a_page_at_a_time_have_the_facts_read_at_once(ws: Workspace) -> None:
    households = ["H7", "H1", "H3", "H1", "NOBODY", "H2", "H5"]  # a repeat, an unknown one

    pages = list(facts_of_many_households(ws.db, households, page=2))

    with ws.db.cursor() as cur:
        at_once = facts_of_households(cur, ws.db, households)
    merged = {h: facts for page in pages for h, facts in page.items()}
    assert merged == at_once
    assert merged["NOBODY"] == []
    assert [list(page) for page in pages] == [["H7", "H1"], ["H3", "H1"], ["NOBODY", "H2"], ["H5"]]


def test_many_households_known_at_a_time_have_only_the_facts_recorded_by_then(ws: Workspace) -> None:
    facts = every_fact(ws)
    known_at = facts[len(facts) // 2].recorded_at
    households = ["H1", "H2", "H3", "H5", "H7"]

    pages = list(facts_of_many_households(ws.db, households, page=2, known_at=known_at))

    merged = {h: found for page in pages for h, found in page.items()}
    with ws.db.cursor() as cur:
        every = facts_of_households(cur, ws.db, households)
    assert merged == {h: [f for f in found if f.recorded_at <= known_at] for h, found in every.items()}
    assert sum(map(len, merged.values())) < sum(map(len, every.values()))  # some were later


def test_a_reader_stopped_after_one_page_leaves_the_store_to_read_and_write(ws: Workspace) -> None:
    households = ["H1", "H2", "H3", "H5", "H7"]
    with ws.db.cursor() as cur:
        at_once = facts_of_households(cur, ws.db, households)
    pages = facts_of_many_households(ws.db, households, page=2)

    first = next(pages)
    pages.close()  # PostgreSQL had already been asked for the next page: it is read and dropped

    assert first == {h: at_once[h] for h in ("H1", "H2")}
    again = {h: f for page in facts_of_many_households(ws.db, households, page=2) for h, f in page.items()}
    assert again == at_once


def test_the_chain_head_is_the_last_fact_and_its_link(ws: Workspace) -> None:
    last = every_fact(ws)[-1]

    with ws.db.cursor() as cur:
        head = chain_head(cur)
        assert head is not None
        assert (head.position, head.recorded_at) == (last.position, last.recorded_at)
        assert chain_digest_at(cur, head.position) == head.digest
        assert chain_digest_at(cur, head.position + 1) is None


def test_the_facts_recorded_between_two_times_come_in_keyset_pages(ws: Workspace) -> None:
    facts = every_fact(ws)
    start, end = facts[3].recorded_at, facts[-2].recorded_at
    expected = [f.position for f in facts if start < f.recorded_at <= end]

    found: list[int] = []
    after = 0
    with ws.db.cursor() as cur:
        while page := recorded_between(cur, ws.db, start, end, after=after, limit=4):
            found += [fact.position for fact, _ in page]
            after = page[-1][0].position
    assert found == expected
    assert len(expected) > 4  # more than one page
