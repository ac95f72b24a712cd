"""Reconciliation: every gap between two rulebooks explained household by household (SPEC §4, §6)."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from projections.bridge import (
    REASON_NAMES,
    REASONS,
    Bridge,
    BridgeIdentityError,
    BridgeRow,
    Figure,
    Level,
    SiteInfo,
    check_identity,
    classify,
    place_at,
    reconcile_pure,
    tally,
)
from projections.fold import state_at
from projections.rulebooks import builtin_rulebooks
from tests.builders import AS_OF, SINJAR, SITES, a_household, worked_example

OFFICIAL = builtin_rulebooks()["official"]
OPERATIONAL = builtin_rulebooks()["operational"]
IRIS = dataclasses.replace(OPERATIONAL, name="iris", return_ends_displacement=False)

F = Figure


def bridge_of(households: dict, level: Level = "cell", left=OFFICIAL, right=OPERATIONAL) -> Bridge:
    bridge = reconcile_pure(households, left, right, AS_OF, None, level, SITES)
    check_identity(bridge)
    return bridge


def rows_of(bridge: Bridge) -> dict[tuple[str, str], tuple[Figure, Figure, dict[str, Figure]]]:
    return {(row.status, row.place): (row.left, row.right, row.reasons) for row in bridge.rows}


def reasons_by_household(bridge: Bridge) -> dict[str, str]:
    return {difference.household_id: difference.reason for difference in bridge.differences}


# SPEC §6 --------------------------------------------------------------------------------------

CHAMISHKU_REASONS = {
    "only_operational_registry": F(-1, -4),
    "pre_cutoff_displacement": F(1, 5),
    "reentry_not_registered": F(-1, -6),
    "departure_without_letter": F(1, 9),
    "composition_differs": F(0, -2),
}
SINJAR_RETURNEE_REASONS = {
    "returnee_registered_in_place": F(1, 6),
    "reentry_not_registered": F(1, 6),
    "departure_without_letter": F(-1, -9),
}
ESYAN_REASONS = {"returnee_registered_in_place": F(-1, -6)}


def test_worked_example_explains_each_household_by_its_reason() -> None:
    bridge = bridge_of(worked_example())
    assert reasons_by_household(bridge) == {
        "H1": "reentry_not_registered",
        "H2": "pre_cutoff_displacement",
        "H3": "departure_without_letter",
        "H4": "only_operational_registry",
        "H5": "composition_differs",
        "H7": "returnee_registered_in_place",
    }


def test_worked_example_bridge_by_cell() -> None:
    assert rows_of(bridge_of(worked_example(), "cell")) == {
        ("idp_in_camp", "CHAMISHKU"): (F(3, 20), F(3, 18), CHAMISHKU_REASONS),
        ("idp_in_camp", "ESYAN"): (F(0, 0), F(1, 6), ESYAN_REASONS),
        ("returnee", "IQG15Q02"): (F(1, 5), F(1, 5), {}),
        ("returnee", SINJAR): (F(2, 12), F(1, 9), SINJAR_RETURNEE_REASONS),
    }


def test_worked_example_camp_delta_is_the_sum_of_its_households() -> None:
    row = next(r for r in bridge_of(worked_example()).rows if r.place == "CHAMISHKU")
    assert row.delta == F(0, 2)
    returnees = next(r for r in bridge_of(worked_example()).rows if r.place == SINJAR)
    assert returnees.delta == F(1, 3)


def test_worked_example_bridge_by_district_follows_the_camps_location() -> None:
    assert rows_of(bridge_of(worked_example(), "adm2")) == {
        ("idp_in_camp", "IQG09Q04"): (F(3, 20), F(3, 18), CHAMISHKU_REASONS),
        ("idp_in_camp", "IQG15Q06"): (F(0, 0), F(1, 6), ESYAN_REASONS),
        ("returnee", "IQG15Q02"): (F(1, 5), F(1, 5), {}),
        ("returnee", SINJAR): (F(2, 12), F(1, 9), SINJAR_RETURNEE_REASONS),
    }


def test_worked_example_bridge_by_governorate_still_adds_up() -> None:
    # ESYAN (Ninewa) is run by Duhok: operationally H7 is an IDP in camp in Ninewa (IQG15).
    assert rows_of(bridge_of(worked_example(), "adm1")) == {
        ("idp_in_camp", "IQG09"): (F(3, 20), F(3, 18), CHAMISHKU_REASONS),
        ("idp_in_camp", "IQG15"): (F(0, 0), F(1, 6), ESYAN_REASONS),
        ("returnee", "IQG15"): (F(3, 17), F(2, 14), SINJAR_RETURNEE_REASONS),
    }


def test_worked_example_bridge_nationally() -> None:
    assert rows_of(bridge_of(worked_example(), "national")) == {
        ("idp_in_camp", "IRQ"): (F(3, 20), F(4, 24), {**CHAMISHKU_REASONS, **ESYAN_REASONS}),
        ("returnee", "IRQ"): (F(3, 17), F(2, 14), SINJAR_RETURNEE_REASONS),
    }


def test_worked_example_figures_per_rulebook() -> None:
    households = worked_example()
    assert tally(households, OFFICIAL, AS_OF, None, "cell", SITES) == {
        ("idp_in_camp", "CHAMISHKU"): F(3, 20),
        ("returnee", SINJAR): F(2, 12),
        ("returnee", "IQG15Q02"): F(1, 5),
    }
    assert tally(households, OPERATIONAL, AS_OF, None, "cell", SITES) == {
        ("idp_in_camp", "CHAMISHKU"): F(3, 18),
        ("idp_in_camp", "ESYAN"): F(1, 6),
        ("returnee", SINJAR): F(1, 9),
        ("returnee", "IQG15Q02"): F(1, 5),
    }


# Places -------------------------------------------------------------------------------------


def test_camp_run_by_another_governorate_is_reported_under_the_authority_officially() -> None:
    state = state_at(a_household("H8").registered_at("ESYAN").facts, OFFICIAL, AS_OF)
    assert place_at(state, OFFICIAL, "cell", SITES) == "ESYAN"
    assert place_at(state, OFFICIAL, "adm2", SITES) == "IQG15Q06"
    assert place_at(state, OFFICIAL, "adm1", SITES) == "IQG09"
    assert place_at(state, OPERATIONAL, "adm1", SITES) == "IQG15"
    assert place_at(state, OFFICIAL, "national", SITES) == "IRQ"


def test_returnee_place_is_grouped_by_its_pcode() -> None:
    facts = (
        a_household("H6").registered_at().departed(on="2026-03-01", to_pcode="IQG15Q02N03", letter="L").facts
    )
    state = state_at(facts, OFFICIAL, AS_OF)
    assert place_at(state, OFFICIAL, "adm2", SITES) == "IQG15Q02"
    assert place_at(state, OFFICIAL, "adm1", SITES) == "IQG15"


def test_a_household_not_counted_has_no_place_at_any_level() -> None:
    state = state_at(a_household("H4").registered_at(registry="operational").facts, OFFICIAL, AS_OF)
    assert {place_at(state, OFFICIAL, level, SITES) for level in ("cell", "adm2", "adm1", "national")} == {
        None
    }


def test_a_site_without_authority_is_reported_under_its_location() -> None:
    site = SiteInfo("KHANKE", "Khanke", "camp", "IQG09Q02")
    state = state_at(a_household("H9").registered_at("KHANKE").facts, OFFICIAL, AS_OF)
    assert place_at(state, OFFICIAL, "adm1", {"KHANKE": site}) == "IQG09"


# Reasons --------------------------------------------------------------------------------------


def test_camp_run_by_another_governorate_differs_only_by_governorate() -> None:
    households = {"H8": a_household("H8").registered_at("ESYAN").facts}
    assert bridge_of(households, "cell").differences == ()
    assert bridge_of(households, "adm2").differences == ()
    adm1 = bridge_of(households, "adm1")
    assert reasons_by_household(adm1) == {"H8": "site_attribution"}
    assert rows_of(adm1) == {
        ("idp_in_camp", "IQG09"): (F(1, 6), F(0, 0), {"site_attribution": F(1, 6)}),
        ("idp_in_camp", "IQG15"): (F(0, 0), F(1, 6), {"site_attribution": F(-1, -6)}),
    }


def test_household_registered_in_two_different_camps_differs_by_location_but_not_nationally() -> None:
    household = (
        a_household("H1")
        .registered_at("CHAMISHKU", registry="official")
        .registered_at("ESYAN", registry="operational")
    )
    households = {"H1": household.facts}
    assert reasons_by_household(bridge_of(households, "cell")) == {"H1": "location_differs"}
    assert bridge_of(households, "national").differences == ()


def test_household_only_in_the_official_registry_is_named_so_whichever_side_is_left() -> None:
    households = {"H1": a_household("H1").registered_at(registry="official").facts}
    assert reasons_by_household(bridge_of(households)) == {"H1": "only_official_registry"}
    reversed_bridge = bridge_of(households, left=OPERATIONAL, right=OFFICIAL)
    assert reasons_by_household(reversed_bridge) == {"H1": "only_official_registry"}
    assert reversed_bridge.rows[0].reasons == {"only_official_registry": F(-1, -6)}


def test_registration_closed_by_one_registry_is_explained_as_such() -> None:
    household = a_household("H1").registered_at().registration_closed(on="2025-01-01", registry="official")
    assert reasons_by_household(bridge_of({"H1": household.facts})) == {"H1": "registration_closed_in_one"}


def test_registries_placing_a_household_in_and_out_of_camp_differ_by_registration() -> None:
    household = (
        a_household("H1")
        .registered_out_of_camp("IQG09Q04", registry="official")
        .registered_at("CHAMISHKU", registry="operational")
    )
    assert reasons_by_household(bridge_of({"H1": household.facts})) == {"H1": "registration_differs"}


def test_household_re_registered_in_camp_after_a_lettered_return_differs_by_registration() -> None:
    household = (
        a_household("H1")
        .registered_at()
        .departed(on="2025-01-01", to_pcode=SINJAR, letter="L-1")
        .registered_at("CHAMISHKU", on="2025-06-01", registry="operational")
    )
    assert reasons_by_household(bridge_of({"H1": household.facts})) == {"H1": "registration_differs"}


def test_a_return_that_does_not_end_displacement_is_its_own_reason() -> None:
    household = a_household("H6").registered_at().departed(on="2026-03-01", to_pcode="IQG15Q02", letter="L-2")
    bridge = bridge_of({"H6": household.facts}, left=OPERATIONAL, right=IRIS)
    assert reasons_by_household(bridge) == {"H6": "return_not_ending_displacement"}
    assert rows_of(bridge) == {
        ("idp_out_of_camp", "IQG15Q02"): (F(0, 0), F(1, 6), {"return_not_ending_displacement": F(-1, -6)}),
        ("returnee", "IQG15Q02"): (F(1, 6), F(0, 0), {"return_not_ending_displacement": F(1, 6)}),
    }


def test_a_departure_one_rulebook_ignores_altogether_is_a_departure_rule_difference() -> None:
    frozen = dataclasses.replace(OFFICIAL, name="frozen", departures_move="none")
    household = a_household("H6").registered_at().departed(on="2026-03-01", to_pcode="IQG15Q02", letter="L-2")
    bridge = bridge_of({"H6": household.facts}, left=frozen, right=OFFICIAL)
    assert reasons_by_household(bridge) == {"H6": "departure_rule_differs"}


def test_households_counted_alike_need_no_reason() -> None:
    state = state_at(a_household("H1").registered_at().facts, OFFICIAL, AS_OF)
    assert classify(state, state, OFFICIAL, OPERATIONAL, "cell", SITES) is None


def test_reasons_keep_the_specs_order_and_end_with_unexplained() -> None:
    assert REASON_NAMES[:10] == (
        "only_official_registry",
        "only_operational_registry",
        "pre_cutoff_displacement",
        "registration_closed_in_one",
        "returnee_registered_in_place",
        "reentry_not_registered",
        "departure_without_letter",
        "site_attribution",
        "location_differs",
        "composition_differs",
    )
    assert REASON_NAMES[-1] == "unexplained"
    assert all(description for _, description in REASONS)


def test_a_bridge_that_does_not_add_up_is_caught() -> None:
    broken = Bridge(
        left="official",
        right="operational",
        as_of=AS_OF,
        known_at=None,
        level="cell",
        rows=(BridgeRow("idp_in_camp", "CHAMISHKU", F(3, 20), F(3, 18), {"composition_differs": F(0, 1)}),),
        differences=(),
    )
    with pytest.raises(BridgeIdentityError, match=r"idp_in_camp, CHAMISHKU"):
        check_identity(broken)


def test_bridge_known_at_an_earlier_time_ignores_later_facts() -> None:
    households = worked_example()
    first_known = min(fact.recorded_at for facts in households.values() for fact in facts)
    bridge = reconcile_pure(households, OFFICIAL, OPERATIONAL, AS_OF, first_known, "cell", SITES)
    check_identity(bridge)
    assert rows_of(bridge) == {
        ("idp_in_camp", "CHAMISHKU"): (F(1, 6), F(0, 0), {"only_official_registry": F(1, 6)})
    }


def test_bridge_as_of_before_the_departures_shows_only_the_caseload_differences() -> None:
    bridge = reconcile_pure(
        worked_example(), OFFICIAL, OPERATIONAL, dt.date(2025, 12, 31), None, "cell", SITES
    )
    check_identity(bridge)
    assert reasons_by_household(bridge) == {
        "H2": "pre_cutoff_displacement",
        "H4": "only_operational_registry",
        "H5": "composition_differs",
    }
