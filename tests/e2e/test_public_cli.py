"""ISSUE 13 item 6 through the `ledger` command, on both stores: --public outputs are safe to publish."""

from __future__ import annotations

import csv
from itertools import product
from pathlib import Path
from typing import Any

from ledger.demo import worked_example
from projections.public import ALL
from tests.e2e.conftest import Cli, write_jsonl
from tests.unit.test_disclosure import recoverable

AS_OF = "2026-05-01"


def loaded(cli: Cli, tmp_path: Path) -> Cli:
    cli.ok("import", write_jsonl(tmp_path / "we.jsonl", worked_example()))
    return cli


def table_of(document: dict[str, Any]) -> dict[tuple[str, str], int | None]:
    table: dict[tuple[str, str], int | None] = {
        (r["place"], r["status"]): r["households"] for r in document["rows"]}
    table |= {(ALL, s["status"]): s["households"] for s in document["totals"]["by_status"]}
    table |= {(p["place"], ALL): p["households"] for p in document["totals"]["by_place"]}
    table[(ALL, ALL)] = document["total"]["households"]
    places = {p for p, _ in table if p != ALL}
    statuses = {s for _, s in table if s != ALL}
    for key in product(places, statuses):
        table.setdefault(key, 0)
    return table


def test_public_view_hides_small_cells_and_none_comes_back_from_the_totals(cli: Cli,
                                                                          tmp_path: Path) -> None:
    loaded(cli, tmp_path)
    full = cli.json("views", "show", "--rulebook", "operational", "--as-of", AS_OF)
    public = cli.json("views", "show", "--rulebook", "operational", "--as-of", AS_OF, "--public",
                      "--min-households", "2")
    truth = {(r["place"], r["status"]): r["households"] for r in full["rows"]}
    assert public["public"]["min_households"] == 2
    assert "complementary suppression" in public["public"]["rule"]
    for row in public["rows"]:
        small = truth[(row["place"], row["status"])] < 2
        if small:
            assert row["suppressed"]
            assert row["households"] is None
            assert row["individuals"] is None
        if not row["suppressed"]:
            assert row["households"] == truth[(row["place"], row["status"])]
    assert any(r["suppressed"] for r in public["rows"])
    assert recoverable(table_of(public)) & {k for k, v in truth.items() if v < 2} == set()
    text = cli.ok("views", "show", "--rulebook", "operational", "--as-of", AS_OF, "--public",
                  "--min-households", "2").stdout
    assert "suppressed" in text
    assert "Public figures: cells of fewer than 2 households are suppressed" in " ".join(text.split())


def test_public_bridge_hides_reasons_of_few_households(cli: Cli, tmp_path: Path) -> None:
    loaded(cli, tmp_path)
    public = cli.json("reconcile", "--as-of", AS_OF, "--public", "--min-households", "2")
    reasons = [r for row in public["rows"] for r in row["reasons"]]
    assert reasons
    for reason in reasons:  # every reason here is one household: none may be shown
        assert reason["suppressed"]
        assert reason["households"] is None
    assert public["public"]["suppressed"] > 0


def test_public_export_writes_suppressed_cells_empty(cli: Cli, tmp_path: Path) -> None:
    loaded(cli, tmp_path)
    path = tmp_path / "public.csv"
    cli.ok("export", "view", "--rulebook", "operational", "--as-of", AS_OF, "--public",
           "--min-households", "2", "--output", path)
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))[1:]  # the HXL row
    hidden = [r for r in rows if r["suppressed"] == "1"]
    assert hidden
    assert all(r["households"] == "" and r["individuals"] == "" for r in hidden)


def test_household_level_outputs_refuse_public(cli: Cli, tmp_path: Path) -> None:
    loaded(cli, tmp_path)
    for args in (("audit", "household", "H1"),
                 ("audit", "count", "--rulebook", "official", "--status", "idp_in_camp",
                  "--place", "CHAMISHKU")):
        result = cli(*args, "--public")
        assert result.code == 2
        assert "never public" in " ".join(result.stderr.split())


def test_public_report_has_tables_only_and_states_the_rule(cli: Cli, tmp_path: Path) -> None:
    loaded(cli, tmp_path)
    page = tmp_path / "public.html"
    cli.ok("report", "--html", page, "--as-of", AS_OF, "--public", "--min-households", "2")
    text = page.read_text(encoding="utf-8")
    assert "Public figures: cells of fewer than 2 households are suppressed" in text
    assert "suppressed</td>" in text
    assert "plotly" not in text.lower()  # no chart: a chart would show every value
