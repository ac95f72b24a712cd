"""Tamper evidence (SPEC §5): publish, verify, and catch a superuser who bypassed the
immutability triggers to edit a stored fact, on SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import psycopg
import pytest

from ledger.catalogue import parse_fact
from ledger.demo import worked_example
from ledger.figures import publish_figure
from ledger.store.settings import StoreSettings
from ledger.workspace import Workspace
from projections.audit import audit_figure, chain_head, load_figure
from projections.verify import verify
from tests.conftest import PG_DSN
from tests.factdicts import composition, departure, voided

D = dt.date(2026, 5, 1)


@dataclass
class Published:
    ws: Workspace
    settings: StoreSettings
    first: str  # published on the worked example
    second: str  # published after a late fact, a void and a correction


def record(ws: Workspace, *facts: dict[str, Any]) -> None:
    outcomes = list(ws.record_many([parse_fact(f) for f in facts]))
    assert [o.status for o in outcomes] == ["recorded"] * len(facts), [o.error for o in outcomes]


def position_of(ws: Workspace, source_id: str) -> int:
    with ws.db.cursor() as cur:
        row = cur.execute("SELECT notification_id FROM ledger_facts WHERE source_id = %s",
                          (source_id,)).fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture
def published(store_settings: StoreSettings) -> Iterator[Published]:
    ws = Workspace(store_settings)
    ws.init()
    record(ws, *worked_example())
    first, _, _ = publish_figure(ws, "official", "cell", D, "RWG", "RWG minutes April")
    record(ws,
           departure("H5", source_id="late-H5-departed", effective_on="2026-03-10",
                     departure_letter_ref="L-3"),
           voided("demo-H6-departed", source_id="void-H6-departed"),
           composition("H2", source_id="H2-births", registry="official", members=7))
    second, _, _ = publish_figure(ws, "official", "adm1", D, "RWG", "RWG minutes May")
    yield Published(ws, store_settings, first, second)
    ws.close()


def tamper_event(p: Published, source_id: str, change: dict[str, Any]) -> None:
    """What a superuser with direct database access could do: triggers off, row edited."""
    position = position_of(p.ws, source_id)
    if p.settings.kind == "postgres":
        with psycopg.connect(**PG_DSN, autocommit=True,
                             options=f"-c search_path={p.settings.schema}") as conn:
            state = conn.execute("SELECT state FROM ledger_events WHERE notification_id = %s",
                                 (position,)).fetchone()[0]
            edited = orjson.dumps({**orjson.loads(state), **change})
            conn.execute("ALTER TABLE ledger_events DISABLE TRIGGER ALL")
            conn.execute("UPDATE ledger_events SET state = %s WHERE notification_id = %s",
                         (edited, position))
            conn.execute("ALTER TABLE ledger_events ENABLE TRIGGER ALL")
        return
    assert p.settings.sqlite_path is not None
    conn = sqlite3.connect(p.settings.sqlite_path)
    try:
        state = conn.execute("SELECT state FROM stored_events WHERE rowid = ?", (position,)).fetchone()[0]
        edited = orjson.dumps({**orjson.loads(state), **change})
        conn.execute("DROP TRIGGER stored_events_refuse_update")
        conn.execute("UPDATE stored_events SET state = ? WHERE rowid = ?", (edited, position))
        conn.commit()
    finally:
        conn.close()


def run_sql(p: Published, statement: str, *params: Any) -> None:
    if p.settings.kind == "postgres":
        with psycopg.connect(**PG_DSN, autocommit=True,
                             options=f"-c search_path={p.settings.schema}") as conn:
            conn.execute("SET session_replication_role = replica")  # triggers off for this session
            conn.execute(statement, params)
        return
    assert p.settings.sqlite_path is not None
    conn = sqlite3.connect(p.settings.sqlite_path)
    try:
        for (name,) in conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
            conn.execute(f"DROP TRIGGER {name}")
        conn.execute(statement.replace("%s", "?"), params)
        conn.commit()
    finally:
        conn.close()


def test_published_figures_verify(published: Published) -> None:
    result = verify(published.ws.db, published.ws.views.rulebooks())

    assert result.ok, result.as_dict()
    assert result.first_break is None
    assert [f.figure_id for f in result.figures] == [published.first, published.second]
    assert all(f.rederives and f.digest_matches for f in result.figures)
    head = chain_head(published.ws.db)
    assert head is not None
    assert (result.head_position, result.head_digest) == (head.position, head.digest)


def test_a_published_figure_records_the_chain_head_it_was_counted_at(published: Published) -> None:
    figure = load_figure(published.ws.db, published.first)

    with published.ws.db.cursor() as cur:
        row = cur.execute("SELECT chain_hash, notification_id FROM ledger_facts "
                          "WHERE notification_id = %s", (figure.head_position,)).fetchone()
    assert row == (figure.ledger_digest, figure.head_position)
    assert figure.position == figure.head_position + 1
    cells = {(v.status, v.place): (v.households, v.individuals) for v in figure.values}
    assert cells[("idp_in_camp", "CHAMISHKU")] == (3, 20)
    assert cells[("returnee", "IQG15Q07")] == (2, 12)


def test_figure_audit_still_matches_then_and_explains_the_change_since(published: Published) -> None:
    now = dt.datetime.now(dt.UTC)
    audit = audit_figure(published.ws.views, published.ws.views.rulebooks(), published.first, now)

    assert audit.still_matches
    assert audit.digest_matches
    camp = next(c for c in audit.cells if (c.status, c.place) == ("idp_in_camp", "CHAMISHKU"))
    assert (camp.published.households, camp.published.individuals) == (3, 20)
    assert (camp.known_now.households, camp.known_now.individuals) == (3, 21)
    assert {ch.fact.source_id: (fig.households, fig.individuals) for ch, fig in camp.changes} == {
        "late-H5-departed": (-1, -6), "void-H6-departed": (1, 5), "H2-births": (0, 2)}


def test_a_superuser_edit_of_a_stored_fact_names_the_fact_and_the_figures_on_it(
        published: Published) -> None:
    tamper_event(published, "H2-births", {"members": 17})

    result = verify(published.ws.db, published.ws.views.rulebooks())

    assert not result.ok
    first = result.first_break
    assert first is not None
    assert (first.position, first.source_id, first.fact_type) == (
        position_of(published.ws, "H2-births"), "H2-births", "composition_changed")
    assert result.broken_links == 1
    checks = {f.figure_id: f for f in result.figures}
    assert checks[published.second].depends_on_break
    assert not checks[published.second].ok
    assert checks[published.second].rederives is False  # 17 members now, 7 when published
    assert not checks[published.first].depends_on_break  # published before that fact existed
    assert checks[published.first].ok
    assert result.as_dict()["figures_affected"] == [published.second]


def test_an_edit_to_an_early_fact_breaks_every_figure_after_it(published: Published) -> None:
    tamper_event(published, "demo-H3-reg-off", {"registration_ref": "OFF-H3-forged"})

    result = verify(published.ws.db, published.ws.views.rulebooks())

    assert result.first_break is not None
    assert result.first_break.source_id == "demo-H3-reg-off"
    assert {f.figure_id for f in result.figures if f.depends_on_break} == {
        published.first, published.second}
    assert not result.ok


def test_an_edited_index_row_is_caught(published: Published) -> None:
    position = position_of(published.ws, "late-H5-departed")
    run_sql(published, "UPDATE ledger_facts SET effective_on = %s WHERE notification_id = %s",
            "2026-06-10", position)

    result = verify(published.ws.db, published.ws.views.rulebooks())

    assert result.first_break is not None
    assert (result.first_break.position, result.first_break.source_id) == (position,
                                                                           "late-H5-departed")


def test_a_deleted_fact_is_caught(published: Published) -> None:
    position = position_of(published.ws, "void-H6-departed")
    events = "ledger_events" if published.settings.kind == "postgres" else "stored_events"
    key = "notification_id" if published.settings.kind == "postgres" else "rowid"
    run_sql(published, f"DELETE FROM {events} WHERE {key} = %s", position)

    result = verify(published.ws.db, published.ws.views.rulebooks())

    assert result.first_break is not None
    assert result.first_break.position == position
    assert "missing" in result.first_break.problem
    assert not result.ok


def test_an_index_row_without_its_event_is_caught(published: Published) -> None:
    position = position_of(published.ws, "H2-births")
    run_sql(published, "DELETE FROM ledger_facts WHERE notification_id = %s", position)

    result = verify(published.ws.db, published.ws.views.rulebooks())

    assert result.first_break is not None
    assert result.first_break.position == position
    assert "no row in the fact index" in result.first_break.problem


def test_a_digest_kept_outside_must_appear_in_the_chain(published: Published) -> None:
    digest = load_figure(published.ws.db, published.first).ledger_digest

    assert verify(published.ws.db, published.ws.views.rulebooks(), anchors=[digest]).ok
    unknown = verify(published.ws.db, published.ws.views.rulebooks(), anchors=["ab" * 32])
    assert not unknown.ok
    assert unknown.as_dict()["anchors"] == [{"digest": "ab" * 32, "position": None, "found": False}]


def test_publishing_again_records_a_new_figure_at_the_new_head(
        published: Published) -> None:
    ws = published.ws
    figure_id, _, outcome = publish_figure(ws, "official", "national", D, None, None)
    again_id, _, again = publish_figure(ws, "official", "national", D, None, None)

    assert outcome.status == "recorded"
    assert again_id != figure_id  # the first publication moved the head
    assert again.status == "recorded"
    assert verify(ws.db, ws.views.rulebooks()).ok
