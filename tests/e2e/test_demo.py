"""`ledger demo` as a user runs it: the Returns Working Group's Q1 2026, told coherently by the
demo and by the commands a user runs after it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest

from ledger.demo_q1_2026 import AUDIT_HOUSEHOLD, PLANNED_HOUSEHOLDS, q1_2026
from ledger.pcodes import check_pcode

LEDGER = str(Path(sys.executable).parent / "ledger")
MEETING = "2026-05-06"


def run(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([LEDGER, *args], env=env, cwd=cwd, capture_output=True, text=True,
                          check=False)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, str], Path]:
    work = tmp_path_factory.mktemp("demo")
    env = {**os.environ, "LEDGER_DATABASE_URL": f"sqlite:///{work / 'ledger.db'}"}
    done = run(env, work, "demo", "--json")
    assert done.returncode == 0, done.stderr
    return orjson.loads(done.stdout), env, work


def figures(rows: list[dict[str, Any]], status: str, place: str) -> tuple[int, int]:
    row = next((r for r in rows if r["status"] == status and r["place"] == place), None)
    return (row["households"], row["individuals"]) if row else (0, 0)


def test_the_quarter_has_the_meetings_nine_rounds_and_112_departures(demo: Any) -> None:
    document, _, _ = demo
    moved = [r for r in document["rounds"] if r["departed"]]
    assert len(moved) == 9
    assert sum(r["departed"] for r in moved) == 112
    assert 780 <= sum(r["pending"] for r in document["rounds"]) <= 820  # "+800 households"
    assert sum(r["reentered"] for r in document["rounds"]) == 8
    assert all(r["manifested"] == r["withdrawn"] + r["departed"] + r["pending"]
               for r in document["rounds"])


def test_the_bridge_explains_every_gap_with_the_worked_examples_reasons(demo: Any) -> None:
    document, _, _ = demo
    totals = document["reconcile"]["totals"]
    left, right = totals["left"], totals["right"]
    for unit in ("households", "individuals"):
        assert left[unit] - right[unit] == sum(r[unit] for r in totals["reasons"])
    assert left["households"] > right["households"]  # MoMD counts more: displacement since 2006
    reasons = {r["reason"] for row in document["reconcile"]["rows"] for r in row["reasons"]}
    assert {"pre_cutoff_displacement", "only_operational_registry", "reentry_not_registered",
            "departure_without_letter", "returnee_registered_in_place",
            "composition_differs", "registration_closed_in_one"} <= reasons
    assert "unexplained" not in reasons
    adm1 = {r["reason"] for row in document["reconcile_adm1"]["rows"] for r in row["reasons"]}
    assert "site_attribution" in adm1  # Esyan: Ninewa by location, Duhok by authority


def test_the_worked_example_stories_are_in_the_figures(demo: Any) -> None:
    document, _, _ = demo
    story = document["audit"]
    assert story["household_id"] == AUDIT_HOUSEHOLD
    assert [f["type"] for f in story["facts"]][-2:] == ["household_departed",
                                                        "household_reentered"]
    assert story["status"]["official"][-1]["status"] == "returnee"
    assert story["status"]["operational"][-1] == {
        "from": "2026-04-20", "to": None, "status": "idp_in_camp", "place": "CHAMISHKU",
        "individuals": 6}
    official = document["official"]["rows"]
    operational = document["operational"]["rows"]
    # Esyan is counted in camp by both, only the governorate it is reported under differs
    assert figures(official, "idp_in_camp", "ESYAN")[0] > 150
    assert figures(operational, "idp_in_camp", "ESYAN")[0] > 150


def test_the_commands_after_the_demo_tell_the_same_story(demo: Any) -> None:
    document, env, work = demo
    for book in ("official", "operational"):
        shown = run(env, work, "views", "show", "--rulebook", book, "--as-of", MEETING, "--json")
        assert shown.returncode == 0, shown.stderr
        assert orjson.loads(shown.stdout)["total"] == document[book]["total"]
    today = run(env, work, "views", "show", "--rulebook", "official", "--json")
    assert orjson.loads(today.stdout)["total"] == document["official"]["total"]  # nothing later
    bridge = run(env, work, "reconcile", "--as-of", MEETING, "--by", "adm1", "--json")
    assert orjson.loads(bridge.stdout)["totals"] == document["reconcile_adm1"]["totals"]
    rounds = run(env, work, "rounds", "report", "FVM-2026-01", "--as-of", MEETING, "--json")
    report = orjson.loads(rounds.stdout)
    assert (report["departed"], report["reentered"]) == (14, 3)


def test_running_the_demo_again_records_nothing_new(demo: Any) -> None:
    _, env, work = demo
    again = run(env, work, "demo", "--json", "--no-html")
    assert again.returncode == 0, again.stderr
    assert orjson.loads(again.stdout)["recorded"] == 0


def test_the_demo_refuses_a_store_holding_other_facts(tmp_path: Path) -> None:
    env = {**os.environ, "LEDGER_DATABASE_URL": f"sqlite:///{tmp_path / 'mine.db'}"}
    assert run(env, tmp_path, "init").returncode == 0
    recorded = run(env, tmp_path, "record", "site_registered", "--source-id", "mine-1",
                   "--effective-on", "2020-01-01", "--site-id", "KHANKE", "--name", "Khanke",
                   "--kind", "camp", "--location-pcode", "IQG09Q03")
    assert recorded.returncode == 0, recorded.stderr
    refused = run(env, tmp_path, "demo")
    assert refused.returncode == 1
    assert "not the demo's" in refused.stderr


def test_the_human_demo_prints_views_bridge_and_the_audit_story(tmp_path: Path) -> None:
    env = {**os.environ, "LEDGER_DATABASE_URL": f"sqlite:///{tmp_path / 'ledger.db'}",
           "COLUMNS": "200"}
    done = run(env, tmp_path, "demo", "--html", str(tmp_path / "r.html"))
    assert done.returncode == 0, done.stderr
    for expected in ("Both views as of 2026-05-06", "official vs operational",
                     f"One audit story: household {AUDIT_HOUSEHOLD}", "reentry_not_registered",
                     "112 households"):
        assert expected in done.stdout
    assert (tmp_path / "r.html").stat().st_size > 1_000_000


@pytest.mark.parametrize("seed", [1, 7])
def test_every_seed_keeps_the_headline_figures_and_real_pcodes(seed: int) -> None:
    facts = q1_2026(seed)
    kinds = Counter(f["type"] for f in facts)
    assert kinds["household_departed"] == 112
    assert kinds["round_planned"] == 14
    manifests = Counter(f["round_id"] for f in facts if f["type"] == "household_manifested")
    assert sum(n for r, n in manifests.items() if r >= "FVM-2026-10") == PLANNED_HOUSEHOLDS
    assert all(f["source_id"].startswith("demo-") and f["effective_on"] <= MEETING for f in facts)
    for fact in facts:
        for key in ("location_pcode", "to_pcode", "origin_pcode", "pcode", "authority_adm1"):
            if key in fact:
                assert check_pcode(fact[key]) is None, fact
