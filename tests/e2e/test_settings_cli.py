"""Every LEDGER_* setting is checked at start: a wrong one is one line naming it, exit code 2,
before any work; help still works."""

from __future__ import annotations

import subprocess

import pytest

from tests.e2e.conftest import LEDGER, Cli
from tests.inprocess import Ledger


@pytest.mark.parametrize(("name", "value", "expected"), [
    ("LEDGER_LOG_LEVEL", "verbose", "expected one of debug, info, warning, error, critical"),
    ("LEDGER_DATABASE_URL", "mysql://ledger@db/ledger", "expected sqlite:///path"),
    ("LEDGER_DATABASE_URL", "postgresql://u@h/db?schema=Bad-Name", "expected lower-case letters"),
])
def test_a_wrong_setting_stops_every_command_with_one_line(sqlite_cli: Cli, name: str, value: str,
                                                           expected: str) -> None:
    for command in (("views", "status"), ("import", "nothing.jsonl"), ("init",)):
        ran = Ledger(sqlite_cli.url)(*command, env={name: value})
        assert ran.code == 2, ran.stderr
        assert ran.stderr.count("\n") == 1, ran.stderr
        assert name in ran.stderr
        assert expected in ran.stderr


def test_log_levels_are_read_in_any_case(sqlite_cli: Cli) -> None:
    for level in ("DEBUG", "info", "Warning", "error", "critical", ""):
        assert Ledger(sqlite_cli.url)("rulebooks", "list", env={"LEDGER_LOG_LEVEL": level}).code == 0


def test_the_command_refuses_a_wrong_log_level_but_still_gives_help(sqlite_cli: Cli) -> None:
    env = {**sqlite_cli.env(), "LEDGER_LOG_LEVEL": "verbose"}

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([str(LEDGER), *args], cwd=sqlite_cli.cwd, env=env, text=True,
                              capture_output=True, check=False, timeout=120)

    refused = run("views", "show", "--rulebook", "official")
    assert refused.returncode == 2
    assert refused.stderr.strip() == ("error: LEDGER_LOG_LEVEL 'verbose': expected one of debug, "
                                      "info, warning, error, critical")
    helped = run("views", "show", "--help")
    assert helped.returncode == 0
    assert "--rulebook" in helped.stdout
