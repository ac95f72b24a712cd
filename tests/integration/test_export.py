"""Exports read back to the same numbers: views and bridges as CSV + HXL and as XLSX, audit trails
with every fact of a household."""

from __future__ import annotations

import csv
import datetime as dt
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from openpyxl import load_workbook

from ledger.catalogue import parse_fact
from ledger.demo import worked_example
from ledger.store.settings import StoreSettings
from ledger.workspace import Workspace
from projections.export import (
    bridge_export,
    household_export,
    ledger_digest,
    view_export,
    write_export,
)
from projections.queries import reconcile, show
from tests.conftest import init_store

AS_OF = dt.date(2026, 5, 1)


@pytest.fixture
def workspace(store_settings: StoreSettings) -> Iterator[Workspace]:
    init_store(store_settings)
    ws = Workspace(store_settings)
    outcomes = list(ws.record_many(parse_fact(f) for f in worked_example()))
    assert all(o.status == "recorded" for o in outcomes)
    yield ws
    ws.close()


def read_back(path: Path, sheet: str | None = None) -> tuple[list[str], list[dict[str, Any]]]:
    """(hashtags, rows as dicts) of an exported table, numbers as numbers."""
    if path.suffix == ".csv":
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    else:
        workbook = load_workbook(path, read_only=True)
        rows = [["" if v is None else v for v in r]
                for r in workbook[sheet or workbook.sheetnames[0]].iter_rows(values_only=True)]
        workbook.close()
    header, tags, *data = rows
    return [str(t) for t in tags], [
        {k: _plain(v) for k, v in zip(header, row, strict=True)} for row in data]


def _plain(value: Any) -> Any:
    """A cell as the CSV spells it: numbers as numbers, XLSX dates and times in ISO 8601."""
    if isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    if isinstance(value, dt.datetime):
        return value.isoformat() if value.time() != dt.time() else value.date().isoformat()
    return value


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("level", ["cell", "adm1"])
def test_an_exported_view_reads_back_to_the_same_numbers(workspace: Workspace, tmp_path: Path,
                                                        fmt: str, level: str) -> None:
    result = show(workspace.views, "official", as_of=AS_OF, level=level)  # type: ignore[arg-type]
    export = view_export(result, workspace.views.sites(), workspace.views.rulebook("official"),
                         ledger_digest(workspace.db))
    path = tmp_path / f"view.{fmt}"
    write_export(export, path, fmt)
    tags, rows = read_back(path)
    places = {"cell": ["#loc+code", "#loc+name", "#adm2+code", "#adm2+name", "#adm1+code",
                       "#adm1+name"], "adm1": ["#adm1+code", "#adm1+name"]}[level]
    assert tags[3:] == ["#status", *places, "#affected+hh", "#affected+ind"]
    assert [(r["status"], r["place"], r["households"], r["individuals"]) for r in rows] == [
        (r.status, r.place, r.households, r.individuals) for r in result.rows]
    assert {r["rulebook"] for r in rows} == {"official"}
    assert {r["as_of"] for r in rows} == {"2026-05-01"}
    if fmt == "xlsx":
        about = dict(load_workbook(path)["about"].iter_rows(min_row=3, values_only=True))
        assert about["as_of"] == "2026-05-01"
        assert about["ledger_digest"] == ledger_digest(workspace.db)
        assert "rulebook official" in about
        assert about["known_at"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_an_exported_bridge_reads_back_and_still_adds_up(workspace: Workspace, tmp_path: Path,
                                                         fmt: str) -> None:
    bridge = reconcile(workspace.views, as_of=AS_OF)
    books = [workspace.views.rulebook("official"), workspace.views.rulebook("operational")]
    path = tmp_path / f"bridge.{fmt}"
    written = write_export(bridge_export(bridge, workspace.views.sites(), books, None), path, fmt)
    tags, rows = read_back(path)
    assert "#affected+ind+delta" in tags
    assert "#affected+hh+reentry_not_registered" in tags
    by_cell = {(r["status"], r["place"]): r for r in rows}
    assert len(by_cell) == len(bridge.rows)
    for row in bridge.rows:
        got = by_cell[(row.status, row.place)]
        assert (got["left_households"], got["left_individuals"]) == (row.left.households,
                                                                     row.left.individuals)
        assert (got["delta_households"], got["delta_individuals"]) == (row.delta.households,
                                                                       row.delta.individuals)
        for unit in ("households", "individuals"):
            explained = sum(v for k, v in got.items() if k.endswith(f"_{unit}")
                            and k.split(f"_{unit}")[0] not in ("left", "right", "delta"))
            assert explained == got[f"delta_{unit}"]
    chamishku = by_cell[("idp_in_camp", "CHAMISHKU")]  # SPEC §6: 0 / +2 = H2 + H3 + H1 + H4 + H5
    assert (chamishku["delta_households"], chamishku["delta_individuals"]) == (0, 2)
    if fmt == "csv":  # the other tables beside the main one
        assert [p.name for p in written] == ["bridge.csv", "bridge.reasons.csv", "bridge.totals.csv"]
        _, totals = read_back(tmp_path / "bridge.totals.csv")
    else:
        assert load_workbook(path).sheetnames == ["bridge", "reasons", "totals", "about"]
        _, totals = read_back(path, "totals")
    assert [totals[0]["reason"], totals[-1]["reason"]] == ["official", "operational"]
    assert totals[0]["individuals"] - sum(r["individuals"] for r in totals[1:-1]) \
        == totals[-1]["individuals"]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_household_audit_trail_exports_every_fact_and_its_status_over_time(
        workspace: Workspace, tmp_path: Path, fmt: str) -> None:
    books = list(workspace.views.rulebooks().values())
    export = household_export(workspace.db, "H1", books, workspace.views.sites(), None, None)
    path = tmp_path / f"h1.{fmt}"
    write_export(export, path, fmt)
    _, facts = read_back(path)
    assert [f["type"] for f in facts] == ["household_registered", "household_registered",
                                          "household_manifested", "household_departed",
                                          "household_reentered"]
    assert all(f["recorded_at"] and f["source_id"].startswith("demo-") for f in facts)
    status = read_back(tmp_path / "h1.status.csv")[1] if fmt == "csv" else read_back(path, "status")[1]
    official = [(s["status"], s["place"]) for s in status if s["rulebook"] == "official"]
    operational = [(s["status"], s["place"]) for s in status if s["rulebook"] == "operational"]
    assert official[-1] == ("returnee", "IQG15Q07")
    assert operational[-2:] == [("returnee", "IQG15Q07"), ("idp_in_camp", "CHAMISHKU")]


def test_export_commands_write_the_files_they_report(tmp_path: Path) -> None:
    ledger = str(Path(sys.executable).parent / "ledger")
    env = {**os.environ, "LEDGER_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}

    def run(*args: str) -> dict[str, Any]:
        done = subprocess.run([ledger, *args, "--json"], env=env, capture_output=True, text=True,
                              check=False, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        return dict(orjson.loads(done.stdout))

    settings = StoreSettings.from_url(env["LEDGER_DATABASE_URL"])
    init_store(settings)
    with Workspace(settings) as ws:
        list(ws.record_many(parse_fact(f) for f in worked_example()))
    run("export", "view", "--rulebook", "operational", "--as-of", "2026-05-01", "--by", "adm1",
        "--output", str(tmp_path / "v.xlsx"))
    done = run("export", "reconcile", "--as-of", "2026-05-01", "--output", str(tmp_path / "b.csv"))
    assert done["files"][0].endswith("b.csv")
    assert done["tables"]["bridge"] > 0
    done = run("export", "audit", "household", "H7", "--format", "csv", "--output",
               str(tmp_path / "h7.csv"))
    assert done["tables"]["facts"] == 4
    done = run("export", "audit", "count", "--rulebook", "official", "--status", "idp_in_camp",
               "--place", "CHAMISHKU", "--as-of", "2026-05-01", "--output", str(tmp_path / "c.xlsx"))
    assert done["tables"]["households"] == 3  # H2, H3, H5 (SPEC §6)
    _, households = read_back(tmp_path / "c.xlsx", "households")
    assert sorted(h["household_id"] for h in households) == ["H2", "H3", "H5"]
    assert sum(h["individuals"] for h in households) == 20
