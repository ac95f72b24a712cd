"""Following the ledger live: the views catch up whenever facts arrive.

On PostgreSQL the recorder NOTIFYs on every insert; the follower LISTENs, but never relies on
it alone: a notification can be lost (a dropped connection, a restart), so it also polls every
``poll_seconds``. SQLite has no notifications (the library's SQLite recorder has no
``subscribe()``): the follower polls. Either way, catching up is idempotent and reads by
position, so an extra wake-up costs one cheap query and a missed one costs at most one poll.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import psycopg
import structlog
from psycopg import sql

from ledger.store.db import Database
from projections.views import Views

log = structlog.get_logger()


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
    stop = stop or threading.Event()
    deadline = None if max_seconds is None else time.monotonic() + max_seconds
    conn = _listen(db, channel or db.events_table) if db.is_postgres else None
    log.info("follow_started", poll_seconds=poll_seconds, listen=conn is not None)
    try:
        while not stop.is_set() and (deadline is None or time.monotonic() < deadline):
            applied = views.catch_up()
            if applied and on_applied is not None:
                on_applied(applied)
            if conn is not None:
                # Wakes on the first notification, or after poll_seconds without one.
                for _ in conn.notifies(timeout=poll_seconds, stop_after=1):
                    pass
            else:
                stop.wait(poll_seconds)
    finally:
        if conn is not None:
            conn.close()
        log.info("follow_stopped", position=views.position())


def _listen(db: Database, channel: str) -> psycopg.Connection[tuple[object, ...]]:
    s = db.settings
    conn = psycopg.connect(host=s.host, port=s.port, user=s.user, password=s.password,
                           dbname=s.dbname, autocommit=True)
    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
    return conn
