"""The header check: which columns are read, ignored, or never kept because they look personal."""

from __future__ import annotations

import pytest

from ledger.columns import AGGREGATE_FIGURES, looks_personal, plan_columns
from ledger.errors import InvalidFactError


@pytest.mark.parametrize("column", ["name", "head_name", "Full name", "phone", "Mobile number",
                                    "id_document_number", "ID number", "national_id", "email",
                                    "date_of_birth", "#contact+phone", "#beneficiary+name",
                                    "household/member_roster[2]/name", "passport_no"])
def test_columns_naming_people_or_their_numbers_look_personal(column: str) -> None:
    assert looks_personal(column)


@pytest.mark.parametrize("column", ["household_id", "_id", "_uuid", "_xform_id_string",
                                    "#loc+name", "Camp name", "#adm1+name", "registration_ref",
                                    "_parent_table_name", "notes", "_submitted_by", "members"])
def test_ids_of_records_and_names_of_places_do_not_look_personal(column: str) -> None:
    assert not looks_personal(column)


def test_a_field_of_the_fact_type_is_read_even_when_its_name_looks_personal() -> None:
    plan = plan_columns("sites.csv", ["type", "source_id", "effective_on", "site_id", "name"],
                        None, None)
    assert plan.candidates[4] == ("name",)  # a site's name, read for site rows
    assert plan.notes.personal == []


def test_counts_with_no_household_site_or_round_are_aggregate_figures() -> None:
    with pytest.raises(InvalidFactError) as raised:
        plan_columns("camps.csv", ["Camp", "Households", "Individuals"],
                     ["#loc+name", "#affected+hh+idps", "#affected+ind+idps"], None)
    assert str(raised.value) == AGGREGATE_FIGURES.format(
        file="camps.csv", columns="#affected+hh+idps (Households), #affected+ind+idps (Individuals)")


def test_an_affected_tag_is_never_a_household_id() -> None:
    with pytest.raises(InvalidFactError, match="#affected is a count in HXL, never an identifier"):
        plan_columns("old.csv", ["Household", "Members", "Record"],
                     ["#affected+hh+id", "#affected+ind", "#meta+id"], "household_departed")
