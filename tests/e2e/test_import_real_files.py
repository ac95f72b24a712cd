"""The files people already have, through the `ledger import` command on both stores: KoboToolbox
exports as Kobo writes them today (with an HXL row, `;`-separated CSV and XLSX) and in the legacy
layout (`n/a` in empty cells), HXL tables of counts, files with extra and personal columns, and
headers that cannot give facts (one message, nothing recorded)."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pytest
from openpyxl import Workbook

from ledger.columns import AGGREGATE_FIGURES
from ledger.store.settings import StoreSettings
from tests.e2e.conftest import Cli
from tests.inprocess import Ledger

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "formats"
KOBO_CURRENT = FIXTURES / "kobo_registration_hxl.csv"
PERSONAL_VALUES = ("Layla", "Khalil", "+964", "ليلى", "Nadia", "A12345678", "C11223344")
AGGREGATE_WORDS = AGGREGATE_FIGURES.split("(")[0].split("looks like ")[1].strip()


@pytest.fixture
def ledger(store_settings: StoreSettings) -> Ledger:
    run = Ledger(store_settings.url)
    run.ok("init")
    run.ok("import", FIXTURES / "sites.jsonl")
    return run


def vault_key(ledger: Ledger) -> dict[str, str]:
    """The environment of a store that keeps personal fields: a master key made by the command."""
    return {"LEDGER_VAULT_KEY": ledger.ok("vault", "new-key").stdout.strip(), "LEDGER_USER": "tester"}


def people(ledger: Ledger, household_id: str, env: dict[str, str]) -> dict[str, object]:
    ran = ledger("people", "show", household_id, "--purpose", "test", "--json", env=env)
    assert ran.code == 0, ran.stderr
    (record,) = ran.json()["records"]
    return dict(record["fields"])


def details(ledger: Ledger, household_id: str) -> dict[str, object]:
    (fact,) = ledger.ok("audit", "household", household_id, "--json").json()["facts"]
    return {**fact["details"], "source_document": fact["source_document"]}


def recorded_households(ledger: Ledger, *ids: str) -> list[str]:
    return [h for h in ids if ledger("audit", "household", h, "--json").code == 0]


def kobo_rows(path: Path, *, hxl_row: bool) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    return rows if hxl_row else [rows[0], *rows[2:]]


def kobo_csv(tmp_path: Path, *, hxl_row: bool) -> Path:
    if hxl_row:
        return Path(shutil.copy(KOBO_CURRENT, tmp_path / "registration.csv"))
    target = tmp_path / "registration.csv"
    with target.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle, delimiter=";", quoting=csv.QUOTE_ALL).writerows(
            kobo_rows(KOBO_CURRENT, hxl_row=False))
    return target


def kobo_xlsx(tmp_path: Path, *, hxl_row: bool) -> Path:
    """Kobo's XLSX: the main sheet (header, HXL row with empty cells untagged), then one sheet per
    repeat group, with its own HXL row, joined by _parent_index. KH2 has no members question
    answered: its roster is counted."""
    rows = kobo_rows(KOBO_CURRENT, hxl_row=hxl_row)
    header = rows[0]
    workbook = Workbook()
    main = workbook.active
    main.title = "CCCM household registration..."  # Kobo cuts titles to 31 characters
    for number, row in enumerate(rows):
        cells: list[object] = [c or None for c in row]
        if number > (1 if hxl_row else 0):
            cells = [int(c) if c and c.isdigit() else c for c in cells]
            if cells[header.index("household/household_id")] == "KH2":
                for name in ("household/members", "household/female", "household/male"):
                    cells[header.index(name)] = None
        main.append(cells)
    roster = workbook.create_sheet("member_roster")
    roster.append(["household/member_roster/sex", "household/member_roster/age", "_index",
                   "_parent_table_name", "_parent_index", "_submission__id", "_submission__uuid"])
    if hxl_row:
        roster.append(["#beneficiary+sex", "#beneficiary+age", None, None, None, None, None])
    for index, sex in enumerate(("female", "male", "female", "male"), start=1):
        roster.append([sex, 30 + index, index, main.title, 2, 5202,
                       "3b6f0e1c-2a2e-4d9b-8a55-0c1f2e3d4a02"])
    target = tmp_path / "registration.xlsx"
    workbook.save(target)
    return target


@pytest.mark.parametrize("hxl_row", [True, False], ids=["hxl-row", "no-hxl-row"])
@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_a_kobo_export_in_its_current_layout_imports_with_its_form(
        ledger: Ledger, tmp_path: Path, suffix: str, hxl_row: bool) -> None:
    source = kobo_csv(tmp_path, hxl_row=hxl_row) if suffix == ".csv" else \
        kobo_xlsx(tmp_path, hxl_row=hxl_row)
    env = vault_key(ledger)
    ran = ledger("import", source, "--kobo-form", "registration", "--json", env=env)
    assert ran.code == 0, ran.stderr
    report = ran.json()
    assert (report["total"], report["recorded"], report["rejected"]) == (2, 2, 0)
    assert report["warnings"] == []  # the form's name and phone columns are personal fields
    kh1, kh2 = details(ledger, "KH1"), details(ledger, "KH2")
    assert (kh1["site_id"], kh1["members"], kh1["female"], kh1["male"]) == ("CHAMISHKU", 6, 4, 2)
    assert (kh2["site_id"], kh2["members"], kh2["female"], kh2["male"]) == ("ESYAN", 4, 2, 2)
    assert kh1["source_document"] == "KoboToolbox submission 5201"
    # the head of household's name and phone go to the encrypted vault, never into the facts
    stored = json.dumps([kh1, kh2], ensure_ascii=False)
    assert not any(value in stored for value in PERSONAL_VALUES)
    assert not any(value in ran.stdout + ran.stderr for value in PERSONAL_VALUES)
    assert people(ledger, "KH1", env) == {"head_name": "Layla Haji Murad", "phone": "+964 750 123 4567"}


def test_a_kobo_export_with_personal_columns_and_no_vault_key_is_refused_with_one_message(
        ledger: Ledger, tmp_path: Path) -> None:
    ran = ledger("import", kobo_csv(tmp_path, hxl_row=True), "--kobo-form", "registration",
                 "--json")
    assert ran.code == 1
    report = ran.json()
    assert (report["recorded"], report["rejected"]) == (0, 2)
    (message,) = {r["error"] for r in report["first_rejections"]}
    assert "LEDGER_VAULT_KEY" in message
    assert "ledger vault new-key" in message
    assert not any(value in ran.stdout + ran.stderr for value in PERSONAL_VALUES)
    assert recorded_households(ledger, "KH1", "KH2") == []


def test_a_legacy_kobo_export_counts_only_the_repeat_slots_that_hold_a_member(ledger: Ledger) -> None:
    ran = ledger("import", FIXTURES / "kobo_registration_legacy.csv", "--kobo-form", "registration",
                 "--json")
    assert ran.code == 0, ran.stderr
    # KL1: two children in a roster of three slots, the third `n/a`; KL3: `n/a` roster, counts given
    counts = {h: (d["members"], d["female"], d["male"])
              for h in ("KL1", "KL2", "KL3") for d in [details(ledger, h)]}
    assert counts == {"KL1": (2, 1, 1), "KL2": (3, 2, 1), "KL3": (5, 3, 2)}
    assert details(ledger, "KL1")["location_pcode"] is None  # `n/a` is an empty cell


def test_a_kobo_export_with_its_hxl_row_but_no_form_is_named_once(ledger: Ledger) -> None:
    ran = ledger("import", KOBO_CURRENT)
    assert ran.code == 1
    assert "--kobo-form" in ran.stderr
    assert ran.stderr.count("error:") == 1
    assert recorded_households(ledger, "KH1", "KH2") == []


@pytest.mark.parametrize("fixture", ["camp_counts.hxl.csv", "dtm_idps_admin2.hxl.csv"])
@pytest.mark.parametrize("options", [(), ("--type", "household_registered")], ids=["", "type"])
def test_an_hxl_table_of_counts_stops_at_the_header_as_aggregate_figures(
        ledger: Ledger, fixture: str, options: tuple[str, ...]) -> None:
    ran = ledger("import", FIXTURES / fixture, *options)
    assert ran.code == 1
    assert ran.stderr.count("error:") == 1, ran.stderr
    assert AGGREGATE_WORDS in ran.stderr
    assert "#affected" in ran.stderr  # the count columns are named
    # the camp list's 12 households / 58 people were never read as household "12" of 58 members
    assert recorded_households(ledger, "12", "7", "4", "20411") == []
    assert not (FIXTURES / fixture.replace(".csv", ".rejects.csv")).exists()


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *rows])
    return path


REGISTRATION = ["household_id", "registry", "registration_ref", "site_id", "members",
                "effective_on", "source_id"]


def registration_row(n: int) -> list[str]:
    return [f"F{n}", "operational", f"CCCM-F{n}", "CHAMISHKU", "4", "2026-02-05", f"fx-f-{n}"]


@pytest.mark.parametrize("case", ["no-fact-field", "missing-required", "aggregate", "no-type"])
def test_a_header_that_cannot_give_facts_gets_one_message_and_nothing_is_recorded(
        ledger: Ledger, tmp_path: Path, case: str) -> None:
    rows = [registration_row(n) for n in range(1, 41)]
    header, options, expected = REGISTRATION, ["--type", "household_registered"], ""
    if case == "no-fact-field":
        header, expected = [f"Column {i}" for i in range(len(REGISTRATION))], "no column is a fact field"
    elif case == "missing-required":
        header = [h if h != "registration_ref" else "ref" for h in REGISTRATION]
        expected = "no column for required field(s) registration_ref"
    elif case == "aggregate":
        header = ["governorate", "district", "camp", "households", "individuals", "date", "source"]
        expected = AGGREGATE_WORDS
    else:
        options, expected = [], "no `type` column"
    source = write_csv(tmp_path / "file.csv", header, rows)
    ran = ledger("import", source, *options, "--json")
    assert ran.code == 1
    assert ran.stderr.count("error:") == 1, ran.stderr
    assert ran.stderr.count("\n") == 1, ran.stderr
    assert expected in ran.stderr
    assert ran.stdout == ""
    assert recorded_households(ledger, "F1", "F40") == []
    assert not (tmp_path / "file.rejects.csv").exists()


def with_document_type(source: Path, target: Path) -> Path:
    """The file with the id_document_type its id_document_number column needs (issue 13)."""
    with source.open(newline="", encoding="utf-8-sig") as handle:
        header, *rows = list(csv.reader(handle))
    at = header.index("id_document_number")
    return write_csv(target, [*header[:at], "id_document_type", *header[at:]],
                     [[*row[:at], "passport", *row[at:]] for row in rows])


def test_extra_and_personal_columns_are_ignored_with_one_warning_and_never_stored(
        ledger: Ledger, tmp_path: Path) -> None:
    """`notes` is no field and `name` looks personal but is no field of a household (its head's
    name is `head_name`): both are ignored, each with one warning, and `name` is stored nowhere.
    The phone and the ID document are personal fields: kept in the vault only."""
    source = with_document_type(FIXTURES / "households_with_names.csv", tmp_path / "households.csv")
    env = vault_key(ledger)
    ran = ledger("import", source, "--type", "household_registered", "--json", env=env)
    assert ran.code == 1  # N3's camp is unknown: rejected, the other two recorded
    report = ran.json()
    assert (report["recorded"], report["rejected"]) == (2, 1)
    assert len(report["warnings"]) == 2
    ignored, personal = report["warnings"]
    assert "notes" in ignored
    assert "name" in personal
    assert not any(c in personal for c in ("phone", "id_document"))
    assert ran.stderr.count("warning:") == 2
    rejects = (tmp_path / "households.rejects.csv").read_text(encoding="utf-8")
    assert "N3" in rejects
    assert "NOWHERE" in rejects
    assert "camp unknown" in rejects
    names = ("ليلى", "Khalil", "Nadia")  # the `name` column: in no output, not even the rejects
    assert not any(value in rejects for value in names), rejects
    everything = ran.stdout + ran.stderr + json.dumps(
        [details(ledger, "N1"), details(ledger, "N2")], ensure_ascii=False)
    assert not any(value in everything for value in PERSONAL_VALUES), everything
    assert people(ledger, "N2", env) == {"phone": "+964 751 444 5566",
                                         "id_document_type": "passport",
                                         "id_document_number": "B87654321"}


def test_strict_refuses_a_file_with_unknown_columns_before_recording_anything(
        ledger: Ledger, tmp_path: Path) -> None:
    source = Path(shutil.copy(FIXTURES / "households_with_names.csv", tmp_path / "households.csv"))
    ran = ledger("import", source, "--type", "household_registered", "--strict")
    assert ran.code == 1
    assert "--strict" in ran.stderr
    assert "notes" in ran.stderr
    assert not any(value in ran.stderr for value in PERSONAL_VALUES)
    assert recorded_households(ledger, "N1", "N2") == []


def test_personal_keys_of_a_jsonl_file_are_dropped_even_from_its_rejects(
        ledger: Ledger, tmp_path: Path) -> None:
    facts = [dict(zip(REGISTRATION, registration_row(n), strict=True), type="household_registered",
                  members=4 if n == 1 else 0, name="Layla Haji", mobile="+964 750")
             for n in (1, 2)]
    source = tmp_path / "facts.jsonl"
    source.write_text("".join(json.dumps(f) + "\n" for f in facts), encoding="utf-8")
    ran = ledger("import", source, "--json", env={"LEDGER_LOG_LEVEL": "debug"})
    assert (ran.json()["recorded"], ran.json()["rejected"]) == (1, 1)
    rejects = (tmp_path / "facts.rejects.jsonl").read_text(encoding="utf-8")
    assert "fx-f-2" in rejects
    assert not any(v in rejects + ran.stdout + ran.stderr for v in PERSONAL_VALUES)
    assert not {"name", "mobile"} & details(ledger, "F1").keys()


def test_the_command_imports_kobos_current_csv_as_a_user_runs_it(cli: Cli, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    cli.ok("import", FIXTURES / "sites.jsonl")
    key = cli.ok("vault", "new-key").stdout.strip()
    env = cli.env()
    monkeypatch.setattr(cli, "env", lambda: {**env, "LEDGER_VAULT_KEY": key})
    source = Path(shutil.copy(KOBO_CURRENT, tmp_path / "registration.csv"))  # rejects land beside it
    ran = cli.json("import", source, "--kobo-form", "registration")
    assert (ran["recorded"], ran["rejected"]) == (2, 0)
