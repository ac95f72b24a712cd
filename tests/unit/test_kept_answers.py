"""What the read side keeps and hands out again instead of making anew (issue 12, ``audit
count``): the fold's states, the other rulebooks' view of a household, and the dates a decoded
fact revives. Kept answers must be the answers a fresh computation gives."""

from __future__ import annotations

import datetime as dt

import pytest

from ledger.store.reading import decode
from projections import fold, lineage
from projections.fold import HouseholdState, applied_facts, state_at, state_fields, state_of
from projections.lineage import explain_applied
from projections.rulebooks import builtin_rulebooks
from tests.builders import AS_OF, a_household

OFFICIAL = builtin_rulebooks()["official"]
OPERATIONAL = builtin_rulebooks()["operational"]
KNOWN = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)


def test_equal_states_are_one_kept_object_and_equal_to_a_new_one() -> None:
    first = a_household("K1", members=6).registered_at("CHAMISHKU")
    second = a_household("K2", members=6).registered_at("CHAMISHKU")
    one, other = state_at(first.facts, OFFICIAL, AS_OF), state_at(second.facts, OFFICIAL, AS_OF)
    assert one is other
    assert one == HouseholdState(*state_fields(one))


def test_past_the_bound_the_kept_states_start_afresh_and_stay_right(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fold, "STATES_KEPT", 3)
    fold._states.clear()
    made = [state_of(("idp_in_camp", f"CAMP{n}", n, "registration", n, True, False, False, False,
                      False, False, False, False, None, None)) for n in range(1, 8)]
    assert len(fold._states) <= 3
    assert [(s.place, s.individuals) for s in made] == [(f"CAMP{n}", n) for n in range(1, 8)]
    again = state_of(state_fields(made[0]))
    assert again == made[0]


def _explained(household_id: str, displaced_on: str) -> lineage.Explanation:
    household = a_household(household_id, members=5).registered_at(
        "CHAMISHKU", displaced_on=displaced_on)
    applied = applied_facts(household.facts, AS_OF, KNOWN)
    return explain_applied(applied, state_at(household.facts, OFFICIAL, AS_OF, KNOWN), OFFICIAL,
                           [OPERATIONAL], AS_OF)


def test_a_households_own_displacement_date_is_named_even_when_its_states_were_seen_before() -> None:
    first = _explained("P1", "2007-03-01")
    second = _explained("P2", "2009-11-20")
    (first_view,), (second_view,) = first.others, second.others
    assert first_view.state is second_view.state  # the same states: a kept view would match
    assert "displaced on 2007-03-01" in first_view.why
    assert "displaced on 2009-11-20" in second_view.why


def test_households_seen_alike_share_one_view_equal_to_a_fresh_one() -> None:
    first = _explained("S1", "2016-05-01")
    second = _explained("S2", "2016-05-01")
    assert first.others[0] is second.others[0]
    lineage._views.clear()
    assert _explained("S3", "2016-05-01").others == first.others


def _stored(payload: bytes) -> tuple[object, ...]:
    """A row as the fact index and the events table give it (see ``select_facts``)."""
    return (7, dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC), "src-1", "household_registered",
            "H1", dt.date(2026, 5, 1), payload, "H1")


@pytest.mark.parametrize("separator", [b":", b": "])
def test_decoding_revives_every_date_field_whatever_the_json_spacing(separator: bytes) -> None:
    def date(day: str) -> bytes:
        return b'{"_type_"' + separator + b'"date_iso","_data_"' + separator + b'"' + \
            day.encode() + b'"}'

    payload = (b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-05-01T12:00:00+00:00"},'
               b'"originator_topic":"ledger:Household","source_id":"src-1","effective_on":'
               + date("2026-05-01") + b',"recorded_by":"MoMD","source_document":null,'
               b'"registry":"official","members":5,"displaced_on":' + date("2014-08-03") + b'}')
    fact = decode(_stored(payload))
    assert fact.data == {"registry": "official", "members": 5,
                         "displaced_on": dt.date(2014, 8, 3)}
    assert fact.recorded_by == "MoMD"
    assert fact.effective_on == dt.date(2026, 5, 1)


def test_a_fact_with_no_other_date_keeps_its_values_as_they_are() -> None:
    payload = (b'{"originator_topic":"ledger:Household","source_id":"src-1","effective_on":'
               b'{"_type_":"date_iso","_data_":"2026-05-01"},"recorded_by":"UNHCR",'
               b'"source_document":"notes on date_iso","registry":"operational","members":3,'
               b'"wrapped":{"_type_":"other","_data_":"x"}}')
    fact = decode(_stored(payload))
    assert fact.data == {"registry": "operational", "members": 3,
                         "wrapped": {"_type_": "other", "_data_": "x"}}
    assert fact.source_document == "notes on date_iso"
