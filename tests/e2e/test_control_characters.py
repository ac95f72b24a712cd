"""Issue 11 item 5: a control character in a text field is refused at the edge, on both engines,
so nothing PostgreSQL cannot store (NUL) ever reaches the log and blocks the views."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.conftest import Cli, assert_no_traceback, write_jsonl
from tests.factdicts import registration, site


def test_a_site_name_with_a_nul_is_rejected_and_the_views_stay_readable(cli: Cli, tmp_path: Path) -> None:
    facts = write_jsonl(tmp_path / "in.jsonl", [
        site("CHAMISHKU"),
        site("ESYAN", name="Esyan\u0000camp"),
        registration("H1"),
    ])

    result = cli("import", facts, "--json")

    assert_no_traceback(result)
    assert result.code == 1
    assert '"rejected": 1' in result.stdout
    assert '"recorded": 2' in result.stdout
    assert "U+0000" in result.stdout
    shown = cli.json("views", "show", "--rulebook", "official")
    assert shown, "views show works after the rejected record"
    cli.ok("record", "site_closed", "--source-id", "close-1", "--site-id", "CHAMISHKU",
           "--effective-on", "2020-01-01")


def test_every_control_character_but_tab_and_newline_is_refused_by_record(sqlite_cli: Cli) -> None:
    for text in ("Esyan\x1b[31m", "Esyan\x7f", "Es\x85yan", "Es\x0byan"):
        result = sqlite_cli("record", "site_registered", "--source-id", "s-1", "--site-id", "ESYAN",
                            "--name", text, "--kind", "camp", "--location-pcode", "IQG15Q06",
                            "--effective-on", "2014-06-01")

        assert_no_traceback(result)
        assert result.code == 1
        assert "field 'name'" in result.stderr
        assert "control character" in result.stderr
    assert sqlite_cli.json("views", "status")["ledger_head"] == 0


def test_tab_and_newline_are_kept_in_text(sqlite_cli: Cli) -> None:
    result = sqlite_cli("record", "site_registered", "--source-id", "s-1", "--site-id", "ESYAN",
                        "--name", "Esyan\tcamp\nnorth", "--kind", "camp",
                        "--location-pcode", "IQG15Q06", "--effective-on", "2014-06-01", "--json")

    assert result.json()["status"] == "recorded"


def test_every_free_text_field_is_checked(cli: Cli, tmp_path: Path) -> None:
    facts = write_jsonl(tmp_path / "in.jsonl", [
        site("CHAMISHKU", recorded_by="IOM\u0001"),
        site("ESYAN", source_document="letter\u0000 12"),
    ])

    result = cli("import", facts, "--json")

    assert result.code == 1
    assert result.stdout.count("contains the control character") == 2
    assert "recorded_by" in result.stdout
    assert "source_document" in result.stdout
