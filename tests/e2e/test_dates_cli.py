"""ISSUE 9 item 2: every date and time the command accepts answers right or is refused clearly.

Open intervals in the views end at a sentinel date; an as-of at (or a known-at past) that end
used to find no row and answer 0 / 0, and a known-at whose UTC instant falls in year 10000
raised OverflowError. See docs/dates.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ledger.demo import worked_example
from tests.e2e.conftest import Cli, assert_no_traceback, write_jsonl

END = "9999-12-31"
LAST_INSTANT_WEST = "9999-12-31T23:59:59.999999-05:00"  # in UTC: year 10000
CAMP = ["--rulebook", "official", "--status", "idp_in_camp", "--place", "CHAMISHKU"]


@pytest.fixture
def example(cli: Cli, tmp_path: Path) -> Cli:
    cli.ok("import", write_jsonl(tmp_path / "example.jsonl", worked_example()))
    return cli


def figures(view: Any) -> set[tuple[str, str, int, int]]:
    return {(r["status"], r["place"], r["households"], r["individuals"]) for r in view["rows"]}


def test_the_end_of_time_counts_what_today_counts_and_says_it_is_a_planning_date(
        example: Cli) -> None:
    today = example.json("views", "show", "--rulebook", "official", "--by", "national")
    at_end = example("views", "show", "--rulebook", "official", "--by", "national",
                     "--as-of", END, "--known-at", LAST_INSTANT_WEST, "--json")

    assert figures(at_end.json()) == figures(today) == {("idp_in_camp", "IRQ", 3, 20),
                                                        ("returnee", "IRQ", 3, 17)}
    assert "planning date" in at_end.stderr
    assert "read as now" in at_end.stderr
    bridge = example.json("reconcile", "--by", "national", "--as-of", END)
    assert bridge["totals"]["left"] == {"households": 6, "individuals": 37}
    assert bridge["totals"]["right"] == {"households": 6, "individuals": 38}
    count = example.json("audit", "count", *CAMP, "--as-of", END, "--known-at", LAST_INSTANT_WEST)
    assert count["figure"] == {"households": 3, "individuals": 20}

    diff = example("audit", "diff", *CAMP, "--as-of", END, "--known-at", "2000-01-01T00:00:00Z",
                   "--vs-known-at", LAST_INSTANT_WEST, "--json")

    document = diff.json()
    assert document["before"] == {"households": 0, "individuals": 0}
    assert document["after"] == {"households": 3, "individuals": 20}
    assert document["adds_up"] is True
    assert "--vs-known-at" in diff.stderr
    assert "read as now" in diff.stderr


def test_a_known_at_before_year_one_is_refused_in_one_line(example: Cli) -> None:
    result = example("views", "show", "--rulebook", "official",
                     "--known-at", "0001-01-01T00:00:00+05:00")

    assert result.code == 2
    assert "earliest time there is" in result.stderr
    assert_no_traceback(result)


def test_exports_and_the_report_answer_at_both_ends_of_the_calendar(sqlite_cli: Cli,
                                                                     tmp_path: Path) -> None:
    sqlite_cli.ok("import", write_jsonl(tmp_path / "example.jsonl", worked_example()))
    sqlite_cli.ok("export", "view", "--rulebook", "official", "--as-of", END,
                  "--known-at", LAST_INSTANT_WEST, "--format", "csv", "--output", tmp_path / "v.csv")
    lines = (tmp_path / "v.csv").read_text(encoding="utf-8").splitlines()
    assert any(",CHAMISHKU,Chamishku camp," in line and line.endswith(",3,20") for line in lines)

    first_week = sqlite_cli("report", "--html", tmp_path / "r.html", "--as-of", "0001-01-02")
    assert first_week.code == 0, first_week.stderr
    assert_no_traceback(first_week)
    last_day = sqlite_cli("report", "--html", tmp_path / "r.html", "--as-of", END)
    assert last_day.code == 0, last_day.stderr
