"""Every figure and every reason right through the `ledger` command (issue 9), on both stores."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from ledger.demo import worked_example
from tests.e2e.conftest import Cli, assert_no_traceback, write_jsonl
from tests.factdicts import departure, reentry, registration, site, voided

AS_OF = ["--as-of", "2026-05-01"]


def reasons_of(row: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {r["reason"]: (r["households"], r["individuals"]) for r in row["reasons"]}


def rows_by_place(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(row["status"], row["place"]): row for row in document["rows"]}


def test_back_in_the_same_camp_run_by_another_governorate_differs_only_by_site_attribution(
        cli: Cli, tmp_path: Path) -> None:
    # ESYAN is in Ninewa (IQG15) and run by Duhok's authority (IQG09).
    cli.ok("import", write_jsonl(tmp_path / "h.jsonl", [
        site("ESYAN"),
        registration("H1", registry="official", site_id="ESYAN"),
        registration("H1", registry="operational", site_id="ESYAN"),
        departure("H1", from_site_id="ESYAN"),  # no letter: only the operational view moves it
        reentry("H1", site_id="ESYAN"),  # back in the same camp: only the operational view counts it
    ]))

    by_adm1 = rows_by_place(cli.json("reconcile", "--by", "adm1", *AS_OF))

    assert reasons_of(by_adm1[("idp_in_camp", "IQG09")]) == {"site_attribution": (1, 6)}
    assert reasons_of(by_adm1[("idp_in_camp", "IQG15")]) == {"site_attribution": (-1, -6)}
    by_cell = cli.json("reconcile", *AS_OF)
    assert [reasons_of(row) for row in by_cell["rows"]] == [{}]


# ---- one sign convention: left − right everywhere (item 7) --------------------------------
def waterfall_data(page: str, div_id: str) -> dict[str, Any]:
    """The first trace plotly draws in ``div_id``, decoded from the page's script."""
    start = page.index(f'"{div_id}",', page.index("Plotly.newPlot")) + len(div_id) + 3
    traces, _ = json.JSONDecoder().raw_decode(page[start:].lstrip())
    return dict(traces[0])


def test_every_surface_gives_the_reasons_as_left_minus_right(cli: Cli, tmp_path: Path) -> None:
    cli.ok("import", write_jsonl(tmp_path / "example.jsonl", worked_example()))
    document = cli.json("reconcile", "--by", "national", *AS_OF)
    expected = {r["reason"]: (r["households"], r["individuals"])
                for r in document["totals"]["reasons"]}
    # H2 counted by official only (displaced in 2007), H4 by operational only.
    assert expected["pre_cutoff_displacement"] == (1, 5)
    assert expected["only_operational_registry"] == (-1, -4)

    terminal = cli.ok("reconcile", "--by", "national", *AS_OF).stdout
    assert re.search(r"\+1 / \+5\s+pre_cutoff_displacement", terminal)
    assert re.search(r"-1 / -4\s+only_operational_registry", terminal)
    cli.ok("export", "reconcile", "--by", "national", *AS_OF, "--output", tmp_path / "b.xlsx")
    sheet = load_workbook(tmp_path / "b.xlsx")["totals"]
    rows = [row for row in sheet.iter_rows(values_only=True) if row[0] and row[1] is not None]
    body = [row for row in rows if isinstance(row[1], int)]
    assert {r[0]: (r[1], r[2]) for r in body[1:-1]} == expected
    left, right = body[0], body[-1]
    assert left[2] - sum(r[2] for r in body[1:-1]) == right[2]

    done = cli.json("report", "--html", tmp_path / "r.html", "--place", "CHAMISHKU", *AS_OF)
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    trace = waterfall_data(page, "chart-0")  # the individuals waterfall
    contributions = dict(zip(trace["x"][1:-1], trace["customdata"][1:-1], strict=True))
    # reasons that move no individual are not drawn (the report as a slide, issue 10 item 9)
    assert contributions == {f"− {k.replace('_', ' ')}": v[1] for k, v in expected.items() if v[1]}
    assert trace["y"][1:-1] == [-v for v in trace["customdata"][1:-1]]
    assert trace["text"][1:-1] == [f"{v:+,}" for v in trace["customdata"][1:-1]]

    # The page also carries one camp's bridge (item 9), with the same sign.
    camp = done["place_bridge"]
    assert {row["place"] for row in camp["rows"]} == {"CHAMISHKU"}
    assert camp["totals"]["delta"] == {"households": 0, "individuals": 2}
    section = page[page.index("id='place-bridge'"):]
    assert "Bridge for Chamishku camp (CHAMISHKU)" in section
    assert "− departure without letter" in section


# ---- unknown places are errors, empty places say so (item 8) -------------------------------
def with_khanke(cli: Cli, tmp_path: Path) -> None:
    cli.ok("import", write_jsonl(tmp_path / "example.jsonl", [
        *worked_example(),
        site("KHANKE", name="Khanke camp", location_pcode="IQG09Q03N01"),  # nobody lives there
    ]))


def test_an_unknown_place_is_an_error_and_an_empty_known_one_a_zero_that_says_so(
        cli: Cli, tmp_path: Path) -> None:
    with_khanke(cli, tmp_path)
    official_camp = ["--rulebook", "official", "--status", "idp_in_camp", "--place", "KHANKEE"]
    for args in (
        ["views", "show", "--rulebook", "official", "--place", "KHANKEE"],
        ["audit", "count", *official_camp, *AS_OF],
        ["audit", "diff", *official_camp, *AS_OF, "--known-at", "2026-01-01T00:00:00+00:00"],
        ["reconcile", "--place", "KHANKEE"],
        ["export", "audit", "count", *official_camp, "--output", str(tmp_path / "c.csv")],
        ["report", "--html", str(tmp_path / "r.html"), "--place", "KHANKEE"],
    ):
        result = cli(*args)
        assert result.code == 1, (args, result.stderr)
        assert "unknown place 'KHANKEE'" in result.stderr
        assert "closest known: KHANKE" in result.stderr
        assert_no_traceback(result)
    assert "IQG09Q04" in cli("views", "show", "--rulebook", "official", "--place",
                             "IQG09Q4").stderr

    # A known place where nobody is counted is a zero that says so.
    shown = cli.json("views", "show", "--rulebook", "official", "--place", "KHANKE", *AS_OF)
    assert shown["total"] == {"households": 0, "individuals": 0}
    assert shown["nobody_counted_at"] == ["KHANKE"]
    text = cli.ok("views", "show", "--rulebook", "official", "--place", "KHANKE", *AS_OF).stdout
    assert "Nobody is counted at KHANKE" in text
    coarse = cli("views", "show", "--rulebook", "official", "--by", "adm1", "--place", "KHANKE")
    assert coarse.code == 2  # a camp is no row of a governorate view: not a false zero
    counted = cli.json("views", "show", "--rulebook", "official", "--place", "CHAMISHKU", *AS_OF)
    assert counted["nobody_counted_at"] == []
    assert counted["total"] == {"households": 3, "individuals": 20}


# ---- reconcile one place (item 9), lineage with causes (item 6) ----------------------------
def test_one_camps_bridge_and_the_cause_of_each_household_in_it(cli: Cli, tmp_path: Path) -> None:
    cli.ok("import", write_jsonl(tmp_path / "example.jsonl", worked_example()))
    camp = cli.json("reconcile", "--place", "CHAMISHKU", *AS_OF)
    assert camp["place"] == "CHAMISHKU"
    assert {row["place"] for row in camp["rows"]} == {"CHAMISHKU"}
    assert camp["totals"]["left"] == {"households": 3, "individuals": 20}
    assert camp["totals"]["delta"] == {"households": 0, "individuals": 2}
    assert {r["reason"]: (r["households"], r["individuals"])
            for r in camp["totals"]["reasons"]} == {
        "only_operational_registry": (-1, -4), "pre_cutoff_displacement": (1, 5),
        "reentry_not_registered": (-1, -6), "departure_without_letter": (1, 9),
        "composition_differs": (0, -2)}

    ninewa = cli.json("reconcile", "--by", "adm1", "--place", "IQG15", *AS_OF)
    assert {row["place"] for row in ninewa["rows"]} == {"IQG15"}
    zakho = cli.json("reconcile", "--place", "IQG09Q04", *AS_OF)
    assert {row["place"] for row in zakho["rows"]} == {"CHAMISHKU"}
    wrong = cli("reconcile", "--by", "adm1", "--place", "CHAMISHKU")
    assert wrong.code == 2
    assert "by cell" in wrong.stderr

    # audit count: each household's cause and what this rulebook did not apply (item 6).
    at_camp = ["--status", "idp_in_camp", "--place", "CHAMISHKU", *AS_OF]
    official = {r["household_id"]: r for r in
                cli.json("audit", "count", "--rulebook", "official", *at_camp)["rows"]}

    h3 = official["H3"]
    assert h3["facts"]  # the existing keys stay
    assert h3["cause"]["type"] == "household_registered"
    assert h3["cause"]["details"]["registry"] == "official"
    skipped = [f for f in h3["not_applied"] if f["type"] == "household_departed"]
    assert len(skipped) == 1
    assert skipped[0]["applied_by"] == ["operational"]
    assert skipped[0]["why"].startswith("no letter")
    [other] = h3["other_rulebooks"]
    assert (other["rulebook"], other["status"], other["place"], other["reason"]) == (
        "operational", "returnee", "IQG15Q07", "departure_without_letter")
    [h2_other] = official["H2"]["other_rulebooks"]
    assert "before the caseload start" in h2_other["why"]
    assert h2_other["reason"] == "pre_cutoff_displacement"

    operational = {r["household_id"]: r for r in
                   cli.json("audit", "count", "--rulebook", "operational", *at_camp)["rows"]}
    assert operational["H1"]["cause"]["type"] == "household_reentered"
    assert "re-entered CHAMISHKU" in operational["H1"]["cause"]["why"]
    assert operational["H1"]["other_rulebooks"][0]["reason"] == "reentry_not_registered"
    text = cli.ok("audit", "count", "--rulebook", "official", *at_camp).stdout
    assert "no letter" in text


# ---- sites bitemporal everywhere (item 3) ------------------------------------------------------
def official_adm1(cli: Cli, *known_at: str) -> dict[str, tuple[int, int]]:
    shown = cli.json("views", "show", "--rulebook", "official", "--by", "adm1", *AS_OF, *known_at)
    return {r["place"]: (r["households"], r["individuals"]) for r in shown["rows"]
            if r["status"] == "idp_in_camp"}


def reconciled_left(cli: Cli, *known_at: str) -> dict[str, tuple[int, int]]:
    bridge = cli.json("reconcile", "--by", "adm1", *AS_OF, *known_at)
    return {r["place"]: (r["left"]["households"], r["left"]["individuals"])
            for r in bridge["rows"] if r["status"] == "idp_in_camp" and r["left"]["households"]}


def published(values: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    return {v["place"]: (v["households"], v["individuals"]) for v in values
            if v["status"] == "idp_in_camp"}


def test_a_camp_re_registered_under_another_authority_moves_at_the_same_k_everywhere(
        cli: Cli, tmp_path: Path) -> None:
    cli.ok("import", write_jsonl(tmp_path / "example.jsonl", [
        *worked_example(),
        registration("H8", registry="official", site_id="ESYAN"),
        registration("H8", registry="operational", site_id="ESYAN"),
    ]))
    before = {"IQG09": (4, 26)}  # CHAMISHKU's 3 / 20 and ESYAN's H8, run by Duhok
    figure = cli.json("publish", "--rulebook", "official", "--by", "adm1", *AS_OF)
    then = ["--known-at", cli.json("views", "show", "--rulebook", "official")["known_at"]]
    # ESYAN was registered wrongly: it is run by Erbil's authority (IQG11).
    cli.ok("import", write_jsonl(tmp_path / "fix.jsonl", [
        voided("demo-site-esyan", source_id="void-esyan"),
        site("ESYAN", source_id="esyan-again", effective_on="2014-09-01",
             authority_adm1="IQG11"),
    ]))
    after = {"IQG09": (3, 20), "IQG11": (1, 6)}

    assert official_adm1(cli, *then) == before
    assert reconciled_left(cli, *then) == before
    assert published(figure["values"]) == before
    audit = cli.json("audit", "figure", figure["figure_id"])
    assert audit["still_matches"] is True
    assert {c["place"]: (c["known_now"]["households"], c["known_now"]["individuals"])
            for c in audit["cells"] if c["status"] == "idp_in_camp" and c["known_now"]["households"]
            } == after

    assert official_adm1(cli) == after
    assert reconciled_left(cli) == after
    again = cli.json("publish", "--rulebook", "official", "--by", "adm1", *AS_OF)
    assert published(again["values"]) == after
