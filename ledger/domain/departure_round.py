"""A Facilitated Voluntary Movement (FVM) departure round and its manifest."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from ledger.domain.base import DomainRuleError, FactAggregate, FactCreated, FactEvent, payload

if TYPE_CHECKING:
    from ledger.domain.household import Household
    from ledger.facts import HouseholdManifested, HouseholdWithdrawn, RoundClosed, RoundPlanned

_FORMER = "ledger.domain.departure_round:DepartureRound."


class DepartureRound(FactAggregate):
    TOPIC = "ledger:DepartureRound"
    FORMER_TOPICS = ("ledger.domain.departure_round:DepartureRound",)
    KIND = "round"
    if TYPE_CHECKING:  # set by the events' apply (a class annotation would be a dataclass field)
        round_id: str

    @classmethod
    def create(cls, fact: RoundPlanned) -> DepartureRound:
        return cls._start(Planned, fact.round_id, **payload(fact))

    @property
    def is_planned(self) -> bool:
        return bool(self.live("round_planned"))

    @property
    def from_site_ids(self) -> set[str]:
        return {s for e in self.live("round_planned") for s in e.data["from_site_ids"]}

    @property
    def is_closed(self) -> bool:
        return bool(self.live("round_closed"))

    def is_on_manifest(self, household_id: str, on_day: dt.date | None = None) -> bool:
        """Manifested and not withdrawn since, as of ``on_day`` (effective order, latest wins)."""
        on = False
        for e in self.live("household_manifested", "household_withdrawn"):
            if on_day is not None and e.effective_on > on_day:
                break
            if e.data["household_id"] == household_id:
                on = e.kind == "household_manifested"
        return on

    def manifested_households(self) -> set[str]:
        return {e.data["household_id"] for e in self.live("household_manifested")}

    def check_live(self, key: str, field: str) -> None:
        """A round whose plan was voided takes no manifest, departure or closure."""
        if not self.is_planned:
            raise DomainRuleError(
                f"round '{self.round_id}' has no live plan (its round_planned fact was voided)",
                field="round_id", not_found=True,
            )

    def check_departs_from(self, site_id: str) -> None:
        if site_id not in self.from_site_ids:
            raise DomainRuleError(
                f"round '{self.round_id}' departs from {', '.join(sorted(self.from_site_ids))}, "
                f"not from '{site_id}'", field="from_site_id",
            )

    def plan_again(self, fact: RoundPlanned) -> None:
        if self.is_planned:
            raise DomainRuleError(
                f"round '{self.round_id}' is already planned; void that plan first", field="round_id"
            )
        self.trigger_event(Replanned, **payload(fact))

    def manifest(self, fact: HouseholdManifested, household: Household) -> None:
        household.check_dated_after_registration(fact.effective_on)
        if self.is_on_manifest(fact.household_id):
            raise DomainRuleError(
                f"household '{fact.household_id}' is already on the manifest of round "
                f"'{self.round_id}'",
                field="household_id",
            )
        self.trigger_event(Manifested, **payload(fact))

    def withdraw(self, fact: HouseholdWithdrawn) -> None:
        if not self.is_on_manifest(fact.household_id):
            raise DomainRuleError(
                f"household '{fact.household_id}' is not on the manifest of round "
                f"'{self.round_id}', so it cannot be withdrawn",
                field="household_id",
            )
        self.trigger_event(Withdrawn, **payload(fact))

    def close(self, fact: RoundClosed) -> None:
        if self.is_closed:
            raise DomainRuleError(f"round '{self.round_id}' is already closed", field="round_id")
        self.trigger_event(Closed, **payload(fact))


class _Plan(FactEvent):
    round_id: str
    from_site_ids: list[str]
    destination_pcodes: list[str]
    planned_on: dt.date

    def apply(self, departure_round: DepartureRound) -> None:
        departure_round.round_id = self.round_id
        departure_round.add_entry(self, "round_planned", from_site_ids=list(self.from_site_ids))


class Planned(_Plan, FactCreated):
    TOPIC = "ledger:DepartureRound.Planned"
    FORMER_TOPICS = (_FORMER + "Planned",)


class Replanned(_Plan):
    TOPIC = "ledger:DepartureRound.Replanned"
    FORMER_TOPICS = (_FORMER + "Replanned",)


class Manifested(FactEvent):
    """A household was put on the round's manifest."""
    TOPIC = "ledger:DepartureRound.HouseholdManifested"
    FORMER_TOPICS = (_FORMER + "HouseholdManifested",)
    round_id: str
    household_id: str

    def apply(self, departure_round: DepartureRound) -> None:
        departure_round.add_entry(self, "household_manifested", household_id=self.household_id)


class Withdrawn(FactEvent):
    """A household was taken off the round's manifest (no-show, changed mind...)."""
    TOPIC = "ledger:DepartureRound.HouseholdWithdrawn"
    FORMER_TOPICS = (_FORMER + "HouseholdWithdrawn",)
    round_id: str
    household_id: str
    reason: str

    def apply(self, departure_round: DepartureRound) -> None:
        departure_round.add_entry(self, "household_withdrawn", household_id=self.household_id)


class Closed(FactEvent):
    TOPIC = "ledger:DepartureRound.Closed"
    FORMER_TOPICS = (_FORMER + "Closed",)
    round_id: str

    def apply(self, departure_round: DepartureRound) -> None:
        departure_round.add_entry(self, "round_closed")
