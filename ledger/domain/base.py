"""What every fact-bearing aggregate shares: its facts, its voids, and the rules about them.

Each fact recorded in the ledger is exactly one domain event, so every event here carries the
common fields of a fact (``source_id``, ``effective_on``, ``recorded_by``, ``source_document``).
Aggregates keep a compact list of their own live (not voided) entries so that the rules can be
checked against the effective dates of facts, which may arrive late and out of order.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from eventsourcing.domain import Aggregate, event

NAMESPACE = uuid.UUID("5d8f6a0e-8f0f-4d8a-9a57-5f2f1c0ad0b1")


class DomainRuleError(Exception):
    """A business rule of the domain was broken; ``field`` names the input field at fault."""

    def __init__(self, message: str, *, field: str | None = None, not_found: bool = False) -> None:
        super().__init__(message)
        self.field = field
        self.not_found = not_found


@lru_cache(maxsize=65_536)  # a batch asks for the same ids several times; uuid5 is not cheap
def aggregate_id(kind: str, key: str) -> uuid.UUID:
    """Stable aggregate id from a business key: the same household always maps to one stream."""
    return uuid.uuid5(NAMESPACE, f"{kind}:{key}")


@dataclass(frozen=True, slots=True)
class Entry:
    """A live fact as the rules see it."""

    source_id: str
    kind: str
    effective_on: dt.date
    data: dict[str, Any] = field(default_factory=dict)


class FactAggregate(Aggregate):
    """An aggregate whose every event is a recorded fact, and which facts can void.

    (No class-level annotations here: the library would turn them into dataclass fields.)
    """

    def _init_entries(self) -> None:
        self.entries: list[Entry] = []
        self.voided: dict[str, str] = {}

    def _add(self, source_id: str, fact_type: str, effective_on: dt.date, **data: Any) -> None:
        self.entries.append(Entry(source_id, fact_type, effective_on, data))

    def live(self, *kinds: str) -> list[Entry]:
        """Live entries of the given kinds (all when none given), in effective order."""
        found = [
            e for e in self.entries
            if e.source_id not in self.voided and (not kinds or e.kind in kinds)
        ]
        return sorted(found, key=lambda e: e.effective_on)

    def owns(self, source_id: str) -> bool:
        return any(e.source_id == source_id for e in self.entries)

    def void(
        self,
        *,
        voided_source_id: str,
        reason: str,
        source_id: str,
        effective_on: dt.date,
        recorded_by: str | None,
        source_document: str | None,
    ) -> None:
        """Void one of this aggregate's facts: it stops counting, and stays in every trail."""
        if not self.owns(voided_source_id):
            raise DomainRuleError(
                f"fact '{voided_source_id}' does not belong here", field="voided_source_id"
            )
        if voided_source_id in self.voided:
            raise DomainRuleError(
                f"fact '{voided_source_id}' is already voided (by '{self.voided[voided_source_id]}')",
                field="voided_source_id",
            )
        self._fact_voided(
            voided_source_id=voided_source_id,
            reason=reason,
            source_id=source_id,
            effective_on=effective_on,
            recorded_by=recorded_by,
            source_document=source_document,
        )

    @event("FactVoided")
    def _fact_voided(
        self,
        *,
        voided_source_id: str,
        reason: str,
        source_id: str,
        effective_on: dt.date,
        recorded_by: str | None,
        source_document: str | None,
    ) -> None:
        self.voided[voided_source_id] = source_id
