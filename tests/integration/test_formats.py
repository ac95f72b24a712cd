"""Importing the formats people already use: HXL-tagged CSV/XLSX and KoboToolbox exports give
the same facts as the equivalent JSONL; bad rows are rejected one by one, in the input's format."""

from __future__ import annotations

import csv
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from openpyxl import Workbook, load_workbook

from ledger.errors import InvalidFactError
from ledger.importing import ImportReport, import_file
from ledger.kobo import builtin_mapping_path, load_mapping
from ledger.store.reading import all_facts
from ledger.store.settings import StoreSettings
from ledger.workspace import Workspace
from tests.conftest import init_store

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "formats"


@pytest.fixture
def workspace(store_settings: StoreSettings) -> Iterator[Workspace]:
    init_store(store_settings)
    ws = Workspace(store_settings)
    yield ws
    ws.close()


@pytest.fixture
def other_workspace(tmp_path: Path) -> Iterator[Workspace]:
    settings = StoreSettings.from_url(f"sqlite:///{tmp_path / 'reference.db'}")
    init_store(settings)
    ws = Workspace(settings)
    yield ws
    ws.close()


def load(ws: Workspace, path: Path, **options: Any) -> ImportReport:
    report = import_file(ws.record_many, path, **options)
    assert report.total == report.recorded + report.already_recorded + report.rejected
    return report


def stored(ws: Workspace) -> list[tuple[Any, ...]]:
    """What the ledger holds, without its own clock and positions."""
    with ws.db.cursor() as cur:
        return sorted((f.source_id, f.type, f.effective_on, f.recorded_by, f.source_document,
                       orjson.dumps(f.data, option=orjson.OPT_SORT_KEYS))
                      for f in all_facts(cur, ws.db))


def as_xlsx(source: Path, target: Path, delimiter: str = ",") -> Path:
    """The same rows in a workbook, numbers as numbers (as a spreadsheet would hold them)."""
    workbook = Workbook()
    sheet = workbook.active
    with source.open(newline="", encoding="utf-8") as handle:
        for row in csv.reader(handle, delimiter=delimiter):
            sheet.append([int(c) if c.isdigit() and len(c) < 9 else (c or None) for c in row])
    workbook.save(target)
    return target


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_hxl_tagged_files_give_the_same_facts_as_jsonl(workspace: Workspace,
                                                       other_workspace: Workspace,
                                                       tmp_path: Path, suffix: str) -> None:
    for ws in (workspace, other_workspace):
        assert load(ws, FIXTURES / "sites.jsonl").recorded == 2
    load(other_workspace, FIXTURES / "registrations.jsonl")
    load(other_workspace, FIXTURES / "movements.jsonl")
    registrations = FIXTURES / "registrations.hxl.csv"
    movements = FIXTURES / "movements.hxl.csv"
    if suffix == ".xlsx":
        registrations = as_xlsx(registrations, tmp_path / "registrations.xlsx")
        movements = as_xlsx(movements, tmp_path / "movements.xlsx")
    # one fact type for the whole file, then a file with a #meta+type column
    assert load(workspace, registrations, fact_type="household_registered").recorded == 4
    assert load(workspace, movements).recorded == 8
    assert stored(workspace) == stored(other_workspace)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_kobo_exports_give_the_same_facts_as_jsonl(workspace: Workspace, other_workspace: Workspace,
                                                   tmp_path: Path, suffix: str) -> None:
    for ws in (workspace, other_workspace):
        load(ws, FIXTURES / "sites.jsonl")
    load(other_workspace, FIXTURES / "kobo_registration.expected.jsonl")
    load(other_workspace, FIXTURES / "kobo_departure.expected.jsonl")
    registration = FIXTURES / "kobo_registration.csv"
    departure = FIXTURES / "kobo_departure.csv"
    if suffix == ".xlsx":
        registration = as_xlsx(registration, tmp_path / "registration.xlsx", ";")
        departure = as_xlsx(departure, tmp_path / "departure.xlsx", ";")
    report = load(workspace, registration, kobo=load_mapping(builtin_mapping_path("registration")))
    assert report.recorded == 2
    report = load(workspace, departure, kobo=load_mapping(builtin_mapping_path("departure")))
    assert report.recorded == 2
    assert stored(workspace) == stored(other_workspace)


def test_kobo_xlsx_repeat_group_sheet_is_summarised_as_member_counts(workspace: Workspace,
                                                                     tmp_path: Path) -> None:
    load(workspace, FIXTURES / "sites.jsonl")
    workbook = Workbook()
    main = workbook.active
    main.title = "CCCM registration"
    main.append(["location/camp", "household/household_id", "household/registration_ref",
                 "_uuid", "_submission_time", "_index"])
    main.append(["chamishku", "R1", "CCCM-R1", "9a1c2a1e-0000-4c2e-9f0b-000000000001",
                 "2026-02-03T08:00:00", 1])
    roster = workbook.create_sheet("member_roster")
    roster.append(["household/member_roster/sex", "_parent_index"])
    for sex in ("female", "female", "male", "female"):
        roster.append([sex, 1])
    path = tmp_path / "kobo.xlsx"
    workbook.save(path)
    report = load(workspace, path, kobo=load_mapping(builtin_mapping_path("registration")))
    assert report.recorded == 1, report.first_rejections
    with workspace.db.cursor() as cur:
        (fact,) = [f for f in all_facts(cur, workspace.db) if f.type == "household_registered"]
    assert (fact.data["members"], fact.data["female"], fact.data["male"]) == (4, 3, 1)


def test_bad_hxl_rows_are_rejected_with_reasons_in_a_csv_with_the_same_tag_row(
        workspace: Workspace, tmp_path: Path) -> None:
    load(workspace, FIXTURES / "sites.jsonl")
    source = shutil.copy(FIXTURES / "bad_registrations.hxl.csv", tmp_path / "bad.csv")
    report = load(workspace, Path(source), fact_type="household_registered")
    assert (report.total, report.recorded, report.rejected) == (5, 1, 4)
    with open(tmp_path / "bad.rejects.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[0][:3] == ["_line", "_error", "Household"]
    assert rows[1][:3] == ["", "", "#beneficiary+hh+id"]
    errors = {int(r[0]): r[1] for r in rows[2:]}
    assert "field 'members': Input should be less than or equal to 60" in errors[4]
    assert "unknown site 'NOWHERE'" in errors[5]
    assert "in the future" in errors[6]
    assert "field 'registry'" in errors[7]
    # the rejects file, once corrected, imports as it is (the _line/_error columns are ignored)
    fixed = tmp_path / "fixed.csv"
    with fixed.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerows(rows[:2])
        writer.writerow(["4", "", "B2", "operational", "CCCM-B2", "CHAMISHKU", "7", "2015-01-10",
                         "fx-bad-B2"])
    assert load(workspace, fixed, fact_type="household_registered").recorded == 1


def test_bad_xlsx_rows_are_rejected_into_an_xlsx(workspace: Workspace, tmp_path: Path) -> None:
    load(workspace, FIXTURES / "sites.jsonl")
    source = as_xlsx(FIXTURES / "bad_registrations.hxl.csv", tmp_path / "bad.xlsx")
    report = load(workspace, source, fact_type="household_registered")
    assert (report.recorded, report.rejected) == (1, 4)
    sheet = load_workbook(tmp_path / "bad.rejects.xlsx").active
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert rows[1][2] == "#beneficiary+hh+id"
    assert [r[0] for r in rows[2:]] == [4, 5, 6, 7]


def test_bad_kobo_rows_are_rejected_into_a_semicolon_csv(workspace: Workspace, tmp_path: Path) -> None:
    load(workspace, FIXTURES / "sites.jsonl")
    source = Path(shutil.copy(FIXTURES / "bad_kobo_registration.csv", tmp_path / "kobo.csv"))
    report = load(workspace, source, kobo=load_mapping(builtin_mapping_path("registration")))
    assert (report.total, report.recorded, report.rejected) == (4, 1, 3)
    with open(tmp_path / "kobo.rejects.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    assert rows[0][:3] == ["_line", "_error", "location/camp"]
    errors = {int(r[0]): r[1] for r in rows[1:]}
    assert "field 'members'" in errors[3]
    assert "unknown site 'zakho_town'" in errors[4]
    assert "field 'household_id'" in errors[5]


def test_a_kobo_export_without_a_form_is_named_not_misread(workspace: Workspace) -> None:
    with pytest.raises(InvalidFactError, match="KoboToolbox export"):
        load(workspace, FIXTURES / "kobo_registration.csv")


def test_a_mapping_naming_a_missing_required_column_says_which(workspace: Workspace,
                                                               tmp_path: Path) -> None:
    mapping = tmp_path / "mine.toml"
    mapping.write_text('fact_type = "household_departed"\n[fields]\nsource_id = "_uuid"\n'
                       'household_id = "hh/the_id"\n', encoding="utf-8")
    with pytest.raises(InvalidFactError, match="no column 'hh/the_id'"):
        load(workspace, FIXTURES / "kobo_departure.csv", kobo=load_mapping(mapping))


def test_a_file_without_type_names_the_missing_type_once(workspace: Workspace) -> None:
    with pytest.raises(InvalidFactError, match="no `type` column"):
        load(workspace, FIXTURES / "registrations.hxl.csv")
    assert stored(workspace) == []


def test_command_line_reads_a_kobo_export_with_its_form(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    ledger = str(Path(sys.executable).parent / "ledger")
    env = {**os.environ, "LEDGER_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([ledger, *args], env=env, capture_output=True, text=True,
                              check=False)

    assert run("init").returncode == 0
    assert run("import", str(FIXTURES / "sites.jsonl")).returncode == 0
    done = run("import", str(FIXTURES / "kobo_registration.csv"), "--kobo-form", "registration",
               "--json")
    assert done.returncode == 0, done.stderr
    assert orjson.loads(done.stdout)["recorded"] == 2
    refused = run("import", str(FIXTURES / "kobo_departure.csv"))
    assert refused.returncode == 1
    assert "--kobo-form" in refused.stderr
    bad = run("import", str(FIXTURES / "kobo_departure.csv"), "--kobo-form", "exit")
    assert bad.returncode == 2
