"""ISSUE 9 item 5: a wrong published figure can be retracted, and then no longer breaks `verify`;
`publish` refuses an as-of after today unless --planning."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from ledger.catalogue import parse_fact
from ledger.demo import worked_example
from ledger.figures import publish_figure
from ledger.store.settings import StoreSettings
from ledger.workspace import Workspace
from projections.audit import load_figure
from tests.e2e.conftest import Cli, assert_no_traceback, write_jsonl


@pytest.fixture
def example(cli: Cli, tmp_path: Path) -> Cli:
    cli.ok("import", write_jsonl(tmp_path / "example.jsonl", worked_example()))
    return cli


def publish_wrong_figure(settings: StoreSettings) -> str:
    """A figure whose values are not what its rulebook gives (as an older release published
    0 / 0 at the end of time): the ledger records it like any other."""
    with Workspace(settings) as ws:
        figure_id, _, _ = publish_figure(ws, "official", "national", dt.date(2026, 5, 1), None,
                                         None)
        right = load_figure(ws.db, figure_id)
        ws.record(parse_fact({
            "type": "figure_published", "source_id": "FIG-TYPO", "effective_on": "2026-05-02",
            "figure_id": "FIG-TYPO", "rulebook": "official", "level": "national",
            "as_of": "2026-05-01", "known_at": right.known_at.isoformat(),
            "ledger_digest": right.ledger_digest, "head_position": right.head_position,
            "values": [{"status": "idp_in_camp", "place": "IRQ", "households": 0,
                        "individuals": 0}],
        }, internal=True))
    return "FIG-TYPO"


def test_a_retracted_figure_is_still_re_derived_but_verify_passes(
        example: Cli, store_settings: StoreSettings) -> None:
    wrong = publish_wrong_figure(store_settings)
    assert example("verify").code == 1

    retracted = example.json("figures", "retract", wrong, "--reason", "values typed by hand")
    result = example("verify", "--json")

    assert retracted["retracted"] is True
    assert result.code == 0, result.stdout
    document = result.json()
    assert document["ok"] is True
    assert document["figures_retracted"] == [wrong]
    check = next(f for f in document["figures"] if f["figure_id"] == wrong)
    assert check["retracted"] is True
    assert check["rederives"] is False  # still re-derived, and still reported as not matching
    assert check["retraction"]["reason"] == "values typed by hand"
    assert "retracted" in example.ok("verify").stdout
    assert example.json("audit", "figure", wrong)["retracted"] is True


def test_retracting_twice_or_an_unknown_figure_is_a_clear_error(sqlite_cli: Cli,
                                                                 tmp_path: Path) -> None:
    example = sqlite_cli
    example.ok("import", write_jsonl(tmp_path / "example.jsonl", worked_example()))
    figure_id = example.json("publish", "--rulebook", "official", "--as-of", "2026-05-01")["figure_id"]
    example.ok("figures", "retract", figure_id, "--reason", "wrong rulebook")

    again = example("figures", "retract", figure_id, "--reason", "wrong rulebook")
    unknown = example("figures", "retract", "FIG-NOPE", "--reason", "x")

    assert again.code == 1
    assert "already retracted" in again.stderr
    assert unknown.code == 1
    assert "no published figure has that id" in unknown.stderr
    assert_no_traceback(again)
    assert_no_traceback(unknown)
    listed = {f["figure_id"]: f["retracted"] for f in example.json("figures", "list")}
    assert listed == {figure_id: True}


def test_publish_refuses_a_future_as_of_unless_planning(sqlite_cli: Cli, tmp_path: Path) -> None:
    sqlite_cli.ok("import", write_jsonl(tmp_path / "example.jsonl", worked_example()))

    refused = sqlite_cli("publish", "--rulebook", "official", "--as-of", "9999-12-31")
    planned = sqlite_cli.json("publish", "--rulebook", "official", "--as-of", "9999-12-31",
                              "--by", "national", "--planning")

    assert refused.code == 2
    assert "--planning" in refused.stderr
    assert_no_traceback(refused)
    assert {(v["status"], v["households"], v["individuals"]) for v in planned["values"]} == {
        ("idp_in_camp", 3, 20), ("returnee", 3, 17)}
    assert sqlite_cli("verify").code == 0
