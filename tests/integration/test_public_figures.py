"""Public figures (issue 13, item 6) on both stores: the documents `--public` prints give away
no suppressed value, solving the published cells and margins (tests/unit/test_disclosure.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ledger.cli.public import public_bridge_document, public_view_document
from ledger.cli.read import place_label
from ledger.facts import parse_fact
from ledger.store.settings import StoreSettings
from ledger.workspace import Workspace
from projections.disclosure import Suppression, suppress_together
from projections.queries import reconcile, show
from tests.conftest import init_store
from tests.unit.test_disclosure import recoverable

CAMPS = {"KHANKE": ("IQG09Q04", 12), "SHARIYA": ("IQG09Q02", 3), "ESYAN": ("IQG09Q04", 7)}


@pytest.fixture
def ws(store_settings: StoreSettings) -> Iterator[Workspace]:
    init_store(store_settings)
    workspace = Workspace(store_settings)
    facts = [{"type": "site_registered", "source_id": f"site-{s}", "effective_on": "2025-01-01",
              "site_id": s, "name": s.title(), "kind": "camp", "location_pcode": pcode}
             for s, (pcode, _) in CAMPS.items()]
    for site, (_, households) in CAMPS.items():
        for n in range(households):
            for registry in ("official", "operational") if n % 4 else ("official",):
                facts.append({"type": "household_registered", "source_id": f"{registry}-{site}-{n}",
                              "effective_on": "2025-02-01", "household_id": f"{site}-{n}",
                              "registry": registry, "registration_ref": f"R-{site}-{n}",
                              "site_id": site, "members": 1 + n % 5})
    facts.append({"type": "household_registered", "source_id": "out-1", "effective_on": "2025-02-01",
                  "household_id": "OUT-1", "registry": "official", "registration_ref": "R-OUT-1",
                  "location_pcode": "IQG09Q02", "members": 4})
    list(workspace.record_many([parse_fact(f) for f in facts]))
    yield workspace
    workspace.close()


def pattern(rows: list[dict[str, object]], key: str | None = None) -> frozenset[tuple[str, str]]:
    return frozenset((str(r["status"]), str(r["place"])) for r in rows
                     if (r[key] if key else r).get("suppressed"))  # type: ignore[union-attr]


def test_a_public_view_hides_small_cells_and_gives_none_of_them_away(ws: Workspace) -> None:
    result = show(ws.views, "official")
    document = public_view_document(result, ws.views.sites(), place_label, 5)
    cells = {(r.status, r.place): r.households for r in result.rows}
    hidden = Suppression(
        pattern(document["rows"]),
        frozenset(m["status"] for m in document["margins"]["by_status"] if m.get("suppressed")),
        frozenset(m["place"] for m in document["margins"]["by_place"] if m.get("suppressed")),
        bool(document["total"].get("suppressed")))
    assert ("idp_in_camp", "SHARIYA") in hidden.cells  # 3 households
    assert ("idp_out_of_camp", "IQG09Q02") in hidden.cells  # 1 household
    assert ("idp_in_camp", "KHANKE") not in hidden.cells or len(hidden.cells) > 2
    assert recoverable(cells, hidden) == []
    assert "fewer than 5 households" in document["disclosure"]["rule"]
    assert all(r["households"] is None for r in document["rows"] if r.get("suppressed"))


def test_a_public_bridge_hides_the_same_cells_on_both_sides(ws: Workspace) -> None:
    bridge = reconcile(ws.views)
    document = public_bridge_document(bridge, ws.views.sites(), place_label, 5)
    left = {(r.status, r.place): r.left.households for r in bridge.rows}
    right = {(r.status, r.place): r.right.households for r in bridge.rows}
    hidden = pattern(document["rows"], "left")
    assert hidden == pattern(document["rows"], "right") == pattern(document["rows"], "delta")
    assert hidden == suppress_together([left, right], 5).cells
    shown = Suppression(hidden, frozenset(), frozenset(), bool(document["totals"]["left"].get("suppressed")))
    # the bridge publishes no status or place totals: those are unknowns of the system too
    statuses = frozenset(s for s, _ in left)
    places = frozenset(p for _, p in left)
    for table in (left, right):
        assert recoverable(table, Suppression(shown.cells, statuses, places, shown.total)) == []
    assert "reasons" in document["totals"]
