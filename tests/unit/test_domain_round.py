"""The departure round and its manifest, on the aggregates themselves (no store)."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.catalogue import parse_fact
from ledger.domain.base import DomainRuleError
from ledger.domain.departure_round import DepartureRound
from ledger.domain.household import Household
from tests.factdicts import fact, manifested, registration, round_planned, voided, withdrawn


def a_round(round_id: str = "R1", **kw: Any) -> DepartureRound:
    return DepartureRound.create(parse_fact(round_planned(round_id, **kw)))


def a_household(household_id: str = "H1", **kw: Any) -> Household:
    return Household.create(parse_fact(registration(household_id, **kw)))


def rule_broken(action: Any, data: dict[str, Any], *args: Any) -> DomainRuleError:
    with pytest.raises(DomainRuleError) as caught:
        action(parse_fact(data), *args)
    return caught.value


def test_a_manifested_household_is_on_the_manifest() -> None:
    r1 = a_round()

    r1.manifest(parse_fact(manifested("H1")), a_household("H1"))

    assert r1.is_on_manifest("H1")
    assert not r1.is_on_manifest("H2")


def test_a_household_cannot_be_manifested_twice() -> None:
    r1 = a_round()
    r1.manifest(parse_fact(manifested("H1")), a_household("H1"))

    error = rule_broken(r1.manifest, manifested("H1"), a_household("H1"))

    assert error.field == "household_id"
    assert "already on the manifest" in str(error)


def test_a_household_is_manifested_only_after_its_first_registration() -> None:
    error = rule_broken(a_round().manifest, manifested("H1", effective_on="2014-12-01"),
                        a_household("H1", effective_on="2015-01-10"))

    assert error.field == "effective_on"


def test_a_household_not_on_the_manifest_cannot_be_withdrawn() -> None:
    r1 = a_round()

    error = rule_broken(r1.withdraw, withdrawn("H1"))

    assert error.field == "household_id"
    assert "not on the manifest" in str(error)


def test_a_withdrawn_household_is_off_the_manifest_and_may_be_put_back() -> None:
    r1 = a_round()
    r1.manifest(parse_fact(manifested("H1", effective_on="2026-01-20")), a_household("H1"))
    r1.withdraw(parse_fact(withdrawn("H1", effective_on="2026-02-01")))
    assert not r1.is_on_manifest("H1")

    r1.manifest(parse_fact(manifested("H1", effective_on="2026-02-05")), a_household("H1"))

    assert r1.is_on_manifest("H1")


def test_a_round_cannot_be_closed_twice() -> None:
    r1 = a_round()
    r1.close(parse_fact(fact("round_closed", round_id="R1", effective_on="2026-03-01")))

    error = rule_broken(r1.close, fact("round_closed", round_id="R1"))

    assert error.field == "round_id"
    assert r1.is_closed


def test_a_planned_round_cannot_be_planned_again() -> None:
    r1 = a_round()

    error = rule_broken(r1.plan_again, round_planned("R1"))

    assert "already planned" in str(error)


def test_a_voided_plan_is_not_found_and_can_be_replanned() -> None:
    r1 = a_round(source_id="plan-1")
    r1.void(parse_fact(voided("plan-1")))

    with pytest.raises(DomainRuleError) as caught:
        r1.check_live("R1", "round_id")
    assert caught.value.not_found
    r1.plan_again(parse_fact(round_planned("R1", from_site_ids=["ESYAN"])))

    assert r1.from_site_ids == {"ESYAN"}


def test_a_voided_withdrawal_puts_the_household_back_on_the_manifest() -> None:
    r1 = a_round()
    r1.manifest(parse_fact(manifested("H1")), a_household("H1"))
    r1.withdraw(parse_fact(withdrawn("H1", source_id="wd-1")))

    r1.void(parse_fact(voided("wd-1")))

    assert r1.is_on_manifest("H1")
