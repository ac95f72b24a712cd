"""`ledger serve` as a deployment runs it: a real uvicorn process on a loopback port, over a
store chosen by LEDGER_DATABASE_URL, with tokens made by `ledger tokens create`."""

from __future__ import annotations

import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from ledger.store.db import Database
from ledger.store.settings import StoreSettings
from ledger.store.tokens import issue_token
from tests.conftest import init_store
from tests.e2e.conftest import LEDGER, Cli


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """One `ledger serve` process; `restart` keeps the port, so clients can retry through it."""

    def __init__(self, cli: Cli, log: Path) -> None:
        self.cli = cli
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**self.cli.env(), "LEDGER_LOG_LEVEL": "info"}
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(LEDGER), "serve", "--port", str(self.port)], cwd=self.cli.cwd, env=env,
                stdout=out, stderr=out)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.log.read_text()
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.1)
        raise AssertionError("ledger serve did not start: " + self.log.read_text())

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.process is not None
        self.process.send_signal(sig)
        code = self.process.wait(timeout=60)
        self.process = None
        return code

    def restart(self) -> None:
        self.stop()
        self.start()

    def wait_ready(self, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            answer = httpx.get(self.url + "/readyz", timeout=5)
            if answer.status_code == 200 or time.monotonic() > deadline:
                return dict(answer.json())
            time.sleep(0.1)


@pytest.fixture
def cli(store_settings: StoreSettings, tmp_path: Path) -> Cli:
    """The command on a store after `ledger init`."""
    init_store(store_settings)  # what `ledger init` does, without a second start-up per test
    return Cli(store_settings.url, tmp_path)


@pytest.fixture
def server(cli: Cli, tmp_path: Path) -> Iterator[Server]:
    running = Server(cli, tmp_path / "serve.log")
    running.start()
    yield running
    if running.process is not None:
        running.stop()
    log = running.log.read_text()
    assert "Traceback" not in log, log  # no request failed (500s are logged with their traceback)


def token(cli: Cli, org: str, role: str, registry: str | None = None) -> str:
    """What `ledger tokens create` does (its own test runs the command)."""
    with Database(StoreSettings.from_url(cli.url)) as db:
        return issue_token(db, org, role, registry)[0]


def client(server: Server, bearer: str | None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    return httpx.Client(base_url=server.url, headers=headers, timeout=60)
