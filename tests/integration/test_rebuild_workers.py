"""A PostgreSQL rebuild folds households in worker processes (projections.rebuild): the views it
builds are the ones a rebuild in one process builds, and a rebuild killed midway leaves the live
views whole, its workers stop, and the next rebuild finishes (issue 12 item 7)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import psycopg
import pytest

import projections.rebuild
from ledger.catalogue import parse_fact
from ledger.errors import StoreError
from ledger.store.reading import ledger_extent
from ledger.store.settings import StoreSettings
from ledger.workspace import Workspace
from projections.rebuild import Workers, _lock_key
from projections.viewcheck import check_views, views_digest_status
from projections.views import Views
from tests.conftest import PG_DSN
from tests.integration.test_projector_crash import many_facts, next_rows, view_content

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
CHUNK = 60  # households a worker folds and writes at a time: many chunks from a small ledger


@pytest.fixture
def workspace(pg_settings: StoreSettings) -> Iterator[Workspace]:
    ws = Workspace(pg_settings)
    ws.init()
    outcomes = list(ws.ledger.record_many(parse_fact(f) for f in many_facts()))
    assert all(o.status == "recorded" for o in outcomes)
    ws.views.catch_up()
    yield ws
    ws.close()


def in_workers(ws: Workspace, workers: int = 2) -> Views:
    return Views(ws.db, rebuild_workers=workers, parallel_from=0)


def test_a_rebuild_in_worker_processes_builds_the_views_a_rebuild_in_one_process_does(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("projections.views.REBUILD_CHUNK", CHUNK)
    Views(workspace.db, rebuild_workers=1).rebuild()
    in_one_process = view_content(workspace)
    handed: list[tuple[Connection, object]] = []  # (worker, range): the rebuild's hand-outs
    send = projections.rebuild._send

    def spy(connection: Connection, processes: Any, message: object) -> None:
        if isinstance(message, tuple):
            handed.append((connection, message))
        send(connection, processes, message)

    monkeypatch.setattr("projections.rebuild._send", spy)

    applied = in_workers(workspace, 3).rebuild()

    # The workers folded the households, not this process quietly on its own.
    assert len({connection for connection, _ in handed}) >= 2, handed
    assert applied == workspace.views.ledger_head()
    assert view_content(workspace) == in_one_process
    check = check_views(workspace.views)
    assert check.ok, check.differences[:5]


def workers_alive(ws: Workspace) -> bool:
    """Whether a rebuild's worker is still alive (each holds a shared advisory lock while it
    lives, which a rebuild waits for before it drops the tables the workers write)."""
    key = _lock_key(ws.db)
    with psycopg.connect(**PG_DSN, autocommit=True) as conn:
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
        if row and row[0]:
            conn.execute("SELECT pg_advisory_unlock(%s)", (key,))
    return not (row and row[0])


REBUILD_IN_WORKERS = f"""
import sys
sys.path.insert(0, {str(ROOT)!r})
import projections.views
from ledger.store.settings import StoreSettings
from ledger.workspace import Workspace
projections.views.REBUILD_CHUNK = {CHUNK // 6}
with Workspace(StoreSettings.from_url(sys.argv[1])) as ws:
    projections.views.Views(ws.db, rebuild_workers=2, parallel_from=0).rebuild()
"""


def kill_rebuild_in_workers(ws: Workspace, settings: StoreSettings) -> None:
    """Start a rebuild in worker processes and SIGKILL it while they write the new tables."""
    process = subprocess.Popen([sys.executable, "-c", REBUILD_IN_WORKERS, settings.url],
                               env={**os.environ, "LEDGER_LOG_LEVEL": "WARNING"},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while process.poll() is None and next_rows(ws) <= 0 and time.monotonic() < deadline:
        time.sleep(0.002)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert next_rows(ws) > 0, "killed while the workers were writing the new tables"


def test_a_rebuild_in_workers_killed_midway_leaves_the_views_whole_and_its_workers_stop(
    workspace: Workspace, pg_settings: StoreSettings,
) -> None:
    before = view_content(workspace)

    kill_rebuild_in_workers(workspace, pg_settings)

    assert view_content(workspace) == before, "readers never see the half-built tables"
    deadline = time.monotonic() + 60
    while workers_alive(workspace) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not workers_alive(workspace), "the killed rebuild's workers stopped"
    in_workers(workspace).rebuild()
    assert next_rows(workspace) == -1
    assert view_content(workspace) == before


def test_states_numbered_by_a_killed_rebuild_are_in_the_views_digest(
    pg_settings: StoreSettings,
) -> None:
    with Workspace(pg_settings) as ws:
        ws.init()
        list(ws.ledger.record_many(parse_fact(f) for f in many_facts()))  # views left behind
        with ws.db.cursor() as cur:
            assert cur.execute("SELECT count(*) FROM view_signatures").fetchall() == [(0,)]

        kill_rebuild_in_workers(ws, pg_settings)

        with ws.db.cursor() as cur:
            [(numbered,)] = cur.execute("SELECT count(*) FROM view_signatures").fetchall()
        assert numbered > 0
        assert views_digest_status(ws.db)["ok"], "verify finds the views as the projector left them"


def test_a_worker_that_fails_fails_the_rebuild_with_its_reason(workspace: Workspace) -> None:
    books = sorted(workspace.views.rulebooks().values(), key=lambda b: b.name)
    with workspace.db.cursor() as cur:
        head, facts = ledger_extent(cur)
    with Workers(2) as workers, pytest.raises(StoreError) as failed:
        workers.build(workspace.db, head, facts, books, chunk=CHUNK,
                      suffix="_never_created", progress=None)
    assert "view_states_never_created" in str(failed.value)
    assert "does not exist" in str(failed.value)
