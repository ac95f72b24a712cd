"""Issue 11 item 6 and issue 10 item 6: every file a command writes is checked before any work,
never destroys the store, an input or someone else's file, and is written whole or not at all."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.conftest import Cli, assert_no_traceback, write_jsonl
from tests.factdicts import registration, site

GOOD = [site("CHAMISHKU"), registration("H1"), registration("H2")]


def _recorded(cli: Cli) -> int:
    return int(cli.json("views", "status")["ledger_head"])


def _refused(result: object, *words: str) -> None:
    assert_no_traceback(result)  # type: ignore[arg-type]
    assert result.code == 1, result.stderr  # type: ignore[attr-defined]
    for word in words:
        assert word in result.stderr, result.stderr  # type: ignore[attr-defined]


def test_an_export_onto_the_store_file_is_refused_and_the_store_survives(sqlite_cli: Cli,
                                                                         tmp_path: Path) -> None:
    sqlite_cli.ok("import", write_jsonl(tmp_path / "in.jsonl", GOOD))
    before = (tmp_path / "ledger.db").read_bytes()

    for output in ("ledger.db", "ledger.db-wal"):
        result = sqlite_cli("export", "view", "--rulebook", "official", "--format", "csv",
                            "--output", output, "--force")
        _refused(result, "the store or an input")

    assert (tmp_path / "ledger.db").read_bytes()[:16] == before[:16] == b"SQLite format 3\x00"
    assert _recorded(sqlite_cli) == 3


def test_a_rejects_file_that_is_the_input_is_refused_before_anything_is_recorded(
        sqlite_cli: Cli, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [*GOOD, {"type": "nonsense"}])
    content = source.read_text()

    result = sqlite_cli("import", source, "--rejects", source, "--force")

    _refused(result, "the store or an input")
    assert source.read_text() == content
    assert _recorded(sqlite_cli) == 0


@pytest.mark.parametrize("kind", ["rejects", "export"])
def test_a_symlink_out_of_the_folder_is_refused_unless_forced(sqlite_cli: Cli, tmp_path: Path,
                                                              kind: str) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    victim = outside / "precious.txt"
    victim.write_text("keep me\n")
    work = tmp_path / "out"
    work.mkdir()
    link = work / ("in.rejects.jsonl" if kind == "rejects" else "view.csv")
    link.symlink_to(victim)
    source = write_jsonl(tmp_path / "in.jsonl", [*GOOD, {"type": "nonsense"}])
    if kind == "rejects":
        args: tuple[str | Path, ...] = ("import", source, "--rejects", link)
    else:
        sqlite_cli.ok("import", write_jsonl(tmp_path / "good.jsonl", GOOD))
        args = ("export", "view", "--rulebook", "official", "--output", link)

    _refused(sqlite_cli(*args), "symbolic link", "--force")
    assert victim.read_text() == "keep me\n"

    forced = sqlite_cli(*args, "--force")
    assert_no_traceback(forced)
    assert victim.read_text() != "keep me\n"
    assert link.is_symlink(), "the link itself is kept; the file it names was written"


def test_a_symlink_inside_the_folder_is_followed(sqlite_cli: Cli, tmp_path: Path) -> None:
    sqlite_cli.ok("import", write_jsonl(tmp_path / "in.jsonl", GOOD))
    (tmp_path / "latest.csv").symlink_to("view-2026.csv")

    sqlite_cli.ok("export", "view", "--rulebook", "official", "--output", "latest.csv")

    assert (tmp_path / "latest.csv").is_symlink()
    assert (tmp_path / "view-2026.csv").read_text().count("CHAMISHKU") == 1


@pytest.mark.parametrize("args", [
    ("export", "view", "--rulebook", "official", "--output", "missing/view.csv"),
    ("export", "reconcile", "--output", "missing/bridge.xlsx"),
    ("report", "--html", "missing/report.html"),
    ("audit", "count", "--rulebook", "official", "--status", "idp_in_camp", "--place",
     "CHAMISHKU", "--csv", "missing/count.csv"),
    ("audit", "household", "H1", "--csv", "missing/h1.csv"),
    ("import", "in.jsonl", "--rejects", "missing/rejects.jsonl"),
])
def test_an_output_in_a_folder_that_does_not_exist_is_one_message_before_any_work(
        cli: Cli, tmp_path: Path, args: tuple[str, ...]) -> None:
    write_jsonl(tmp_path / "in.jsonl", [*GOOD, {"type": "nonsense"}])

    result = cli(*args)

    _refused(result, "does not exist")
    assert len(result.stderr.strip().splitlines()) == 1
    assert _recorded(cli) == 0


def test_the_demo_checks_its_report_path_before_recording(tmp_path: Path) -> None:
    demo = Cli(f"sqlite:///{tmp_path / 'demo.db'}", tmp_path)

    result = demo("demo", "--html", "missing/report.html")

    _refused(result, "does not exist")
    assert not (tmp_path / "demo.db").exists() or _recorded(demo) == 0


def test_a_stale_rejects_file_is_removed_when_a_rerun_rejects_nothing(cli: Cli, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [*GOOD, registration("H3", members=0)])
    assert cli("import", source).code == 1
    rejects = tmp_path / "in.rejects.jsonl"
    assert json.loads(rejects.read_text())["line"] == 4

    write_jsonl(source, [*GOOD, registration("H3", members=3)])
    cli.ok("import", source)

    assert not rejects.exists()
    assert not list(tmp_path.glob(".ledger-writing-*"))


def test_a_rerun_replaces_its_own_rejects_but_keeps_a_corrected_one(sqlite_cli: Cli,
                                                                   tmp_path: Path) -> None:
    source = tmp_path / "in.csv"
    source.write_text("type,source_id,effective_on,household_id,registry,registration_ref,"
                      "members,site_id\nhousehold_registered,r-1,2015-01-10,H9,official,R9,0,X\n")
    assert sqlite_cli("import", source).code == 1
    rejects = tmp_path / "in.rejects.csv"
    assert rejects.read_text().startswith("_line,_error")
    assert sqlite_cli("import", source).code == 1  # the ledger's own rejects: replaced

    rejects.write_text(rejects.read_text().replace(",0,", ",4,"))  # a person corrects it
    result = sqlite_cli("import", source)

    _refused(result, "is not a rejects file the ledger wrote", "--force")
    assert ",4," in rejects.read_text()


def test_an_existing_file_is_replaced_only_when_it_is_a_previous_export_or_forced(
        sqlite_cli: Cli, tmp_path: Path) -> None:
    sqlite_cli.ok("import", write_jsonl(tmp_path / "in.jsonl", GOOD))
    notes = tmp_path / "notes.csv"
    notes.write_text("my,own\nnotes,here\n")
    export = ("export", "view", "--rulebook", "official", "--output", "notes.csv")

    _refused(sqlite_cli(*export), "notes.csv exists", "--force")
    assert notes.read_text() == "my,own\nnotes,here\n"

    sqlite_cli.ok(*export, "--force")
    sqlite_cli.ok(*export)  # now a previous export: replaced without asking
    sqlite_cli.ok("export", "view", "--rulebook", "official", "--output", "view.xlsx")
    sqlite_cli.ok("export", "view", "--rulebook", "official", "--output", "view.xlsx")

    assert notes.read_text().count("CHAMISHKU") == 1
    assert not list(tmp_path.glob(".ledger-writing-*"))
    _refused(sqlite_cli("report", "--html", "notes.csv"), "is not a report")


def test_a_rejects_file_the_ledger_did_not_list_is_never_removed(sqlite_cli: Cli, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", GOOD)
    older = tmp_path / "in.rejects.jsonl"  # shaped like one, from before the manifest (or a copy)
    older.write_text('{"line": 2, "field": null, "error": "kept by hand", "record": "{}"}\n')

    sqlite_cli.ok("import", source)

    assert older.read_text().count("kept by hand") == 1
