"""A rebuild's households folded on every core: worker processes partitioned by household.

:meth:`projections.views.Views.rebuild` on PostgreSQL, from ``parallel_from`` facts on, fills
its ``_next`` tables through :meth:`Workers.build`:

- The coordinator (the process rebuilding) starts the worker processes first
  (:class:`Workers`: ``python -m projections.rebuild``, each with a pipe to it; they import
  while it sets the rebuild up), cuts the households into ranges of about as many facts
  (:func:`ledger.store.reading.household_bounds`, many ranges a worker so that a worker slowed
  by a busy machine does fewer of them) and hands each worker a range at a time.
- A worker reads its range in household order on its own connection
  (:func:`ledger.store.reading.household_chunks`), folds ``chunk`` households at a time,
  numbers the states new to it under the projector's lock (:meth:`Signatures.settle`,
  committed before any row names them), COPYs the chunk's rows into the ``_next`` tables (one
  transaction a chunk), and tells the coordinator how many facts it did. Nothing goes through
  the coordinator but ranges and counts.
- Signatures stay one numbering shared with the live tables and with any catch-up running
  meanwhile: a worker numbers only under the projector's lock, and a state another projector
  numbered first keeps its number (:mod:`projections.viewrows`).
- A worker whose coordinator is gone (killed) stops before its next chunk. A killed rebuild's
  worker still writing must not write into the next rebuild's tables: every worker holds a
  shared advisory lock while it lives, and a rebuild takes it exclusively
  (:func:`wait_for_old_workers`) before it drops the ``_next`` tables.

This module stays light (no catalogue, no logging): each worker imports it at start-up.
"""

from __future__ import annotations

import gc
import hashlib
import os
import subprocess
import sys
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from multiprocessing.connection import Connection, Pipe, wait
from pathlib import Path

from ledger.errors import StoreError
from ledger.store.db import Database
from ledger.store.reading import FactRecord, household_bounds, household_chunks
from ledger.store.settings import StoreSettings
from projections.rulebooks import Rulebook
from projections.viewrows import (
    END_OF_TIME,
    END_OF_TIME_DATE,
    Signatures,
    count_in_digest,
    fold_households,
    lock_projector,
    table_rows,
    write_rows,
)

# Ranges of households handed out: about RANGE_FACTS facts each, from 2 to RANGES_PER_WORKER a
# worker (more ranges: a worker slowed by a busy machine does fewer of them; fewer: less set-up).
RANGES_PER_WORKER = 12
RANGE_FACTS = 20_000
Range = tuple[str | None, str | None]  # households from the first (inclusive) to the second


@dataclass(frozen=True)
class Job:
    """What every worker of one rebuild is told first."""

    settings: StoreSettings
    books: tuple[Rulebook, ...]  # in name order
    head: int
    chunk: int
    suffix: str
    coordinator: int  # its process id: a worker whose parent is no longer it stops


def advisory_key(db: Database, purpose: str) -> int:
    """A PostgreSQL advisory lock's key: ``purpose`` in this store's schema."""
    text = f"ledger {purpose} {db.settings.schema}"
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big", signed=True)


def _lock_key(db: Database) -> int:
    return advisory_key(db, "views rebuild workers")


def wait_for_old_workers(db: Database) -> None:
    """Wait until no worker of an earlier rebuild (one killed midway) is still running."""
    with db.cursor() as cur:
        cur.execute("SELECT pg_advisory_lock(%s)", (_lock_key(db),))
        cur.execute("SELECT pg_advisory_unlock(%s)", (_lock_key(db),))


# ---- the coordinator ------------------------------------------------------------------------------
class Workers:
    """A rebuild's worker processes, started at once (they import while the rebuild sets up;
    they touch nothing until :meth:`build` hands them their job) and stopped on leaving."""

    def __init__(self, count: int) -> None:
        self.processes: dict[Connection, subprocess.Popen[bytes]] = {}
        try:
            for _ in range(count):
                process, connection = _start_worker()
                self.processes[connection] = process
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        for connection, process in self.processes.items():
            if process.poll() is None:
                process.terminate()
            process.wait()
            connection.close()
        self.processes.clear()

    def build(self, db: Database, head: int, facts: int, books: Sequence[Rulebook], *,
              chunk: int, suffix: str, progress: Callable[[int], None] | None) -> int:
        """Fill the ``_next`` tables with every household's rows up to ``head`` (``facts`` of
        them, which size the ranges); returns the facts the workers read."""
        job = Job(db.settings, tuple(books), head, chunk, suffix, os.getpid())
        for connection in self.processes:
            _send(connection, self.processes, job)
        workers = len(self.processes)
        with db.cursor() as cur:
            parts = min(max(facts // RANGE_FACTS, 2 * workers), RANGES_PER_WORKER * workers)
            bounds = household_bounds(cur, db, parts, facts)
        ranges: deque[Range] = deque(zip([None, *bounds], [*bounds, None], strict=True))
        return _hand_out(self.processes, ranges, progress)


def _start_worker() -> tuple[subprocess.Popen[bytes], Connection]:
    ours, theirs = Pipe()
    # The child imports this package from where this process did, whatever its sys.path.
    root = str(Path(__file__).resolve().parent.parent)
    path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH")) if p)
    try:
        process = subprocess.Popen(  # noqa: S603  (this interpreter, this module)
            [sys.executable, "-m", "projections.rebuild", str(theirs.fileno())],
            pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": path},
            start_new_session=True)  # a Ctrl-C stops the coordinator, which stops its workers
    finally:
        theirs.close()
    return process, ours


def _hand_out(processes: dict[Connection, subprocess.Popen[bytes]], ranges: deque[Range],
              progress: Callable[[int], None] | None) -> int:
    """Give each worker a range, and the next each time it is done with one; then ``None``."""
    applied = 0
    busy: set[Connection] = set()
    for connection in processes:
        task = ranges.popleft() if ranges else None
        _send(connection, processes, task)
        if task is not None:
            busy.add(connection)
    while busy:
        for ready in wait(list(busy)):
            assert isinstance(ready, Connection)
            try:
                kind, value = ready.recv()
            except EOFError:
                raise _stopped(processes[ready]) from None
            if kind == "facts":
                applied += value
                if progress:
                    progress(value)
            elif kind == "done":
                task = ranges.popleft() if ranges else None
                _send(ready, processes, task)
                if task is None:
                    busy.discard(ready)
            else:
                raise StoreError(f"a rebuild worker failed: {value}")
    return applied


def _send(connection: Connection, processes: dict[Connection, subprocess.Popen[bytes]],
          message: object) -> None:
    try:
        connection.send(message)
    except OSError:  # its end is closed: it stopped (its error is on stderr)
        raise _stopped(processes[connection]) from None


def _stopped(process: subprocess.Popen[bytes]) -> StoreError:
    return StoreError(f"a rebuild worker stopped (exit status {process.wait()})")


# ---- a worker ----------------------------------------------------------------------------------------
def work(connection: Connection) -> None:
    """Fold the ranges the coordinator hands out until it says there are no more."""
    job: Job = connection.recv()
    gc.disable()  # the fold makes many small objects and no cycles: reference counting frees them
    with Database(job.settings) as db, Database(job.settings) as reader:
        with db.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock_shared(%s)", (_lock_key(db),))
            numbers = Signatures.load(cur, provisional=True)
        while (task := connection.recv()) is not None:
            first, before = task
            with household_chunks(db, job.head, job.chunk, first=first, before=before,
                                  reader=reader) as chunks:
                for households in chunks:
                    if os.getppid() != job.coordinator:
                        return  # the rebuild was killed: write nothing more
                    connection.send(("facts", _write_chunk(db, job, households, numbers)))
            connection.send(("done", None))


def _write_chunk(db: Database, job: Job, households: dict[str, list[FactRecord]],
                 numbers: Signatures) -> int:
    """Fold, number the new states, write the rows: one chunk of households."""
    folded = fold_households(households, job.books, numbers)
    final: dict[int, int] = {}
    if numbers.new:
        with db.transaction() as cur:
            lock_projector(cur, db)
            final, saved = numbers.settle(cur)
            count_in_digest(cur, db, saved)
    states, pairs = table_rows(folded, job.books, END_OF_TIME_DATE, END_OF_TIME, final)
    with db.transaction() as cur:
        write_rows(cur, db, states, pairs, job.suffix)
    return sum(len(facts) for facts in households.values())


def main(argv: Sequence[str]) -> int:
    connection = Connection(int(argv[0]))
    try:
        work(connection)
    except (EOFError, BrokenPipeError, ConnectionResetError, KeyboardInterrupt):
        return 1  # the coordinator is gone, or stops us
    except Exception as exc:  # any failure goes to the coordinator, which raises it
        traceback.print_exc()
        connection.send(("error", f"{type(exc).__name__}: {exc}".strip()))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
