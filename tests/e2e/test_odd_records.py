"""Issue 11 item 8: one odd record is one rejected record, never a traceback half-way through a
file; a file that cannot be read at all is one message before anything is recorded."""

from __future__ import annotations

import json
from pathlib import Path

from tests.e2e.conftest import Cli, assert_no_traceback, write_jsonl
from tests.factdicts import registration, site

HEADER = "type,source_id,effective_on,site_id,name,kind,location_pcode\n"


def _row(source_id: str, site_id: str, name: str) -> str:
    return f"site_registered,{source_id},2014-06-01,{site_id},{name},camp,IQG09Q04\n"


def _imported(cli: Cli, path: Path) -> dict[str, object]:
    result = cli("import", path, "--json")
    assert_no_traceback(result)
    assert result.code in (0, 1), result.stderr
    return json.loads(result.stdout)


def test_a_json_type_that_is_a_list_or_an_object_is_a_rejected_record(cli: Cli, tmp_path: Path) -> None:
    facts = write_jsonl(tmp_path / "in.jsonl", [
        site("CHAMISHKU"),
        {**registration("H1"), "type": ["household_registered"]},
        {**registration("H2"), "type": {"a": 1}},
        registration("H3"),
    ])

    report = _imported(cli, facts)

    assert (report["recorded"], report["rejected"]) == (2, 2)
    assert [r["field"] for r in report["first_rejections"]] == ["type", "type"]


def test_a_byte_that_is_not_utf8_rejects_its_row_and_the_rejects_file_keeps_it(
        sqlite_cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    path.write_bytes((HEADER + _row("s-1", "CHAMISHKU", "Chamishku")).encode()
                     + _row("s-2", "ESYAN", "Es\xffyan").encode("latin-1")
                     + _row("s-3", "BERSEVE", "Berseve").encode())

    report = _imported(sqlite_cli, path)

    assert (report["recorded"], report["rejected"]) == (2, 1)
    assert "0xFF" in report["first_rejections"][0]["error"]
    assert b"Es\xffyan" in (tmp_path / "sites.rejects.csv").read_bytes()


def test_a_cell_longer_than_csv_allows_is_a_rejected_record_kept_whole(sqlite_cli: Cli,
                                                                       tmp_path: Path) -> None:
    long_name = "N" * 200_000
    path = tmp_path / "sites.csv"
    path.write_text(HEADER + _row("s-1", "CHAMISHKU", long_name) + _row("s-2", "ESYAN", "Esyan"))

    report = _imported(sqlite_cli, path)

    assert (report["recorded"], report["rejected"]) == (1, 1)
    message = report["first_rejections"][0]["error"]
    assert "200,000 characters" in message
    assert len(message) < 400
    assert long_name in (tmp_path / "sites.rejects.csv").read_text()


def test_an_xlsx_that_is_not_a_workbook_is_one_message_and_nothing_is_recorded(
        sqlite_cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "sites.xlsx"
    path.write_text(HEADER + _row("s-1", "CHAMISHKU", "Chamishku"))

    result = sqlite_cli("import", path)

    assert_no_traceback(result)
    assert result.code == 1
    assert "cannot be read as an Excel workbook" in result.stderr
    assert sqlite_cli.json("views", "status")["ledger_head"] == 0


def test_a_csv_whose_header_is_not_utf8_is_one_message(sqlite_cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "sites.csv"
    path.write_bytes(HEADER.replace("name", "n\xe4me").encode("latin-1")
                     + _row("s-1", "CHAMISHKU", "Chamishku").encode())

    result = sqlite_cli("import", path)

    assert_no_traceback(result)
    assert result.code == 1
    assert "save the file as CSV UTF-8" in result.stderr
    assert sqlite_cli.json("views", "status")["ledger_head"] == 0


def test_a_byte_order_mark_at_the_start_of_a_jsonl_file_is_skipped(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + (json.dumps(site("CHAMISHKU")) + "\n").encode())

    report = _imported(cli, path)

    assert (report["recorded"], report["rejected"]) == (1, 0)


def test_a_key_given_twice_is_a_rejected_record(sqlite_cli: Cli, tmp_path: Path) -> None:
    good = json.dumps(registration("H1"))
    twice = json.dumps(registration("H2"))[:-1] + ', "members": 2}'
    spaced = json.dumps(registration("H3"))[:-1] + ', "members" : 2}'
    path = tmp_path / "in.jsonl"
    path.write_text("\n".join([json.dumps(site("CHAMISHKU")), good, twice, spaced]) + "\n")

    report = _imported(sqlite_cli, path)

    assert (report["recorded"], report["rejected"]) == (2, 2)
    assert all("'members' more than once" in r["error"] for r in report["first_rejections"])


def test_a_long_bad_value_is_cut_in_messages_and_kept_in_the_rejects_file(sqlite_cli: Cli,
                                                                         tmp_path: Path) -> None:
    bad_id = "!" * 10_000
    path = write_jsonl(tmp_path / "in.jsonl", [site(bad_id)])

    result = sqlite_cli("import", path)

    assert result.code == 1
    assert len(result.stderr) < 1_000
    assert "10,000 characters" in result.stderr
    rejected = json.loads((tmp_path / "in.rejects.jsonl").read_text())
    assert bad_id in rejected["record"]


def test_a_jsonl_line_that_is_not_utf8_is_a_rejected_record(sqlite_cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(json.dumps(site("CHAMISHKU")).encode() + b"\n"
                     + json.dumps(site("ESYAN")).encode().replace(b"Esyan", b"Es\xffyan") + b"\n")

    report = _imported(sqlite_cli, path)

    assert (report["recorded"], report["rejected"]) == (1, 1)
    assert "not valid UTF-8 text (byte 0xFF)" in report["first_rejections"][0]["error"]
