"""The fold: what each fact does to a household's status under each rulebook (SPEC §3)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from projections.fold import (
    NOT_REGISTERED,
    HouseholdState,
    Interval,
    bitemporal_rows,
    state_at,
    state_from_rows,
    timeline,
)
from projections.rulebooks import Rulebook, builtin_rulebooks, parse_rulebook
from tests.builders import AS_OF, SINJAR, Clock, a_household

OFFICIAL = builtin_rulebooks()["official"]
OPERATIONAL = builtin_rulebooks()["operational"]
IRIS = dataclasses.replace(OPERATIONAL, name="iris", return_ends_displacement=False)


def where(state: HouseholdState) -> tuple[str, str | None, int]:
    return (state.status, state.place, state.individuals)


def both(facts: list, as_of: dt.date = AS_OF, known_at: dt.datetime | None = None) -> tuple:
    return (
        where(state_at(facts, OFFICIAL, as_of, known_at)),
        where(state_at(facts, OPERATIONAL, as_of, known_at)),
    )


def test_household_registered_in_a_camp_is_an_idp_in_that_camp_under_both() -> None:
    household = a_household("H1", members=6).registered_at("CHAMISHKU")
    assert both(household.facts) == (
        ("idp_in_camp", "CHAMISHKU", 6),
        ("idp_in_camp", "CHAMISHKU", 6),
    )
    state = state_at(household.facts, OFFICIAL, AS_OF)
    assert state.cause == "registration"
    assert state.registered
    assert state.members == 6


def test_household_registered_out_of_camp_is_an_idp_at_that_place() -> None:
    household = a_household("H1", members=4).registered_out_of_camp("IQG09Q01")
    assert both(household.facts)[0] == ("idp_out_of_camp", "IQG09Q01", 4)


def test_household_registered_by_one_registry_only_is_not_counted_by_the_other() -> None:
    household = a_household("H4", members=4).registered_at("CHAMISHKU", registry="operational")
    official = state_at(household.facts, OFFICIAL, AS_OF)
    assert official == NOT_REGISTERED
    assert where(state_at(household.facts, OPERATIONAL, AS_OF)) == ("idp_in_camp", "CHAMISHKU", 4)


def test_household_displaced_in_2007_is_counted_officially_but_not_operationally() -> None:
    household = a_household("H2", members=5).registered_at("CHAMISHKU", displaced_on="2007-03-01")
    operational = state_at(household.facts, OPERATIONAL, AS_OF)
    assert where(operational) == ("not_counted", None, 0)
    assert operational.pre_caseload
    assert operational.registered
    assert operational.members == 5
    assert where(state_at(household.facts, OFFICIAL, AS_OF)) == ("idp_in_camp", "CHAMISHKU", 5)


def test_household_with_unknown_displacement_date_is_counted() -> None:
    household = a_household("H1").registered_at("CHAMISHKU", displaced_on=None)
    assert both(household.facts)[1] == ("idp_in_camp", "CHAMISHKU", 6)


def test_departure_with_letter_makes_a_returnee_under_both() -> None:
    household = (
        a_household("H6", members=5)
        .registered_at("CHAMISHKU")
        .departed(on="2026-03-01", to_pcode="IQG15Q02", letter="L-2", round_id="R2")
    )
    assert both(household.facts) == (("returnee", "IQG15Q02", 5), ("returnee", "IQG15Q02", 5))


def test_departure_without_letter_moves_the_household_operationally_only() -> None:
    household = (
        a_household("H3", members=9)
        .registered_at("CHAMISHKU")
        .departed(on="2026-02-15", to_pcode=SINJAR, round_id="R1")
    )
    assert both(household.facts) == (
        ("idp_in_camp", "CHAMISHKU", 9),
        ("returnee", SINJAR, 9),
    )
    assert state_at(household.facts, OPERATIONAL, AS_OF).moved_by_unlettered_departure
    assert state_at(household.facts, OFFICIAL, AS_OF).skipped_departure


def test_household_back_in_camp_counts_operationally_but_not_officially() -> None:
    household = (
        a_household("H1", members=6)
        .registered_at("CHAMISHKU")
        .departed(on="2026-02-15", to_pcode=SINJAR, letter="L-1", round_id="R1")
        .reentered("CHAMISHKU", on="2026-04-20")
    )
    assert both(household.facts) == (
        ("returnee", SINJAR, 6),
        ("idp_in_camp", "CHAMISHKU", 6),
    )
    assert state_at(household.facts, OPERATIONAL, AS_OF).in_camp_by_reentry
    assert both(household.facts, as_of=dt.date(2026, 4, 19))[1] == ("returnee", SINJAR, 6)


def test_returnee_registration_makes_a_returnee_officially_while_still_in_camp_operationally() -> None:
    household = a_household("H7").registered_at("ESYAN").returnee_registered(SINJAR, on="2026-01-10")
    assert both(household.facts) == (("returnee", SINJAR, 6), ("idp_in_camp", "ESYAN", 6))
    assert state_at(household.facts, OFFICIAL, AS_OF).returnee_by_registration


def test_returnee_grant_does_not_move_a_household_still_in_camp() -> None:
    household = a_household("H1").registered_at("CHAMISHKU").grant_disbursed(on="2026-01-20")
    assert both(household.facts) == (
        ("idp_in_camp", "CHAMISHKU", 6),
        ("idp_in_camp", "CHAMISHKU", 6),
    )


def test_camp_to_camp_transfer_makes_an_idp_in_the_new_camp() -> None:
    household = (
        a_household("H1")
        .registered_at("CHAMISHKU")
        .departed(on="2025-01-01", pathway="relocation", to_site_id="ESYAN", letter="L-9")
    )
    assert both(household.facts)[0] == ("idp_in_camp", "ESYAN", 6)


def test_relocation_out_of_camp_makes_an_idp_out_of_camp() -> None:
    household = (
        a_household("H1")
        .registered_at("CHAMISHKU")
        .departed(on="2025-01-01", pathway="relocation", to_pcode="IQG01Q01")
    )
    assert both(household.facts)[1] == ("idp_out_of_camp", "IQG01Q01", 6)


def test_local_integration_makes_the_household_locally_integrated() -> None:
    household = (
        a_household("H1")
        .registered_at("CHAMISHKU")
        .departed(on="2025-01-01", pathway="local_integration", to_pcode="IQG09Q04", letter="L")
    )
    assert both(household.facts)[0] == ("locally_integrated", "IQG09Q04", 6)


def test_no_departure_moves_a_household_under_a_rulebook_that_ignores_departures() -> None:
    frozen = dataclasses.replace(OFFICIAL, name="frozen", departures_move="none")
    household = (
        a_household("H1").registered_at("CHAMISHKU").departed(on="2025-01-01", to_pcode=SINJAR, letter="L-1")
    )
    assert where(state_at(household.facts, frozen, AS_OF)) == ("idp_in_camp", "CHAMISHKU", 6)


def test_a_return_leaves_the_household_displaced_where_it_returned_under_iris() -> None:
    household = (
        a_household("H6", members=5)
        .registered_at("CHAMISHKU")
        .departed(on="2026-03-01", to_pcode="IQG15Q02", letter="L-2")
    )
    state = state_at(household.facts, IRIS, AS_OF)
    assert where(state) == ("idp_out_of_camp", "IQG15Q02", 5)
    assert state.return_kept_displaced


def test_closed_registration_stops_counting_until_the_household_is_registered_again() -> None:
    household = (
        a_household("H1")
        .registered_at("CHAMISHKU")
        .registration_closed(on="2020-01-01", registry="official", reason="duplicate")
        .registered_at("ESYAN", on="2022-01-01", registry="official", members=7)
    )
    closed = state_at(household.facts, OFFICIAL, dt.date(2021, 1, 1))
    assert where(closed) == ("not_counted", None, 0)
    assert closed.closed
    assert closed.registered
    assert where(state_at(household.facts, OPERATIONAL, dt.date(2021, 1, 1)))[0] == "idp_in_camp"
    assert where(state_at(household.facts, OFFICIAL, AS_OF)) == ("idp_in_camp", "ESYAN", 7)


def test_composition_change_counts_only_in_its_own_registry() -> None:
    household = (
        a_household("H5", members=6)
        .registered_at("CHAMISHKU")
        .composition_changed(8, on="2025-06-01", registry="operational")
    )
    assert both(household.facts) == (
        ("idp_in_camp", "CHAMISHKU", 6),
        ("idp_in_camp", "CHAMISHKU", 8),
    )
    assert both(household.facts, as_of=dt.date(2025, 5, 31))[1] == ("idp_in_camp", "CHAMISHKU", 6)


def test_facts_effective_after_the_as_of_date_do_not_count() -> None:
    household = a_household("H1").registered_at("CHAMISHKU", on="2015-01-10")
    assert state_at(household.facts, OFFICIAL, dt.date(2015, 1, 9)) == NOT_REGISTERED
    assert state_at(household.facts, OFFICIAL, dt.date(2015, 1, 10)).status == "idp_in_camp"


def test_a_departure_recorded_later_is_not_known_at_an_earlier_time() -> None:
    clock = Clock()
    household = a_household("H6", clock=clock).registered_at("CHAMISHKU")
    published_at = clock.now()
    household.departed(on="2026-03-01", to_pcode="IQG15Q02", letter="L-2")
    assert both(household.facts, known_at=published_at)[0] == ("idp_in_camp", "CHAMISHKU", 6)
    assert both(household.facts)[0] == ("returnee", "IQG15Q02", 6)


def test_a_voided_departure_stops_counting_once_the_void_is_known_for_every_as_of_date() -> None:
    clock = Clock()
    household = (
        a_household("H6", clock=clock)
        .registered_at("CHAMISHKU")
        .departed(on="2026-03-01", to_pcode="IQG15Q02", letter="L-2")
    )
    before_void = clock.now()
    household.voided(on="2026-04-01")
    assert both(household.facts, known_at=before_void)[0] == ("returnee", "IQG15Q02", 6)
    assert both(household.facts)[0] == ("idp_in_camp", "CHAMISHKU", 6)
    assert both(household.facts, as_of=dt.date(2026, 3, 15))[0] == ("idp_in_camp", "CHAMISHKU", 6)


def test_same_day_facts_apply_in_recorded_order() -> None:
    household = (
        a_household("H1")
        .registered_at("CHAMISHKU")
        .departed(on="2026-02-15", to_pcode=SINJAR, letter="L-1")
        .reentered("CHAMISHKU", on="2026-02-15")
    )
    assert both(household.facts)[1] == ("idp_in_camp", "CHAMISHKU", 6)


def test_facts_apply_in_effective_order_whatever_order_they_were_recorded_in() -> None:
    household = (
        a_household("H1")
        .reentered("CHAMISHKU", on="2026-04-20")
        .departed(on="2026-02-15", to_pcode=SINJAR, letter="L-1")
        .registered_at("CHAMISHKU")
    )
    assert both(household.facts) == (("returnee", SINJAR, 6), ("idp_in_camp", "CHAMISHKU", 6))


def test_timeline_shows_each_change_of_status_once() -> None:
    household = (
        a_household("H1")
        .registered_at("CHAMISHKU", on="2015-01-10")
        .grant_disbursed(on="2020-01-01")
        .departed(on="2026-02-15", to_pcode=SINJAR, letter="L-1")
        .reentered("CHAMISHKU", on="2026-04-20")
    )
    official = timeline(household.facts, OFFICIAL)
    assert [(i.valid_from, i.valid_to, i.state.status) for i in official] == [
        (dt.date(2015, 1, 10), dt.date(2026, 2, 15), "idp_in_camp"),
        (dt.date(2026, 2, 15), None, "returnee"),
    ]
    operational = timeline(household.facts, OPERATIONAL)
    assert [i.state.status for i in operational] == ["idp_in_camp", "returnee", "idp_in_camp"]
    assert operational[-1] == Interval(
        dt.date(2026, 4, 20), None, state_at(household.facts, OPERATIONAL, AS_OF)
    )


def test_household_unknown_to_the_rulebook_has_an_empty_timeline_and_no_rows() -> None:
    household = a_household("H4").registered_at("CHAMISHKU", registry="operational")
    assert timeline(household.facts, OFFICIAL) == []
    assert bitemporal_rows(household.facts, OFFICIAL) == []


def test_a_late_correction_keeps_the_published_version_and_adds_the_corrected_one() -> None:
    clock = Clock()
    household = a_household("H6", members=5, clock=clock).registered_at("CHAMISHKU", registry="official")
    registered_known = clock.now()
    household.departed(on="2026-03-01", to_pcode="IQG15Q02", letter="L-2")
    published_at = clock.now()
    household.voided(on="2026-04-01")
    corrected_at = clock.now()

    rows = bitemporal_rows(household.facts, OFFICIAL)

    in_camp = [row for row in rows if row.state.status == "idp_in_camp"]
    returnee = [row for row in rows if row.state.status == "returnee"]
    assert [(r.valid_from, r.valid_to, r.recorded_from, r.recorded_to) for r in returnee] == [
        (dt.date(2026, 3, 1), None, published_at, corrected_at)
    ]
    assert [(r.valid_from, r.valid_to, r.recorded_from, r.recorded_to) for r in in_camp] == [
        (dt.date(2015, 1, 10), None, registered_known, published_at),
        (dt.date(2015, 1, 10), dt.date(2026, 3, 1), published_at, corrected_at),
        (dt.date(2015, 1, 10), None, corrected_at, None),
    ]
    assert state_from_rows(rows, AS_OF, published_at).status == "returnee"
    assert state_from_rows(rows, AS_OF).status == "idp_in_camp"
    assert state_from_rows(rows, AS_OF, registered_known - dt.timedelta(days=1)) == NOT_REGISTERED


def test_an_interval_unchanged_by_a_later_fact_keeps_its_recorded_from() -> None:
    clock = Clock()
    household = a_household("H1", clock=clock).registered_at("CHAMISHKU", registry="official")
    first_known = clock.now()
    household.departed(on="2026-02-15", to_pcode=SINJAR, letter="L-1")
    rows = bitemporal_rows(household.facts, OFFICIAL)
    assert [(r.valid_to, r.recorded_from, r.recorded_to) for r in rows if r.recorded_to is None] == [
        (dt.date(2026, 2, 15), clock.now(), None),
        (None, clock.now(), None),
    ]
    assert rows[0].recorded_from == first_known


def test_rulebook_parsed_from_text_folds_like_the_builtin_one() -> None:
    rulebook: Rulebook = parse_rulebook(OPERATIONAL.to_toml(), "copy")
    household = a_household("H3").registered_at("CHAMISHKU").departed(on="2026-02-15", to_pcode=SINJAR)
    assert state_at(household.facts, rulebook, AS_OF) == state_at(household.facts, OPERATIONAL, AS_OF)
