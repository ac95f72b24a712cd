"""ISSUE 15: figures someone else published (DTM, MoMD), imported as they come and compared.

One store per engine holds SPEC §6's worked example (as of 2026-04-30: official counts H2, H3,
H5 in Chamishku, 3 households / 20 individuals, and H7 as a returnee; operational counts H1,
H4, H5 in Chamishku, 3 / 18, and H7 in Esyan, 1 / 6), then a DTM-shaped location list (CSV,
and the same rows as XLSX) and a MoMD-style governorate table are imported through the
`ledger` command. The expected figures below are worked out by hand from those facts.
"""

from __future__ import annotations

import csv
import datetime as dt
import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ledger.demo import worked_example
from ledger.store.settings import StoreSettings
from ledger.workspace import Workspace
from projections.compare import compare as compare_figures
from projections.compare import comparison_document
from tests.conftest import PG_URL, drop_pg_schema, fresh_pg_schema
from tests.e2e.conftest import Cli, assert_no_traceback, write_jsonl
from tests.e2e.test_report_browser import CHROMEDRIVER, CHROMIUM, browser  # noqa: F401 - a fixture

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "reported"
DTM = FIXTURES / "dtm_master_list.hxl.csv"
MOMD = FIXTURES / "momd_governorates.hxl.csv"
DTM_ARGS = ("--reported", "DTM", "--dataset", "DTM Master List Round 13")
MOMD_ARGS = ("--reported", "MoMD", "--dataset", "MoMD April 2026", "--as-of", "2026-04-30")


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    where = tmp_path_factory.mktemp(f"reported-{request.param}")
    schema = fresh_pg_schema()
    url = f"sqlite:///{where / 'ledger.db'}" if request.param == "sqlite" else f"{PG_URL}?schema={schema}"
    cli = Cli(url, where)
    cli.ok("init")
    report = cli.json("import", write_jsonl(where / "worked_example.jsonl", worked_example()))
    assert report["rejected"] == 0, report
    dtm = cli.json("import", DTM, *DTM_ARGS)
    momd = cli.json("import", MOMD, *MOMD_ARGS)
    assert (dtm["recorded"], dtm["rejected"]) == (3, 0), dtm
    assert (momd["recorded"], momd["rejected"]) == (3, 0), momd
    yield cli
    if request.param == "postgres":
        drop_pg_schema(schema)


def compare(cli: Cli, *args: str) -> Any:
    return cli.json("compare", *args)


def row_of(document: Any, place: str, status: str = "idp") -> Any:
    found = [r for r in document["rows"] if r["place"] == place and r["status"] == status]
    assert len(found) == 1, document["rows"]
    return found[0]


def figure(value: Any) -> tuple[int | None, int]:
    return value["households"], value["individuals"]


def test_dtm_locations_land_on_camps_and_ocha_pcodes(store: Cli) -> None:
    document = compare(store, "--rulebook", "operational", "--reported", "DTM")
    places = {(r["place"], r["level"]) for r in document["rows"]}
    # Chamishku and Esyan by name; DTM's IRQ-G15Q07 read as OCHA's IQG15Q07 (Sinjar)
    assert places == {("CHAMISHKU", "site"), ("ESYAN", "site"), ("IQG15Q07", "adm2")}
    assert document["as_of"] == "2026-04-30"  # the date the source reported
    chamishku = row_of(document, "CHAMISHKU", "idp_in_camp")  # IDPs counted at a camp are in camp
    assert figure(chamishku["reported"]) == (4, 25)
    assert figure(chamishku["ledger"]) == (3, 18)
    assert chamishku["remainder"] == {"label": "not_in_ledger", "households": 1, "individuals": 7}
    assert chamishku["coverage"] == {"households": 0.75, "individuals": 0.72}


def test_the_same_table_as_xlsx_is_the_same_figures(store: Cli, tmp_path: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    with DTM.open(encoding="utf-8") as handle:
        for number, row in enumerate(csv.reader(handle)):
            cells: list[Any] = list(row)
            if number >= 2:  # real spreadsheets hold dates and numbers, not text
                cells[6] = dt.date.fromisoformat(row[6])
                cells[7], cells[8] = int(row[7]), int(row[8])
            sheet.append(cells)
    path = tmp_path / "dtm.xlsx"
    workbook.save(path)
    report = store.json("import", path, *DTM_ARGS)
    assert (report["already_recorded"], report["recorded"], report["rejected"]) == (3, 0, 0)


def test_importing_a_table_again_records_nothing(store: Cli) -> None:
    report = store.json("import", MOMD, *MOMD_ARGS)
    assert (report["already_recorded"], report["recorded"]) == (3, 0)


def test_momd_governorates_against_official_via_operational(store: Cli) -> None:
    document = compare(store, "--rulebook", "official", "--reported", "MoMD", "--via", "operational",
                       "--by", "adm1")
    duhok = row_of(document, "IQG09")
    assert figure(duhok["reported"]) == (5, 31)
    assert figure(duhok["ledger"]) == (3, 20)  # H2 5, H3 9, H5 6 in Chamishku
    explained = {p["reason"]: (p["households"], p["individuals"]) for p in duhok["explained"]}
    assert explained == {
        "only_operational_registry": (1, 4), "pre_cutoff_displacement": (-1, -5),
        "reentry_not_registered": (1, 6), "departure_without_letter": (-1, -9),
        "composition_differs": (0, 2),
    }
    assert duhok["remainder"] == {"label": "not_in_ledger", "households": 2, "individuals": 13}
    ninewa = row_of(document, "IQG15")
    assert figure(ninewa["ledger"]) == (0, 0)  # H7 is a returnee officially
    assert [(p["reason"], p["individuals"]) for p in ninewa["explained"]] == [
        ("returnee_registered_in_place", 6)]
    # the national total row is MoMD's own figure, not the sum of its governorates
    national = compare(store, "--rulebook", "official", "--reported", "MoMD", "--by", "national")
    assert [figure(r["reported"]) for r in national["rows"]] == [(7, 42)]


def test_rolling_up_adds_camps_of_different_districts_but_never_a_district_twice(store: Cli) -> None:
    document = compare(store, "--rulebook", "operational", "--reported", "DTM", "--by", "adm1")
    # Ninewa: Esyan (Al-Shikhan, by location under operational) in camp; Sinun, a DTM location
    # in Sinjar that is no camp of the ledger, as IDPs in Sinjar
    assert figure(row_of(document, "IQG15", "idp_in_camp")["reported"]) == (1, 6)
    assert figure(row_of(document, "IQG15", "idp")["reported"]) == (12, 70)
    assert figure(row_of(document, "IQG09", "idp_in_camp")["reported"]) == (4, 25)
    official = compare(store, "--rulebook", "official", "--reported", "DTM", "--by", "adm1")
    # official reports Esyan under Duhok's authority, and so rolls DTM's Esyan up there too
    assert figure(row_of(official, "IQG09", "idp_in_camp")["reported"]) == (5, 31)
    # ... unless the comparison goes via operational, whose grouping DTM shares
    via = compare(store, "--rulebook", "official", "--reported", "DTM", "--by", "adm1", "--via",
                  "operational")
    esyan_moved = row_of(via, "IQG15", "idp_in_camp")
    assert figure(esyan_moved["reported"]) == (1, 6)
    assert figure(esyan_moved["ledger"]) == (0, 0)  # official: H7 is a returnee
    assert esyan_moved["remainder"]["individuals"] == 0  # operational has H7 in Esyan: 6


def test_every_row_adds_up_at_every_grouping(store: Cli) -> None:
    """In-process, over every source, rulebook pair and grouping: the same code `compare --json` runs."""
    with Workspace(StoreSettings.from_url(store.url)) as ws:
        for source, rulebook, via, by in itertools.product(
                ("DTM", "MoMD"), ("official", "operational"), ("official", "operational", None),
                ("cell", "adm2", "adm1", "national")):
            if via == rulebook:
                continue
            result = compare_figures(ws.views, rulebook, source, via=via, level=by)  # type: ignore[arg-type]
            document = comparison_document(result, str)
            assert document["rows"] or (source, by) == ("MoMD", "adm2")  # MoMD gives no districts
            for row in document["rows"]:
                for unit in ("households", "individuals"):
                    if row["reported"][unit] is None:
                        continue
                    difference = row["reported"][unit] - row["ledger"][unit]
                    assert row["difference"][unit] == difference, row
                    explained = sum(p[unit] for p in row["explained"])
                    assert difference == explained + row["remainder"][unit], (source, rulebook, via, by, row)
                if via is None:
                    assert row["explained"] == []


def test_a_different_value_is_a_conflict_until_the_old_figure_is_voided(store: Cli, tmp_path: Path) -> None:
    changed = tmp_path / "momd_corrected.csv"
    changed.write_text(MOMD.read_text(encoding="utf-8").replace("Duhok,IQG09,5,31", "Duhok,IQG09,5,33"),
                       encoding="utf-8")
    refused = store("import", changed, *MOMD_ARGS, "--json")
    assert refused.code == 1
    assert "already recorded with other values" in refused.stderr
    assert_no_traceback(refused)
    old = row_of(compare(store, "--rulebook", "official", "--reported", "MoMD", "--by", "adm1"), "IQG09")
    before_void = dt.datetime.now(dt.UTC).isoformat()
    store.ok("record", "fact_voided", "--source-id", "void-momd-duhok", "--effective-on", "2026-05-02",
             "--voided-source-id", old["source_ids"][0], "--reason", "MoMD corrected its table")
    report = store.json("import", changed, *MOMD_ARGS)
    assert (report["recorded"], report["already_recorded"]) == (1, 2)
    now = row_of(compare(store, "--rulebook", "official", "--reported", "MoMD", "--by", "adm1"), "IQG09")
    assert figure(now["reported"]) == (5, 33)
    # as the ledger knew it before the correction, the old value stands
    before = compare(store, "--rulebook", "official", "--reported", "MoMD:MoMD April 2026",
                     "--by", "adm1", "--known-at", before_void)
    assert figure(row_of(before, "IQG09")["reported"]) == (5, 31)


def test_unknown_pcodes_are_rejected_with_the_closest_known_one(store: Cli, tmp_path: Path) -> None:
    path = tmp_path / "typo.csv"
    path.write_text("District,Code,Individuals\n#adm2+name,#adm2+code,#affected+idps+ind\n"
                    "Zakho,IRQ-G09Q4,100\n", encoding="utf-8")
    result = store("import", path, "--reported", "MoMD", "--dataset", "typo", "--as-of", "2026-04-30")
    assert result.code == 1
    assert "IRQ-G09Q4" in result.stderr
    assert "closest known p-code is IQG09Q04 (Zakho)" in result.stderr
    assert_no_traceback(result)


@pytest.mark.parametrize(("header", "message"), [
    ("Governorate,Code,Individuals\n", "no row of HXL hashtags"),
    ("Governorate,Code,Families\n#adm1+name,#adm1+code,#affected+hh+id\n", "no count column"),
    ("Name,Individuals\n#org+name,#affected+idps+ind\n", "no place column"),
])
def test_a_table_that_cannot_be_figures_stops_at_its_header(store: Cli, tmp_path: Path, header: str,
                                                             message: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(header + "Duhok,IQG09,100\n" * 50, encoding="utf-8")
    result = store("import", path, "--reported", "MoMD", "--dataset", "bad", "--as-of", "2026-04-30")
    assert result.code == 1
    assert message in result.stderr
    assert result.stderr.count("error") == 1  # one message, not one per row
    assert not (tmp_path / "bad.rejects.csv").exists()


def test_compare_before_anything_was_reported_says_so(store: Cli) -> None:
    result = store("compare", "--rulebook", "official", "--reported", "UNHCR")
    assert result.code == 1
    assert "no figures reported by UNHCR" in result.stderr


def test_compare_exports_to_csv_and_xlsx(store: Cli, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    args = ("--rulebook", "official", "--reported", "MoMD", "--via", "operational", "--by", "adm1")
    document = compare(store, *args)
    store.ok("export", "compare", *args, "--output", tmp_path / "compare.csv")
    with (tmp_path / "compare.csv").open(encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    header, tags, data = rows[0], rows[1], rows[2:]
    assert all(t.startswith("#") for t in tags)
    assert len(data) == len(document["rows"])
    by_place = {r[header.index("place")]: r for r in data}
    duhok = row_of(document, "IQG09")
    assert int(by_place["IQG09"][header.index("remainder_individuals")]) == duhok["remainder"]["individuals"]
    store.ok("export", "compare", *args, "--output", tmp_path / "compare.xlsx")
    sheet = load_workbook(tmp_path / "compare.xlsx").worksheets[0]
    values = list(sheet.iter_rows(values_only=True))
    assert [str(v) for v in values[0]] == header
    assert len(values) == 2 + len(document["rows"])


@pytest.mark.skipif(not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
                    reason="needs Debian chromium and chromium-driver (scripts/install-browser)")
def test_the_report_sets_reported_figures_beside_the_views(store: Cli, tmp_path: Path,
                                                           browser: Any) -> None:  # noqa: F811
    from selenium.webdriver.common.by import By

    page = tmp_path / "report.html"
    store.ok("report", "--html", page, "--as-of", "2026-04-30")
    expected = compare(store, "--rulebook", "official", "--reported", "MoMD", "--by", "national",
                       "--as-of", "2026-04-30")
    national = row_of(expected, "IRQ")
    browser.get(page.as_uri())
    section = browser.find_element(By.ID, "reported")
    assert section.is_displayed()
    headings = [h.text for h in section.find_elements(By.TAG_NAME, "h3")]
    assert any(h.startswith("MoMD: MoMD April 2026") for h in headings), headings
    assert any(h.startswith("DTM: DTM Master List Round 13") for h in headings), headings
    rows = [[c.text for c in r.find_elements(By.TAG_NAME, "td")]
            for r in section.find_elements(By.CSS_SELECTOR, "tbody tr")]
    iraq = [r for r in rows if r[1] == "Iraq" and r[2] == f"{national['reported']['individuals']:,}"]
    assert iraq, rows
    coverage = national["ledger"]["individuals"] / national["reported"]["individuals"]
    assert iraq[0][3:5] == [f"{national['ledger']['individuals']:,}", f"{coverage:.1%}"]
    governorates = {r[1] for r in rows}
    assert {"Duhok", "Ninewa"} <= governorates


def test_a_dtm_table_imported_as_household_facts_names_the_option(store: Cli) -> None:
    result = store("import", DTM)
    assert result.code == 1
    message = " ".join(result.stderr.split())
    assert "looks like aggregate/reported figures" in message
    assert "--reported SOURCE --dataset NAME" in message
    assert message.count("error") == 1
    assert_no_traceback(result)
