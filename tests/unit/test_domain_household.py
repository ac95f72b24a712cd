"""The household's rules, on the aggregate itself (no store): judged on effective dates."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from ledger.catalogue import parse_fact
from ledger.domain.base import DomainRuleError, FactAggregate
from ledger.domain.departure_round import DepartureRound
from ledger.domain.household import Household
from ledger.facts import FactInput
from tests.factdicts import (
    composition,
    departure,
    fact,
    manifested,
    reentry,
    registration,
    round_planned,
    voided,
    withdrawn,
)


def a_household(household_id: str = "H1", **kw: Any) -> Household:
    return Household.create(parse_fact(registration(household_id, **kw)))


def a_round(*manifest: str, withdrawn_from: tuple[str, ...] = ()) -> DepartureRound:
    r1 = DepartureRound.create(parse_fact(round_planned("R1")))
    for household_id in manifest:
        r1.manifest(parse_fact(manifested(household_id)), a_household(household_id))
    for household_id in withdrawn_from:
        r1.withdraw(parse_fact(withdrawn(household_id)))
    return r1


def rule_broken(action: Any, data: dict[str, Any], *args: Any) -> DomainRuleError:
    with pytest.raises(DomainRuleError) as caught:
        action(parse_fact(data), *args)
    return caught.value


def given(action: Any, data: dict[str, Any], *args: Any) -> FactInput:
    fact_in = parse_fact(data)
    action(fact_in, *args)
    return fact_in


def test_household_departs_from_the_camp_it_is_registered_in() -> None:
    household = a_household(site_id="CHAMISHKU")

    household.depart(parse_fact(departure(from_site_id="CHAMISHKU")))

    assert household.has_departed_by(dt.date(2026, 2, 15))
    assert not household.has_departed_by(dt.date(2026, 2, 14))


def test_household_cannot_depart_from_a_site_it_is_not_in() -> None:
    household = a_household(site_id="ESYAN")

    error = rule_broken(household.depart, departure(from_site_id="CHAMISHKU"))

    assert error.field == "from_site_id"
    assert "not in site 'CHAMISHKU'" in str(error)
    assert "ESYAN" in str(error)
    assert len(household.pending_events) == 1


def test_a_late_recorded_earlier_registration_makes_the_departure_valid() -> None:
    household = a_household(site_id="ESYAN", registry="official")
    leaving = departure(from_site_id="CHAMISHKU", effective_on="2026-02-15")
    rule_broken(household.depart, leaving)

    household.register(parse_fact(registration(site_id="CHAMISHKU", registry="operational",
                                               effective_on="2016-03-01")))
    household.depart(parse_fact(leaving))

    assert [e.kind for e in household.live()][-1] == "household_departed"


def test_a_registration_dated_after_the_departure_does_not_place_the_household_in_time() -> None:
    household = a_household(site_id="ESYAN")
    household.register(parse_fact(registration(site_id="CHAMISHKU", registry="operational",
                                               effective_on="2026-03-01")))

    error = rule_broken(household.depart,
                        departure(from_site_id="CHAMISHKU", effective_on="2026-02-15"))

    assert error.field == "from_site_id"


def test_a_round_departure_requires_the_household_on_the_manifest() -> None:
    household = a_household()

    error = rule_broken(household.depart, departure(round_id="R1"), a_round())

    assert error.field == "round_id"
    assert "manifest of round 'R1'" in str(error)


def test_a_camp_to_camp_transfer_places_the_household_in_the_new_camp() -> None:
    household = a_household(site_id="CHAMISHKU")
    household.depart(parse_fact(departure(
        to_site_id="ESYAN", pathway="relocation", to_pcode=None, effective_on="2020-01-01")))

    household.depart(parse_fact(departure(
        from_site_id="ESYAN", effective_on="2026-02-15")))

    assert len(household.live("household_departed")) == 2


def test_reentry_needs_an_earlier_departure() -> None:
    household = a_household()

    error = rule_broken(household.reenter, reentry())

    assert error.field == "household_id"
    assert "follows a departure" in str(error)


def test_reentry_after_a_departure_is_accepted() -> None:
    household = a_household()
    household.depart(parse_fact(departure(effective_on="2026-02-15")))

    household.reenter(parse_fact(reentry(effective_on="2026-04-20")))

    assert [e.kind for e in household.live()][-1] == "household_reentered"


def test_reentry_dated_before_the_departure_is_rejected() -> None:
    household = a_household()
    household.depart(parse_fact(departure(effective_on="2026-02-15")))

    error = rule_broken(household.reenter, reentry(effective_on="2026-01-20"))

    assert "no departure on or before 2026-01-20" in str(error)


@pytest.mark.parametrize(
    ("method", "data"),
    [
        ("change_composition", composition(effective_on="2015-01-09")),
        ("register_as_returnee", fact("returnee_registered", household_id="H1", pcode="IQG15Q07",
                                      effective_on="2014-12-31")),
        ("disburse_grant", fact("grant_disbursed", household_id="H1", amount_iqd=4_000_000,
                                effective_on="2015-01-01")),
        ("close_registration", fact("registration_closed", household_id="H1", registry="official",
                                    reason="duplicate", effective_on="2014-01-01")),
        ("reenter", reentry(effective_on="2015-01-01")),
    ],
)
def test_nothing_is_dated_before_the_first_registration(method: str, data: dict[str, Any]) -> None:
    household = a_household(effective_on="2015-01-10")

    error = rule_broken(getattr(household, method), data)

    assert error.field == "effective_on"
    assert "2015-01-10" in str(error)


def test_a_departure_dated_before_the_first_registration_is_rejected() -> None:
    household = a_household(effective_on="2015-01-10")

    error = rule_broken(household.depart, departure(effective_on="2014-12-01"))

    assert error.field == "effective_on"


def test_a_registry_changes_only_the_composition_it_registered() -> None:
    household = a_household(registry="official")

    error = rule_broken(household.change_composition, composition(registry="operational"))

    assert error.field == "registry"


def test_a_registration_cannot_be_closed_twice() -> None:
    household = a_household(registry="official")
    closing = fact("registration_closed", household_id="H1", registry="official",
                   reason="duplicate", effective_on="2020-01-01")
    household.close_registration(parse_fact(closing))

    error = rule_broken(household.close_registration, {**closing, "source_id": "again"})

    assert error.field == "registry"
    assert household.open_registries() == set()


def test_a_fact_cannot_be_voided_twice() -> None:
    household = a_household()
    leaving = departure(source_id="dep-1")
    household.depart(parse_fact(leaving))
    household.void(parse_fact(voided("dep-1", source_id="void-1")))

    error = rule_broken(household.void, voided("dep-1", source_id="void-2"))

    assert error.field == "voided_source_id"
    assert "already voided" in str(error)
    assert "void-1" in str(error)


def test_a_household_cannot_void_a_fact_about_someone_else() -> None:
    household = a_household()

    error = rule_broken(household.void, voided("dep-of-H2"))

    assert error.field == "voided_source_id"


def test_a_voided_departure_no_longer_allows_a_reentry() -> None:
    household = a_household()
    household.depart(parse_fact(departure(source_id="dep-1")))
    household.void(parse_fact(voided("dep-1")))

    error = rule_broken(household.reenter, reentry())

    assert "follows a departure" in str(error)
    assert household.live("household_departed") == []


def test_a_voided_registration_leaves_nothing_to_act_on() -> None:
    household = a_household(source_id="reg-1")
    household.void(parse_fact(voided("reg-1", effective_on="2016-01-01")))

    error = rule_broken(household.change_composition, composition())

    assert "no live registration" in str(error)


def test_replaying_the_events_rebuilds_the_same_state_without_rechecking_rules() -> None:
    household = a_household()
    household.depart(parse_fact(departure(source_id="dep-1")))
    household.reenter(parse_fact(reentry()))
    household.void(parse_fact(voided("dep-1")))

    copy: FactAggregate | None = None
    for domain_event in household.collect_events():
        copy = domain_event.mutate(copy)

    assert isinstance(copy, Household)
    assert copy.entries == household.entries
    assert copy.voided == {"dep-1": household.voided["dep-1"]}
    assert copy.version == 4


def test_a_round_departure_leaves_only_from_one_of_the_rounds_sites() -> None:
    household = a_household(site_id="ESYAN")

    error = rule_broken(household.depart, departure(from_site_id="ESYAN", round_id="R1"),
                        a_round("H1"))

    assert error.field == "from_site_id"
    assert "round 'R1' departs from CHAMISHKU, not from 'ESYAN'" in str(error)


def test_a_withdrawn_household_cannot_depart_in_the_round() -> None:
    household = a_household()

    error = rule_broken(household.depart, departure(round_id="R1"),
                        a_round("H1", withdrawn_from=("H1",)))

    assert error.field == "round_id"
    assert "withdrawn" in str(error)


def test_a_manifested_household_departs_in_the_round() -> None:
    household = a_household()

    given(household.depart, departure(round_id="R1"), a_round("H1"))

    assert len(household.live("household_departed")) == 1


def test_the_manifest_is_read_as_it_was_on_the_departure_date() -> None:
    household = a_household()
    r1 = a_round()
    r1.manifest(parse_fact(manifested("H1", effective_on="2026-03-01")), household)

    error = rule_broken(household.depart, departure(round_id="R1", effective_on="2026-02-15"), r1)

    assert error.field == "round_id"
