"""Issue 11 item 7: a full disk, a read-only store and a schema that cannot hold a ledger are
each one line saying what happened and what to do, exit 1, nothing half-written, and the
import resumes where it stopped.

The disk and the read-only store are real: a small tmpfs, a read-only bind mount and an
immutable store file (``chattr +i``), which need root and a kernel that lets the test mount (the
test is skipped, saying so, otherwise). Root ignores file modes, so ``chmod`` alone cannot make
a store read-only for it; as another user the test uses file and folder modes instead.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from ledger.catalogue import parse_fact
from ledger.store.settings import StoreSettings
from ledger.workspace import Workspace
from ledger.writer import Writer
from tests.conftest import PG_DSN
from tests.e2e.conftest import LEDGER, Cli, Result, assert_no_traceback, write_jsonl
from tests.factdicts import registration, site


def _one_line_error(result: Result, *words: str) -> None:
    assert_no_traceback(result)
    assert result.code == 1, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]


@contextmanager
def _mounted(target: Path, *args: str) -> Iterator[None]:
    target.mkdir(exist_ok=True)
    done = subprocess.run(["mount", *args, str(target)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a file system here ({done.stderr.strip() or 'not root'})")
    try:
        yield
    finally:
        subprocess.run(["umount", "-l", str(target)], capture_output=True, check=False)


def test_a_schema_that_cannot_hold_a_ledger_is_one_line(tmp_path: Path) -> None:
    # Every reserved name is checked in tests/unit/test_failure_messages.py; these two through
    # the command, as the issue found them (a traceback, and an accepted information_schema).
    for schema, args in (("pg_catalog", ("init",)), ("information_schema", ("views", "status"))):
        cli = Cli(f"postgresql://postgres@127.0.0.1:5432/test?schema={schema}", tmp_path)
        _one_line_error(cli(*args), f"schema {schema!r}", "choose another")


def _store_with_facts(folder: Path) -> Cli:
    cli = Cli(f"sqlite:///{folder / 'ledger.db'}", folder)
    cli.ok("init")
    cli.ok("import", write_jsonl(folder / "in.jsonl", [site("CHAMISHKU"), registration("H1")]))
    return cli


@contextmanager
def _read_only_view_of(folder: Path, view: Path, how: str = "mount") -> Iterator[Path]:
    """The folder's store made read-only, as an operator meets it: ``mount``, the folder as a
    read-only bind mount (for another user: a folder without write permission); ``file``, the
    store file alone immutable (``chattr +i``, which binds root too; for another user: mode
    0444)."""
    store = folder / "ledger.db"
    if os.geteuid() != 0:
        target, mode = (folder, 0o555) if how == "mount" else (store, 0o444)
        target.chmod(mode)
        try:
            yield folder
        finally:
            target.chmod(0o755 if how == "mount" else 0o644)
        return
    if how == "mount":
        with _mounted(view, "--bind", "-o", "ro", str(folder)):
            yield view
        return
    done = subprocess.run(["chattr", "+i", str(store)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot make a file immutable here ({done.stderr.strip()})")
    try:
        yield folder
    finally:
        subprocess.run(["chattr", "-i", str(store)], check=False)


@pytest.mark.parametrize("how", ["mount", "file"])
def test_reading_commands_work_on_a_read_only_store_and_writing_ones_say_why_not(
        tmp_path: Path, how: str) -> None:
    store = tmp_path / "store"
    store.mkdir()
    _store_with_facts(store)
    out = tmp_path / "out"
    out.mkdir()

    with _read_only_view_of(store, tmp_path / "ro", how) as folder:
        cli = Cli(f"sqlite:///{folder / 'ledger.db'}", out)
        assert cli.json("verify")["ok"] is True
        assert cli.json("views", "status")["behind"] == 0
        assert cli.json("views", "show", "--rulebook", "official")
        cli.ok("audit", "household", "H1")
        cli.ok("export", "view", "--rulebook", "official", "--output", out / "view.csv")
        recorded = cli("record", "site_closed", "--source-id", "c-1", "--site-id", "CHAMISHKU",
                       "--effective-on", "2020-01-01")

    _one_line_error(recorded, "read-only", "reading commands")
    assert "CHAMISHKU" in (out / "view.csv").read_text()


def _fill(folder: Path) -> Path:
    filler = folder / "filler"
    with filler.open("wb") as handle, suppress(OSError):
        while True:
            handle.write(b"\0" * 65536)
            handle.flush()
    return filler


@pytest.mark.slow
def test_a_full_disk_stops_the_import_in_one_line_and_the_import_resumes(tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    # source_document stays within its 200-character bound: it is the disk that must fail
    facts = [{"type": "nonsense"}, site("CHAMISHKU")] + [
        registration(f"H{i}", source_document="letter " + "x" * 190) for i in range(6000)]
    source = write_jsonl(tmp_path / "in.jsonl", facts)
    with _mounted(disk, "-t", "tmpfs", "-o", "size=1m", "tmpfs"):
        cli = Cli(f"sqlite:///{disk / 'ledger.db'}", tmp_path)
        cli.ok("init")

        full = cli("import", source)

        _one_line_error(full, "the disk is full", "run the command again", "recorded before it")
        assert not (tmp_path / "in.rejects.jsonl").exists(), "no half-written rejects file"
        status = cli.json("views", "status")
        assert status["behind"] == 0
        assert cli.json("verify")["ok"] is True
        before = status["ledger_head"]

        subprocess.run(["mount", "-o", "remount,size=64m", str(disk)], check=True)
        again = cli("import", source, "--json")

        report = json.loads(again.stdout)
        assert (report["total"], report["rejected"]) == (6002, 1)
        assert report["already_recorded"] == before
        assert report["recorded"] + report["already_recorded"] == 6001
        assert cli.json("views", "status")["ledger_head"] == 6001


def test_an_output_on_a_full_disk_is_one_line_and_the_previous_file_stays(tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    cli = _store_with_facts(store)
    disk = tmp_path / "disk"
    with _mounted(disk, "-t", "tmpfs", "-o", "size=256k", "tmpfs"):
        cli.ok("export", "view", "--rulebook", "official", "--output", disk / "view.csv")
        previous = (disk / "view.csv").read_text()
        _fill(disk)

        for args in (("export", "view", "--rulebook", "official", "--output", disk / "view.csv"),
                     ("report", "--html", disk / "report.html")):
            _one_line_error(cli(*args), "the disk is full")

        assert (disk / "view.csv").read_text() == previous
        assert not list(disk.glob(".ledger-writing-*"))
        assert not (disk / "report.html").exists()


def test_a_read_only_store_whose_views_are_behind_says_so_instead_of_showing_them(
        tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    _store_with_facts(store)
    ledger = Writer(StoreSettings.from_url(f"sqlite:///{store / 'ledger.db'}"))
    try:
        ledger.record(parse_fact(registration("H2")))  # recorded, the views not caught up
    finally:
        ledger.close()

    with _read_only_view_of(store, tmp_path / "ro") as folder:
        cli = Cli(f"sqlite:///{folder / 'ledger.db'}", tmp_path)
        status = cli.json("views", "status")
        shown = cli("views", "show", "--rulebook", "official")

    assert status["behind"] == 1
    _one_line_error(shown, "read-only", "1 facts behind", "views catch-up")


@pytest.mark.slow
@pytest.mark.postgres
def test_a_connection_lost_mid_import_is_one_line_and_the_import_resumes(
        pg_settings: StoreSettings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    app_name = f"ledger-test-{uuid.uuid4().hex[:12]}"  # libpq names the import's connections
    monkeypatch.setenv("PGAPPNAME", app_name)
    cli = Cli(pg_settings.url, tmp_path)
    cli.ok("init")
    source = write_jsonl(tmp_path / "in.jsonl", [site("CHAMISHKU")] + [
        registration(f"H{i}") for i in range(20_000)])
    facts = sql.SQL("SELECT count(*) FROM {}.ledger_facts").format(sql.Identifier(pg_settings.schema))

    importing = subprocess.Popen([str(LEDGER), "import", str(source)], cwd=tmp_path, env=cli.env(),
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with psycopg.connect(**PG_DSN, autocommit=True, application_name="ledger-test-killer") as conn:
        while importing.poll() is None and conn.execute(facts).fetchone()[0] == 0:  # type: ignore[index]
            time.sleep(0.05)
        # The store stays unreachable: every connection the import opens again (the recorder
        # retries a lost one) is ended too, until the import gives up.
        deadline = time.monotonic() + 120
        while importing.poll() is None and time.monotonic() < deadline:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE application_name = %s", (app_name,))
            time.sleep(0.02)
    _, stderr = importing.communicate(timeout=300)
    result = Result(("import",), importing.returncode, "", stderr)

    _one_line_error(result, "lost the connection", "run the command again", "recorded before it")
    again = cli.json("import", source)
    assert again["recorded"] + again["already_recorded"] == 20_001
    assert again["already_recorded"] > 0
    assert cli.json("views", "status")["behind"] == 0
    assert cli.json("verify")["ok"] is True


def test_a_read_only_mount_of_a_store_in_use_reads_the_facts_still_in_its_wal(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to bind-mount the store's folder read-only")
    store = tmp_path / "store"
    store.mkdir()
    _store_with_facts(store)
    # A reader elsewhere with a transaction open: the writer below cannot checkpoint the WAL
    # into the main file, as on a store that a service is writing while it is mounted.
    holder = sqlite3.connect(store / "ledger.db", isolation_level=None)
    try:
        holder.execute("BEGIN")
        holder.execute("SELECT count(*) FROM sqlite_master").fetchone()
        with Workspace(StoreSettings.from_url(f"sqlite:///{store / 'ledger.db'}")) as ws:
            ws.record(parse_fact(registration("H2")))
        assert (store / "ledger.db-wal").stat().st_size > 0
        with _mounted(tmp_path / "ro", "--bind", "-o", "ro", str(store)):
            cli = Cli(f"sqlite:///{tmp_path / 'ro' / 'ledger.db'}", tmp_path)
            status = cli.json("views", "status")
            cli.json("views", "show", "--rulebook", "official", "--by", "national")  # exits 0
    finally:
        holder.close()

    assert (status["ledger_head"], status["behind"]) == (3, 0)  # immutable would read 2
