"""A Facilitated Voluntary Movement (FVM) departure round and its manifest."""

from __future__ import annotations

import datetime as dt
from typing import Any

from eventsourcing.domain import event

from ledger.domain.base import DomainRuleError, FactAggregate, aggregate_id


class DepartureRound(FactAggregate):
    @staticmethod
    def create_id(round_id: str, **_: Any) -> Any:
        return aggregate_id("round", round_id)

    @event("Planned")
    def __init__(
        self,
        *,
        round_id: str,
        from_site_ids: list[str],
        destination_pcodes: list[str],
        planned_on: dt.date,
        source_id: str,
        effective_on: dt.date,
        recorded_by: str | None,
        source_document: str | None,
    ) -> None:
        self._init_entries()
        self.round_id = round_id
        self._add(source_id, "round_planned", effective_on, from_site_ids=list(from_site_ids))

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

    def check_planned(self) -> None:
        if not self.is_planned:
            raise DomainRuleError(
                f"round '{self.round_id}' has no live plan (its round_planned fact was voided)",
                field="round_id", not_found=True,
            )

    def plan_again(self, **fields: Any) -> None:
        if self.is_planned:
            raise DomainRuleError(
                f"round '{self.round_id}' is already planned; void that plan first", field="round_id"
            )
        self._replanned(**fields)

    @event("Replanned")
    def _replanned(
        self,
        *,
        round_id: str,
        from_site_ids: list[str],
        destination_pcodes: list[str],
        planned_on: dt.date,
        source_id: str,
        effective_on: dt.date,
        recorded_by: str | None,
        source_document: str | None,
    ) -> None:
        self._add(source_id, "round_planned", effective_on, from_site_ids=list(from_site_ids))

    def manifest(self, **fields: Any) -> None:
        self.check_planned()
        if self.is_on_manifest(fields["household_id"]):
            raise DomainRuleError(
                f"household '{fields['household_id']}' is already on the manifest of round "
                f"'{self.round_id}'",
                field="household_id",
            )
        self._household_manifested(**fields)

    @event("HouseholdManifested")
    def _household_manifested(
        self,
        *,
        round_id: str,
        household_id: str,
        source_id: str,
        effective_on: dt.date,
        recorded_by: str | None,
        source_document: str | None,
    ) -> None:
        self._add(source_id, "household_manifested", effective_on, household_id=household_id)

    def withdraw(self, **fields: Any) -> None:
        self.check_planned()
        if not self.is_on_manifest(fields["household_id"]):
            raise DomainRuleError(
                f"household '{fields['household_id']}' is not on the manifest of round "
                f"'{self.round_id}', so it cannot be withdrawn",
                field="household_id",
            )
        self._household_withdrawn(**fields)

    @event("HouseholdWithdrawn")
    def _household_withdrawn(
        self,
        *,
        round_id: str,
        household_id: str,
        reason: str,
        source_id: str,
        effective_on: dt.date,
        recorded_by: str | None,
        source_document: str | None,
    ) -> None:
        self._add(source_id, "household_withdrawn", effective_on, household_id=household_id)

    def close(self, **fields: Any) -> None:
        self.check_planned()
        if self.is_closed:
            raise DomainRuleError(f"round '{self.round_id}' is already closed", field="round_id")
        self._closed(**fields)

    @event("Closed")
    def _closed(
        self,
        *,
        round_id: str,
        source_id: str,
        effective_on: dt.date,
        recorded_by: str | None,
        source_document: str | None,
    ) -> None:
        self._add(source_id, "round_closed", effective_on)
