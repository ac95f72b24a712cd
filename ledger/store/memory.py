"""The store port in memory: the service's rules tested with no database.

Events go through the same mapper as in the SQL stores (so transcoding, topics and upcasting
are exercised too) and are kept as stored events, by stream; the fact index is a dictionary.
Like the SQL stores, a save is all or nothing, and an event whose stream already has its version,
or a ``source_id`` already recorded, is a :class:`~ledger.store.port.StoreConflict`.
"""

from __future__ import annotations

import itertools
from collections.abc import Collection, Sequence
from uuid import UUID

from eventsourcing.persistence import StoredEvent

import ledger.domain  # noqa: F401  (defines every event class, so their topics resolve)
from ledger.domain.base import FactAggregate, FactEvent
from ledger.store.chain import FactMeta
from ledger.store.port import KnownSource, StoreConflict
from ledger.store.sql import replay
from ledger.store.transcoder import ledger_mapper


class MemoryFactStore:
    def __init__(self) -> None:
        self.mapper = ledger_mapper()
        self.streams: dict[UUID, list[StoredEvent]] = {}
        self.sources: dict[str, KnownSource] = {}
        self.log: list[tuple[int, StoredEvent, FactMeta]] = []
        self._positions = itertools.count(1)

    def find_sources(self, source_ids: Collection[str]) -> dict[str, KnownSource]:
        return {s: self.sources[s] for s in source_ids if s in self.sources}

    def load(self, ids: Collection[UUID]) -> dict[UUID, FactAggregate]:
        stored = [event for i in ids for event in self.streams.get(i, ())]
        return replay(map(self.mapper.to_domain_event, stored))

    def save(self, events: Sequence[FactEvent], index: Sequence[FactMeta]) -> list[int]:
        stored = [self.mapper.to_stored_event(event) for event in events]
        self._check(stored, index)
        positions = []
        for event, meta in zip(stored, index, strict=True):
            assert isinstance(event.originator_id, UUID)
            position = next(self._positions)
            self.streams.setdefault(event.originator_id, []).append(event)
            self.log.append((position, event, meta))
            self.sources[meta.source_id] = KnownSource(
                meta.source_id, meta.content_hash, meta.fact_type, meta.subject_id,
                meta.household_id, event.originator_id, position)
            positions.append(position)
        return positions

    def _check(self, stored: Sequence[StoredEvent], index: Sequence[FactMeta]) -> None:
        """As the SQL stores' unique constraints: (stream, version) and ``source_id`` once each."""
        versions: set[tuple[UUID, int]] = set()
        sources: set[str] = set()
        for event, meta in zip(stored, index, strict=True):
            assert isinstance(event.originator_id, UUID)
            key = (event.originator_id, event.originator_version)
            taken = {e.originator_version for e in self.streams.get(event.originator_id, ())}
            if key in versions or event.originator_version in taken:
                raise StoreConflict
            versions.add(key)
            if meta.source_id in self.sources or meta.source_id in sources:
                raise StoreConflict
            sources.add(meta.source_id)
