"""The shape of a fact is checked at the edge (SPEC §2 "What a bad fact gets").

Every rejection names the field at fault (``.field``) and says what is expected.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from ledger.catalogue import CATALOGUE, parse_fact
from ledger.errors import InvalidFactError
from tests.factdicts import (
    composition,
    departure,
    fact,
    registration,
    round_planned,
    site,
)


def rejection(data: dict[str, Any]) -> InvalidFactError:
    with pytest.raises(InvalidFactError) as caught:
        parse_fact(data)
    return caught.value


def without(data: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k != name}


def test_a_well_formed_fact_of_the_worked_example_is_accepted() -> None:
    fact_in = parse_fact(registration("H1", members=6, female=3, male=3))

    assert fact_in.type == "household_registered"
    assert fact_in.effective_on == dt.date(2015, 1, 10)
    assert CATALOGUE[fact_in.type].subject_of(fact_in) == "H1"


def test_unknown_fact_type_is_rejected_listing_the_known_types() -> None:
    error = rejection({**registration(), "type": "household_moved"})

    assert error.field == "type"
    assert "household_moved" in str(error)
    assert all(t in str(error) for t in CATALOGUE.recordable)


def test_a_fact_without_a_type_is_rejected() -> None:
    error = rejection(without(registration(), "type"))

    assert error.field == "type"
    assert "required" in str(error)
    assert "household_registered" in str(error)


def test_unknown_field_is_rejected_not_silently_dropped() -> None:
    error = rejection({**registration(), "famly_size": 3})

    assert error.field == "famly_size"
    assert "not a field" in str(error)


@pytest.mark.parametrize(
    ("data", "missing"),
    [
        (registration(), "registry"),
        (registration(), "members"),
        (registration(), "source_id"),
        (registration(), "effective_on"),
        (departure(), "pathway"),
        (departure(), "from_site_id"),
        (round_planned(), "destination_pcodes"),
    ],
)
def test_missing_field_is_named(data: dict[str, Any], missing: str) -> None:
    error = rejection(without(data, missing))

    assert error.field == missing
    assert "required" in str(error)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("household_id", "H 1"),
        ("household_id", "-H1"),
        ("household_id", "x" * 129),
        ("source_id", "row#12"),
        ("site_id", ""),
    ],
)
def test_bad_identifier_is_rejected_with_the_expected_format(field: str, value: str) -> None:
    error = rejection(registration(**{field: value}, registration_ref="REF-1"))

    assert error.field == field
    assert "not a valid identifier" in str(error)
    assert "letters, digits" in str(error)


@pytest.mark.parametrize("value", ["10/01/2015", "2015-02-30", "2015-1-10x", "yesterday"])
def test_bad_date_is_rejected(value: str) -> None:
    error = rejection(registration(effective_on=value))

    assert error.field == "effective_on"
    assert "expected YYYY-MM-DD" in str(error)
    assert value in str(error)


def test_a_fact_dated_in_the_future_is_rejected() -> None:
    tomorrow = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)).isoformat()

    error = rejection(departure(effective_on=tomorrow))

    assert error.field == "effective_on"
    assert "in the future" in str(error)
    assert tomorrow in str(error)


def test_a_fact_dated_today_is_accepted() -> None:
    today = dt.datetime.now(dt.UTC).date().isoformat()

    assert parse_fact(departure(effective_on=today)).effective_on.isoformat() == today


@pytest.mark.parametrize(
    ("data", "field", "value"),
    [
        (departure(to_pcode="IQG15Q7"), "to_pcode", "IQG15Q7"),
        (registration(origin_pcode="IQ-G15"), "origin_pcode", "IQ-G15"),
        (site(location_pcode="iqg09q04"), "location_pcode", "iqg09q04"),
        (fact("returnee_registered", household_id="H1", pcode="IQG15Q07N0"), "pcode", "IQG15Q07N0"),
    ],
)
def test_bad_pcode_format_is_rejected_with_the_expected_format(
    data: dict[str, Any], field: str, value: str
) -> None:
    error = rejection(data)

    assert error.field == field
    assert value in str(error)
    assert "IQGnnQmm" in str(error)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (departure(to_pcode="IQG99Q01"), "to_pcode"),
        (registration(origin_pcode="IQG15Q99N01"), "origin_pcode"),
        (site(location_pcode="IQG09Q77"), "location_pcode"),
    ],
)
def test_unknown_district_pcode_is_rejected(data: dict[str, Any], field: str) -> None:
    error = rejection(data)

    assert error.field == field
    assert "not in a known Iraqi district" in str(error)


def test_a_subdistrict_of_a_known_district_is_accepted() -> None:
    assert parse_fact(departure(to_pcode="IQG15Q07N01")).to_pcode == "IQG15Q07N01"  # type: ignore[attr-defined]


def test_unknown_governorate_pcode_is_rejected_as_a_governorate() -> None:
    error = rejection(registration(origin_pcode="IQG77"))

    assert error.field == "origin_pcode"
    assert "not a known Iraqi governorate" in str(error)


def test_a_site_run_by_another_governorates_authority_is_accepted() -> None:
    esyan = parse_fact(site("ESYAN"))

    assert esyan.authority == "IQG09"  # type: ignore[attr-defined]


def test_a_governorate_is_too_coarse_for_a_departure_destination() -> None:
    error = rejection(departure(to_pcode="IQG15"))

    assert error.field == "to_pcode"
    assert "governorate code" in str(error)


def test_a_district_is_too_fine_for_a_site_authority() -> None:
    error = rejection(site("ESYAN", authority_adm1="IQG09Q04"))

    assert error.field == "authority_adm1"
    assert "IQGnn" in str(error)


@pytest.mark.parametrize(("members", "bound"), [(0, "1"), (61, "60"), (-3, "1")])
def test_members_out_of_range_is_rejected(members: int, bound: str) -> None:
    error = rejection(registration(members=members))

    assert error.field == "members"
    assert bound in str(error)
    assert f"got {members}" in str(error)


def test_members_out_of_range_in_a_composition_change_is_rejected() -> None:
    error = rejection(composition(members=61))

    assert error.field == "members"
    assert "60" in str(error)


def test_breakdown_not_adding_up_is_rejected_with_the_sum_expected() -> None:
    error = rejection(registration(members=6, female=2, male=3))

    assert "female (2) + male (3) must equal members (6)" in str(error)


def test_breakdown_not_adding_up_names_the_field() -> None:
    error = rejection(registration(members=6, female=2, male=3))

    assert error.field in {"members", "female", "male"}


def test_children_cannot_exceed_members() -> None:
    error = rejection(composition(members=2, children=3))

    assert "children (3) cannot exceed members (2)" in str(error)


def test_both_site_and_location_is_rejected() -> None:
    error = rejection(registration(site_id="CHAMISHKU", location_pcode="IQG09Q04"))

    assert "exactly one of site_id" in str(error)
    assert "location_pcode" in str(error)


def test_neither_site_nor_location_is_rejected() -> None:
    error = rejection(without(registration(), "site_id"))

    assert "exactly one of site_id" in str(error)
    assert "location_pcode" in str(error)


@pytest.mark.parametrize("both", [True, False])
def test_the_place_error_names_a_field(both: bool) -> None:
    data = registration(location_pcode="IQG09Q04", site_id="CHAMISHKU") if both else without(
        registration(), "site_id")

    assert rejection(data).field in {"site_id", "location_pcode"}


def test_out_of_camp_registration_is_accepted() -> None:
    fact_in = parse_fact(without(registration(location_pcode="IQG09Q04"), "site_id"))

    assert fact_in.location_pcode == "IQG09Q04"  # type: ignore[attr-defined]


def test_a_camp_to_camp_transfer_must_be_a_relocation() -> None:
    error = rejection(without(departure(to_site_id="ESYAN", pathway="return"), "to_pcode"))

    assert "relocation" in str(error)
    assert "'return'" in str(error)


def test_a_camp_to_camp_transfer_error_names_to_site_id() -> None:
    error = rejection(without(departure(to_site_id="ESYAN", pathway="return"), "to_pcode"))

    assert error.field == "to_site_id"


def test_a_departure_needs_exactly_one_destination() -> None:
    both = departure(to_site_id="ESYAN", to_pcode="IQG15Q07", pathway="relocation")

    assert "exactly one of to_pcode or to_site_id" in str(rejection(both))
    assert "exactly one of to_pcode" in str(rejection(without(departure(), "to_pcode")))


def test_a_camp_to_camp_relocation_is_accepted() -> None:
    fact_in = parse_fact(without(departure(to_site_id="ESYAN", pathway="relocation"), "to_pcode"))

    assert fact_in.to_site_id == "ESYAN"  # type: ignore[attr-defined]


def test_unknown_enumerated_value_lists_the_allowed_values() -> None:
    error = rejection(registration(registry="unhcr"))

    assert error.field == "registry"
    assert "'official' or 'operational'" in str(error)


def test_a_household_is_displaced_before_it_is_registered() -> None:
    error = rejection(registration(displaced_on="2015-02-01"))

    assert "displaced_on" in str(error)


def test_a_bad_list_item_is_named_by_position() -> None:
    error = rejection(round_planned(destination_pcodes=["IQG15Q07", "XX"]))

    assert error.field == "destination_pcodes.1"


def test_canonical_content_ignores_field_order_and_whitespace() -> None:
    data = registration("H1", source_id="reg-H1", female=3, male=3)
    reordered = dict(reversed(list(data.items())))
    padded = {**data, "household_id": "  H1 "}

    assert parse_fact(reordered).canonical() == parse_fact(data).canonical()
    assert parse_fact(padded).content_hash() == parse_fact(data).content_hash()


def test_canonical_content_differs_when_a_value_differs() -> None:
    data = registration("H1", source_id="reg-H1")

    assert parse_fact({**data, "members": 7}).content_hash() != parse_fact(data).content_hash()
