"""Following the ledger live: the views catch up whenever facts arrive.

On PostgreSQL the recorder NOTIFYs on every insert; the follower LISTENs, but never relies on
it alone: a notification can be lost (a dropped connection, a restart), so it also polls every
``poll_seconds``. SQLite has no notifications (the library's SQLite recorder has no
``subscribe()``): the follower polls. Either way, catching up is idempotent and reads by
position, so an extra wake-up costs one cheap query and a missed one costs at most one poll.

A lost connection (the server restarted, fast or immediate, or the network dropped) is logged
(``follow_connection_lost``), and the follower reconnects with a backoff that doubles from
``RETRY_FIRST`` to ``RETRY_MAX`` seconds (``follow_reconnected``), then catches up: a batch
interrupted mid-way was rolled back whole, so nothing is applied twice.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable

import psycopg

from ledger import logs
from ledger.errors import StoreError
from ledger.store.db import Database
from ledger.store.reading import listen
from projections.views import Views

RETRY_FIRST = 0.5
RETRY_MAX = 30.0
# What a store that went away raises: psycopg's OperationalError covers AdminShutdown (a fast
# shutdown) and "server closed the connection" (an immediate one); StoreError is a reconnect
# that failed; SQLite's OperationalError a locked or unreadable file.
LOST = (psycopg.OperationalError, psycopg.InterfaceError, StoreError, sqlite3.OperationalError)


def follow(
    views: Views,
    db: Database,
    *,
    poll_seconds: float = 1.0,
    max_seconds: float | None = None,
    stop: threading.Event | None = None,
    channel: str | None = None,
    on_applied: Callable[[int], None] | None = None,
) -> None:
    """Catch up, then keep catching up until ``stop`` is set or ``max_seconds`` have passed."""
    views.require_projector("`ledger views follow`")
    stop = stop or threading.Event()
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    channel = channel or db.events_table
    conn = listen(db, channel) if db.is_postgres else None
    logs.info("follow_started", poll_seconds=poll_seconds, listen=conn is not None)
    retry = RETRY_FIRST
    try:
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            try:
                if conn is None and db.is_postgres:
                    conn = listen(db, channel)
                    logs.warning("follow_reconnected")  # as visible as the loss it ends
                applied = views.catch_up()
                retry = RETRY_FIRST
                if applied and on_applied is not None:
                    on_applied(applied)
                if conn is not None:
                    # Wakes on the first notification, or after poll_seconds without one.
                    for _ in conn.notifies(timeout=poll_seconds, stop_after=1):
                        pass
                else:
                    stop.wait(poll_seconds)
            except LOST as exc:
                logs.warning("follow_connection_lost", error=_first_line(exc), retry_in=retry)
                _drop(conn)
                conn = None
                db.close()  # the next statement opens a new connection
                stop.wait(retry)
                retry = min(retry * 2, RETRY_MAX)
    finally:
        _drop(conn)
        try:
            logs.info("follow_stopped", position=views.position())
        except LOST:
            logs.info("follow_stopped")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def _drop(conn: psycopg.Connection[tuple[object, ...]] | None) -> None:
    if conn is not None:
        with contextlib.suppress(psycopg.Error):  # already gone
            conn.close()
