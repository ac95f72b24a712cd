"""Properties of the fold and the bridge over random fact histories (hypothesis).

Histories are built from a small generator of valid-ish facts: a few sites, 1–3 households,
registrations in either registry (in or out of camp, displaced 2005–2020 or unknown),
composition changes, departures with and without letters and rounds, re-entries, returnee
registrations, grants, closures and voids, with random effective dates recorded in random
order.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger.store.reading import FactRecord
from projections.bridge import LEVELS, SiteInfo, check_identity, classify, reconcile_pure, tally
from projections.fold import NOT_REGISTERED, BitemporalRow, HouseholdState, bitemporal_rows, state_at
from projections.rulebooks import Rulebook, builtin_rulebooks

OFFICIAL = builtin_rulebooks()["official"]
OPERATIONAL = builtin_rulebooks()["operational"]
IRIS = dataclasses.replace(OPERATIONAL, name="iris", return_ends_displacement=False)
FROZEN = dataclasses.replace(OFFICIAL, name="frozen", departures_move="none", site_attribution="location")
RULEBOOKS = (OFFICIAL, OPERATIONAL, IRIS, FROZEN)
PAIRS = (
    (OFFICIAL, OPERATIONAL),
    (OPERATIONAL, OFFICIAL),
    (OFFICIAL, IRIS),
    (IRIS, OPERATIONAL),
    (FROZEN, OFFICIAL),
)

SITES = {
    "CHAMISHKU": SiteInfo("CHAMISHKU", "Chamishku", "camp", "IQG09Q04"),
    "ESYAN": SiteInfo("ESYAN", "Esyan", "camp", "IQG15Q06", "IQG09"),
    "KHANKE": SiteInfo("KHANKE", "Khanke", "camp", "IQG09Q02N01"),
}
PCODES = ("IQG15Q07", "IQG15Q02", "IQG09Q04", "IQG01Q01N02")
START = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)
FEW_DATES = tuple(dt.date(year, 1, 1) for year in (2010, 2014, 2015, 2020, 2026))

dates = st.one_of(st.sampled_from(FEW_DATES), st.dates(dt.date(2005, 1, 1), dt.date(2026, 5, 1)))
registries = st.sampled_from(("official", "operational"))
members = st.integers(1, 12)


def _registration(registry: str, place: dict, size: int, displaced: dt.date | None) -> dict:
    return {
        "registry": registry,
        "registration_ref": f"REF-{registry}",
        "members": size,
        "displaced_on": displaced,
        **place,
    }


def _departure(destination: tuple, origin: str, letter: str | None, round_id: str | None) -> dict:
    pathway, to_pcode, to_site_id = destination
    return {
        "from_site_id": origin,
        "pathway": pathway,
        "to_pcode": to_pcode,
        "to_site_id": to_site_id,
        "departure_letter_ref": letter,
        "round_id": round_id,
    }


site_ids = st.sampled_from(sorted(SITES))
pcodes = st.sampled_from(PCODES)
REGISTRATION = st.builds(
    _registration,
    registries,
    st.one_of(
        st.builds(lambda s: {"site_id": s}, site_ids), st.builds(lambda p: {"location_pcode": p}, pcodes)
    ),
    members,
    st.one_of(st.none(), st.dates(dt.date(2005, 1, 1), dt.date(2020, 12, 31))),
)
DEPARTURE = st.builds(
    _departure,
    st.one_of(
        st.tuples(st.sampled_from(("return", "relocation", "local_integration")), pcodes, st.none()),
        st.tuples(st.just("relocation"), st.none(), site_ids),
    ),
    site_ids,
    st.one_of(st.none(), st.just("L-1")),
    st.one_of(st.none(), st.just("R1")),
)
# (type, fields without household_id); a void's target is drawn once the history so far is known.
HOUSEHOLD_FACT = st.one_of(
    st.tuples(st.just("household_registered"), REGISTRATION),
    st.tuples(st.just("household_departed"), DEPARTURE),
    st.tuples(
        st.just("composition_changed"),
        st.builds(lambda r, m: {"registry": r, "members": m, "reason": "birth"}, registries, members),
    ),
    st.tuples(
        st.just("registration_closed"), st.builds(lambda r: {"registry": r, "reason": "other"}, registries)
    ),
    st.tuples(st.just("household_reentered"), st.builds(lambda s: {"site_id": s}, site_ids)),
    st.tuples(st.just("returnee_registered"), st.builds(lambda p: {"pcode": p}, pcodes)),
    st.tuples(st.just("grant_disbursed"), st.just({"amount_iqd": 4_000_000})),
    st.tuples(st.just("fact_voided"), st.just({})),
)


@st.composite
def histories(draw: st.DrawFn) -> dict[str, list[FactRecord]]:
    """Facts of 1–3 households, interleaved in one recorded order; voids target earlier facts."""
    household_ids = [f"H{n}" for n in range(1, draw(st.integers(1, 3)) + 1)]
    households: dict[str, list[FactRecord]] = {hid: [] for hid in household_ids}
    for position in range(1, draw(st.integers(1, 14)) + 1):
        hid = draw(st.sampled_from(household_ids))
        kind, fields = draw(HOUSEHOLD_FACT)
        data = {"household_id": hid, **{k: v for k, v in fields.items() if v is not None}}
        if kind == "fact_voided":
            targets = [fact.source_id for fact in households[hid] if fact.type != "fact_voided"]
            if not targets:
                continue
            data = {"voided_source_id": draw(st.sampled_from(targets)), "reason": "error"}
        households[hid].append(
            FactRecord(
                position=position,
                recorded_at=START + dt.timedelta(minutes=position),
                source_id=f"S{position}",
                type=kind,
                subject_id=hid,
                effective_on=draw(dates),
                data=data,
            )
        )
    return households


def as_of_dates(facts: Sequence[FactRecord]) -> list[dt.date]:
    """Every date where something can change, and the day before it, and both ends."""
    days = {dt.date(2004, 12, 31), dt.date(2026, 5, 1)}
    for fact in facts:
        days |= {fact.effective_on, fact.effective_on - dt.timedelta(days=1)}
    return sorted(days)


def known_at_times(facts: Sequence[FactRecord]) -> list[dt.datetime | None]:
    times: list[dt.datetime | None] = [None, START]
    for fact in facts:
        times += [fact.recorded_at, fact.recorded_at - dt.timedelta(seconds=30)]
    return times


def lookup(rows: Sequence[BitemporalRow], as_of: dt.date, known_at: dt.datetime | None) -> HouseholdState:
    """The SQL view's lookup, written out: at most one row may cover (D, K)."""
    matching = [
        row.state
        for row in rows
        if row.valid_from <= as_of
        and (row.valid_to is None or as_of < row.valid_to)
        and (known_at is None or row.recorded_from <= known_at)
        and (
            row.recorded_to is None
            if known_at is None
            else (row.recorded_to is None or known_at < row.recorded_to)
        )
    ]
    assert len(matching) <= 1, matching
    return matching[0] if matching else NOT_REGISTERED


PROPERTY_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY_SETTINGS
@given(histories())
def test_bitemporal_rows_give_the_folds_state_for_every_as_of_date_and_known_at_time(
    households: dict[str, list[FactRecord]],
) -> None:
    for facts in households.values():
        for rulebook in RULEBOOKS:
            rows = bitemporal_rows(facts, rulebook)
            assert all(row.state != NOT_REGISTERED for row in rows)
            folded: dict[tuple, HouseholdState] = {}
            for known_at in known_at_times(facts):
                # K just before a recording sees what the previous one saw: fold each version once.
                known = tuple(f.position for f in facts if known_at is None or f.recorded_at <= known_at)
                for as_of in as_of_dates(facts):
                    if (known, as_of) not in folded:
                        folded[known, as_of] = state_at(facts, rulebook, as_of, known_at)
                    expected = folded[known, as_of]
                    assert lookup(rows, as_of, known_at) == expected, (rulebook.name, as_of, known_at)


def _check_bridge(
    households: dict[str, list[FactRecord]],
    left: Rulebook,
    right: Rulebook,
    as_of: dt.date,
    known_at: dt.datetime | None,
) -> None:
    for level in LEVELS:
        bridge = reconcile_pure(households, left, right, as_of, known_at, level, SITES)
        check_identity(bridge)
        left_figures = tally(households, left, as_of, known_at, level, SITES)
        right_figures = tally(households, right, as_of, known_at, level, SITES)
        for row in bridge.rows:
            assert row.left == left_figures.get((row.status, row.place), row.left.__class__())
            assert row.right == right_figures.get((row.status, row.place), row.right.__class__())
        assert {(r.status, r.place) for r in bridge.rows if r.left.households} == set(left_figures)
        assert {(r.status, r.place) for r in bridge.rows if r.right.households} == set(right_figures)


@PROPERTY_SETTINGS
@given(histories(), st.data())
def test_the_bridge_adds_up_in_every_row_at_every_level(
    households: dict[str, list[FactRecord]], data: st.DataObject
) -> None:
    all_facts = [fact for facts in households.values() for fact in facts]
    as_of = data.draw(st.sampled_from(as_of_dates(all_facts)))
    known_at = data.draw(st.sampled_from(known_at_times(all_facts)))
    for left, right in PAIRS:
        _check_bridge(households, left, right, as_of, known_at)


@PROPERTY_SETTINGS
@given(histories())
def test_official_and_operational_figures_never_differ_unexplained(
    households: dict[str, list[FactRecord]],
) -> None:
    all_facts = [fact for facts in households.values() for fact in facts]
    for known_at in (None, *(fact.recorded_at for fact in all_facts)):
        for as_of in as_of_dates(all_facts):
            for facts in households.values():
                official = state_at(facts, OFFICIAL, as_of, known_at)
                operational = state_at(facts, OPERATIONAL, as_of, known_at)
                for level in LEVELS:
                    for left, right, left_rb, right_rb in (
                        (official, operational, OFFICIAL, OPERATIONAL),
                        (operational, official, OPERATIONAL, OFFICIAL),
                    ):
                        reason = classify(left, right, left_rb, right_rb, level, SITES)
                        assert reason != "unexplained", (left, right, level)
