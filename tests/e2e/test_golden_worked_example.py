"""ISSUE 3, the golden test: SPEC §6's worked example through the `ledger` command, on both stores.

The facts of ``ledger.demo.worked_example()`` are imported from a .jsonl file as a user would;
then both rulebooks' views and the bridge between them must give the SPEC's figures exactly, and
the bridge must add up (left − right = Σ reasons) on every row at every level.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledger.demo import worked_example
from tests.conftest import PG_URL, drop_pg_schema, fresh_pg_schema
from tests.e2e.conftest import Cli, write_jsonl

AS_OF = "2026-05-01"
LEVELS = ("cell", "adm2", "adm1", "national")


class WorkedExample:
    """One store holding the worked example; each figure is asked of the command once."""

    def __init__(self, cli: Cli) -> None:
        self.cli = cli
        self.cache: dict[tuple[str, ...], Any] = {}

    def ask(self, *args: str) -> Any:
        if args not in self.cache:
            self.cache[args] = self.cli.json(*args, "--as-of", AS_OF)
        return self.cache[args]

    def view(self, rulebook: str, by: str = "cell") -> Any:
        return self.ask("views", "show", "--rulebook", rulebook, "--by", by)

    def bridge(self, by: str = "cell") -> Any:
        return self.ask("reconcile", "--by", by)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def example(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[WorkedExample]:
    where = tmp_path_factory.mktemp(f"golden-{request.param}")
    schema = fresh_pg_schema()
    url = f"sqlite:///{where / 'ledger.db'}" if request.param == "sqlite" else f"{PG_URL}?schema={schema}"
    cli = Cli(url, where)
    cli.ok("init")
    report = cli.json("import", write_jsonl(where / "worked_example.jsonl", worked_example()))
    assert (report["rejected"], report["recorded"]) == (0, report["total"]), report
    yield WorkedExample(cli)
    if request.param == "postgres":
        drop_pg_schema(schema)


def cells(document: Any) -> set[tuple[str, str, int, int]]:
    return {(r["status"], r["place"], r["households"], r["individuals"]) for r in document["rows"]}


def row(bridge: Any, status: str, place: str) -> Any:
    [found] = [r for r in bridge["rows"] if (r["status"], r["place"]) == (status, place)]
    return found


def reasons(bridge_row: Any) -> dict[str, tuple[int, int]]:
    return {r["reason"]: (r["households"], r["individuals"]) for r in bridge_row["reasons"]}


def figure(value: Any) -> tuple[int, int]:
    return (value["households"], value["individuals"])


def test_the_official_view_counts_as_momd_would(example: WorkedExample) -> None:
    official = example.view("official")

    assert official["rulebook"] == "official"
    assert official["as_of"] == AS_OF
    assert cells(official) == {
        ("idp_in_camp", "CHAMISHKU", 3, 20),   # H2 5, H3 9, H5 6
        ("returnee", "IQG15Q07", 2, 12),       # H1 6, H7 6
        ("returnee", "IQG15Q02", 1, 5),        # H6
    }


def test_the_operational_view_counts_as_iom_and_unhcr_would(example: WorkedExample) -> None:
    operational = example.view("operational")

    assert operational["rulebook"] == "operational"
    assert cells(operational) == {
        ("idp_in_camp", "CHAMISHKU", 3, 18),   # H1 6, H4 4, H5 8
        ("idp_in_camp", "ESYAN", 1, 6),        # H7
        ("returnee", "IQG15Q07", 1, 9),        # H3
        ("returnee", "IQG15Q02", 1, 5),        # H6
    }


def test_the_chamishku_gap_is_explained_household_by_household(example: WorkedExample) -> None:
    chamishku = row(example.bridge(), "idp_in_camp", "CHAMISHKU")

    assert (figure(chamishku["left"]), figure(chamishku["right"])) == ((3, 20), (3, 18))
    assert figure(chamishku["delta"]) == (0, 2)
    assert reasons(chamishku) == {
        "pre_cutoff_displacement": (1, 5),        # H2
        "departure_without_letter": (1, 9),       # H3
        "reentry_not_registered": (-1, -6),       # H1
        "only_operational_registry": (-1, -4),    # H4
        "composition_differs": (0, -2),           # H5
    }


def test_the_sinjar_returnee_gap_is_explained_household_by_household(example: WorkedExample) -> None:
    sinjar = row(example.bridge(), "returnee", "IQG15Q07")

    assert (figure(sinjar["left"]), figure(sinjar["right"])) == ((2, 12), (1, 9))
    assert figure(sinjar["delta"]) == (1, 3)
    assert reasons(sinjar) == {
        "reentry_not_registered": (1, 6),         # H1
        "returnee_registered_in_place": (1, 6),   # H7
        "departure_without_letter": (-1, -9),     # H3
    }


def test_a_household_counted_the_same_by_both_needs_no_reason(example: WorkedExample) -> None:
    baaj = row(example.bridge(), "returnee", "IQG15Q02")

    assert figure(baaj["left"]) == figure(baaj["right"]) == (1, 5)   # H6
    assert baaj["reasons"] == []


def test_esyan_is_reported_under_duhok_officially_and_ninewa_operationally(
    example: WorkedExample,
) -> None:
    by_adm1 = example.bridge("adm1")

    assert example.view("operational", "adm1")["rows"][0]["place"] in {"IQG09", "IQG15"}
    assert {(r["status"], r["place"]): (figure(r["left"]), figure(r["right"]))
            for r in by_adm1["rows"]} == {
        ("idp_in_camp", "IQG09"): ((3, 20), (3, 18)),
        ("idp_in_camp", "IQG15"): ((0, 0), (1, 6)),
        ("returnee", "IQG15"): ((3, 17), (2, 14)),
    }


def test_nationally_the_bridge_totals_match_both_views(example: WorkedExample) -> None:
    national = example.bridge("national")

    assert {(r["status"], r["place"]) for r in national["rows"]} == {("idp_in_camp", "IRQ"),
                                                                     ("returnee", "IRQ")}
    assert figure(national["totals"]["left"]) == figure(example.view("official")["total"]) == (6, 37)
    assert figure(national["totals"]["right"]) == figure(example.view("operational")["total"]) == (6, 38)
    for by in LEVELS:
        assert cells(example.view("official", by)) == {
            (r["status"], r["place"], *figure(r["left"])) for r in example.bridge(by)["rows"]
            if figure(r["left"]) != (0, 0)
        }


@pytest.mark.parametrize("by", LEVELS)
def test_the_bridge_adds_up_on_every_row(example: WorkedExample, by: str) -> None:
    bridge = example.bridge(by)

    assert (bridge["left"], bridge["right"], bridge["by"], bridge["as_of"]) == (
        "official", "operational", by, AS_OF)
    assert bridge["rows"]
    for r in [*bridge["rows"], bridge["totals"]]:
        left, right, delta = figure(r["left"]), figure(r["right"]), figure(r["delta"])
        explained = tuple(sum(x) for x in zip(*reasons(r).values(), strict=True)) or (0, 0)
        assert delta == (left[0] - right[0], left[1] - right[1])
        assert explained == delta, r
        assert "unexplained" not in reasons(r)


def test_the_example_imports_once(example: WorkedExample, tmp_path: Path) -> None:
    again = example.cli.json("import", write_jsonl(tmp_path / "again.jsonl", worked_example()))

    assert again["already_recorded"] == again["total"] == 28
    assert cells(example.cli.json("views", "show", "--rulebook", "official", "--as-of", AS_OF)) == \
        cells(example.view("official"))
