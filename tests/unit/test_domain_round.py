"""The departure round and its manifest, on the aggregates themselves (no store)."""

from __future__ import annotations

from typing import Any

import pytest

from ledger.catalogue import parse_fact
from ledger.domain.base import DomainRuleError
from ledger.domain.departure_round import DepartureRound
from ledger.domain.household import Household
from tests.factdicts import departure, fact, manifested, registration, round_planned, voided, withdrawn


def fields(data: dict[str, Any]) -> dict[str, Any]:
    found = parse_fact(data).fields()
    del found["type"]
    return found


def a_round(round_id: str = "R1", **kw: Any) -> DepartureRound:
    return DepartureRound(**fields(round_planned(round_id, **kw)))


def rule_broken(action: Any, **kw: Any) -> DomainRuleError:
    with pytest.raises(DomainRuleError) as caught:
        action(**kw)
    return caught.value


def test_a_manifested_household_is_on_the_manifest() -> None:
    r1 = a_round()

    r1.manifest(**fields(manifested("H1")))

    assert r1.is_on_manifest("H1")
    assert not r1.is_on_manifest("H2")


def test_a_household_cannot_be_manifested_twice() -> None:
    r1 = a_round()
    r1.manifest(**fields(manifested("H1")))

    error = rule_broken(r1.manifest, **fields(manifested("H1")))

    assert error.field == "household_id"
    assert "already on the manifest" in str(error)


def test_a_household_not_on_the_manifest_cannot_be_withdrawn() -> None:
    r1 = a_round()

    error = rule_broken(r1.withdraw, **fields(withdrawn("H1")))

    assert error.field == "household_id"
    assert "not on the manifest" in str(error)


def test_a_withdrawn_household_is_off_the_manifest_and_may_be_put_back() -> None:
    r1 = a_round()
    r1.manifest(**fields(manifested("H1", effective_on="2026-01-20")))
    r1.withdraw(**fields(withdrawn("H1", effective_on="2026-02-01")))
    assert not r1.is_on_manifest("H1")

    r1.manifest(**fields(manifested("H1", effective_on="2026-02-05")))

    assert r1.is_on_manifest("H1")


def test_a_withdrawn_household_cannot_depart_in_the_round() -> None:
    r1 = a_round()
    household = Household(**fields(registration("H1")))
    r1.manifest(**fields(manifested("H1")))
    r1.withdraw(**fields(withdrawn("H1")))

    error = rule_broken(household.depart, on_round_manifest=r1.is_on_manifest("H1"),
                        **fields(departure("H1", round_id="R1")))

    assert error.field == "round_id"
    assert "withdrawn" in str(error)


def test_a_manifested_household_departs_in_the_round() -> None:
    r1 = a_round()
    household = Household(**fields(registration("H1")))
    r1.manifest(**fields(manifested("H1")))

    household.depart(on_round_manifest=r1.is_on_manifest("H1"),
                     **fields(departure("H1", round_id="R1")))

    assert len(household.live("household_departed")) == 1


def test_a_round_cannot_be_closed_twice() -> None:
    r1 = a_round()
    r1.close(**fields(fact("round_closed", round_id="R1", effective_on="2026-03-01")))

    error = rule_broken(r1.close, **fields(fact("round_closed", round_id="R1")))

    assert error.field == "round_id"
    assert r1.is_closed


def test_a_planned_round_cannot_be_planned_again() -> None:
    r1 = a_round()

    error = rule_broken(r1.plan_again, **fields(round_planned("R1")))

    assert "already planned" in str(error)


def test_a_voided_plan_is_not_found_and_can_be_replanned() -> None:
    r1 = a_round(source_id="plan-1")
    r1.void(**fields(voided("plan-1")))

    error = rule_broken(r1.manifest, **fields(manifested("H1")))
    assert error.not_found
    r1.plan_again(**fields(round_planned("R1", from_site_ids=["ESYAN"])))

    assert r1.from_site_ids == {"ESYAN"}


def test_a_voided_withdrawal_puts_the_household_back_on_the_manifest() -> None:
    r1 = a_round()
    r1.manifest(**fields(manifested("H1")))
    r1.withdraw(**fields(withdrawn("H1", source_id="wd-1")))

    r1.void(**fields(voided("wd-1")))

    assert r1.is_on_manifest("H1")
