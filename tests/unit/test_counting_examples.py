"""The worked examples of docs/counting.md that SPEC §6 does not already cover, as stated there."""

from __future__ import annotations

from projections.bridge import Figure, Level, SiteInfo, reconcile_pure
from projections.rulebooks import builtin_rulebooks
from tests.builders import AS_OF, SITES, a_household

OFFICIAL = builtin_rulebooks()["official"]
OPERATIONAL = builtin_rulebooks()["operational"]
KHANKE = SiteInfo("KHANKE", "Khanke camp", "camp", "IQG09Q03N01")  # Sumail, Duhok
ALL_SITES = {**SITES, "KHANKE": KHANKE}
F = Figure


def reasons(household, level: Level = "cell") -> dict[tuple[str, str], dict[str, Figure]]:
    bridge = reconcile_pure({household.household_id: household.facts}, OFFICIAL, OPERATIONAL,
                            AS_OF, None, level, ALL_SITES)
    return {(row.status, row.place): row.reasons for row in bridge.rows if row.reasons}


def test_back_in_the_same_camp_after_a_departure_without_letter_is_site_attribution_only() -> None:
    h9 = (a_household("H9").registered_at("ESYAN")
          .departed(on="2026-02-15", from_site_id="ESYAN", to_pcode="IQG15Q07")
          .reentered("ESYAN", on="2026-04-20"))
    assert reasons(h9) == {}
    assert reasons(h9, "adm1") == {("idp_in_camp", "IQG09"): {"site_attribution": F(1, 6)},
                                   ("idp_in_camp", "IQG15"): {"site_attribution": F(-1, -6)}}


def test_a_registration_closed_by_one_registry() -> None:
    h8 = a_household("H8").registered_at().registration_closed(on="2026-01-05",
                                                               registry="operational")
    assert reasons(h8) == {("idp_in_camp", "CHAMISHKU"): {"registration_closed_in_one": F(1, 6)}}


def test_two_camps_of_one_governorate_differ_by_location_down_to_the_district_only() -> None:
    h10 = (a_household("H10").registered_at("CHAMISHKU", registry="official")
           .registered_at("KHANKE", registry="operational"))
    assert reasons(h10) == {("idp_in_camp", "CHAMISHKU"): {"location_differs": F(1, 6)},
                            ("idp_in_camp", "KHANKE"): {"location_differs": F(-1, -6)}}
    assert set(reasons(h10, "adm2")) == {("idp_in_camp", "IQG09Q04"), ("idp_in_camp", "IQG09Q03")}
    assert reasons(h10, "adm1") == {}
    assert reasons(h10, "national") == {}


def test_two_camps_and_two_member_counts_are_a_composition_difference_at_every_level() -> None:
    h13 = (a_household("H13", members=6).registered_at("CHAMISHKU", registry="official")
           .registered_at("KHANKE", registry="operational")
           .composition_changed(8, on="2025-06-01", registry="operational"))
    by_cell = reasons(h13)
    assert by_cell == {("idp_in_camp", "CHAMISHKU"): {"composition_differs": F(1, 6)},
                       ("idp_in_camp", "KHANKE"): {"composition_differs": F(-1, -8)}}
    assert reasons(h13, "national") == {("idp_in_camp", "IRQ"): {"composition_differs": F(0, -2)}}


def test_a_departure_without_letter_then_a_returnee_registration_are_combined_causes() -> None:
    h12 = (a_household("H12").registered_at()
           .departed(on="2026-02-15", pathway="relocation", to_pcode="IQG15Q02")
           .returnee_registered("IQG15Q07", on="2026-03-15"))
    assert reasons(h12) == {("idp_out_of_camp", "IQG15Q02"): {"combined_causes": F(-1, -6)},
                            ("returnee", "IQG15Q07"): {"combined_causes": F(1, 6)}}
