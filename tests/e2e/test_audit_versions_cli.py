"""ISSUE 9 item 4: `audit count` and `audit diff` count with the rulebook version known at
--known-at, as `views show` does (docs/rulebooks.md): an older version by the pure fold, the
current one from the views; a version recorded in between two known-at times is one of the
changes `audit diff` lists, so the change still adds up.

iris v1 keeps returned households displaced (H6 idp_out_of_camp at IQG15Q02, H3 at IQG15Q07);
v2 lets a return end displacement, so under v2 they are returnees there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ledger.demo import worked_example
from tests.e2e.conftest import Cli, write_jsonl
from tests.e2e.test_rulebook_versions_cli import AS_OF, IRIS, iris_v2
from tests.factdicts import composition

OUT_OF_CAMP = ["--rulebook", "iris", "--status", "idp_out_of_camp", "--place", "IQG15Q02",
               "--as-of", AS_OF]
RETURNEE = ["--rulebook", "iris", "--status", "returnee", "--place", "IQG15Q02", "--as-of", AS_OF]


@pytest.fixture
def versions(cli: Cli, tmp_path: Path) -> dict[str, str]:
    """iris v1 added, a figure published under it (K1), a late fact, then iris v2 (K2)."""
    cli.ok("import", write_jsonl(tmp_path / "example.jsonl", worked_example()))
    cli.ok("rulebooks", "add", IRIS)
    k1 = cli.json("publish", "--rulebook", "iris", "--as-of", AS_OF)["known_at"]
    cli.ok("import", write_jsonl(tmp_path / "late.jsonl", [
        composition("H1", source_id="H1-births", registry="operational", members=9)]))
    cli.ok("rulebooks", "add", iris_v2(tmp_path), "--new-version")
    k2 = cli.json("rulebooks", "show", "iris")["known_from"]
    return {"k1": k1, "k2": k2}


def cell_of(view: dict[str, Any], status: str, place: str) -> dict[str, int]:
    found = [r for r in view["rows"] if (r["status"], r["place"]) == (status, place)]
    return ({"households": found[0]["households"], "individuals": found[0]["individuals"]}
            if found else {"households": 0, "individuals": 0})


def test_audit_count_before_v2_counts_with_v1_and_after_with_v2(
        cli: Cli, versions: dict[str, str]) -> None:
    then = cli("audit", "count", *OUT_OF_CAMP, "--known-at", versions["k1"], "--json")
    shown_then = cli.json("views", "show", "--rulebook", "iris", "--as-of", AS_OF,
                          "--known-at", versions["k1"])
    now_out = cli.json("audit", "count", *OUT_OF_CAMP)
    now_returnee = cli.json("audit", "count", *RETURNEE)
    shown_now = cli.json("views", "show", "--rulebook", "iris", "--as-of", AS_OF)

    assert then.code == 0, then.stderr
    assert "counts with version" not in then.stderr
    count = then.json()
    assert count["rulebook_version"] == 1
    assert shown_then["rulebook_version"] == 1
    assert count["figure"] == cell_of(shown_then, "idp_out_of_camp", "IQG15Q02") == {
        "households": 1, "individuals": 5}
    assert [r["household_id"] for r in count["rows"]] == ["H6"]
    row = count["rows"][0]
    assert row["cause"]["type"] == "household_departed"
    assert row["facts"]
    assert {o["rulebook"]: o["status"] for o in row["other_rulebooks"]} == {
        "official": "returnee", "operational": "returnee"}
    assert "not_applied" in row

    assert (now_out["rulebook_version"], now_returnee["rulebook_version"]) == (2, 2)
    assert now_out["figure"] == {"households": 0, "individuals": 0}
    assert now_returnee["figure"] == cell_of(shown_now, "returnee", "IQG15Q02") == {
        "households": 1, "individuals": 5}
    assert now_returnee["rows"][0]["cause"]["type"] == "household_departed"


def test_audit_count_by_governorate_under_an_older_version_adds_up_to_views_show(
        cli: Cli, versions: dict[str, str]) -> None:
    then = ["--as-of", AS_OF, "--known-at", versions["k1"], "--by", "adm1"]
    count = cli.json("audit", "count", "--rulebook", "iris", "--status", "idp_out_of_camp",
                     "--place", "IQG15", *then)
    shown = cli.json("views", "show", "--rulebook", "iris", *then)

    assert count["rulebook_version"] == 1
    assert count["figure"] == cell_of(shown, "idp_out_of_camp", "IQG15") == {
        "households": 2, "individuals": 14}
    assert sum(r["individuals"] for r in count["rows"]) == count["figure"]["individuals"]
    assert sorted(r["household_id"] for r in count["rows"]) == ["H3", "H6"]


def test_audit_diff_across_a_new_version_lists_it_and_adds_up(
        cli: Cli, versions: dict[str, str]) -> None:
    out = cli.json("audit", "diff", *OUT_OF_CAMP, "--known-at", versions["k1"])
    back = cli.json("audit", "diff", *RETURNEE, "--known-at", versions["k1"])
    camp = cli.json("audit", "diff", "--rulebook", "iris", "--status", "idp_in_camp",
                    "--place", "IQG09Q04", "--by", "adm2", "--as-of", AS_OF,
                    "--known-at", versions["k1"])
    upto_v2 = cli.json("audit", "diff", *OUT_OF_CAMP, "--known-at", versions["k1"],
                       "--vs-known-at", versions["k2"])
    after_v2 = cli.json("audit", "diff", *OUT_OF_CAMP, "--known-at", versions["k2"])
    people = cli.ok("audit", "diff", *RETURNEE, "--known-at", versions["k1"])

    assert out["versions"] == back["versions"] == {"known_at": 1, "vs_known_at": 2}
    assert (out["before"], out["after"]) == ({"households": 1, "individuals": 5},
                                             {"households": 0, "individuals": 0})
    assert [(r["type"], r["households"], r["individuals"]) for r in out["rows"]] == [
        ("rulebook_defined", -1, -5)]
    assert out["adds_up"] is True
    assert out["change"] == out["explained"]
    assert back["change"] == back["explained"] == {"households": 1, "individuals": 5}
    assert back["adds_up"] is True
    # a household fact before the new version, counted with v1; the version changes nothing here
    assert [(r["source_id"], r["households"]) for r in camp["rows"]] == [("H1-births", 0)]
    assert camp["adds_up"] is True
    assert upto_v2["versions"] == {"known_at": 1, "vs_known_at": 2}  # v2 is known from K2 on
    assert upto_v2["rows"] == out["rows"]
    assert after_v2["versions"] == {"known_at": 2, "vs_known_at": 2}
    assert after_v2["change"] == {"households": 0, "individuals": 0}
    assert after_v2["rows"] == []
    assert "iris v1" in people.stdout
    assert "iris v2" in people.stdout
    assert "adds up exactly" in people.stdout
