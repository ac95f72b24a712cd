"""A figure someone else published (DTM, MoMD, a CCCM camp list), held as what it is.

One aggregate per (source, dataset, place, status). Its facts are the figure's reported values;
a void lets a corrected figure be reported again. The comparison with the ledger's own figures
happens on the read side (``ledger compare``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from eventsourcing.domain import event

from ledger.domain.base import DomainRuleError, FactAggregate, aggregate_id


class AlreadyReportedError(DomainRuleError):
    """The same figure, with the same values, is already recorded (under another source_id)."""


class ReportedFigure(FactAggregate):
    @staticmethod
    def create_id(key: str, **_: Any) -> Any:
        return aggregate_id("reported", key)

    @event("Reported")
    def __init__(
        self,
        *,
        key: str,
        source: str,
        dataset: str,
        as_of: dt.date,
        place: str,
        status: str,
        location: str | None,
        households: int | None,
        individuals: int,
        source_id: str,
        effective_on: dt.date,
        recorded_by: str | None,
        source_document: str | None,
    ) -> None:
        self._init_entries()
        self.key = key
        self._add(source_id, "figure_reported", effective_on, as_of=as_of,
                  households=households, individuals=individuals)

    def report_again(self, **fields: Any) -> None:
        """The figure once more: the same values are a repeat, others a conflict until voided."""
        live = self.live("figure_reported")
        if live:
            current = live[-1]
            values = {k: current.data[k] for k in ("as_of", "households", "individuals")}
            if values == {k: fields[k] for k in values}:
                raise AlreadyReportedError(
                    f"figure {self.key!r} is already recorded with these values "
                    f"(source_id '{current.source_id}')", field="individuals")
            raise DomainRuleError(
                f"figure {self.key!r} is already recorded with other values "
                f"(as of {current.data['as_of']}: {current.data['households']} households, "
                f"{current.data['individuals']} individuals; source_id '{current.source_id}'); "
                "void that fact first if the figure was corrected", field="individuals")
        self._reported_again(**fields)

    @event("ReportedAgain")
    def _reported_again(
        self,
        *,
        key: str,
        source: str,
        dataset: str,
        as_of: dt.date,
        place: str,
        status: str,
        location: str | None,
        households: int | None,
        individuals: int,
        source_id: str,
        effective_on: dt.date,
        recorded_by: str | None,
        source_document: str | None,
    ) -> None:
        self._add(source_id, "figure_reported", effective_on, as_of=as_of,
                  households=households, individuals=individuals)
