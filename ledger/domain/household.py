"""A displaced household, as known to either registry, and everything that happens to it.

The household is one stream whatever registry registered it: "the same household_id
registered by both registries is one household known to both". The rules are judged on the
effective dates of live facts, because facts may arrive late: a departure recorded today may
have happened before a re-entry recorded last month.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ledger.domain.base import DomainRuleError, FactAggregate, FactCreated, FactEvent, payload

if TYPE_CHECKING:
    from ledger.domain.departure_round import DepartureRound
    from ledger.facts import (
        CompositionChanged as CompositionChangedInput,
    )
    from ledger.facts import (
        GrantDisbursed as GrantDisbursedInput,
    )
    from ledger.facts import (
        HouseholdDeparted,
        HouseholdReentered,
        HouseholdRegistered,
    )
    from ledger.facts import (
        PersonalDataErased as PersonalDataErasedInput,
    )
    from ledger.facts import (
        RegistrationClosed as RegistrationClosedInput,
    )
    from ledger.facts import (
        ReturneeRegistered as ReturneeRegisteredInput,
    )

PLACING_KINDS = ("household_registered", "household_reentered", "household_transferred_in")
_FORMER = "ledger.domain.household:Household."


def _with_document_hash(state: dict[str, Any]) -> None:
    """Version 1 of a registration or composition event may lack ``id_document_hash`` (events
    stored before the vault); version 2 always has it (None when no document was given)."""
    state.setdefault("id_document_hash", None)


class Household(FactAggregate):
    TOPIC = "ledger:Household"
    FORMER_TOPICS = ("ledger.domain.household:Household",)
    KIND = "household"
    if TYPE_CHECKING:  # set by the events' apply (a class annotation would be a dataclass field)
        household_id: str

    @classmethod
    def create(cls, fact: HouseholdRegistered) -> Household:
        """The first registration of a household, by either registry."""
        return cls._start(FirstRegistered, fact.household_id, **payload(fact))

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
    def register(self, fact: HouseholdRegistered) -> None:
        """A registration by a registry (the first one created the household).

        A registry may register a household again (a new registration reference, a new site);
        the rulebooks read the latest registration of their registry in effective order.
        """
        self.trigger_event(Registered, **payload(fact))

    def change_composition(self, fact: CompositionChangedInput) -> None:
        self.check_dated_after_registration(fact.effective_on)
        if fact.registry not in {e.data["registry"] for e in self.live("household_registered")}:
            raise DomainRuleError(
                f"household '{self.household_id}' is not registered in the {fact.registry} "
                "registry; a registry can only change the composition it registered",
                field="registry",
            )
        self.trigger_event(CompositionChanged, **payload(fact))

    def depart(self, fact: HouseholdDeparted, departure_round: DepartureRound | None = None) -> None:
        """Leave a site; in a round, only from one of its sites and while on its manifest."""
        day, site = fact.effective_on, fact.from_site_id
        if departure_round is not None:
            departure_round.check_departs_from(site)
        self.check_dated_after_registration(day)
        if site not in self.sites_entered_by(day):
            entered = ", ".join(sorted(self.sites_entered_by(day))) or "none"
            raise DomainRuleError(
                f"household '{self.household_id}' is not in site '{site}' under any registry on "
                f"{day} (sites it was in by then: {entered})",
                field="from_site_id",
            )
        if departure_round is not None and not departure_round.is_on_manifest(self.household_id, day):
            raise DomainRuleError(
                f"household '{self.household_id}' is not on the manifest of round "
                f"'{fact.round_id}' (never manifested, or withdrawn)",
                field="round_id",
            )
        self.trigger_event(Departed, **payload(fact))

    def reenter(self, fact: HouseholdReentered) -> None:
        day = fact.effective_on
        self.check_dated_after_registration(day)
        if not self.has_departed_by(day):
            raise DomainRuleError(
                f"household '{self.household_id}' has no departure on or before {day}; "
                "a re-entry (return to camp) follows a departure",
                field="household_id",
            )
        self.trigger_event(Reentered, **payload(fact))

    def register_as_returnee(self, fact: ReturneeRegisteredInput) -> None:
        self.check_dated_after_registration(fact.effective_on)
        self.trigger_event(ReturneeRegistered, **payload(fact))

    def disburse_grant(self, fact: GrantDisbursedInput) -> None:
        self.check_dated_after_registration(fact.effective_on)
        self.trigger_event(GrantDisbursed, **payload(fact))

    def close_registration(self, fact: RegistrationClosedInput) -> None:
        self.check_dated_after_registration(fact.effective_on)
        if fact.registry not in self.open_registries():
            raise DomainRuleError(
                f"household '{self.household_id}' has no open {fact.registry} registration to close",
                field="registry",
            )
        self.trigger_event(RegistrationClosed, **payload(fact))

    def erase_personal_data(self, fact: PersonalDataErasedInput) -> None:
        """Record that the vault's keys of this household were destroyed (issue 13)."""
        if self.live("personal_data_erased"):
            raise DomainRuleError(
                f"the personal data of household '{self.household_id}' are already erased",
                field="household_id",
            )
        self.trigger_event(PersonalDataErased, **payload(fact))


# ---- events ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Registration:
    """The fields of a registration by one registry (both registration events carry them)."""

    household_id: str
    registry: str
    registration_ref: str
    site_id: str | None
    location_pcode: str | None
    members: int
    female: int | None
    male: int | None
    children: int | None
    displaced_on: dt.date | None
    origin_pcode: str | None
    id_document_hash: str | None

    def apply(self: Any, household: Household) -> None:
        household.add_entry(self, "household_registered", registry=self.registry, site_id=self.site_id)


class FirstRegistered(_Registration, FactCreated):
    """The household's first registration, by either registry."""

    TOPIC = "ledger:Household.FirstRegistered"
    FORMER_TOPICS = (_FORMER + "FirstRegistered",)
    class_version = 2
    upcast_v1_v2 = staticmethod(_with_document_hash)

    def apply(self, household: Household) -> None:
        household.household_id = self.household_id
        super().apply(household)


class Registered(_Registration, FactEvent):
    """A later registration (the other registry, or the same one again)."""

    TOPIC = "ledger:Household.Registered"
    FORMER_TOPICS = (_FORMER + "Registered",)
    class_version = 2
    upcast_v1_v2 = staticmethod(_with_document_hash)


class CompositionChanged(FactEvent):
    TOPIC = "ledger:Household.CompositionChanged"
    FORMER_TOPICS = (_FORMER + "CompositionChanged",)
    class_version = 2
    upcast_v1_v2 = staticmethod(_with_document_hash)
    household_id: str
    registry: str
    members: int
    female: int | None
    male: int | None
    children: int | None
    reason: str
    id_document_hash: str | None

    def apply(self, household: Household) -> None:
        household.add_entry(self, "composition_changed", registry=self.registry)


class Departed(FactEvent):
    TOPIC = "ledger:Household.Departed"
    FORMER_TOPICS = (_FORMER + "Departed",)
    household_id: str
    from_site_id: str
    pathway: str
    to_pcode: str | None
    to_site_id: str | None
    round_id: str | None
    departure_letter_ref: str | None

    def apply(self, household: Household) -> None:
        household.add_entry(self, "household_departed", site_id=self.from_site_id)
        if self.to_site_id:
            household.add_entry(self, "household_transferred_in", site_id=self.to_site_id)


class Reentered(FactEvent):
    TOPIC = "ledger:Household.Reentered"
    FORMER_TOPICS = (_FORMER + "Reentered",)
    household_id: str
    site_id: str

    def apply(self, household: Household) -> None:
        household.add_entry(self, "household_reentered", site_id=self.site_id)


class ReturneeRegistered(FactEvent):
    TOPIC = "ledger:Household.ReturneeRegistered"
    FORMER_TOPICS = (_FORMER + "ReturneeRegistered",)
    household_id: str
    pcode: str

    def apply(self, household: Household) -> None:
        household.add_entry(self, "returnee_registered")


class GrantDisbursed(FactEvent):
    TOPIC = "ledger:Household.GrantDisbursed"
    FORMER_TOPICS = (_FORMER + "GrantDisbursed",)
    household_id: str
    amount_iqd: int

    def apply(self, household: Household) -> None:
        household.add_entry(self, "grant_disbursed")


class RegistrationClosed(FactEvent):
    TOPIC = "ledger:Household.RegistrationClosed"
    FORMER_TOPICS = (_FORMER + "RegistrationClosed",)
    household_id: str
    registry: str
    reason: str

    def apply(self, household: Household) -> None:
        household.add_entry(self, "registration_closed", registry=self.registry)


class PersonalDataErased(FactEvent):
    TOPIC = "ledger:Household.PersonalDataErased"
    FORMER_TOPICS = (_FORMER + "PersonalDataErased",)
    household_id: str
    reason: str

    def apply(self, household: Household) -> None:
        household.add_entry(self, "personal_data_erased", reason=self.reason)
