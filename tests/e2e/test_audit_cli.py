"""The disputed-count story as a user tells it with the `ledger` command: publish, learn late
facts, then `audit figure`, `audit diff`, `audit count` and `verify` (SPEC §5, §7)."""

from __future__ import annotations

import csv
import sqlite3
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest

from ledger.demo import worked_example
from ledger.store.settings import StoreSettings
from tests.conftest import PG_DSN
from tests.e2e.conftest import Cli, assert_no_traceback, write_jsonl
from tests.factdicts import composition, departure, voided

CAMP = ["--rulebook", "official", "--status", "idp_in_camp", "--place", "CHAMISHKU",
        "--as-of", "2026-05-01"]
LATE = [
    departure("H5", source_id="late-H5-departed", effective_on="2026-03-10",
              departure_letter_ref="L-3"),
    voided("demo-H6-departed", source_id="void-H6-departed"),
    composition("H2", source_id="H2-births", registry="official", members=7),
]


@pytest.fixture
def story(cli: Cli, tmp_path: Path) -> dict[str, Any]:
    """The worked example, a figure published on it, then three facts learnt later."""
    cli.ok("import", write_jsonl(tmp_path / "example.jsonl", worked_example()))
    published = cli.json("publish", "--rulebook", "official", "--as-of", "2026-05-01")
    cli.ok("import", write_jsonl(tmp_path / "late.jsonl", LATE))
    return published


def test_publish_prints_the_figure_id_and_the_ledger_digest(story: dict[str, Any]) -> None:
    assert story["figure_id"].startswith("FIG-")
    assert len(story["digest"]) == 64
    cells = {(v["status"], v["place"]): (v["households"], v["individuals"]) for v in story["values"]}
    assert cells[("idp_in_camp", "CHAMISHKU")] == (3, 20)


def test_audit_figure_still_matches_and_names_what_changed_since(
        cli: Cli, story: dict[str, Any]) -> None:
    audit = cli.json("audit", "figure", story["figure_id"])

    assert audit["still_matches"] is True
    assert audit["digest_matches"] is True
    camp = next(c for c in audit["cells"] if c["place"] == "CHAMISHKU")
    assert camp["known_then"] == {"households": 3, "individuals": 20}
    assert camp["known_now"] == {"households": 3, "individuals": 21}
    assert sorted(f["source_id"] for f in camp["facts"]) == [
        "H2-births", "late-H5-departed", "void-H6-departed"]


def test_audit_diff_lists_the_facts_in_between_adding_up(cli: Cli, story: dict[str, Any]) -> None:
    diff = cli.json("audit", "diff", *CAMP, "--known-at", story["known_at"])

    assert {(r["source_id"], r["type"], r["households"], r["individuals"]) for r in diff["rows"]} == {
        ("late-H5-departed", "household_departed", -1, -6),
        ("void-H6-departed", "fact_voided", 1, 5),
        ("H2-births", "composition_changed", 0, 2),
    }
    assert all(r["recorded_at"] > story["known_at"] for r in diff["rows"])
    assert diff["change"] == diff["explained"] == {"households": 0, "individuals": 1}
    assert diff["adds_up"] is True


def test_audit_diff_for_people_says_it_adds_up(cli: Cli, story: dict[str, Any]) -> None:
    result = cli.ok("audit", "diff", *CAMP, "--known-at", story["known_at"])

    assert "late-H5-departed" in result.stdout
    assert "adds up exactly" in result.stdout


def test_audit_count_lists_the_households_and_their_facts(cli: Cli, story: dict[str, Any],
                                                          tmp_path: Path) -> None:
    now = cli.json("audit", "count", *CAMP, "--csv", tmp_path / "count.csv")
    then = cli.json("audit", "count", *CAMP, "--known-at", story["known_at"])

    assert {r["household_id"]: r["individuals"] for r in now["rows"]} == {"H2": 7, "H3": 9, "H6": 5}
    assert {r["household_id"] for r in then["rows"]} == {"H2", "H3", "H5"}
    assert then["figure"] == {"households": 3, "individuals": 20}
    h2 = next(r for r in now["rows"] if r["household_id"] == "H2")
    assert [f["source_id"] for f in h2["facts"]] == ["demo-H2-reg-off", "H2-births"]
    with (tmp_path / "count.csv").open(encoding="utf-8") as shared:
        rows = list(csv.DictReader(shared))
    assert {r["household_id"] for r in rows} == {"H2", "H3", "H6"}
    assert {"source_id", "recorded_at", "recorded_by", "source_document"} <= set(rows[0])


def test_audit_household_shows_the_void_and_exports_csv(cli: Cli, story: dict[str, Any],
                                                        tmp_path: Path) -> None:
    history = cli.json("audit", "household", "H6", "--csv", tmp_path / "h6.csv")

    departed = next(f for f in history["facts"] if f["source_id"] == "demo-H6-departed")
    assert departed["voided_by"] == "void-H6-departed"
    assert {s["rulebook"] for s in history["states"]} >= {"official", "operational"}
    with (tmp_path / "h6.csv").open(encoding="utf-8") as shared:
        assert any(r["voided_by"] == "void-H6-departed" for r in csv.DictReader(shared))
    table = cli.ok("audit", "household", "H6")
    assert "void-H6-departed" in table.stdout


def test_verify_is_ok_then_names_a_tampered_fact_and_the_figures_on_it(
        cli: Cli, story: dict[str, Any], store_settings: StoreSettings) -> None:
    later = cli.json("publish", "--rulebook", "official", "--as-of", "2026-05-01", "--by", "adm1")
    ok = cli.json("verify", "--digest", story["digest"])
    assert ok["ok"] is True

    tamper(store_settings, "H2-births", {"members": 17})
    result = cli("verify", "--json")

    assert result.code == 1
    report = orjson.loads(result.stdout)
    assert report["ok"] is False
    assert report["first_break"]["source_id"] == "H2-births"
    assert report["figures_affected"] == [later["figure_id"]]
    human = cli("verify")
    assert human.code == 1
    assert "H2-births" in human.stdout
    assert later["figure_id"] in human.stdout
    assert_no_traceback(human)


def test_audit_errors_are_one_line_without_traceback(cli: Cli) -> None:
    unknown = cli("audit", "figure", "FIG-nope")
    bad_status = cli("audit", "count", "--rulebook", "official", "--status", "idp", "--place", "X")

    assert unknown.code == 1
    assert "FIG-nope" in unknown.stderr
    assert bad_status.code == 2
    assert_no_traceback(unknown)
    assert_no_traceback(bad_status)


def tamper(settings: StoreSettings, source_id: str, change: dict[str, Any]) -> None:
    """A superuser edits a stored event behind the ledger's back (triggers disabled)."""
    if settings.kind == "postgres":
        with psycopg.connect(**PG_DSN, autocommit=True,
                             options=f"-c search_path={settings.schema}") as conn:
            position, state = conn.execute(
                "SELECT e.notification_id, e.state FROM ledger_events e JOIN ledger_facts f "
                "ON f.notification_id = e.notification_id WHERE f.source_id = %s",
                (source_id,)).fetchone()
            conn.execute("ALTER TABLE ledger_events DISABLE TRIGGER ALL")
            conn.execute("UPDATE ledger_events SET state = %s WHERE notification_id = %s",
                         (orjson.dumps({**orjson.loads(state), **change}), position))
            conn.execute("ALTER TABLE ledger_events ENABLE TRIGGER ALL")
        return
    assert settings.sqlite_path is not None
    conn = sqlite3.connect(settings.sqlite_path)
    try:
        position, state = conn.execute(
            "SELECT e.rowid, e.state FROM stored_events e JOIN ledger_facts f "
            "ON f.notification_id = e.rowid WHERE f.source_id = ?", (source_id,)).fetchone()
        conn.execute("DROP TRIGGER stored_events_refuse_update")
        conn.execute("UPDATE stored_events SET state = ? WHERE rowid = ?",
                     (orjson.dumps({**orjson.loads(state), **change}), position))
        conn.commit()
    finally:
        conn.close()
