"""The README is true for the demo a reader just ran: its opening bridge and its "disputed counts"
story, run on a fresh `ledger demo` store, print what the README shows (ids, digests and times
are each run's own, so they are compared as shapes)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.e2e.conftest import Cli

README = Path(__file__).resolve().parents[2] / "README.md"
VARYING = [
    (re.compile(r"FIG-\d{8}-[0-9a-f]{10}"), "FIG-ID"),
    (re.compile(r"\b[0-9a-f]{64}\b"), "DIGEST"),
    (re.compile(r"\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d+)?(\+00:00| UTC)"), "MOMENT"),
]


def blocks() -> list[str]:
    return re.findall(r"```[a-z]*\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def shape(line: str) -> str:
    """A line with its run-specific values masked and table borders reduced to cells."""
    for pattern, mask in VARYING:
        line = pattern.sub(mask, line)
    if "│" in line:
        return " | ".join(cell.strip() for cell in line.strip().strip("│").split("│"))
    return " ".join(line.split())


def printed(block: str, command: str) -> list[str]:
    """The lines the README shows under ``$ command`` (up to the next command or comment)."""
    lines = block.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"$ {command}"))
    shown: list[str] = []
    for line in lines[start + 1:]:
        if line.startswith(("$ ", "# ")):
            break
        if line.startswith("    ") and shown == [] and not line.strip().startswith("│"):
            continue  # the command's continuation lines
        if line.strip() and line.strip() != "...":
            shown.append(shape(line))
    assert shown, f"the README shows no output for `{command}`"
    return shown


def assert_shown(output: str, expected: list[str]) -> None:
    got = [shape(line) for line in output.splitlines()]
    missing = [line for line in expected if line not in got]
    assert not missing, "README lines not printed:\n" + "\n".join(missing) + "\n---\n" + output


@pytest.fixture
def demo(sqlite_cli: Cli) -> Cli:
    sqlite_cli.ok("demo", "--no-html")
    return sqlite_cli


def test_the_opening_bridge_is_the_demos(demo: Cli) -> None:
    block = next(b for b in blocks() if "$ ledger reconcile --as-of 2026-05-06" in b)
    expected = printed(block, "ledger reconcile --as-of 2026-05-06")
    assert len(expected) >= 15
    assert_shown(demo.ok("reconcile", "--as-of", "2026-05-06").stdout, expected)


def test_the_disputed_counts_story_runs_as_printed(demo: Cli) -> None:
    block = next(b for b in blocks() if "$ ledger publish --rulebook official" in b)
    published = demo.ok("publish", "--rulebook", "official", "--as-of", "2026-05-06").stdout
    assert_shown(published, printed(block, "ledger publish"))
    figure = re.search(r"FIG-\d{8}-[0-9a-f]{10}", published)
    assert figure is not None
    late = ["--source-id", "late-CHM-0002", "--effective-on", "2026-04-28", "--recorded-by", "MoMD",
            "--source-document", "MoMD departure letter 0428", "--household-id", "CHM-0002",
            "--from-site-id", "CHAMISHKU", "--pathway", "return", "--to-pcode", "IQG15Q07",
            "--departure-letter-ref", "MoMD-DL-0428"]
    assert " ".join(late[:4]) in " ".join(block.replace("\\\n", " ").split())
    recorded = demo.ok("record", "household_departed", *late).stdout
    assert_shown(recorded, printed(block, "ledger record household_departed"))
    audit = demo.ok("audit", "figure", figure.group()).stdout
    assert_shown(audit, printed(block, "ledger audit figure"))
    known_at = demo.json("audit", "figure", figure.group())["known_at"]
    diff = demo.ok("audit", "diff", "--rulebook", "official", "--status", "idp_in_camp", "--place",
                   "CHAMISHKU", "--as-of", "2026-05-06", "--known-at", known_at).stdout
    assert_shown(diff, printed(block, "ledger audit diff"))
    count = demo.ok("audit", "count", "--rulebook", "official", "--status", "idp_in_camp",
                    "--place", "CHAMISHKU", "--as-of", "2026-05-06", "--csv",
                    demo.cwd / "chamishku.csv").stdout
    assert_shown(count, printed(block, "ledger audit count"))
    assert "CHM-0002" not in (demo.cwd / "chamishku.csv").read_text(encoding="utf-8")
    demo.ok("audit", "household", "CHM-0002")
