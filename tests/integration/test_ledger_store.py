"""Recording facts in a real store (SQLite file and PostgreSQL schema), through the application."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from typing import Any

import psycopg
import pytest

from ledger.application import Outcome
from ledger.catalogue import CATALOGUE, parse_fact
from ledger.errors import (
    InvalidFactError,
    LedgerError,
    NotFoundError,
    RuleViolationError,
    SourceConflictError,
)
from ledger.store.chain import parse_time
from ledger.writer import Writer
from tests.conftest import init_store
from tests.factdicts import (
    composition,
    departure,
    fact,
    manifested,
    parsed,
    reentry,
    registration,
    round_planned,
    site,
    voided,
    withdrawn,
)

Sql = Callable[..., list[tuple[Any, ...]]]

def record(app: Writer, *dicts: dict[str, Any]) -> list[Outcome]:
    return [app.record(f) for f in parsed(*dicts)]


def fact_rows(sql: Sql) -> int:
    return int(sql("SELECT count(*) FROM ledger_facts")[0][0])


def rejected(app: Writer, data: dict[str, Any]) -> LedgerError:
    with pytest.raises(LedgerError) as caught:
        app.record(parse_fact(data))
    return caught.value


@pytest.fixture
def camp(ledger_app: Writer) -> Writer:
    """CHAMISHKU and ESYAN registered; H1 registered in both registries at CHAMISHKU."""
    record(
        ledger_app,
        site("CHAMISHKU", source_id="site-CHAMISHKU"),
        site("ESYAN", source_id="site-ESYAN"),
        registration("H1", registry="official", source_id="reg-H1-off"),
        registration("H1", registry="operational", source_id="reg-H1-op"),
    )
    return ledger_app


def test_every_fact_type_is_recorded(ledger_app: Writer, sql: Sql) -> None:
    facts = [
        site("CHAMISHKU"),
        site("ESYAN"),
        registration("H1"),
        registration("H2", members=5),
        composition("H1", members=8),
        round_planned("R1"),
        manifested("H1"),
        manifested("H2"),
        withdrawn("H2"),
        departure("H1", round_id="R1", departure_letter_ref="L-1"),
        reentry("H1"),
        fact("returnee_registered", household_id="H1", pcode="IQG15Q07", effective_on="2026-03-01"),
        fact("grant_disbursed", household_id="H1", amount_iqd=4_000_000, source_id="grant-1",
             effective_on="2026-03-05"),
        fact("registration_closed", household_id="H2", registry="official", reason="other",
             effective_on="2026-03-10"),
        fact("round_closed", round_id="R1", effective_on="2026-03-15"),
        fact("site_closed", site_id="ESYAN", effective_on="2026-03-20"),
        voided("grant-1"),
        fact("figure_reported", source="MoMD", dataset="MoMD April 2026", as_of="2026-04-30",
             place="IQG09", households=5, individuals=31, effective_on="2026-04-30"),
    ]

    outcomes = record(ledger_app, *facts)

    assert [o.status for o in outcomes] == ["recorded"] * len(facts)
    positions = [o.position for o in outcomes]
    assert positions == sorted(positions)
    assert len(set(positions)) == len(facts)
    rows = sql("SELECT source_id, fact_type FROM ledger_facts ORDER BY notification_id")
    assert rows == [(f["source_id"], f["type"]) for f in facts]
    assert {r[1] for r in rows} == set(CATALOGUE.recordable)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (registration("H2", site_id="NOWHERE"), "site_id"),
        (departure("H9"), "household_id"),
        (departure("H1", from_site_id="NOWHERE"), "from_site_id"),
        (composition("H9"), "household_id"),
        (reentry("H9"), "household_id"),
        (manifested("H1", round_id="R9"), "round_id"),
        (departure("H1", round_id="R9"), "round_id"),
        (fact("round_closed", round_id="R9"), "round_id"),
        (round_planned("R2", from_site_ids=["CHAMISHKU", "NOWHERE"]), "from_site_ids"),
        (fact("site_closed", site_id="NOWHERE"), "site_id"),
        (voided("never-recorded"), "voided_source_id"),
    ],
)
def test_unknown_site_household_or_round_is_not_found(
    camp: Writer, sql: Sql, data: dict[str, Any], field: str
) -> None:
    before = fact_rows(sql)

    error = rejected(camp, data)

    assert isinstance(error, NotFoundError)
    assert error.field == field
    assert fact_rows(sql) == before


def test_a_round_departure_of_a_household_not_on_the_manifest_is_rejected(
    camp: Writer, sql: Sql
) -> None:
    record(camp, round_planned("R1"))
    before = fact_rows(sql)

    error = rejected(camp, departure("H1", round_id="R1"))

    assert isinstance(error, RuleViolationError)
    assert not isinstance(error, NotFoundError)
    assert error.field == "round_id"
    assert fact_rows(sql) == before


def test_a_round_departure_of_a_withdrawn_household_is_rejected(camp: Writer) -> None:
    record(camp, round_planned("R1"), manifested("H1"), withdrawn("H1"))

    error = rejected(camp, departure("H1", round_id="R1"))

    assert error.field == "round_id"
    assert "manifest" in str(error)


def test_a_round_departure_of_a_manifested_household_is_recorded(camp: Writer) -> None:
    record(camp, round_planned("R1"), manifested("H1"))

    (outcome,) = record(camp, departure("H1", round_id="R1"))

    assert outcome.status == "recorded"


def test_a_departure_from_a_site_the_household_is_not_in_is_rejected(camp: Writer) -> None:
    error = rejected(camp, departure("H1", from_site_id="ESYAN"))

    assert isinstance(error, RuleViolationError)
    assert error.field == "from_site_id"


def test_a_reentry_of_a_household_that_never_departed_is_rejected(camp: Writer) -> None:
    error = rejected(camp, reentry("H1"))

    assert isinstance(error, RuleViolationError)
    assert "departure" in str(error)


def test_a_fact_dated_before_the_first_registration_is_rejected(camp: Writer) -> None:
    error = rejected(camp, composition("H1", effective_on="2014-12-31"))

    assert error.field == "effective_on"


def test_the_same_source_id_with_the_same_content_is_already_recorded(
    camp: Writer, sql: Sql
) -> None:
    first = registration("H2", source_id="reg-H2")
    (recorded,) = record(camp, first)
    before = fact_rows(sql)
    reordered = dict(reversed(list(first.items())))

    again = camp.record(parse_fact(reordered))

    assert again.status == "already_recorded"
    assert again.position == recorded.position
    assert fact_rows(sql) == before


def test_the_same_source_id_with_different_content_is_a_conflict(
    camp: Writer, sql: Sql
) -> None:
    record(camp, registration("H2", source_id="reg-H2", members=5))
    before = fact_rows(sql)

    error = rejected(camp, registration("H2", source_id="reg-H2", members=7))

    assert isinstance(error, SourceConflictError)
    assert error.field == "source_id"
    assert "reg-H2" in str(error)
    assert "different content" in str(error)
    assert fact_rows(sql) == before


def test_a_source_id_reused_for_another_fact_type_is_a_conflict(camp: Writer) -> None:
    error = rejected(camp, departure("H1", source_id="reg-H1-off"))

    assert isinstance(error, SourceConflictError)


def test_a_voided_fact_cannot_be_voided_again(camp: Writer) -> None:
    record(camp, departure("H1", source_id="dep-1"), voided("dep-1", source_id="void-1"))

    error = rejected(camp, voided("dep-1"))
    void_of_void = rejected(camp, voided("void-1"))

    assert error.field == "voided_source_id"
    assert void_of_void.field == "voided_source_id"


def test_a_voided_departure_no_longer_allows_a_reentry(camp: Writer) -> None:
    record(camp, departure("H1", source_id="dep-1"), voided("dep-1"))

    error = rejected(camp, reentry("H1"))

    assert isinstance(error, RuleViolationError)


@pytest.mark.parametrize("batch_size", [1, 3, 500])
def test_a_batch_stores_the_good_facts_and_rejects_the_bad_with_a_reason_each(
    ledger_app: Writer, sql: Sql, batch_size: int
) -> None:
    try:
        parse_fact(registration("H3", members=0))
    except InvalidFactError as exc:
        malformed: LedgerError = exc
    inputs: list[Any] = [
        *parsed(site("CHAMISHKU"), site("ESYAN"), registration("H1")),
        *parsed(departure("H9")),            # unknown household
        malformed,                           # failed validation upstream
        *parsed(registration("H2"), departure("H1", from_site_id="ESYAN")),  # not in ESYAN
        *parsed(departure("H1"), reentry("H2")),  # H2 never departed
    ]
    expected = ["recorded", "recorded", "recorded", "rejected", "rejected", "recorded",
                "rejected", "recorded", "rejected"]

    outcomes = list(ledger_app.record_many(inputs, batch_size=batch_size))

    assert [o.status for o in outcomes] == expected
    for outcome in outcomes:
        if outcome.status == "rejected":
            assert isinstance(outcome.error, LedgerError)
            assert outcome.error.field
            assert str(outcome.error)
        else:
            assert outcome.error is None
    assert fact_rows(sql) == expected.count("recorded")
    stored = {r[0] for r in sql("SELECT source_id FROM ledger_facts")}
    assert stored == {o.source_id for o in outcomes if o.status == "recorded"}


def test_facts_in_one_batch_are_checked_in_order(ledger_app: Writer, sql: Sql) -> None:
    record(ledger_app, site("CHAMISHKU"))
    batch = parsed(
        departure("H2"),                    # H2 not registered yet at this point of the batch
        registration("H1"), registration("H2"),
        departure("H1"), reentry("H1"),
    )

    outcomes = list(ledger_app.record_many(batch, batch_size=500))

    assert [o.status for o in outcomes] == ["rejected", "recorded", "recorded", "recorded",
                                           "recorded"]
    assert isinstance(outcomes[0].error, NotFoundError)
    assert fact_rows(sql) == 5


def test_a_repeat_inside_one_batch_is_already_recorded(ledger_app: Writer, sql: Sql) -> None:
    reg = registration("H1", source_id="reg-H1")
    batch = parsed(site("CHAMISHKU"), reg, reg, {**reg, "members": 2})

    outcomes = list(ledger_app.record_many(batch))

    assert [o.status for o in outcomes] == ["recorded", "recorded", "already_recorded", "rejected"]
    assert isinstance(outcomes[3].error, SourceConflictError)
    assert fact_rows(sql) == 2


def test_a_late_fact_is_accepted_and_keeps_both_its_times(camp: Writer, sql: Sql) -> None:
    record(camp, departure("H1", source_id="dep-1", effective_on="2026-02-15"))

    (late,) = record(camp, composition("H1", source_id="late-1", effective_on="2020-01-01"))

    assert late.status == "recorded"
    rows = sql("SELECT notification_id, source_id, effective_on, recorded_at FROM ledger_facts "
               "ORDER BY notification_id")
    times = [parse_time(r[3]) for r in rows]
    assert times == sorted(times)
    assert len(set(times)) == len(times)
    by_source = {r[1]: r for r in rows}
    assert str(by_source["late-1"][2]) == "2020-01-01"
    assert str(by_source["dep-1"][2]) == "2026-02-15"
    assert parse_time(by_source["late-1"][3]) > parse_time(by_source["dep-1"][3])
    assert by_source["late-1"][0] > by_source["dep-1"][0]


def test_the_database_refuses_a_second_row_with_the_same_source_id(
    camp: Writer, sql: Sql
) -> None:
    with pytest.raises((sqlite3.IntegrityError, psycopg.errors.UniqueViolation)):
        sql(
            "INSERT INTO ledger_facts (notification_id, source_id, originator_id, "
            "originator_version, recorded_at, chain_hash) VALUES (%s, %s, %s, %s, %s, %s)",
            10_000, "reg-H1-off", str(uuid.uuid4()), 1, "2026-01-01T00:00:00.000000+00:00", "x",
        )

    assert sql("SELECT count(*) FROM ledger_facts WHERE source_id = %s", "reg-H1-off") == [(1,)]




def test_a_household_manifested_only_after_it_departed_was_not_on_the_manifest(
    camp: Writer,
) -> None:
    record(camp, round_planned("R1"), manifested("H1", effective_on="2026-03-01"))

    error = rejected(camp, departure("H1", round_id="R1", effective_on="2026-02-15"))

    assert error.field == "round_id"


def test_a_late_departure_counts_the_manifest_as_it_was_on_the_departure_date(
    camp: Writer,
) -> None:
    record(
        camp,
        round_planned("R1"),
        manifested("H1", effective_on="2026-01-20"),
        withdrawn("H1", effective_on="2026-02-20"),
    )

    (outcome,) = record(camp, departure("H1", round_id="R1", effective_on="2026-02-15"))

    assert outcome.status == "recorded"


@pytest.mark.postgres
def test_a_bulk_import_leaves_fresh_planner_statistics(pg_settings: Any, pg_sql: Sql) -> None:
    init_store(pg_settings)
    writer = Writer(pg_settings, statistics_after=3)
    try:
        outcomes = list(writer.record_many(parsed(site("CHAMISHKU"), registration("H1"),
                                                  registration("H2"))))
    finally:
        writer.close()

    assert [o.status for o in outcomes] == ["recorded"] * 3
    analysed = pg_sql("SELECT relname FROM pg_stat_user_tables WHERE schemaname = %s "
                      "AND last_analyze IS NOT NULL", pg_settings.schema)
    assert {r[0] for r in analysed} >= {"ledger_facts", "ledger_events"}
