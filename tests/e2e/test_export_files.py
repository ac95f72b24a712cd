"""Export files as other tools open them: libhxl's real `hxlvalidate` (HXL core schema) over every
CSV and every XLSX sheet, openpyxl for Excel's view of a sheet, and text that a spreadsheet would
run as a formula (a site named ``=HYPERLINK(...)``) kept as text in exports and rejects files."""

from __future__ import annotations

import csv
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from tests.e2e.conftest import Cli
from tests.e2e.demo_store import demo_store  # noqa: F401  (the module's store)

HXLVALIDATE = Path(sys.executable).with_name("hxlvalidate")
FORMULA_NAME = '=HYPERLINK("http://example.org","click")'
SITE = "TRAP-CAMP"


def evil_site_csv(path: Path, *, bom: bool) -> Path:
    """A site whose name is a formula, a household in it, and two rows to reject."""
    rows = [
        ["type", "source_id", "effective_on", "site_id", "name", "kind", "location_pcode",
         "household_id", "registry", "registration_ref", "members", "displaced_on", "origin_pcode"],
        ["site_registered", "t-site", "2014-06-01", SITE, FORMULA_NAME, "camp", "IQG09Q04",
         "", "", "", "", "", ""],
        ["household_registered", "t-hh-1", "2015-01-10", SITE, "", "", "", "TRAP-1", "official",
         "TRAP-REF-1", "4", "2014-08-03", "IQG15Q07"],
        ["household_registered", "t-hh-2", "2015-01-10", SITE, "", "", "", "TRAP-2", "official",
         "@SUM(A1:A9)", "4", "2014-08-03", "IQG15Q07"],
        ["household_registered", "t-hh-3", "2015-01-10", SITE, "", "", "", "TRAP-3", "official",
         "-2+3", "مئة", "2014-08-03", "IQG15Q07"],
    ]
    with path.open("w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def exports(cli: Cli, fmt: str) -> list[Path]:
    """Every export command, at every grouping that changes its place columns."""
    out = cli.cwd / fmt
    out.mkdir(exist_ok=True)
    day = ("--as-of", "2026-05-06")
    commands = {
        "view-cell": ("view", "--rulebook", "official", *day),
        "view-adm2": ("view", "--rulebook", "operational", "--by", "adm2", *day),
        "view-adm1": ("view", "--rulebook", "official", "--by", "adm1", *day),
        "view-national": ("view", "--rulebook", "official", "--by", "national", *day),
        "bridge-cell": ("reconcile", *day),
        "bridge-adm1": ("reconcile", "--by", "adm1", *day),
        "household": ("audit", "household", "CHM-0001"),
        "count": ("audit", "count", "--rulebook", "official", "--status", "idp_in_camp",
                  "--place", "CHAMISHKU", *day),
    }
    written: list[Path] = []
    for name, args in commands.items():
        done = cli.json("export", *args, "--output", out / f"{name}.{fmt}")
        written += [Path(p) if Path(p).is_absolute() else cli.cwd / p for p in done["files"]]
    return written


def import_with_rejects(cli: Cli, path: Path) -> dict[str, Any]:
    """`ledger import --json` of a file with rejects: exit 1, the report on stdout."""
    done = cli("import", path, "--json")
    assert done.code == 1, done.stderr
    return dict(json.loads(done.stdout))


def hxlvalidate(path: Path, sheet: int | None = None) -> subprocess.CompletedProcess[str]:
    args = [str(HXLVALIDATE), *(["--sheet", str(sheet)] if sheet else []), str(path)]
    return subprocess.run(args, capture_output=True, text=True, check=False, timeout=60)


@pytest.fixture(scope="module")
def demo_cli(demo_store: Cli) -> Cli:  # noqa: F811  (the fixture imported above)
    """The demo's store, with a site named like a formula and a household in it."""
    trap = demo_store.cwd / "trap.csv"
    if not trap.exists():
        assert import_with_rejects(demo_store, evil_site_csv(trap, bom=True))["recorded"] == 2
    return demo_store


# Runs hxlvalidate_main (what the `hxlvalidate` script runs) on many files in one
# interpreter: the same check as the command, without paying its start-up once per file.
VALIDATE_MANY = """
import sys
from hxl.scripts import hxlvalidate_main
failed = 0
for spec in sys.argv[1:]:
    path, _, sheet = spec.partition("@")
    args = [path] + (["--sheet", sheet] if sheet else [])
    if hxlvalidate_main(args):
        print("FAILED", spec)
        failed += 1
sys.exit(1 if failed else 0)
"""


@pytest.mark.slow
def test_every_export_passes_hxlvalidate_with_the_core_schema(demo_cli: Cli) -> None:
    specs = [str(p) for p in exports(demo_cli, "csv")]
    for path in exports(demo_cli, "xlsx"):
        sheets = load_workbook(path, read_only=True).sheetnames
        specs += [f"{path}@{number}" for number in range(1, len(sheets) + 1)]
    # 14 CSV files (4 views, 2 bridges of 3 tables, 2 audits of 2); 22 sheets (with 'about').
    assert len(specs) == 14 + 22
    done = subprocess.run([sys.executable, "-c", VALIDATE_MANY, *specs], capture_output=True,
                          text=True, check=False, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:]
    assert done.stdout.count("Validation succeeded") == len(specs)
    # The command itself, as a user runs it, on a CSV and on an XLSX sheet.
    for path, sheet in ((demo_cli.cwd / "csv" / "count.facts.csv", None),
                        (demo_cli.cwd / "xlsx" / "bridge-cell.xlsx", 3)):
        command = hxlvalidate(path, sheet)
        assert command.returncode == 0, command.stdout
        assert "Validation succeeded" in command.stdout
    # Places are tagged by level, and ids are identifiers, not counts of households.
    with (demo_cli.cwd / "csv" / "view-adm1.csv").open(encoding="utf-8") as handle:
        tags = list(csv.reader(handle))[1]
    assert "#adm1+code" in tags
    assert "#loc+code" not in tags
    with (demo_cli.cwd / "csv" / "view-national.csv").open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    assert rows[1][4] == "#country+code"
    assert {r[4] for r in rows[2:]} == {"IRQ"}
    with (demo_cli.cwd / "csv" / "count.csv").open(encoding="utf-8") as handle:
        header, tags, *counted = list(csv.reader(handle))
    assert tags[header.index("household_id")] == "#meta+id+household"
    assert tags[header.index("adm2")] == "#adm2+code"
    assert {r[header.index("adm2")] for r in counted} == {"IQG09Q04"}  # Chamishku: Zakho
    assert {r[header.index("adm1")] for r in counted} == {"IQG09"}
    # The view at cell level sums by adm1 to the view by adm1 (attribution applied).
    with (demo_cli.cwd / "csv" / "view-cell.csv").open(encoding="utf-8") as handle:
        header, _, *cells = list(csv.reader(handle))
    by_adm1: dict[tuple[str, str], int] = {}
    for row in cells:
        key = (row[header.index("status")], row[header.index("adm1")])
        by_adm1[key] = by_adm1.get(key, 0) + int(row[header.index("individuals")])
    shown = demo_cli.json("views", "show", "--rulebook", "official", "--by", "adm1",
                          "--as-of", "2026-05-06")
    assert by_adm1 == {(r["status"], r["place"]): r["individuals"] for r in shown["rows"]}


def test_xlsx_exports_look_right_in_a_spreadsheet(demo_cli: Cli) -> None:
    path = demo_cli.cwd / "view.xlsx"
    demo_cli.json("export", "view", "--rulebook", "official", "--as-of", "2026-05-06",
                  "--output", path)
    sheet = load_workbook(path)["view"]
    header = [c.value for c in sheet[1]]
    first = dict(zip(header, sheet[3], strict=True))
    assert first["as_of"].is_date
    assert first["as_of"].value == dt.datetime(2026, 5, 6)
    assert first["known_at"].is_date
    assert first["known_at"].number_format == "yyyy-mm-dd hh:mm:ss"
    assert first["as_of"].number_format == "yyyy-mm-dd"
    assert isinstance(first["households"].value, int)
    assert first["households"].data_type == "n"
    assert sheet.freeze_panes == "A3"
    assert sheet.auto_filter.ref == f"A2:L{sheet.max_row}"
    widths = {h: sheet.column_dimensions[c.column_letter].width for h, c in first.items()}
    assert widths["place_name"] >= len(FORMULA_NAME) + 2  # the longest name fits
    assert widths["as_of"] >= len("2026-05-06")
    assert widths["households"] < widths["place_name"]
    trap = next(r for r in sheet.iter_rows(min_row=3) if r[header.index("place")].value == SITE)
    name = trap[header.index("place_name")]
    assert name.value == FORMULA_NAME
    assert name.data_type == "s"
    assert name.quotePrefix
    # --no-hxl: one header row, the data right under it (pandas reads it with no skiprows).
    bare = demo_cli.cwd / "bare.xlsx"
    demo_cli.json("export", "view", "--rulebook", "official", "--as-of", "2026-05-06",
                  "--no-hxl", "--output", bare)
    plain = load_workbook(bare)["view"]
    assert [c.value for c in plain[1]] == header
    assert plain["A2"].value == "official"
    assert plain.freeze_panes == "A2"
    assert plain.max_row == sheet.max_row - 1


def test_formula_text_stays_text_in_csv_exports_and_rejects(demo_cli: Cli) -> None:
    path = demo_cli.cwd / "view.csv"
    demo_cli.json("export", "view", "--rulebook", "official", "--as-of", "2026-05-06",
                  "--output", path)
    with path.open(encoding="utf-8", newline="") as handle:
        header, _, *rows = list(csv.reader(handle))
    trap = next(r for r in rows if r[header.index("place")] == SITE)
    assert trap[header.index("place_name")] == "'" + FORMULA_NAME
    assert not any(cell.startswith(("=", "+", "@")) for row in rows for cell in row)
    # The rejects file: the input's BOM kept, formula-looking text neutralised, and the file,
    # corrected, imports again with the original text.
    rejects = demo_cli.cwd / "trap.rejects.csv"
    raw = rejects.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf_line,_error,")
    text = raw.decode("utf-8-sig")
    assert "'@SUM(A1:A9)" in text
    assert "'-2+3" in text
    assert "مئة" in text
    assert "\n@" not in text
    assert ",@" not in text
    assert ",=" not in text
    again = import_with_rejects(demo_cli, rejects)
    assert again["rejected"] == 2
    second = (demo_cli.cwd / "trap.rejects.rejects.csv").read_text("utf-8-sig")
    assert "'@SUM(A1:A9)" in second
    assert "''" not in second
    # A file without a BOM gets rejects without one.
    plain = import_with_rejects(demo_cli, evil_site_csv(demo_cli.cwd / "plain.csv", bom=False))
    assert plain["rejected"] == 2
    assert not (demo_cli.cwd / "plain.rejects.csv").read_bytes().startswith(b"\xef\xbb\xbf")


def test_formula_text_stays_text_in_xlsx_rejects(demo_cli: Cli) -> None:
    from openpyxl import Workbook

    source = demo_cli.cwd / "trap.xlsx"
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["type", "source_id", "effective_on", "site_id", "household_id", "registry",
                  "registration_ref", "members", "displaced_on", "origin_pcode"])
    sheet.append(["household_registered", "t-x-1", "2015-01-10", SITE, "TRAP-X1", "official",
                  "=1+2", 4, "2014-08-03", "IQG15Q07"])
    sheet["G2"].data_type = "s"  # the input holds the text, as a form export would
    workbook.save(source)
    assert import_with_rejects(demo_cli, source)["rejected"] == 1
    rejects = load_workbook(demo_cli.cwd / "trap.rejects.xlsx")["rejects"]
    header = [c.value for c in rejects[1]]
    cell = rejects.cell(2, header.index("registration_ref") + 1)
    assert cell.value == "=1+2"
    assert cell.data_type == "s"
