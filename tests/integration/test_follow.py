"""ISSUE 3: the live follower on PostgreSQL never relies on a notification alone.

The follower LISTENs and also polls. A lost notification is simulated by a follower listening
on a channel nobody notifies: with a short poll it still catches up within seconds; with a long
poll it visibly does not (so the first test really exercises the poll); and on the right channel
the notification alone wakes it at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import psycopg
import pytest
from psycopg import sql

from ledger.catalogue import parse_fact
from ledger.store.settings import StoreSettings
from ledger.workspace import Workspace
from projections.follow import follow
from projections.queries import show
from tests.conftest import PG_DSN
from tests.factdicts import registration, site

pytestmark = pytest.mark.postgres

LOST = "nobody_notifies_this_channel"


@contextmanager
def follower(settings: StoreSettings, *, poll: float, channel: str | None) -> Iterator[Callable[[], None]]:
    """A follower thread with its own workspace; yields a function that wakes it to stop."""
    stop = threading.Event()
    started = threading.Event()

    def run() -> None:
        with Workspace(settings) as ws:
            started.set()
            follow(ws.views, ws.db, poll_seconds=poll, max_seconds=60, stop=stop, channel=channel)

    def wake() -> None:
        with psycopg.connect(**PG_DSN, autocommit=True) as conn:
            conn.execute(sql.SQL("NOTIFY {}").format(sql.Identifier(channel or "ledger_events")))

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    started.wait(10)
    try:
        yield wake
    finally:
        stop.set()
        wake()
        thread.join(15)
        assert not thread.is_alive()


def counted(ws: Workspace, household_rows: int = 1) -> bool:
    rows = show(ws.views, "operational").rows
    return sum(r.households for r in rows) >= household_rows


def wait_until(condition: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return condition()


@pytest.fixture
def workspace(pg_settings: StoreSettings) -> Iterator[Workspace]:
    with Workspace(pg_settings) as ws:
        ws.init()
        ws.record(parse_fact(site("CHAMISHKU")))
        yield ws


def record_without_catching_up(ws: Workspace) -> None:
    """A fact written by another process: the ledger alone, the views left behind."""
    ws.ledger.record(parse_fact(registration("H1", registry="operational", members=6)))
    assert ws.views.position() < ws.views.ledger_head()


def caught_up(ws: Workspace) -> bool:
    return ws.views.position() == ws.views.ledger_head()


def test_a_lost_notification_is_made_up_for_by_the_poll(workspace: Workspace,
                                                        pg_settings: StoreSettings) -> None:
    with follower(pg_settings, poll=0.3, channel=LOST):
        assert wait_until(lambda: caught_up(workspace), 5)
        record_without_catching_up(workspace)

        assert wait_until(lambda: counted(workspace), 5), "the poll never caught up"


def test_without_the_poll_a_lost_notification_leaves_the_views_behind(
    workspace: Workspace, pg_settings: StoreSettings
) -> None:
    with follower(pg_settings, poll=60, channel=LOST):
        assert wait_until(lambda: caught_up(workspace), 5)
        time.sleep(1.0)  # let the follower finish its catch-up loop and block on the wrong channel
        record_without_catching_up(workspace)

        assert not wait_until(lambda: counted(workspace), 1.5)


def test_the_notification_wakes_the_follower_at_once(workspace: Workspace,
                                                     pg_settings: StoreSettings) -> None:
    with follower(pg_settings, poll=60, channel=None):
        assert wait_until(lambda: caught_up(workspace), 5)
        time.sleep(1.0)  # the follower is now waiting: only the notification can wake it
        record_without_catching_up(workspace)

        assert wait_until(lambda: counted(workspace), 5), "the NOTIFY did not wake the follower"
