"""A figure as it was published (SPEC §5 "Published figures"): a fact of its own, never changed.

Its values are what was published; re-deriving it later (``ledger audit figure``) and
checking the ledger's digest (``ledger verify``) happen on the read side.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from ledger.domain.base import DomainRuleError, FactAggregate, FactCreated, FactEvent, payload

if TYPE_CHECKING:
    from ledger.facts import FactVoided, FigurePublished, FigureRetracted

_FORMER = "ledger.domain.published_figure:PublishedFigure."


def _later_fields(state: dict[str, Any]) -> None:
    """Figures published before rulebook versions and ``--public`` lack their three fields."""
    for name in ("rulebook_version", "public_min_households", "suppressed"):
        state.setdefault(name, None)


class PublishedFigure(FactAggregate):
    TOPIC = "ledger:PublishedFigure"
    FORMER_TOPICS = ("ledger.domain.published_figure:PublishedFigure",)
    KIND = "figure"
    UNKNOWN = "no published figure has that id"
    if TYPE_CHECKING:  # set by the events' apply (a class annotation would be a dataclass field)
        figure_id: str
        retracted_by: str | None

    @classmethod
    def create(cls, fact: FigurePublished) -> PublishedFigure:
        return cls._start(Published, fact.figure_id, **payload(fact))

    def publish_again(self, fact: FigurePublished) -> None:
        raise DomainRuleError(f"figure '{fact.figure_id}' is already published; a corrected "
                              "figure is a new publication", field="figure_id")

    def retract(self, fact: FigureRetracted) -> None:
        """Withdraw the figure: it stays published (and audited), but is no longer stood by."""
        if self.retracted_by is not None:
            raise DomainRuleError(
                f"figure '{self.figure_id}' is already retracted (by '{self.retracted_by}')",
                field="figure_id",
            )
        self.trigger_event(Retracted, **payload(fact))

    def void(self, fact: FactVoided) -> None:
        """What was published stays published; a correction is a new publication."""
        raise DomainRuleError(
            f"figure '{self.figure_id}' was published and cannot be voided; retract it with "
            "`ledger figures retract` and publish a corrected figure instead",
            field="voided_source_id",
        )


class Published(FactCreated):
    TOPIC = "ledger:PublishedFigure.Published"
    FORMER_TOPICS = (_FORMER + "Published",)
    class_version = 2
    upcast_v1_v2 = staticmethod(_later_fields)
    figure_id: str
    rulebook: str
    level: str
    as_of: dt.date
    known_at: str
    ledger_digest: str
    head_position: int
    rulebook_digest: str | None
    values: list[dict[str, Any]]
    rulebook_version: int | None
    public_min_households: int | None
    suppressed: list[dict[str, Any]] | None

    def apply(self, figure: PublishedFigure) -> None:
        figure.figure_id = self.figure_id
        figure.retracted_by = None
        figure.add_entry(self, "figure_published", rulebook=self.rulebook, level=self.level,
                         as_of=self.as_of, head_position=self.head_position,
                         rulebook_version=self.rulebook_version)


class Retracted(FactEvent):
    TOPIC = "ledger:PublishedFigure.Retracted"
    FORMER_TOPICS = (_FORMER + "Retracted",)
    figure_id: str
    reason: str

    def apply(self, figure: PublishedFigure) -> None:
        figure.retracted_by = self.source_id
        figure.add_entry(self, "figure_retracted", reason=self.reason)
