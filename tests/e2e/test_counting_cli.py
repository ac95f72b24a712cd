"""Every figure and every reason right through the `ledger` command (issue 9), on both stores."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from openpyxl import load_workbook

from ledger.demo import worked_example
from tests.e2e.conftest import Cli, write_jsonl
from tests.factdicts import departure, reentry, registration, site

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

    cli.ok("export", "reconcile", "--by", "national", *AS_OF, "--output", tmp_path / "b.xlsx")
    sheet = load_workbook(tmp_path / "b.xlsx")["totals"]
    rows = [row for row in sheet.iter_rows(values_only=True) if row[0] and row[1] is not None]
    body = [row for row in rows if isinstance(row[1], int)]
    assert {r[0]: (r[1], r[2]) for r in body[1:-1]} == expected
    left, right = body[0], body[-1]
    assert left[2] - sum(r[2] for r in body[1:-1]) == right[2]

    cli.ok("report", "--html", tmp_path / "r.html", *AS_OF)
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    trace = waterfall_data(page, "chart-0")  # the individuals waterfall
    contributions = dict(zip(trace["x"][1:-1], trace["customdata"][1:-1], strict=True))
    assert contributions == {f"− {k.replace('_', ' ')}": v[1] for k, v in expected.items()}
    assert trace["y"][1:-1] == [-v for v in trace["customdata"][1:-1]]
    assert trace["text"][1:-1] == [f"{v:+,}" for v in trace["customdata"][1:-1]]
