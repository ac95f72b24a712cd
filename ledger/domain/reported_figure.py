"""A figure someone else published (DTM, MoMD, a CCCM camp list), held as what it is.

One aggregate per (source, dataset, place, status). Its facts are the figure's reported values;
a void lets a corrected figure be reported again. The comparison with the ledger's own figures
happens on the read side (``ledger compare``).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from ledger.domain.base import DomainRuleError, FactAggregate, FactCreated, FactEvent, payload

if TYPE_CHECKING:
    from ledger.facts import FigureReported

_FORMER = "ledger.domain.reported_figure:ReportedFigure."


class AlreadyReportedError(DomainRuleError):
    """The same figure, with the same values, is already recorded (under another source_id)."""


class ReportedFigure(FactAggregate):
    TOPIC = "ledger:ReportedFigure"
    FORMER_TOPICS = ("ledger.domain.reported_figure:ReportedFigure",)
    KIND = "reported"
    if TYPE_CHECKING:  # set by the events' apply (a class annotation would be a dataclass field)
        key: str

    @classmethod
    def create(cls, fact: FigureReported) -> ReportedFigure:
        return cls._start(Reported, fact.key, key=fact.key, **payload(fact))

    def report_again(self, fact: FigureReported) -> None:
        """The figure once more: the same values are a repeat, others a conflict until voided."""
        live = self.live("figure_reported")
        if live:
            current = live[-1]
            values = {k: current.data[k] for k in ("as_of", "households", "individuals")}
            if values == {k: getattr(fact, k) for k in values}:
                raise AlreadyReportedError(
                    f"figure {self.key!r} is already recorded with these values "
                    f"(source_id '{current.source_id}')", field="individuals")
            raise DomainRuleError(
                f"figure {self.key!r} is already recorded with other values "
                f"(as of {current.data['as_of']}: {current.data['households']} households, "
                f"{current.data['individuals']} individuals; source_id '{current.source_id}'); "
                "void that fact first if the figure was corrected", field="individuals")
        self.trigger_event(ReportedAgain, key=fact.key, **payload(fact))


class _Report(FactEvent):
    key: str
    source: str
    dataset: str
    as_of: dt.date
    place: str
    status: str
    location: str | None
    households: int | None
    individuals: int

    def apply(self, figure: ReportedFigure) -> None:
        figure.key = self.key
        figure.add_entry(self, "figure_reported", as_of=self.as_of, households=self.households,
                         individuals=self.individuals)


class Reported(_Report, FactCreated):
    TOPIC = "ledger:ReportedFigure.Reported"
    FORMER_TOPICS = (_FORMER + "Reported",)


class ReportedAgain(_Report):
    TOPIC = "ledger:ReportedFigure.ReportedAgain"
    FORMER_TOPICS = (_FORMER + "ReportedAgain",)
