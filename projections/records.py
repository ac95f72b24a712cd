"""A stored fact as the read side sees it: decoded once from the ledger, typed, immutable.

``position`` is the fact's notification id (its place in the ledger's total order; ids have
gaps), ``recorded_at`` the ledger's own clock (UTC, strictly increasing with position).
``data`` holds the fact's own fields as recorded (dates as ``datetime.date``), without the
common ones. A ``fact_voided`` record's ``subject_id`` is the subject of the fact it voids.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class FactRecord:
    position: int
    recorded_at: dt.datetime
    source_id: str
    type: str
    subject_id: str
    effective_on: dt.date
    data: dict[str, Any] = field(default_factory=dict)
    recorded_by: str | None = None
    source_document: str | None = None

    def get(self, name: str, default: Any = None) -> Any:
        return self.data.get(name, default)
