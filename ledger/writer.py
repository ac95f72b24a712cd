"""The write side wired to one store (``Workspace.ledger`` loads it when a command writes)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ledger.application import LedgerService, Outcome
from ledger.bulk import BATCH_SIZE, BulkRecorder
from ledger.errors import LedgerError
from ledger.facts import FactInput
from ledger.store.settings import StoreSettings
from ledger.store.sql import SqlFactStore

STATISTICS_AFTER = 10_000  # facts recorded in one go after which the planner's statistics are stale


class Writer:
    """The write side wired to one store: the per-fact service and the bulk path over the SQL
    store, without the views (``Workspace`` adds them, and the vault)."""

    def __init__(self, settings: StoreSettings, *, statistics_after: int = STATISTICS_AFTER) -> None:
        self.store = SqlFactStore(settings)
        self.service = LedgerService(self.store)
        self.bulk = BulkRecorder(self.store)
        self.statistics_after = statistics_after

    def record(self, fact: FactInput) -> Outcome:
        """Record one fact; raises its ``LedgerError`` when it is rejected."""
        outcome = self.service.record(fact)
        if outcome.error is not None:
            raise outcome.error
        return outcome

    def record_many(self, facts: Iterable[FactInput | LedgerError], *,
                    batch_size: int | None = None) -> Iterator[Outcome]:
        """The bulk path (``batch_size``: facts per atomic save, default ``BATCH_SIZE``); after
        ``statistics_after`` facts recorded, the store's statistics are refreshed, so the views'
        catch-up and every later read is planned on the new rows."""
        recorded = 0
        size = BATCH_SIZE if batch_size is None else batch_size
        for outcome in self.bulk.record_many(facts, batch_size=size):
            recorded += outcome.status == "recorded"
            yield outcome
        if recorded >= self.statistics_after:
            self.store.refresh_statistics()

    def close(self) -> None:
        self.store.close()
