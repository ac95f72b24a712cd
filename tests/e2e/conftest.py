"""The `ledger` command as a user runs it: a subprocess, the store chosen by LEDGER_DATABASE_URL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ledger.store.settings import StoreSettings
from tests.conftest import init_store

LEDGER = Path(sys.executable).with_name("ledger")


@dataclass(frozen=True)
class Result:
    args: tuple[str, ...]
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        assert self.code == 0, f"`ledger {' '.join(self.args)}` exited {self.code}: {self.stderr}"
        return json.loads(self.stdout)


class Cli:
    """Runs `ledger ...` against one store, from a working directory of the test's own."""

    def __init__(self, url: str, cwd: Path) -> None:
        self.url = url
        self.cwd = cwd

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")}
        env["LEDGER_DATABASE_URL"] = self.url
        env["COLUMNS"] = "200"  # wide tables: nothing a test looks for is wrapped
        return env

    def __call__(self, *args: str | Path, timeout: float = 120) -> Result:
        argv = tuple(str(a) for a in args)
        done = subprocess.run([str(LEDGER), *argv], cwd=self.cwd, env=self.env(),
                              capture_output=True, text=True, timeout=timeout, check=False)
        return Result(argv, done.returncode, done.stdout, done.stderr)

    def ok(self, *args: str | Path) -> Result:
        result = self(*args)
        assert result.code == 0, f"`ledger {' '.join(result.args)}` exited {result.code}: {result.stderr}"
        return result

    def json(self, *args: str | Path) -> Any:
        return self(*args, "--json").json()


def write_jsonl(path: Path, facts: Iterable[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(f) + "\n" for f in facts), encoding="utf-8")
    return path


def start_follower(env: dict[str, str], cwd: Path, *, stderr: int = subprocess.PIPE
                   ) -> subprocess.Popen[str]:
    """`ledger views follow --poll 0.2`, started as from a terminal: Ctrl-C (SIGINT) reaches it
    even when the test run itself was started in the background by a shell without job
    control, which ignores SIGINT in its children (and `views follow` keeps an ignored SIGINT
    ignored, as a background process should). The process restores SIGINT and becomes the
    follower (``exec``: same process id), so the test signals the follower itself."""
    return subprocess.Popen([sys.executable, "-c", _SIGINT_AS_FROM_A_TERMINAL, str(LEDGER),
                             "views", "follow", "--poll", "0.2"],
                            env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=stderr, text=True)


_SIGINT_AS_FROM_A_TERMINAL = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_DFL); "
    "os.execv(sys.argv[1], sys.argv[1:])"
)


def stop_process(process: subprocess.Popen[str], sig: int = signal.SIGINT,
                 timeout: float = 60) -> tuple[str, str]:
    """Send ``sig`` and collect the process's output once it has stopped. One that has not
    stopped within ``timeout`` is asked for its threads' stacks (``ledger`` prints them on
    SIGUSR1), then killed, and the test fails showing them."""
    process.send_signal(sig)
    try:
        return process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.send_signal(signal.SIGUSR1)
        time.sleep(2)
        process.kill()
        out, err = process.communicate()
        pytest.fail(f"`{' '.join(map(str, process.args))}` did not stop within {timeout} s of "
                    f"signal {sig}; its threads:\n{err}\n{out}")


def assert_no_traceback(result: Result) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    assert "Traceback" not in result.stdout, result.stdout


@pytest.fixture
def bare_cli(store_settings: StoreSettings, tmp_path: Path) -> Cli:
    """The command on a store nobody has initialised yet (PostgreSQL: the schema does not exist)."""
    return Cli(store_settings.url, tmp_path)


@pytest.fixture
def cli(bare_cli: Cli, store_settings: StoreSettings) -> Cli:
    """The command on a store after `ledger init` (what it does, in this process: a start-up of
    the command less per test; the tests that run `ledger init` itself use ``bare_cli``)."""
    init_store(store_settings)
    return bare_cli


@pytest.fixture
def sqlite_cli(tmp_path: Path) -> Cli:
    """The command on an initialised SQLite file, for checks that do not depend on the engine."""
    runner = Cli(f"sqlite:///{tmp_path / 'ledger.db'}", tmp_path)
    init_store(StoreSettings.from_url(runner.url))
    return runner
