"""A displaced household, as known to either registry, and everything that happens to it.

The household is one stream whatever registry registered it: "the same household_id
registered by both registries is one household known to both". The rules are judged on the
effective dates of live facts, because facts may arrive late: a departure recorded today may
have happened before a re-entry recorded last month.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from eventsourcing.domain import event

from ledger.domain.base import DomainRuleError, FactAggregate, aggregate_id

PLACING_KINDS = ("household_registered", "household_reentered", "household_transferred_in")


class Household(FactAggregate):
    """(``id_document_hash`` was added to the registration and composition events with a
    default: events stored before it replay with None, so no upcast is needed. The library
    asks every keyword-only argument of a new event, so the application always passes it.)"""

    @staticmethod
    def create_id(household_id: str, **_: Any) -> Any:
        return aggregate_id("household", household_id)

    @event("FirstRegistered")
    def __init__(
        self,
        *,
        household_id: str,
        registry: str,
        registration_ref: str,
        site_id: str | None,
        location_pcode: str | None,
        members: int,
        female: int | None,
        male: int | None,
        children: int | None,
        displaced_on: dt.date | None,
        origin_pcode: str | None,
        source_id: str,
        effective_on: dt.date,
        recorded_by: str | None,
        source_document: str | None,
        id_document_hash: str | None = None,
    ) -> None:
        self._init_entries()
        self.household_id = household_id
        self._add(source_id, "household_registered", effective_on, registry=registry, site_id=site_id)

    # ---- what the rules ask -------------------------------------------------------------
    def first_registered_on(self) -> dt.date | None:
        registrations = self.live("household_registered")
        return registrations[0].effective_on if registrations else None

    def sites_entered_by(self, day: dt.date) -> set[str]:
        """Sites the household was placed in (registered, re-entered, transferred) by ``day``."""
        return {
            e.data["site_id"]
            for e in self.live(*PLACING_KINDS)
            if e.effective_on <= day and e.data.get("site_id")
        }

    def has_departed_by(self, day: dt.date) -> bool:
        return any(e.effective_on <= day for e in self.live("household_departed"))

    def open_registries(self) -> set[str]:
        closed = {e.data["registry"] for e in self.live("registration_closed")}
        return {e.data["registry"] for e in self.live("household_registered")} - closed

    def check_dated_after_registration(self, effective_on: dt.date) -> None:
        first = self.first_registered_on()
        if first is None:
            raise DomainRuleError(
                f"household '{self.household_id}' has no live registration; register it first",
                field="household_id",
            )
        if effective_on < first:
            raise DomainRuleError(
                f"effective_on {effective_on} is before household '{self.household_id}' was first "
                f"registered ({first}); expected a date on or after {first}",
                field="effective_on",
            )

    # ---- commands -----------------------------------------------------------------------
    def register(self, **fields: Any) -> None:
        """A registration by a registry (the first one created the household).

        A registry may register a household again (a new registration reference, a new site);
        the rulebooks read the latest registration of their registry in effective order.
        """
        self._registered(**fields)

    @event("Registered")
    def _registered(
        self,
        *,
        household_id: str,
        registry: str,
        registration_ref: str,
        site_id: str | None,
        location_pcode: str | None,
        members: int,
        female: int | None,
        male: int | None,
        children: int | None,
        displaced_on: dt.date | None,
        origin_pcode: str | None,
        source_id: str,
        effective_on: dt.date,
        recorded_by: str | None,
        source_document: str | None,
        id_document_hash: str | None = None,
    ) -> None:
        self._add(source_id, "household_registered", effective_on, registry=registry, site_id=site_id)

    def change_composition(self, **fields: Any) -> None:
        self.check_dated_after_registration(fields["effective_on"])
        if fields["registry"] not in {e.data["registry"] for e in self.live("household_registered")}:
            raise DomainRuleError(
                f"household '{self.household_id}' is not registered in the {fields['registry']} "
                "registry; a registry can only change the composition it registered",
                field="registry",
            )
        self._composition_changed(**fields)

    @event("CompositionChanged")
    def _composition_changed(
        self,
        *,
        household_id: str,
        registry: str,
        members: int,
        female: int | None,
        male: int | None,
        children: int | None,
        reason: str,
        source_id: str,
        effective_on: dt.date,
        recorded_by: str | None,
        source_document: str | None,
        id_document_hash: str | None = None,
    ) -> None:
        self._add(source_id, "composition_changed", effective_on, registry=registry)

    def depart(self, *, on_round_manifest: bool | None, **fields: Any) -> None:
        """Leave a site. ``on_round_manifest`` is None when the departure names no round."""
        day = fields["effective_on"]
        self.check_dated_after_registration(day)
        site = fields["from_site_id"]
        if site not in self.sites_entered_by(day):
            entered = ", ".join(sorted(self.sites_entered_by(day))) or "none"
            raise DomainRuleError(
                f"household '{self.household_id}' is not in site '{site}' under any registry on "
                f"{day} (sites it was in by then: {entered})",
                field="from_site_id",
            )
        if on_round_manifest is False:
            raise DomainRuleError(
                f"household '{self.household_id}' is not on the manifest of round "
                f"'{fields['round_id']}' (never manifested, or withdrawn)",
                field="round_id",
            )
        self._departed(**fields)

    @event("Departed")
    def _departed(
        self,
        *,
        household_id: str,
        from_site_id: str,
        pathway: str,
        to_pcode: str | None,
        to_site_id: str | None,
        round_id: str | None,
        departure_letter_ref: str | None,
        source_id: str,
        effective_on: dt.date,
        recorded_by: str | None,
        source_document: str | None,
    ) -> None:
        self._add(source_id, "household_departed", effective_on, site_id=from_site_id)
        if to_site_id:
            self._add(source_id, "household_transferred_in", effective_on, site_id=to_site_id)

    def reenter(self, **fields: Any) -> None:
        day = fields["effective_on"]
        self.check_dated_after_registration(day)
        if not self.has_departed_by(day):
            raise DomainRuleError(
                f"household '{self.household_id}' has no departure on or before {day}; "
                "a re-entry (return to camp) follows a departure",
                field="household_id",
            )
        self._reentered(**fields)

    @event("Reentered")
    def _reentered(
        self,
        *,
        household_id: str,
        site_id: str,
        source_id: str,
        effective_on: dt.date,
        recorded_by: str | None,
        source_document: str | None,
    ) -> None:
        self._add(source_id, "household_reentered", effective_on, site_id=site_id)

    def register_as_returnee(self, **fields: Any) -> None:
        self.check_dated_after_registration(fields["effective_on"])
        self._returnee_registered(**fields)

    @event("ReturneeRegistered")
    def _returnee_registered(
        self,
        *,
        household_id: str,
        pcode: str,
        source_id: str,
        effective_on: dt.date,
        recorded_by: str | None,
        source_document: str | None,
    ) -> None:
        self._add(source_id, "returnee_registered", effective_on)

    def disburse_grant(self, **fields: Any) -> None:
        self.check_dated_after_registration(fields["effective_on"])
        self._grant_disbursed(**fields)

    @event("GrantDisbursed")
    def _grant_disbursed(
        self,
        *,
        household_id: str,
        amount_iqd: int,
        source_id: str,
        effective_on: dt.date,
        recorded_by: str | None,
        source_document: str | None,
    ) -> None:
        self._add(source_id, "grant_disbursed", effective_on)

    def close_registration(self, **fields: Any) -> None:
        self.check_dated_after_registration(fields["effective_on"])
        registry = fields["registry"]
        if registry not in self.open_registries():
            raise DomainRuleError(
                f"household '{self.household_id}' has no open {registry} registration to close",
                field="registry",
            )
        self._registration_closed(**fields)

    @event("RegistrationClosed")
    def _registration_closed(
        self,
        *,
        household_id: str,
        registry: str,
        reason: str,
        source_id: str,
        effective_on: dt.date,
        recorded_by: str | None,
        source_document: str | None,
    ) -> None:
        self._add(source_id, "registration_closed", effective_on, registry=registry)

    def erase_personal_data(self, **fields: Any) -> None:
        """Record that the vault's keys of this household were destroyed (issue 13)."""
        if self.live("personal_data_erased"):
            raise DomainRuleError(
                f"the personal data of household '{self.household_id}' are already erased",
                field="household_id",
            )
        self._personal_data_erased(**fields)

    @event("PersonalDataErased")
    def _personal_data_erased(
        self,
        *,
        household_id: str,
        reason: str,
        source_id: str,
        effective_on: dt.date,
        recorded_by: str | None,
        source_document: str | None,
    ) -> None:
        self._add(source_id, "personal_data_erased", effective_on, reason=reason)
