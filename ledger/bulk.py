"""The bulk path: many facts recorded in atomic batches, at the speed of a file import.

The rules are the service's (:func:`ledger.application.act` on each fact, in order); what this
module adds is only how the work is grouped:

* **batches**: every ``source_id`` a batch names is looked up in one query, every aggregate it
  names loaded in one query, and its events saved in one atomic write (the store's COPY);
* **a writer thread**: while one batch is recorded (mostly waiting on the database), the next is
  read from the input (parsing, for an import), so the input is read one batch ahead;
* **the garbage collector** kept out of a batch's thousands of small allocations;
* **a cache** of the aggregates of earlier batches (bounded, least recently used first out);
* **retries**: a batch that meets a concurrent writer (a conflict on save) is recorded again
  from fresh state, and after ``MAX_ATTEMPTS`` fact by fact.

``tests/integration/test_bulk_equivalence.py`` checks that this path stores the same facts and
views as recording the same input one fact at a time.
"""

from __future__ import annotations

import gc
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from itertools import islice

from ledger.application import (
    MAX_ATTEMPTS,
    A,
    LedgerService,
    Named,
    Outcome,
    act,
    aggregates_named,
    backoff,
    index_entry,
    load_named,
    personal_refusal,
    rejection,
    repeat_outcome,
    sources_named,
)
from ledger.domain.base import DomainRuleError, FactAggregate, FactEvent
from ledger.errors import LedgerError
from ledger.facts import FactInput, FactVoided
from ledger.store.chain import FactMeta
from ledger.store.port import FactStore, KnownSource, StoreConflict

CACHE_SIZE = 20_000  # aggregates kept between the batches of one import (bounds its memory)
BATCH_SIZE = 2_000  # facts per atomic save: a quarter of the commits and round trips of 500
Cache = OrderedDict[tuple[str, str], FactAggregate | None]  # by (kind, key)


class BulkRecorder:
    def __init__(self, store: FactStore, *, cache_size: int = CACHE_SIZE) -> None:
        self.store = store
        self.service = LedgerService(store)
        self.cache_size = cache_size

    def record_many(self, facts: Iterable[FactInput | LedgerError], *,
                    batch_size: int = BATCH_SIZE) -> Iterator[Outcome]:
        """Record facts in order, in batches saved atomically; yields one outcome per input.

        An input that is already a ``LedgerError`` (it failed validation upstream) is passed
        through as a rejection, so callers keep one outcome per input line. Batches are
        recorded one after another, each on the state its predecessor committed.
        """
        inputs = iter(facts)
        cache: Cache = OrderedDict()
        try:
            batch = list(islice(inputs, batch_size))
            if len(batch) < batch_size:  # all there is: no reading ahead, no writer thread
                with _collector_paused():
                    outcomes = self._record_batch(batch, cache) if batch else []
                yield from outcomes
                return
            with ThreadPoolExecutor(1, thread_name_prefix="ledger-writer") as writer:
                while batch:
                    failure: Exception | None = None
                    with _collector_paused():
                        recording = writer.submit(self._record_batch, batch, cache)
                        try:
                            batch = list(islice(inputs, batch_size))
                        except Exception as exc:  # the input failed: re-raised once the batch before is out
                            batch, failure = [], exc
                        outcomes = recording.result()
                    yield from outcomes
                    if failure is not None:
                        raise failure
        finally:
            gc.unfreeze()

    def _record_batch(self, batch: list[FactInput | LedgerError], cache: Cache) -> list[Outcome]:
        for attempt in range(MAX_ATTEMPTS):
            try:
                return _Batch(self.store, cache, self.cache_size).run(batch)
            except StoreConflict:
                # A concurrent writer saved an event on one of our aggregates, or the same
                # source_id, between our read and our write. Retry from fresh state: duplicates
                # then show up as "already recorded" in the look-up.
                cache.clear()
                backoff(attempt)
        return list(self.service.record_each(batch))


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a batch allocates its thousands of small objects.

    A batch makes little cyclic garbage, but enough allocations to trigger collections that
    walk every live object, the cached aggregates included: a tenth of an import's time.
    Afterwards the batch's own cyclic garbage is collected (a young-generation pass over just
    what the batch allocated), and the survivors (the cache, mostly) are frozen out of later
    collections; ``record_many`` unfreezes them when it ends. Collecting before freezing keeps
    an import's memory flat: frozen garbage would otherwise live until the import ends.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.collect(0)
        if enabled:
            gc.enable()
        gc.freeze()


def _settled(outcome: Outcome, saved: dict[str, int]) -> Outcome:
    """A repeat of a fact recorded earlier in the same batch gets that fact's position."""
    if outcome.status == "already_recorded" and outcome.position is None and outcome.source_id in saved:
        return Outcome("already_recorded", outcome.source_id, saved[outcome.source_id])
    return outcome


class _Batch:
    """One batch: a unit of work over the aggregates it loaded once, saved atomically.

    ``cache`` carries the aggregates of earlier batches of the same import (up to date after
    their save); a concurrent writer that changed one makes the save conflict, and the batch is
    retried with an empty cache.
    """

    def __init__(self, store: FactStore, cache: Cache, cache_size: int) -> None:
        self.store = store
        self.cache = cache
        self.cache_size = cache_size
        self.aggregates: dict[tuple[str, str], FactAggregate | None] = {}
        self.known: dict[str, KnownSource] = {}
        self.pending: dict[str, KnownSource] = {}

    # ---- the unit of work (ledger.application.Unit) ------------------------------------------
    def get(self, cls: type[A], key: str) -> A | None:
        name = (cls.KIND, key)
        if name not in self.aggregates:
            self.aggregates.update(load_named(self.store, [(cls, key)]))
        found = self.aggregates[name]
        assert found is None or isinstance(found, cls)
        return found

    def created(self, cls: type[FactAggregate], key: str, aggregate: FactAggregate) -> None:
        self.aggregates[(cls.KIND, key)] = aggregate

    def source(self, source_id: str) -> KnownSource | None:
        return self.known.get(source_id) or self.pending.get(source_id)

    # ---- the batch ------------------------------------------------------------------------------
    def preload(self, facts: list[FactInput]) -> None:
        """Every source_id and every aggregate the batch's facts name: a query each."""
        self.known = self.store.find_sources([s for f in facts for s in sources_named(f)])
        named: set[Named] = set()
        for fact in facts:
            target = self.known.get(fact.voided_source_id) if isinstance(fact, FactVoided) else None
            named |= aggregates_named(fact, target)
        missing = []
        for cls, key in named:
            name = (cls.KIND, key)
            if name in self.cache:
                self.aggregates[name] = self.cache[name]
            else:
                missing.append((cls, key))
        self.aggregates.update(load_named(self.store, missing))

    def run(self, batch: list[FactInput | LedgerError]) -> list[Outcome]:
        self.preload([f for f in batch if isinstance(f, FactInput)])
        results: list[Outcome | int] = []  # an outcome, or the index of the fact's event
        events: list[FactEvent] = []
        index: list[FactMeta] = []
        for fact in batch:
            outcome = self._refused(fact)
            if outcome is not None:
                results.append(outcome)
                continue
            assert isinstance(fact, FactInput)
            try:
                aggregate = act(self, fact)
            except (LedgerError, DomainRuleError) as exc:
                results.append(rejection(fact, exc))
                continue
            (event,) = aggregate.collect_events()
            assert isinstance(event, FactEvent)
            meta = index_entry(fact, self)
            results.append(len(events))
            events.append(event)
            index.append(meta)
            self.pending[fact.source_id] = KnownSource(
                fact.source_id, meta.content_hash, fact.type, meta.subject_id, meta.household_id,
                event.originator_id, None)
        positions = self.store.save(events, index) if events else []
        self._keep()
        saved = {meta.source_id: position for meta, position in zip(index, positions, strict=True)}
        return [_settled(r, saved) if isinstance(r, Outcome)
                else Outcome("recorded", index[r].source_id, positions[r]) for r in results]

    def _refused(self, fact: FactInput | LedgerError) -> Outcome | None:
        """The outcome of an input that is not recorded before any rule is asked, or None."""
        if isinstance(fact, LedgerError):
            return Outcome("rejected", None, error=fact)
        refused = personal_refusal(fact)
        if refused is not None:
            return refused
        previous = self.known.get(fact.source_id) or self.pending.get(fact.source_id)
        return repeat_outcome(fact, previous) if previous is not None else None

    def _keep(self) -> None:
        """The batch's aggregates into the cache, as saved (least recently used out first)."""
        for name, aggregate in self.aggregates.items():
            self.cache[name] = aggregate
            self.cache.move_to_end(name)
        while len(self.cache) > self.cache_size:
            self.cache.popitem(last=False)
