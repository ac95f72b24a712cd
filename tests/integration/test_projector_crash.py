"""The projector killed mid-rebuild: the live views are untouched, and the next rebuild finishes.

A `ledger views rebuild` subprocess is SIGKILLed after it has committed some chunks of the new
tables and before it swaps them in. The views must still hold exactly what they held (a rebuild
builds aside), `views catch-up` has nothing to do, and a new rebuild gives the same rows.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from ledger.catalogue import parse_fact
from ledger.store.settings import StoreSettings
from ledger.workspace import Workspace
from projections.viewcheck import views_digest_status
from tests.strategies import PLACES, SITE_IDS, site_facts

LEDGER = Path(sys.executable).with_name("ledger")
HOUSEHOLDS = 1300  # about 3,200 facts


def many_facts(seed: int = 7) -> list[dict[str, Any]]:
    """Households registered by one or both registries, some departing, some coming back."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    facts = site_facts()
    for n in range(HOUSEHOLDS):
        hid, camp = f"HH{n}", rng.choice(SITE_IDS)
        displaced = dt.date(2005, 1, 1) + dt.timedelta(days=rng.randrange(5800))
        for registry in rng.sample(["official", "operational"], rng.choice([1, 2, 2])):
            facts.append({"type": "household_registered", "source_id": f"reg-{registry}-{hid}",
                          "effective_on": "2021-01-10", "household_id": hid, "registry": registry,
                          "registration_ref": f"{registry}-{hid}", "site_id": camp,
                          "members": rng.randint(1, 12), "displaced_on": displaced.isoformat()})
        if rng.random() < 0.6:
            departure = {"type": "household_departed", "source_id": f"dep-{hid}",
                         "effective_on": "2024-03-01", "household_id": hid, "from_site_id": camp,
                         "pathway": "return", "to_pcode": rng.choice(PLACES)}
            if rng.random() < 0.5:
                departure["departure_letter_ref"] = f"L-{hid}"
            facts.append(departure)
            if rng.random() < 0.3:
                facts.append({"type": "household_reentered", "source_id": f"back-{hid}",
                              "effective_on": "2025-01-20", "household_id": hid, "site_id": camp})
    return facts


TIMES = "valid_from, valid_to, recorded_from, recorded_to"
STATE = "{g}.status, {g}.place, {g}.individuals, {g}.members, {g}.cause, {g}.flags"
VIEW_QUERIES = {
    # States by value, not by signature number: numbers are given in order of first sight.
    "states": f"SELECT s.rulebook, s.household_id, {TIMES}, {STATE.format(g='g')} FROM view_states s "
              "JOIN view_signatures g ON g.sig = s.sig",
    "pairs": f"SELECT p.left_rulebook, p.right_rulebook, p.household_id, {TIMES}, "
             f"{STATE.format(g='l')}, {STATE.format(g='r')} FROM view_pairs p "
             "JOIN view_signatures l ON l.sig = p.left_sig JOIN view_signatures r ON r.sig = p.right_sig",
    "sites": "SELECT * FROM view_sites",
}


def view_content(ws: Workspace) -> dict[str, Any]:
    """Every view row by value, sorted with duplicates kept, and the views' position."""
    content: dict[str, Any] = {"position": ws.views.position()}
    with ws.db.cursor() as cur:
        for name, query in VIEW_QUERIES.items():
            content[name] = sorted(tuple(str(v) for v in row) for row in cur.execute(query).fetchall())
    return content


def next_rows(ws: Workspace) -> int:
    """Rows a rebuild has committed into the table it is building (-1: no rebuild under way)."""
    try:
        with ws.db.cursor() as cur:
            [(rows,)] = cur.execute("SELECT count(*) FROM view_states_next").fetchall()
            return int(rows)
    except (sqlite3.Error, psycopg.Error):
        return -1


def kill_mid_rebuild(settings: StoreSettings, ws: Workspace) -> int:
    """Start `ledger views rebuild` on caught-up views and SIGKILL it while it is building the new
    tables (some chunks committed, the swap not done). Returns the rows it had committed."""
    env = {**os.environ, "LEDGER_DATABASE_URL": settings.url}
    for _ in range(3):
        process = subprocess.Popen([str(LEDGER), "views", "rebuild"], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 120
        while process.poll() is None and time.monotonic() < deadline:
            rows = next_rows(ws)
            if rows > 0:
                process.send_signal(signal.SIGKILL)
                process.wait()
                if next_rows(ws) >= 0:  # killed before the swap
                    return rows
                break
            time.sleep(0.002)
        process.kill()
        process.wait()
    pytest.fail("the rebuild was never caught midway")


def test_a_rebuild_killed_midway_leaves_the_views_whole_and_the_next_rebuild_finishes(
    store_settings: StoreSettings,
) -> None:
    ws = Workspace(store_settings)
    ws.init()
    try:
        facts = many_facts()
        outcomes = list(ws.ledger.record_many(parse_fact(f) for f in facts))
        assert all(o.status == "recorded" for o in outcomes)
        head = ws.views.ledger_head()
        assert head == len(facts)
        ws.views.catch_up()
        before = view_content(ws)
        assert before["position"] == head

        assert kill_mid_rebuild(store_settings, ws) > 0
        assert view_content(ws) == before, "readers never see the half-built tables"
        assert views_digest_status(ws.db)["ok"], "states it numbered are in the views' digest"

        resumed = subprocess.run(
            [str(LEDGER), "views", "catch-up", "--json"], capture_output=True, text=True, check=False,
            env={**os.environ, "LEDGER_DATABASE_URL": store_settings.url}, timeout=300)
        assert resumed.returncode == 0, resumed.stderr
        assert json.loads(resumed.stdout) == {"applied": 0, "position": head}

        ws.views.rebuild()  # drops what the killed one left and builds again
        clean = view_content(ws)
        assert next_rows(ws) == -1
        assert clean == before
        assert len(set(clean["states"])) == len(clean["states"]) > 0
    finally:
        ws.close()
