"""`ledger verify --views` as a user runs it, after someone edited the views with SQL."""

from __future__ import annotations

import json
from pathlib import Path

from ledger.demo import worked_example
from tests.conftest import SQL_RUNNER
from tests.e2e.conftest import Cli, assert_no_traceback, write_jsonl


def test_verify_names_edited_view_cells_and_a_rebuild_repairs_them(cli: Cli, sql: SQL_RUNNER,
                                                                   tmp_path: Path) -> None:
    cli.ok("import", write_jsonl(tmp_path / "example.jsonl", worked_example()))
    assert cli.json("verify", "--views")["views"]["check"]["differences"] == 0

    sql("UPDATE view_signatures SET individuals = individuals * 10")
    plain = cli("verify")
    checked = cli("verify", "--views", "--json")
    human = cli("verify", "--views")

    assert plain.code == checked.code == human.code == 1
    assert "VIEWS CHANGED" in plain.stdout
    assert "view_signatures" in plain.stdout
    report = json.loads(checked.stdout)
    assert report["views"]["tables_changed"] == ["view_signatures"]
    assert report["views"]["check"]["differences"] == len(report["views"]["check"]["cells"]) > 0
    assert {c["column"] for c in report["views"]["check"]["cells"]} >= {"individuals"}
    assert "View cells that differ from the log" in human.stdout
    for result in (plain, checked, human):
        assert_no_traceback(result)

    cli.ok("views", "rebuild")
    assert cli.json("verify", "--views")["ok"] is True


def test_verify_names_an_edited_placement_before_the_cause(cli: Cli, sql: SQL_RUNNER,
                                                           tmp_path: Path) -> None:
    """The bridge reads the placement before a state's cause (prior_status, prior_place): an
    edit of it is named cell by cell like any other column."""
    cli.ok("import", write_jsonl(tmp_path / "example.jsonl", worked_example()))
    sql("UPDATE view_signatures SET prior_place = 'EDITED' WHERE prior_place IS NOT NULL")
    checked = cli("verify", "--views", "--json")
    assert checked.code == 1
    report = json.loads(checked.stdout)
    columns = {c["column"] for c in report["views"]["check"]["cells"]}
    assert columns
    assert all(c.endswith("prior_place") for c in columns), columns  # in states and pairs
    cli.ok("views", "rebuild")
    assert cli.json("verify", "--views")["ok"] is True
