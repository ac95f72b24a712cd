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
        rulebook_version: int | None = None,
        public_min_households: int | None = None,
        suppressed: list[dict[str, Any]] | None = None,
    ) -> None:
        self._init_entries()
        self.figure_id = figure_id
        self.retracted_by: str | None = None
        self._add(source_id, "figure_published", effective_on, rulebook=rulebook, level=level,
                  as_of=as_of, head_position=head_position, rulebook_version=rulebook_version)

    def retract(self, *, reason: str, source_id: str, effective_on: dt.date,
                recorded_by: str | None, source_document: str | None, **_: Any) -> None:
        """Withdraw the figure: it stays published (and audited), but is no longer stood by."""
        if self.retracted_by is not None:
            raise DomainRuleError(
                f"figure '{self.figure_id}' is already retracted (by '{self.retracted_by}')",
                field="figure_id",
            )
        self._retracted(figure_id=self.figure_id, reason=reason, source_id=source_id,
                        effective_on=effective_on, recorded_by=recorded_by,
                        source_document=source_document)

    @event("Retracted")
    def _retracted(self, *, figure_id: str, reason: str, source_id: str, effective_on: dt.date,
                   recorded_by: str | None, source_document: str | None) -> None:
        self.retracted_by = source_id
        self._add(source_id, "figure_retracted", effective_on, reason=reason)

    def void(self, **_: Any) -> None:
        """What was published stays published; a correction is a new publication."""
        raise DomainRuleError(
            f"figure '{self.figure_id}' was published and cannot be voided; retract it with "
            "`ledger figures retract` and publish a corrected figure instead",
            field="voided_source_id",
        )
