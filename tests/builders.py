"""Small builders of stored facts (``FactRecord``) for read-side tests, no database needed.

    h1 = (
        a_household("H1", members=6)
        .registered_at("CHAMISHKU")                       # both registries, SPEC §6 defaults
        .departed(on="2026-02-15", to_pcode="IQG15Q07", letter="L-1", round_id="R1")
        .reentered("CHAMISHKU", on="2026-04-20")
    )
    state_at(h1.facts, official, dt.date(2026, 5, 1))

Every fact gets the next position and a later ``recorded_at`` from a shared :class:`Clock` (one
per test when known-at times matter: ``clock = Clock(); a_household("H1", clock=clock)``).
Defaults follow SPEC §6: registered on 2015-01-10 at CHAMISHKU, displaced 2014-08-03, origin
IQG15Q07 (Sinjar).
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any, Self

from ledger.store.reading import FactRecord
from projections.bridge import SiteInfo

REGISTERED_ON = dt.date(2015, 1, 10)
DISPLACED_ON = dt.date(2014, 8, 3)
SINJAR = "IQG15Q07"
AS_OF = dt.date(2026, 5, 1)

CHAMISHKU = SiteInfo("CHAMISHKU", "Chamishku", "camp", "IQG09Q04")  # Zakho, Duhok
ESYAN = SiteInfo("ESYAN", "Esyan", "camp", "IQG15Q06", "IQG09")  # Al-Shikhan, Ninewa; Duhok runs it
SITES = {site.site_id: site for site in (CHAMISHKU, ESYAN)}

Day = str | dt.date


def _day(value: Day) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(value)


class Clock:
    """The ledger's clock: increasing positions, and ``recorded_at`` a minute apart."""

    def __init__(self, start: dt.datetime | None = None) -> None:
        self.start = start or dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)
        self.position = 0

    def tick(self) -> tuple[int, dt.datetime]:
        self.position += 1
        return self.position, self.now()

    def now(self) -> dt.datetime:
        """The recorded time of the latest fact."""
        return self.start + dt.timedelta(minutes=self.position)


_default_clock = Clock()
_serial = itertools.count(1)


class HouseholdBuilder:
    def __init__(self, household_id: str, members: int, clock: Clock) -> None:
        self.household_id = household_id
        self.members = members
        self.clock = clock
        self.facts: list[FactRecord] = []

    @property
    def last_source_id(self) -> str:
        return self.facts[-1].source_id

    def record(self, fact_type: str, on: Day, source_id: str | None = None, **data: Any) -> Self:
        """Any fact about this household (the typed methods below cover the usual ones)."""
        position, recorded_at = self.clock.tick()
        self.facts.append(
            FactRecord(
                position=position,
                recorded_at=recorded_at,
                source_id=source_id or f"{self.household_id}-{fact_type}-{next(_serial)}",
                type=fact_type,
                subject_id=self.household_id,
                effective_on=_day(on),
                data={key: value for key, value in data.items() if value is not None},
            )
        )
        return self

    def _registries(self, registry: str) -> tuple[str, ...]:
        return ("official", "operational") if registry == "both" else (registry,)

    def registered_at(
        self,
        site_id: str = "CHAMISHKU",
        *,
        on: Day = REGISTERED_ON,
        displaced_on: Day | None = DISPLACED_ON,
        registry: str = "both",
        members: int | None = None,
    ) -> Self:
        for name in self._registries(registry):
            self.record(
                "household_registered",
                on,
                household_id=self.household_id,
                registry=name,
                registration_ref=f"{name[:3].upper()}-{self.household_id}",
                site_id=site_id,
                members=members or self.members,
                displaced_on=_day(displaced_on) if displaced_on else None,
                origin_pcode=SINJAR,
            )
        return self

    def registered_out_of_camp(
        self,
        pcode: str,
        *,
        on: Day = REGISTERED_ON,
        displaced_on: Day | None = DISPLACED_ON,
        registry: str = "both",
        members: int | None = None,
    ) -> Self:
        for name in self._registries(registry):
            self.record(
                "household_registered",
                on,
                household_id=self.household_id,
                registry=name,
                registration_ref=f"{name[:3].upper()}-{self.household_id}",
                location_pcode=pcode,
                members=members or self.members,
                displaced_on=_day(displaced_on) if displaced_on else None,
            )
        return self

    def composition_changed(
        self, members: int, *, on: Day, registry: str = "operational", reason: str = "birth"
    ) -> Self:
        for name in self._registries(registry):
            self.record(
                "composition_changed",
                on,
                household_id=self.household_id,
                registry=name,
                members=members,
                reason=reason,
            )
        return self

    def departed(
        self,
        *,
        on: Day,
        to_pcode: str | None = None,
        to_site_id: str | None = None,
        from_site_id: str = "CHAMISHKU",
        pathway: str = "return",
        letter: str | None = None,
        round_id: str | None = None,
    ) -> Self:
        return self.record(
            "household_departed",
            on,
            household_id=self.household_id,
            from_site_id=from_site_id,
            pathway=pathway,
            to_pcode=to_pcode,
            to_site_id=to_site_id,
            round_id=round_id,
            departure_letter_ref=letter,
        )

    def reentered(self, site_id: str = "CHAMISHKU", *, on: Day) -> Self:
        return self.record("household_reentered", on, household_id=self.household_id, site_id=site_id)

    def returnee_registered(self, pcode: str, *, on: Day) -> Self:
        return self.record("returnee_registered", on, household_id=self.household_id, pcode=pcode)

    def grant_disbursed(self, *, on: Day, amount_iqd: int = 4_000_000) -> Self:
        return self.record("grant_disbursed", on, household_id=self.household_id, amount_iqd=amount_iqd)

    def registration_closed(self, *, on: Day, registry: str, reason: str = "solution_reached") -> Self:
        for name in self._registries(registry):
            self.record(
                "registration_closed",
                on,
                household_id=self.household_id,
                registry=name,
                reason=reason,
            )
        return self

    def voided(self, source_id: str | None = None, *, on: Day = AS_OF) -> Self:
        """Void ``source_id`` (default: this household's latest fact)."""
        return self.record(
            "fact_voided",
            on,
            voided_source_id=source_id or self.last_source_id,
            reason="entered in error",
        )


def a_household(household_id: str, members: int = 6, *, clock: Clock | None = None) -> HouseholdBuilder:
    return HouseholdBuilder(household_id, members, clock or _default_clock)


def worked_example(clock: Clock | None = None) -> dict[str, list[FactRecord]]:
    """SPEC §6: seven households at CHAMISHKU and ESYAN, facts by household id."""
    clock = clock or Clock()
    households = [
        a_household("H1", 6, clock=clock)
        .registered_at("CHAMISHKU")
        .departed(on="2026-02-15", to_pcode=SINJAR, letter="L-1", round_id="R1")
        .reentered("CHAMISHKU", on="2026-04-20"),
        a_household("H2", 5, clock=clock).registered_at("CHAMISHKU", displaced_on="2007-03-01"),
        a_household("H3", 9, clock=clock)
        .registered_at("CHAMISHKU")
        .departed(on="2026-02-15", to_pcode=SINJAR, round_id="R1"),
        a_household("H4", 4, clock=clock).registered_at("CHAMISHKU", registry="operational"),
        a_household("H5", 6, clock=clock)
        .registered_at("CHAMISHKU")
        .composition_changed(8, on="2025-06-01", registry="operational"),
        a_household("H6", 5, clock=clock)
        .registered_at("CHAMISHKU")
        .departed(on="2026-03-01", to_pcode="IQG15Q02", letter="L-2", round_id="R2"),
        a_household("H7", 6, clock=clock).registered_at("ESYAN").returnee_registered(SINJAR, on="2026-01-10"),
    ]
    return {household.household_id: household.facts for household in households}
