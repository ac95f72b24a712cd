"""The service's rules on the in-memory store: get -> act -> save, with no database.

The domain's own rules are in test_domain_*.py; here are the rules that need the store: what a
fact names must exist (and be live), idempotency by source_id, voids (a fact about another
fact), the figures' rules, the vault's boundary, the index entry of every fact, retries when
another writer was first, and the bulk path's agreement with the service.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from ledger.application import LedgerService, Outcome
from ledger.bulk import BulkRecorder
from ledger.catalogue import parse_fact
from ledger.domain.household import Household
from ledger.errors import (
    InvalidFactError,
    NotFoundError,
    RuleViolationError,
    SourceConflictError,
)
from ledger.facts import FactInput
from ledger.store.chain import FactMeta
from ledger.store.memory import MemoryFactStore
from tests.factdicts import (
    composition,
    departure,
    fact,
    manifested,
    reentry,
    registration,
    round_planned,
    site,
    voided,
    withdrawn,
)


def record(service: LedgerService, data: dict[str, Any], *, internal: bool = False) -> Outcome:
    return service.record(parse_fact(data, internal=internal))


def recorded(service: LedgerService, *facts: dict[str, Any]) -> None:
    for data in facts:
        outcome = record(service, data)
        assert outcome.status == "recorded", outcome


@pytest.fixture
def service() -> LedgerService:
    """CHAMISHKU and ESYAN; H1 registered in both registries at CHAMISHKU; round R1 from
    CHAMISHKU with H1 on its manifest."""
    ledger = LedgerService(MemoryFactStore())
    recorded(ledger, site("CHAMISHKU", source_id="site-C"), site("ESYAN", source_id="site-E"),
             registration("H1", source_id="reg-H1-off"),
             registration("H1", registry="operational", source_id="reg-H1-ope"),
             round_planned("R1", source_id="plan-R1"), manifested("H1", source_id="man-H1"))
    return ledger


def published(figure_id: str = "FIG-1", **kw: Any) -> dict[str, Any]:
    return {"type": "figure_published", "source_id": figure_id, "effective_on": "2026-05-02",
            "figure_id": figure_id, "rulebook": "official", "level": "cell", "as_of": "2026-05-01",
            "known_at": "2026-05-02T10:00:00+00:00", "ledger_digest": "a" * 64, "head_position": 6,
            "values": [{"status": "idp_in_camp", "place": "CHAMISHKU", "households": 1,
                        "individuals": 6}], **kw}


def reported(source_id: str, individuals: int = 19) -> dict[str, Any]:
    return {"type": "figure_reported", "source_id": source_id, "source": "DTM",
            "dataset": "DTM Master List Round 13", "as_of": "2026-04-30", "place": "CHAMISHKU",
            "households": 3, "individuals": individuals}


# ---- what a fact names must exist -----------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (registration("H2", site_id="NOWHERE"), "site_id", "unknown site 'NOWHERE'"),
        (departure("H9"), "household_id", "unknown household 'H9'"),
        (departure("H1", from_site_id="NOWHERE"), "from_site_id", "unknown site 'NOWHERE'"),
        (departure("H1", to_site_id="NOWHERE", to_pcode=None, pathway="relocation"), "to_site_id",
         "unknown site 'NOWHERE'"),
        (composition("H9"), "household_id", "no live household is recorded with that id"),
        (reentry("H9"), "household_id", "unknown household"),
        (manifested("H1", round_id="R9"), "round_id", "unknown round 'R9'"),
        (manifested("H9"), "household_id", "unknown household 'H9'"),
        (departure("H1", round_id="R9"), "round_id", "unknown round"),
        (fact("round_closed", round_id="R9"), "round_id", "unknown round"),
        (round_planned("R2", from_site_ids=["CHAMISHKU", "NOWHERE"]), "from_site_ids",
         "unknown site 'NOWHERE'"),
        (fact("site_closed", site_id="NOWHERE"), "site_id", "unknown site"),
        (voided("never-recorded"), "voided_source_id", "no fact with source_id 'never-recorded'"),
        ({**reported("r-1"), "place": "NOWHERE"}, "place", "unknown site 'NOWHERE'"),
    ],
)
def test_what_a_fact_names_must_be_recorded(service: LedgerService, data: dict[str, Any],
                                            field: str, message: str) -> None:
    before = len(service.store.log)  # type: ignore[attr-defined]

    outcome = record(service, data)

    assert isinstance(outcome.error, NotFoundError)
    assert outcome.error.field == field
    assert message in str(outcome.error)
    assert len(service.store.log) == before  # type: ignore[attr-defined]


def test_a_site_whose_registration_was_voided_is_not_found(service: LedgerService) -> None:
    recorded(service, site("DARASHAKRAN", source_id="site-D"), voided("site-D"))

    outcome = record(service, registration("H2", site_id="DARASHAKRAN"))

    assert isinstance(outcome.error, NotFoundError)
    assert outcome.error.field == "site_id"


def test_a_round_whose_plan_was_voided_takes_no_manifest(service: LedgerService) -> None:
    recorded(service, voided("plan-R1"))

    outcome = record(service, manifested("H1", source_id="again"))

    assert isinstance(outcome.error, NotFoundError)
    assert "no live plan" in str(outcome.error)


def test_a_round_departure_from_a_site_the_round_does_not_leave_is_refused(service: LedgerService) -> None:
    recorded(service, registration("H1", site_id="ESYAN", source_id="reg-H1-E", effective_on="2016-01-01"))

    outcome = record(service, departure("H1", from_site_id="ESYAN", round_id="R1"))

    assert isinstance(outcome.error, RuleViolationError)
    assert outcome.error.field == "from_site_id"


def test_a_round_departure_of_a_household_withdrawn_from_the_manifest_is_refused(
        service: LedgerService) -> None:
    recorded(service, withdrawn("H1", effective_on="2026-02-01"))

    outcome = record(service, departure("H1", round_id="R1", effective_on="2026-02-15"))

    assert isinstance(outcome.error, RuleViolationError)
    assert outcome.error.field == "round_id"


def test_a_manifested_household_departs_in_its_round(service: LedgerService) -> None:
    outcome = record(service, departure("H1", round_id="R1", departure_letter_ref="L-1"))

    assert outcome.status == "recorded"


# ---- idempotency by source_id ---------------------------------------------------------------
def test_the_same_fact_again_is_already_recorded_at_its_first_position(service: LedgerService) -> None:
    first = record(service, departure("H1", source_id="dep-1"))

    again = record(service, departure("H1", source_id="dep-1"))

    assert (again.status, again.position) == ("already_recorded", first.position)


def test_a_source_id_again_with_other_content_is_a_conflict(service: LedgerService) -> None:
    recorded(service, departure("H1", source_id="dep-1"))

    outcome = record(service, departure("H1", source_id="dep-1", to_pcode="IQG15Q02"))

    assert isinstance(outcome.error, SourceConflictError)
    assert "household_departed about 'H1'" in str(outcome.error)


def test_a_source_id_again_for_another_fact_type_is_a_conflict(service: LedgerService) -> None:
    outcome = record(service, composition("H1", source_id="reg-H1-off"))

    assert isinstance(outcome.error, SourceConflictError)


# ---- voids ------------------------------------------------------------------------------------
def test_a_void_is_recorded_on_the_voided_facts_aggregate_and_indexed_under_its_subject(
        service: LedgerService) -> None:
    recorded(service, departure("H1", source_id="dep-1"), voided("dep-1", source_id="void-1"))

    meta = _index(service)["void-1"]

    assert (meta.subject_id, meta.household_id) == ("H1", "H1")
    assert record(service, reentry("H1")).error is not None  # the departure no longer counts


def test_a_void_of_a_manifest_entry_is_about_the_round_and_the_household(service: LedgerService) -> None:
    recorded(service, voided("man-H1", source_id="void-man"))

    meta = _index(service)["void-man"]

    assert (meta.subject_id, meta.household_id) == ("R1", "H1")


def test_a_void_cannot_be_voided(service: LedgerService) -> None:
    recorded(service, departure("H1", source_id="dep-1"), voided("dep-1", source_id="void-1"))

    outcome = record(service, voided("void-1"))

    assert isinstance(outcome.error, RuleViolationError)
    assert "a void cannot be voided" in str(outcome.error)


def test_a_fact_cannot_be_voided_twice(service: LedgerService) -> None:
    recorded(service, departure("H1", source_id="dep-1"), voided("dep-1", source_id="void-1"))

    outcome = record(service, voided("dep-1", source_id="void-2"))

    assert isinstance(outcome.error, RuleViolationError)
    assert outcome.error.field == "voided_source_id"


# ---- figures ------------------------------------------------------------------------------------
def test_a_published_figure_is_published_once_and_never_voided(service: LedgerService) -> None:
    assert record(service, published(), internal=True).status == "recorded"

    again = record(service, published(source_id="FIG-1/b"), internal=True)
    voiding = record(service, voided("FIG-1"))

    assert isinstance(again.error, RuleViolationError)
    assert "already published" in str(again.error)
    assert isinstance(voiding.error, RuleViolationError)
    assert "figures retract" in str(voiding.error)


def test_only_a_published_figure_is_retracted_and_only_once(service: LedgerService) -> None:
    retraction = {"type": "figure_retracted", "source_id": "FIG-1/retracted",
                  "effective_on": "2026-05-03", "figure_id": "FIG-1", "reason": "wrong as-of"}
    unknown = record(service, retraction, internal=True)
    recorded_figure = record(service, published(), internal=True)
    first = record(service, retraction, internal=True)
    twice = record(service, {**retraction, "source_id": "FIG-1/retracted-2"}, internal=True)

    assert isinstance(unknown.error, NotFoundError)
    assert "no published figure has that id" in str(unknown.error)
    assert (recorded_figure.status, first.status) == ("recorded", "recorded")
    assert isinstance(twice.error, RuleViolationError)


def test_a_reported_figure_again_is_a_repeat_with_its_values_and_a_conflict_with_others(
        service: LedgerService) -> None:
    recorded(service, reported("dtm-1"))

    same = record(service, reported("dtm-1-again"))
    other = record(service, reported("dtm-1-corrected", individuals=20))
    recorded(service, voided("dtm-1"))
    corrected = record(service, reported("dtm-1-corrected", individuals=20))

    assert same.status == "already_recorded"
    assert isinstance(other.error, RuleViolationError)
    assert corrected.status == "recorded"


def test_rulebook_versions_follow_each_other(service: LedgerService) -> None:
    def version(n: int) -> dict[str, Any]:
        text = f'name = "iris"\n# {n}\n'
        return {"type": "rulebook_defined", "source_id": f"rulebook/iris/v{n}",
                "effective_on": "2026-05-01", "rulebook": "iris", "version": n,
                "definition": text, "digest": hashlib.sha256(text.encode()).hexdigest()}

    outcomes = [record(service, version(n), internal=True) for n in (1, 2, 4)]

    assert [o.status for o in outcomes] == ["recorded", "recorded", "rejected"]
    assert outcomes[2].error is not None
    assert outcomes[2].error.field == "version"


# ---- the vault's boundary -------------------------------------------------------------------------
def test_personal_fields_never_reach_the_ledger(service: LedgerService) -> None:
    outcome = record(service, registration("H2", head_name="Layla Khudeda"))

    assert isinstance(outcome.error, InvalidFactError)
    assert "only through the vault" in str(outcome.error)
    assert "H2" not in {m.household_id for m in _index(service).values()}


# ---- the index entry of a fact --------------------------------------------------------------------
def test_a_manifest_entry_is_indexed_under_its_round_and_its_household(service: LedgerService) -> None:
    meta = _index(service)["man-H1"]

    assert (meta.fact_type, meta.subject_id, meta.household_id) == ("household_manifested", "R1", "H1")
    assert meta.content_hash == parse_fact(manifested("H1", source_id="man-H1")).content_hash()


# ---- another writer first ----------------------------------------------------------------------
class _RacedStore(MemoryFactStore):
    """A store where another writer records a fact on the same household just before the first
    save: the save then conflicts, as a concurrent writer's would in a real store."""

    def __init__(self, rival: FactInput) -> None:
        super().__init__()
        self.rival: FactInput | None = rival

    def save(self, events: Any, index: Any) -> list[int]:
        rival, self.rival = self.rival, None
        if rival is not None and index and any(m.household_id == "H1" for m in index):
            assert LedgerService(self).record(rival).status == "recorded"
        return super().save(events, index)


def test_a_fact_another_writer_overtook_is_recorded_on_fresh_state() -> None:
    store = _RacedStore(parse_fact(composition("H1", members=7, source_id="rival")))
    ledger = LedgerService(store)
    recorded(ledger, site("CHAMISHKU"))
    store.rival = None
    recorded(ledger, registration("H1"))
    store.rival = parse_fact(composition("H1", members=7, source_id="rival"))

    outcome = record(ledger, departure("H1", source_id="dep-1"))

    assert outcome.status == "recorded"
    stream = store.load([Household.stream_id("H1")])[Household.stream_id("H1")]
    assert [e.kind for e in stream.live()] == [
        "household_registered", "composition_changed", "household_departed"]


# ---- the bulk path ---------------------------------------------------------------------------------
def test_bulk_and_one_at_a_time_give_the_same_outcomes_and_index() -> None:
    facts = [site("CHAMISHKU", source_id="s"), registration("H1", source_id="r1"),
             departure("H9", source_id="bad"), registration("H1", source_id="r1"),
             round_planned("R1", source_id="p"), manifested("H1", source_id="m"),
             departure("H1", round_id="R1", source_id="d"), voided("d", source_id="v"),
             reentry("H1", source_id="e"), composition("H1", source_id="c")]
    single, bulk = LedgerService(MemoryFactStore()), BulkRecorder(MemoryFactStore())

    one_by_one = [record(single, f) for f in facts]
    batched = list(bulk.record_many([parse_fact(f) for f in facts], batch_size=4))

    assert [(o.status, o.position, type(o.error)) for o in one_by_one] == \
        [(o.status, o.position, type(o.error)) for o in batched]
    assert _index(single) == _index(bulk.service)


def _index(service: LedgerService) -> dict[str, FactMeta]:
    store = service.store
    assert isinstance(store, MemoryFactStore)
    return {meta.source_id: meta for _, _, meta in store.log}
