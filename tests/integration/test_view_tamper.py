"""Views edited behind the projector's back are caught (issue 11, item 2).

As the tables' owner (who can do anything), change view rows with plain SQL: multiply one
signature's individuals, delete a household's rows, give a household another state, invent a
household, rename a site. Plain `verify` notices through the digest kept with the position;
`verify --views` recomputes every row from the log and names every changed cell.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from ledger.catalogue import parse_fact
from ledger.demo import worked_example
from ledger.store.settings import StoreSettings
from ledger.workspace import Workspace
from projections.verify import verify
from projections.viewcheck import check_views
from tests.conftest import SQL_RUNNER

KEY = "rulebook, household_id, valid_from, recorded_from"


@pytest.fixture
def ws(store_settings: StoreSettings) -> Iterator[Workspace]:
    with Workspace(store_settings) as workspace:
        workspace.init()
        list(workspace.record_many(parse_fact(f) for f in worked_example()))
        yield workspace


def differences(ws: Workspace) -> set[tuple[str, tuple[Any, ...], str]]:
    return {(d.table, tuple(d.key.values()), d.column) for d in check_views(ws.views).differences}


def test_untouched_views_verify_and_match_the_log(ws: Workspace) -> None:
    assert check_views(ws.views).ok
    result = verify(ws.db, ws.views.rulebooks())
    assert result.views == {"ok": True, "digest_position": ws.views.position(), "tables_changed": []}
    assert result.ok


def test_every_cell_edited_through_sql_is_reported(ws: Workspace, sql: SQL_RUNNER) -> None:
    [(sig,)] = sql("SELECT sig FROM view_signatures WHERE individuals > 0 ORDER BY sig LIMIT 1")
    [(other,)] = sql("SELECT max(sig) FROM view_signatures WHERE sig <> %s", sig)
    inflated = set(sql(f"SELECT {KEY} FROM view_states WHERE sig = %s", sig))
    deleted = set(sql(f"SELECT {KEY} FROM view_states WHERE household_id = 'H3'"))
    moved = set(sql(f"SELECT {KEY} FROM view_states WHERE household_id = 'H2' AND "
                    "rulebook = 'official' AND sig <> %s AND sig <> %s", sig, other))
    assert inflated
    assert deleted
    assert moved

    sql("UPDATE view_signatures SET individuals = individuals * 10 WHERE sig = %s", sig)
    sql("DELETE FROM view_states WHERE household_id = 'H3'")
    sql("UPDATE view_states SET sig = %s WHERE household_id = 'H2' AND rulebook = 'official' "
        "AND sig <> %s", other, sig)
    sql("INSERT INTO view_states SELECT rulebook, 'HX', valid_from, valid_to, recorded_from, "
        "recorded_to, sig FROM view_states WHERE household_id = 'H1'")
    invented = set(sql(f"SELECT {KEY} FROM view_states WHERE household_id = 'HX'"))
    sql("UPDATE view_sites SET name = 'renamed' WHERE site_id = 'CHAMISHKU'")

    found = differences(ws)
    assert {("view_states", k, "individuals") for k in inflated} <= found
    assert {("view_states", k, "row") for k in deleted | invented} <= found
    assert all(any(t == "view_states" and key == k for t, key, _ in found) for k in moved)
    assert ("view_sites", ("CHAMISHKU",), "name") in found
    pair_columns = {c for t, _, c in found if t == "view_pairs"}
    assert pair_columns & {"left_individuals", "right_individuals"}, "pairs use the signature too"

    result = verify(ws.db, ws.views.rulebooks())
    assert not result.ok
    assert result.broken_links == 0, "the facts themselves are intact"
    assert set(result.views["tables_changed"]) == {"view_states", "view_signatures", "view_sites"}


def test_a_rebuild_repairs_the_views_and_verify_is_ok_again(ws: Workspace, sql: SQL_RUNNER) -> None:
    sql("DELETE FROM view_pairs WHERE household_id = 'H1'")
    assert not verify(ws.db, ws.views.rulebooks()).ok
    assert {t for t, _, _ in differences(ws)} == {"view_pairs"}

    ws.views.rebuild()

    assert verify(ws.db, ws.views.rulebooks()).ok
    assert check_views(ws.views).ok


def test_catch_ups_keep_the_digest_exact(ws: Workspace) -> None:
    later = [{"type": "household_departed", "source_id": f"late-{h}", "effective_on": "2026-03-10",
              "household_id": h, "from_site_id": "CHAMISHKU", "pathway": "return",
              "to_pcode": "IQG15Q07"} for h in ("H5",)]
    for fact in later:
        ws.record(parse_fact(fact))
    result = verify(ws.db, ws.views.rulebooks(), views=ws.views)
    assert result.views["tables_changed"] == []
    assert result.views["check"]["ok"] is True
    assert result.ok
