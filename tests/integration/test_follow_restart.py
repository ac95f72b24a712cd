"""`ledger views follow` across a restart of its PostgreSQL server (issue 11, item 4).

The test starts a throwaway cluster of its own (initdb on a free loopback port), runs the
follower as a user would, restarts the server under it (fast: AdminShutdown; immediate: the
server closes the connection), records facts after each restart behind the follower's back,
and expects the follower to reconnect, log it, and bring the views up to date, with no traceback.
A lost connection at the end of an import is one line after the import's report.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from ledger.catalogue import parse_fact
from ledger.demo import worked_example
from ledger.store.settings import StoreSettings
from ledger.workspace import Workspace
from tests.e2e.conftest import LEDGER, start_follower, stop_process

pytestmark = pytest.mark.postgres

BIN = Path("/usr/local/bin")


def _binary(name: str) -> str | None:
    return shutil.which(name) or (str(BIN / name) if (BIN / name).exists() else None)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Cluster:
    """A PostgreSQL cluster in a temporary folder, run as the `postgres` user when we are root."""

    def __init__(self, initdb: str, pg_ctl: str) -> None:
        self.pg_ctl = pg_ctl
        self.folder = Path(tempfile.mkdtemp(prefix="ledger-pg-"))
        self.data = self.folder / "data"
        self.port = _free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:  # initdb refuses to run as root
            shutil.chown(self.folder, "postgres", "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        self.run(initdb, "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    def run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True, timeout=120)

    def ctl(self, action: str, *extra: str) -> None:
        options = f"-c listen_addresses=127.0.0.1 -c port={self.port} -c fsync=off " \
                  f"-c unix_socket_directories={self.folder}"
        self.run(self.pg_ctl, action, "-D", str(self.data), "-w", "-t", "60", "-o", options,
                 "-l", str(self.folder / "log"), *extra)

    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres?schema=ledger"

    def remove(self) -> None:
        subprocess.run([*self.as_user, self.pg_ctl, "stop", "-D", str(self.data), "-m", "immediate"],
                       capture_output=True, check=False, timeout=60)
        shutil.rmtree(self.folder, ignore_errors=True)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    if initdb is None or pg_ctl is None:
        pytest.skip("initdb and pg_ctl are not installed: no throwaway PostgreSQL cluster")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root without runuser: initdb cannot run")
    made = Cluster(initdb, pg_ctl)
    try:
        made.ctl("start")
        yield made
    finally:
        made.remove()


def wait_until_current(ws: Workspace, seconds: float = 90) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if ws.views.position() == ws.views.ledger_head():
                return True
        except psycopg.Error:
            ws.db.close()
        time.sleep(0.2)
    return False


def record_behind_the_followers_back(url: str, facts: list[dict[str, object]]) -> None:
    """Record through the write side alone: no catch-up, so only the follower updates the views."""
    with Workspace(StoreSettings.from_url(url)) as writer:
        list(writer.ledger.record_many(parse_fact(f) for f in facts))


@pytest.mark.slow
def test_the_follower_reconnects_after_fast_and_immediate_restarts(cluster: Cluster,
                                                                   tmp_path: Path) -> None:
    url = cluster.url()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")},
           "LEDGER_DATABASE_URL": url}
    subprocess.run([str(LEDGER), "init"], env=env, check=True, capture_output=True, timeout=120)
    facts = list(worked_example())
    thirds = [facts[: len(facts) // 3], facts[len(facts) // 3: 2 * len(facts) // 3],
              facts[2 * len(facts) // 3:]]
    follower = start_follower(env, tmp_path, stderr=subprocess.STDOUT)
    try:
        with Workspace(StoreSettings.from_url(url)) as ws:
            record_behind_the_followers_back(url, thirds[0])
            assert wait_until_current(ws)
            for mode, part in (("fast", thirds[1]), ("immediate", thirds[2])):
                cluster.ctl("restart", "-m", mode)
                ws.db.close()
                record_behind_the_followers_back(url, part)
                assert wait_until_current(ws), f"the follower caught up after a {mode} restart"
            assert follower.poll() is None, "the follower is still running"
    finally:
        output, _ = stop_process(follower)
    assert "Traceback" not in output, output
    assert output.count("follow_connection_lost") >= 2, output
    assert "follow_reconnected" in output


def test_an_import_whose_catch_up_loses_the_server_reports_then_says_the_views_are_behind(
    cluster: Cluster, tmp_path: Path,
) -> None:
    url = cluster.url()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("LEDGER_")},
           "LEDGER_DATABASE_URL": url}
    subprocess.run([str(LEDGER), "init"], env=env, check=True, capture_output=True, timeout=120)
    with Workspace(StoreSettings.from_url(url)) as ws:
        list(ws.ledger.record_many(parse_fact(f) for f in worked_example()))
        # The facts are recorded; the server goes away before the views are brought up to date.
        cluster.ctl("stop", "-m", "immediate")
        message = ws.catch_up_after_writing()
    assert message is not None
    assert "views are behind" in message
    assert "\n" not in message
    assert "ledger views catch-up" in message
