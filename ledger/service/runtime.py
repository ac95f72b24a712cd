"""The service's hold on the store: one writer, a small pool of readers, and a view follower.

Writes go through one ``Workspace`` under a lock: one batch at a time per process, each
catching the views up after it is saved (``Workspace.record_many``), as the CLI does. Reads
borrow a workspace of their own from a pool (a ``Database`` holds one connection, which two
threads must not share). A follower thread keeps the views up to date with facts that other
processes record (PostgreSQL: LISTEN/NOTIFY plus polling; SQLite: polling), restarting after
a store failure.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import structlog

from ledger.errors import LedgerError
from ledger.store.settings import StoreSettings
from ledger.workspace import Workspace

log = structlog.get_logger()
READERS = 8
FOLLOW_POLL_SECONDS = 0.5


class Runtime:
    def __init__(self, settings: StoreSettings, *, readers: int = READERS,
                 follow_poll: float = FOLLOW_POLL_SECONDS,
                 user_errors: tuple[type[Exception], ...] = (LedgerError,)) -> None:
        self.settings = settings
        self._user_errors = user_errors  # a user's mistake leaves the connection as good as it was
        self._write_lock = threading.Lock()
        self._writer: Workspace | None = None
        self._readers: queue.LifoQueue[Workspace] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(readers)
        self._stop = threading.Event()
        self._follow_poll = follow_poll
        self._follower: threading.Thread | None = None

    # ---- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        with self.reader() as ws:
            ws.check_initialised()
        self._follower = threading.Thread(target=self._follow, name="ledger-follower", daemon=True)
        self._follower.start()

    def stop(self) -> None:
        self._stop.set()
        if self._follower is not None:
            self._follower.join(timeout=10)
        with self._write_lock:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
        while True:
            try:
                self._readers.get_nowait().close()
            except queue.Empty:
                break

    # ---- workspaces -----------------------------------------------------------------------
    @contextmanager
    def writer(self) -> Iterator[Workspace]:
        """The one writing workspace, held for the whole request's batch."""
        with self._write_lock:
            if self._writer is None:
                self._writer = Workspace(self.settings)
            try:
                yield self._writer
            except self._user_errors:
                raise
            except BaseException:
                # a failed write may leave its connection in a bad state: start afresh next time
                self._writer.close()
                self._writer = None
                raise

    @contextmanager
    def reader(self) -> Iterator[Workspace]:
        with self._slots:
            try:
                ws = self._readers.get_nowait()
            except queue.Empty:
                ws = Workspace(self.settings)
            try:
                yield ws
            except self._user_errors:
                self._readers.put(ws)
                raise
            except BaseException:
                ws.close()  # the store failed: the next request opens a fresh connection
                raise
            self._readers.put(ws)

    # ---- the follower ---------------------------------------------------------------------
    def _follow(self) -> None:
        from projections.follow import follow  # noqa: PLC0415  (read side wired lazily)

        while not self._stop.is_set():
            ws = Workspace(self.settings)
            try:
                follow(ws.views, ws.db, poll_seconds=self._follow_poll, stop=self._stop)
            except Exception as exc:  # the store went away: log, wait, follow again
                log.warning("follower_failed", error=type(exc).__name__)
                self._stop.wait(2.0)
            finally:
                ws.close()

    @property
    def following(self) -> bool:
        return self._follower is not None and self._follower.is_alive()
