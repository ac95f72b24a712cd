"""What the write side asks of a store: the port the service and the bulk path are written against.

Two implementations: :class:`ledger.store.sql.SqlFactStore` (the library's recorders on SQLite or
PostgreSQL, with the fact index and the hash chain) and :class:`ledger.store.memory.MemoryFactStore`
(the same mapper and rules in memory, for unit tests of every domain and service rule).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from ledger.domain.base import FactAggregate, FactEvent
from ledger.store.chain import FactMeta


@dataclass(frozen=True, slots=True)
class KnownSource:
    """A fact already recorded, as its ``source_id`` finds it in the fact index."""

    source_id: str
    content_hash: str
    fact_type: str
    subject_id: str
    household_id: str | None
    originator_id: UUID
    position: int | None


class StoreConflict(Exception):  # noqa: N818 - a signal to retry, never shown to a user
    """Another writer changed one of the aggregates, or recorded one of the ``source_id``\\ s,
    between this writer's read and its write: nothing was saved; try again from fresh state."""


class FactStore(Protocol):
    def find_sources(self, source_ids: Collection[str]) -> dict[str, KnownSource]:
        """The recorded facts with these ``source_id``\\ s."""

    def load(self, ids: Collection[UUID]) -> dict[UUID, FactAggregate]:
        """These aggregates, each replayed from its stream (absent when it has no event)."""

    def save(self, events: Sequence[FactEvent], index: Sequence[FactMeta]) -> list[int]:
        """Store the events, each with its fact's index entry (``index`` in the same order), all
        or nothing, in this order; their positions. Raises :class:`StoreConflict` when a stream
        already has an event's version (another writer was first) or a ``source_id`` is already
        recorded."""
