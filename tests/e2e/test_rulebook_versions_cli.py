"""ISSUE 9 item 4: rulebooks are recorded, chained facts with versions; a figure published under
one version keeps re-deriving with it after the next version is added (docs/rulebooks.md).

iris v1 keeps returned households displaced (``return_ends_displacement = false``); v2 lets a
return end displacement, so under v2 H3 and H6 are returnees again.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from ledger.demo import worked_example
from tests.e2e.conftest import Cli, assert_no_traceback, write_jsonl

IRIS = Path(__file__).resolve().parents[2] / "examples" / "iris.toml"
AS_OF = "2026-05-01"
RETURNED_DISPLACED = {("idp_out_of_camp", "IQG15Q02", 1, 5), ("idp_out_of_camp", "IQG15Q07", 1, 9)}
RETURNED = {("returnee", "IQG15Q02", 1, 5), ("returnee", "IQG15Q07", 1, 9)}


def iris_v2(folder: Path) -> Path:
    path = folder / "iris-v2.toml"
    path.write_text(IRIS.read_text(encoding="utf-8").replace(
        "return_ends_displacement = false", "return_ends_displacement = true"), encoding="utf-8")
    return path


def rows(view: Any) -> set[tuple[str, str, int, int]]:
    return {(r["status"], r["place"], r["households"], r["individuals"]) for r in view["rows"]}


def add_two_versions(cli: Cli, tmp_path: Path) -> tuple[Cli, dict[str, Any]]:
    """iris v1 added, a figure published under it, then iris v2 added."""
    cli.ok("import", write_jsonl(tmp_path / "example.jsonl", worked_example()))
    cli.ok("rulebooks", "add", IRIS)
    published = cli.json("publish", "--rulebook", "iris", "--as-of", AS_OF)
    added = cli.json("rulebooks", "add", iris_v2(tmp_path), "--new-version")
    assert (added["added"], added["version"]) == ("iris", 2)
    return cli, published


@pytest.fixture
def two_versions(cli: Cli, tmp_path: Path) -> tuple[Cli, dict[str, Any]]:
    """On both stores."""
    return add_two_versions(cli, tmp_path)


@pytest.fixture
def sqlite_two_versions(sqlite_cli: Cli, tmp_path: Path) -> tuple[Cli, dict[str, Any]]:
    return add_two_versions(sqlite_cli, tmp_path)


def test_a_figure_published_under_v1_re_derives_with_v1_after_v2(
        two_versions: tuple[Cli, dict[str, Any]]) -> None:
    cli, published = two_versions

    audit = cli.json("audit", "figure", published["figure_id"])
    verified = cli("verify", "--json")

    assert published["rulebook_version"] == 1
    assert audit["rulebook_version"] == 1
    assert audit["still_matches"] is True
    assert audit["rulebook_changed"] is False
    assert verified.code == 0, verified.stdout
    assert verified.json()["ok"] is True
    later = cli.json("publish", "--rulebook", "iris", "--as-of", AS_OF)
    assert later["rulebook_version"] == 2
    assert {(v["status"], v["place"], v["households"], v["individuals"])
            for v in later["values"]} >= RETURNED

    # --known-at before v2 counts with v1, in views and in the bridge; now counts with v2
    then = ["--as-of", AS_OF, "--known-at", published["known_at"]]
    before = cli.json("views", "show", "--rulebook", "iris", *then)
    now = cli.json("views", "show", "--rulebook", "iris", "--as-of", AS_OF)
    bridge_then = cli.json("reconcile", "--left", "operational", "--right", "iris", *then)
    bridge_now = cli.json("reconcile", "--left", "operational", "--right", "iris", "--as-of", AS_OF)

    assert (before["rulebook_version"], now["rulebook_version"]) == (1, 2)
    assert rows(before) >= RETURNED_DISPLACED
    assert rows(now) >= RETURNED
    assert (bridge_then["left_version"], bridge_then["right_version"]) == (1, 1)
    assert bridge_then["totals"]["delta"] == {"households": 0, "individuals": 0}
    assert {r["reason"] for r in bridge_then["totals"]["reasons"]} == {
        "return_not_ending_displacement"}
    assert bridge_now["right_version"] == 2
    assert all(r["delta"] == {"households": 0, "individuals": 0} for r in bridge_now["rows"])

    # versions are listed and shown; an existing name needs --new-version
    again = cli("rulebooks", "add", IRIS)
    listed = {b["name"]: b for b in cli.json("rulebooks", "list")}
    first = cli.ok("rulebooks", "show", "iris", "--version", "1")
    current = cli.json("rulebooks", "show", "iris")
    missing = cli("rulebooks", "show", "iris", "--version", "3")

    assert again.code == 1
    assert "--new-version" in again.stderr
    assert_no_traceback(again)
    assert listed["iris"]["version"] == 2
    assert [v["version"] for v in listed["iris"]["versions"]] == [1, 2]
    assert listed["official"]["version"] == 1
    assert first.stdout == IRIS.read_text(encoding="utf-8")
    assert current["return_ends_displacement"] is True
    assert current["version"] == 2
    assert missing.code == 1
    assert "no version 3" in missing.stderr


def test_a_rulebook_stored_before_versions_is_version_1(sqlite_cli: Cli, tmp_path: Path) -> None:
    sqlite_cli.ok("import", write_jsonl(tmp_path / "example.jsonl", worked_example()))
    with sqlite3.connect(tmp_path / "ledger.db") as db:  # as an earlier release stored it
        db.execute("INSERT INTO view_rulebooks VALUES ('iris', ?, '2026-01-01T00:00:00.000000+00:00')",
                   (IRIS.read_text(encoding="utf-8"),))

    old = sqlite_cli.json("views", "show", "--rulebook", "iris", "--as-of", AS_OF)
    added = sqlite_cli.json("rulebooks", "add", iris_v2(tmp_path), "--new-version")
    new = sqlite_cli.json("views", "show", "--rulebook", "iris", "--as-of", AS_OF)

    assert old["rulebook_version"] == 1
    assert rows(old) >= RETURNED_DISPLACED
    assert added["version"] == 2
    assert rows(new) >= RETURNED
    assert sqlite_cli.ok("rulebooks", "show", "iris", "--version", "1").stdout == IRIS.read_text(
        encoding="utf-8")


def test_exports_and_the_report_state_the_version_known_then(sqlite_cli: Cli, tmp_path: Path) -> None:
    sqlite_cli.ok("import", write_jsonl(tmp_path / "example.jsonl", worked_example()))
    sqlite_cli.ok("rulebooks", "add", IRIS)
    known_then = sqlite_cli.json("rulebooks", "show", "iris")["known_from"]
    sqlite_cli.ok("rulebooks", "add", iris_v2(tmp_path), "--new-version")
    then = ["--as-of", AS_OF, "--known-at", known_then]

    sqlite_cli.ok("export", "reconcile", "--left", "operational", "--right", "iris", *then,
                  "--format", "xlsx", "--output", tmp_path / "bridge.xlsx")
    sqlite_cli.ok("report", "--html", tmp_path / "r.html", "--left", "operational",
                  "--right", "iris", *then)

    about = dict(load_workbook(tmp_path / "bridge.xlsx")["about"].iter_rows(min_row=3,
                                                                             values_only=True))
    assert about["rulebook iris version"] == 1
    assert "return_ends_displacement=False" in about["rulebook iris"]
    assert "iris version 1" in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_an_audit_at_a_known_at_before_v2_counts_with_v1(
        sqlite_two_versions: tuple[Cli, dict[str, Any]]) -> None:
    cli, published = sqlite_two_versions

    count = cli("audit", "count", "--rulebook", "iris", "--status", "idp_in_camp",
                "--place", "CHAMISHKU", "--as-of", AS_OF, "--known-at", published["known_at"],
                "--json")

    assert count.code == 0, count.stderr
    assert count.json()["rulebook_version"] == 1  # the version known then (issue 9 item 4)
