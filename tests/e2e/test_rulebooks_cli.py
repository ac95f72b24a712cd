"""ISSUE 3: a user's own rulebook (examples/iris.toml), added without code, compared with any other.

Under IRIS a return does not end displacement: the households that returned (H3 without a
letter, H6 with one) stay displaced at their place of return. The bridge from operational to
iris must name exactly that difference and add up on every row.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ledger.demo import worked_example
from tests.e2e.conftest import Cli, write_jsonl
from tests.factdicts import departure

IRIS = Path(__file__).resolve().parents[2] / "examples" / "iris.toml"
AS_OF = "2026-05-01"


def adds_up(bridge: Any) -> None:
    for row in [*bridge["rows"], bridge["totals"]]:
        delta = (row["delta"]["households"], row["delta"]["individuals"])
        assert delta == (row["left"]["households"] - row["right"]["households"],
                         row["left"]["individuals"] - row["right"]["individuals"])
        explained = (sum(r["households"] for r in row["reasons"]),
                     sum(r["individuals"] for r in row["reasons"]))
        assert explained == delta, row
        assert "unexplained" not in {r["reason"] for r in row["reasons"]}, row


def by_cell(bridge: Any) -> dict[tuple[str, str], Any]:
    return {(r["status"], r["place"]): (
        (r["left"]["households"], r["left"]["individuals"]),
        (r["right"]["households"], r["right"]["individuals"]),
        {x["reason"]: (x["households"], x["individuals"]) for x in r["reasons"]},
    ) for r in bridge["rows"]}


def add_iris(cli: Cli) -> Cli:
    cli.ok("import", write_jsonl(cli.cwd / "example.jsonl", worked_example()))
    added = cli.json("rulebooks", "add", IRIS)
    assert (added["added"], added["version"]) == ("iris", 1)
    return cli


@pytest.fixture
def with_iris(cli: Cli) -> Cli:
    """On both stores."""
    return add_iris(cli)


@pytest.fixture
def sqlite_iris(sqlite_cli: Cli) -> Cli:
    return add_iris(sqlite_cli)


def test_iris_keeps_returned_households_displaced_and_the_bridge_says_so(with_iris: Cli) -> None:
    bridge = with_iris.json("reconcile", "--left", "operational", "--right", "iris", "--as-of", AS_OF)

    assert (bridge["left"], bridge["right"]) == ("operational", "iris")
    adds_up(bridge)
    reason = "return_not_ending_displacement"
    assert by_cell(bridge) == {
        ("idp_in_camp", "CHAMISHKU"): ((3, 18), (3, 18), {}),
        ("idp_in_camp", "ESYAN"): ((1, 6), (1, 6), {}),
        ("idp_out_of_camp", "IQG15Q02"): ((0, 0), (1, 5), {reason: (-1, -5)}),   # H6
        ("idp_out_of_camp", "IQG15Q07"): ((0, 0), (1, 9), {reason: (-1, -9)}),   # H3
        ("returnee", "IQG15Q02"): ((1, 5), (0, 0), {reason: (1, 5)}),
        ("returnee", "IQG15Q07"): ((1, 9), (0, 0), {reason: (1, 9)}),
    }


def test_official_against_iris_adds_up_when_grouped(sqlite_iris: Cli) -> None:
    for by in ("adm1", "national"):
        bridge = sqlite_iris.json("reconcile", "--left", "official", "--right", "iris",
                                  "--as-of", AS_OF, "--by", by)

        adds_up(bridge)
        assert bridge["totals"]["delta"] == {"households": 0, "individuals": -1}


def test_an_added_rulebook_follows_new_facts_and_is_listed(sqlite_iris: Cli, tmp_path: Path) -> None:
    sqlite_iris.ok("import", write_jsonl(tmp_path / "more.jsonl", [
        departure("H5", source_id="h5-leaves", effective_on="2026-04-01", to_pcode="IQG15Q05")]))

    iris = sqlite_iris.json("views", "show", "--rulebook", "iris", "--as-of", AS_OF)

    assert {(r["status"], r["place"], r["households"], r["individuals"]) for r in iris["rows"]} >= {
        ("idp_out_of_camp", "IQG15Q05", 1, 8)}
    assert "iris" in {b["name"] for b in sqlite_iris.json("rulebooks", "list")}


def test_a_rulebook_cannot_take_a_built_in_name(sqlite_cli: Cli, tmp_path: Path) -> None:
    fake = tmp_path / "official.toml"
    fake.write_text(IRIS.read_text(encoding="utf-8").replace('name = "iris"', 'name = "official"'),
                    encoding="utf-8")

    result = sqlite_cli("rulebooks", "add", fake)

    assert result.code == 1
    assert "built-in" in result.stderr
    assert "Traceback" not in result.stderr
