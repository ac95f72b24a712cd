"""A figure as it was published (SPEC §5 "Published figures"): a fact of its own, never changed.

Its values are what was published; re-deriving it later (``ledger audit figure``) and
checking the ledger's digest (``ledger verify``) happen on the read side.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from eventsourcing.domain import event

from ledger.domain.base import DomainRuleError, FactAggregate, aggregate_id


class PublishedFigure(FactAggregate):
    @staticmethod
    def create_id(figure_id: str, **_: Any) -> Any:
        return aggregate_id("figure", figure_id)

    @event("Published")
    def __init__(
        self,
        *,
        figure_id: str,
        rulebook: str,
        level: str,
        as_of: dt.date,
        known_at: str,
        ledger_digest: str,
        head_position: int,
        rulebook_digest: str | None,
        values: list[dict[str, Any]],
        source_id: str,
        effective_on: dt.date,
        recorded_by: str | None,
        source_document: str | None,
        public_min_households: int | None = None,
        suppressed: list[dict[str, Any]] | None = None,
    ) -> None:
        self._init_entries()
        self.figure_id = figure_id
        self._add(source_id, "figure_published", effective_on, rulebook=rulebook, level=level,
                  as_of=as_of, head_position=head_position)

    def void(self, **_: Any) -> None:
        """What was published stays published; a correction is a new publication."""
        raise DomainRuleError(
            f"figure '{self.figure_id}' was published and cannot be voided; publish a corrected "
            "figure instead", field="voided_source_id",
        )
