"""The ledger's facts in SQLite or PostgreSQL: the store port over the library's recorders.

The library's application wiring (``LedgerEvents``) reads the store's settings, makes the
recorder (``ledger.store.recorders``: events, the fact index and the hash chain in one
transaction) and the mapper; :class:`SqlFactStore` answers the write side's three questions
with them, one query each however many facts or aggregates a batch names.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import IntegrityError, StoredEvent, Transcoder

import ledger.domain  # noqa: F401  (defines every event class, so their topics resolve)
from ledger.domain.base import FactAggregate, FactEvent
from ledger.store.chain import FactMeta
from ledger.store.port import KnownSource, StoreConflict
from ledger.store.recorders import LedgerPostgresRecorder, LedgerSQLiteRecorder
from ledger.store.settings import APPLICATION_NAME, StoreSettings
from ledger.store.sources import SourceIndex
from ledger.store.transcoder import ledger_transcoder


class LedgerEvents(Application[UUID]):
    """The library's wiring of one store. ``name`` is pinned: it names the PostgreSQL events
    table (``ledger_events``)."""

    name = APPLICATION_NAME

    def __init__(self, settings: StoreSettings) -> None:
        self.settings = settings
        super().__init__(env=settings.eventsourcing_env())

    def construct_transcoder(self) -> Transcoder:
        return ledger_transcoder()


def replay(events: Iterable[Any]) -> dict[UUID, FactAggregate]:
    """Aggregates from their events, given stream after stream, each in version order."""
    found: dict[UUID, FactAggregate] = {}
    aggregate: Any = None
    for event in events:
        aggregate = event.mutate(found.get(event.originator_id))
        found[event.originator_id] = aggregate
    return found


class SqlFactStore:
    def __init__(self, settings: StoreSettings) -> None:
        self.settings = settings
        self.events = LedgerEvents(settings)
        recorder = self.events.recorder
        assert isinstance(recorder, LedgerPostgresRecorder | LedgerSQLiteRecorder)
        self.recorder = recorder
        self.mapper = self.events.mapper
        self.sources = SourceIndex(recorder)

    def find_sources(self, source_ids: Collection[str]) -> dict[str, KnownSource]:
        return self.sources.find(list(source_ids))

    def load(self, ids: Collection[UUID]) -> dict[UUID, FactAggregate]:
        if not ids:
            return {}
        stored: list[StoredEvent] = self.recorder.select_streams(list(ids))
        return replay(map(self.mapper.to_domain_event, stored))

    def save(self, events: Sequence[FactEvent], index: Sequence[FactMeta]) -> list[int]:
        try:
            recordings = self.events.events.put(events, fact_meta=index)
        except IntegrityError:
            raise StoreConflict from None
        return [r.notification.id for r in recordings]

    def refresh_statistics(self) -> None:
        """After many facts: the planner's statistics of the fact tables (PostgreSQL; SQLite
        plans these look-ups by their indexes without statistics)."""
        if isinstance(self.recorder, LedgerPostgresRecorder):
            self.recorder.analyze()

    def close(self) -> None:
        self.events.close()
