"""The write-side model: one aggregate per module, pure (no I/O, no logging, no validation library).

Importing the package defines (and so registers the topics of) every aggregate and event class:
whatever reads stored events imports it first.
"""

from ledger.domain.base import FactAggregate, FactVoided
from ledger.domain.departure_round import DepartureRound
from ledger.domain.household import Household
from ledger.domain.published_figure import PublishedFigure
from ledger.domain.reported_figure import ReportedFigure
from ledger.domain.rulebook import RulebookDefinition
from ledger.domain.site import Site

AGGREGATES: tuple[type[FactAggregate], ...] = (
    Household, Site, DepartureRound, PublishedFigure, ReportedFigure, RulebookDefinition)

__all__ = ["AGGREGATES", "DepartureRound", "FactAggregate", "FactVoided", "Household",
           "PublishedFigure", "ReportedFigure", "RulebookDefinition", "Site"]
