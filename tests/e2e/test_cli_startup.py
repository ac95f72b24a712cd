"""`ledger` starts with what its command needs: `ledger --help` loads typer and nothing of the
product, and a reading command neither the write side (the catalogue, the domain, the input
models, the service), nor the event-sourcing library or the rebuild's worker processes, nor
structlog when nothing is logged, nor the exports', the report's or the HTTP service's
libraries, and a command that records loads the vault's cipher only for a
fact with personal data. Each is checked in a fresh process (what a user waits for is its imports); times
themselves are measured by hand (the figures are in the README), never asserted here."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ledger.cli.main import COMMANDS
from ledger.vault_keys import new_key
from tests.e2e.conftest import LEDGER
from tests.inprocess import command_tree, run_ledger

PROBE = """
import json, sys
sys.argv = ["ledger", *json.loads(sys.argv[1])]
code = 0
try:
    from ledger.cli.main import main
    main()
except SystemExit as exc:
    code = exc.code
finally:
    sys.stdout.flush()
    sys.stderr.write("\\nLOADED " + json.dumps([code, sorted(sys.modules)]) + "\\n")
"""

HEAVY_FOR_HELP = ("pydantic", "eventsourcing", "psycopg", "structlog", "cryptography", "plotly",
                  "openpyxl", "fastapi", "uvicorn", "rich", "markdown_it", "ledger.catalogue", "ledger.facts",
                  "ledger.application", "ledger.workspace", "ledger.store", "projections")
NOT_FOR_READING = ("plotly", "openpyxl", "fastapi", "uvicorn", "starlette", "ledger.service",
                   "projections.report", "projections.export", "projections.audit",
                   "projections.compare", "ledger.importing", "structlog", "ledger.catalogue",
                   "ledger.facts", "ledger.domain", "ledger.application", "ledger.bulk",
                   "ledger.writer", "ledger.vault", "cryptography", "eventsourcing",
                   "psycopg_pool", "ledger.store.recorders", "projections.rebuild",
                   "multiprocessing")
SITE = ("record", "site_registered", "--source-id", "site-khanke", "--effective-on", "2014-08-20",
        "--site-id", "KHANKE", "--name", "Khanke camp", "--kind", "camp", "--location-pcode",
        "IQG09Q03")
HOUSEHOLD = ("record", "household_registered", "--source-id", "reg-k1", "--effective-on",
             "2015-01-10", "--household-id", "K1", "--registry", "official", "--registration-ref",
             "MOMD-K1", "--site-id", "KHANKE", "--members", "6", "--displaced-on", "2014-08-03")


def loaded_by(*args: str, env: dict[str, str] | None = None) -> set[str]:
    """The modules a `ledger ARGS` process has loaded when it ends (it must succeed)."""
    ran = subprocess.run([sys.executable, "-c", PROBE, json.dumps(args)], capture_output=True,
                         text=True, env=env, check=False, timeout=120)
    marker = ran.stderr.rindex("LOADED ")
    code, modules = json.loads(ran.stderr[marker + len("LOADED "):])
    assert code in (0, None), ran.stderr
    return set(modules)


def loads(modules: set[str], package: str) -> bool:
    return any(m == package or m.startswith(package + ".") for m in modules)


def test_ledger_help_loads_typer_and_nothing_of_the_product() -> None:
    modules = loaded_by("--help")

    assert [p for p in HEAVY_FOR_HELP if loads(modules, p)] == []
    assert not [m for m in modules if m.startswith("ledger.cli.") and m not in
                ("ledger.cli.main", "ledger.cli.lazy")]


def test_views_show_of_a_camp_loads_no_write_side_logging_export_report_or_service(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    assert run_ledger(url, "init").code == 0
    assert run_ledger(url, *SITE).code == 0
    assert run_ledger(url, *HOUSEHOLD).code == 0

    modules = loaded_by("views", "show", "--rulebook", "official", "--place", "KHANKE", "--json",
                        env={"LEDGER_DATABASE_URL": url, "PATH": "/usr/bin:/bin"})

    assert [p for p in NOT_FOR_READING if loads(modules, p)] == []


def test_the_log_level_still_logs_a_reading_commands_failure(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    assert run_ledger(url, "init").code == 0
    env = {"LEDGER_DATABASE_URL": url, "PATH": "/usr/bin:/bin", "LEDGER_LOG_LEVEL": "info"}

    args = ["views", "show", "--rulebook", "official", "--place", "NOWHERE", "--json"]
    ran = subprocess.run([str(LEDGER), *args], capture_output=True, text=True, env=env,
                         check=False, timeout=120)

    assert ran.returncode == 1
    logged = [json.loads(line) for line in ran.stderr.splitlines() if line.startswith("{")]
    assert [(line["event"], line["level"]) for line in logged] == [("command_failed", "info")]
    assert ran.stdout == ""


@pytest.mark.parametrize("name", list(COMMANDS))
def test_ledger_help_lists_each_command_with_the_first_paragraph_of_its_own_help(name: str) -> None:
    command = command_tree()[(name,)]

    first_paragraph = inspect.cleandoc(command.help or "").split("\n\n")[0]
    assert COMMANDS[name].summary == first_paragraph


def words(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("group", [(), ("views",), ("audit",), ("export", "audit")])
def test_a_groups_help_lists_every_command_by_the_whole_first_paragraph_of_its_help(
    group: tuple[str, ...],
) -> None:
    tree = command_tree()
    listed = words(run_ledger("sqlite:///unused.db", *group, "--help").stdout)

    commands = {path[-1]: command for path, command in tree.items()
                if len(path) == len(group) + 1 and path[:-1] == group}
    assert commands
    for name, command in commands.items():
        first_paragraph = words(inspect.cleandoc(command.help or "").split("\n\n")[0])
        assert f"{name} {first_paragraph}" in listed


def test_a_mistyped_command_is_answered_with_the_closest_one_once() -> None:
    ran = run_ledger("sqlite:///unused.db", "views", "shw")

    assert ran.code == 2
    assert ran.stderr.count("Did you mean 'show'?") == 1


def test_recording_loads_the_cipher_only_for_a_fact_with_personal_data(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    assert run_ledger(url, "init").code == 0
    assert run_ledger(url, *SITE).code == 0
    plain_env = {"LEDGER_DATABASE_URL": url, "PATH": "/usr/bin:/bin"}

    plain = loaded_by(*HOUSEHOLD, env=plain_env)
    personal = loaded_by("record", "household_registered", "--source-id", "reg-k2",
                         "--effective-on", "2015-01-11", "--household-id", "K2", "--registry",
                         "official", "--registration-ref", "MOMD-K2", "--site-id", "KHANKE",
                         "--members", "4", "--displaced-on", "2014-08-03",
                         "--phone", "+964 750 123 4567",
                         env={**plain_env, "LEDGER_VAULT_KEY": new_key()})

    assert loads(plain, "ledger.catalogue")  # it did record: the write side is there
    assert not loads(plain, "cryptography")
    assert loads(personal, "cryptography.hazmat.primitives.ciphers.aead")
