"""scripts/generate: deterministic for a seed, valid facts in a valid order, national totals.

The totals are judged through the pure reference (``projections.bridge.reconcile_pure``) on the
generated facts, with recorded order = file order, so no database is needed.
"""

from __future__ import annotations

import datetime as dt
import importlib.machinery
import importlib.util
import io
import sys
from collections import defaultdict
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import orjson

from ledger.catalogue import HOUSEHOLD_FACTS, parse_fact
from ledger.store.reading import FactRecord
from projections.bridge import Bridge, SiteInfo, check_identity, reconcile_pure
from projections.rulebooks import builtin_rulebooks

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "generate"
UNTIL = dt.date(2026, 6, 30)
COMMON = {"type", "source_id", "effective_on", "recorded_by", "source_document"}


@cache
def load_generator() -> ModuleType:
    """The script (no .py suffix, not a package module) loaded as a module."""
    loader = importlib.machinery.SourceFileLoader("ledger_generate_script", str(SCRIPT))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[loader.name] = module  # dataclasses look their module up while it executes
    loader.exec_module(module)
    return module


@cache
def generated(households: int, seed: int) -> bytes:
    out = io.BytesIO()
    load_generator().generate(out, households, seed, UNTIL)
    return out.getvalue()


def facts_of(data: bytes) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in data.splitlines()]


def national_bridge(data: bytes) -> Bridge:
    """The official/operational bridge at the end of the data, recorded order = file order."""
    base = dt.datetime(2026, 7, 1, tzinfo=dt.UTC)
    households: dict[str, list[FactRecord]] = defaultdict(list)
    owner: dict[str, str] = {}
    sites: dict[str, SiteInfo] = {}
    for position, raw in enumerate(facts_of(data), 1):
        fact = parse_fact(raw)
        fields = fact.model_dump(exclude=COMMON, exclude_none=True)
        if fact.type == "site_registered":
            sites[fields["site_id"]] = SiteInfo(fields["site_id"], fields["name"], fields["kind"],
                                                fields["location_pcode"], fields.get("authority_adm1"))
            continue
        household = fields.get("household_id") or owner.get(fields.get("voided_source_id", ""))
        if household is None:
            continue
        owner[fact.source_id] = household
        households[household].append(FactRecord(
            position, base + dt.timedelta(microseconds=position), fact.source_id, fact.type,
            household, fact.effective_on, fields))
    books = builtin_rulebooks()
    return reconcile_pure(households, books["official"], books["operational"], UNTIL, None,
                          "national", sites)


def idp_individuals(bridge: Bridge, side: str) -> int:
    return sum(getattr(row, side).individuals for row in bridge.rows if row.status.startswith("idp_"))


def test_the_same_seed_gives_the_same_file_and_another_seed_another() -> None:
    first = generated(300, 11)
    again = io.BytesIO()
    load_generator().generate(again, 300, 11, UNTIL)
    assert again.getvalue() == first
    assert generated(300, 12) != first


def test_every_generated_fact_is_well_formed_and_its_source_id_unique() -> None:
    facts = facts_of(generated(1500, 3))
    for raw in facts:
        parse_fact(raw)  # raises InvalidFactError on any malformed fact
    source_ids = [f["source_id"] for f in facts]
    assert len(source_ids) == len(set(source_ids))
    assert {f["type"] for f in facts} >= {
        "site_registered", "site_closed", "household_registered", "composition_changed",
        "household_departed", "household_reentered", "returnee_registered", "grant_disbursed",
        "registration_closed", "round_planned", "household_manifested", "household_withdrawn",
        "round_closed", "fact_voided",
    }


def test_facts_come_in_a_recordable_order_with_late_facts_among_them() -> None:
    facts = facts_of(generated(1500, 3))
    types = [f["type"] for f in facts]
    last_site = max(i for i, t in enumerate(types) if t == "site_registered")
    first_household = min(i for i, t in enumerate(types) if t in HOUSEHOLD_FACTS)
    assert last_site < first_household
    registered: set[str] = set()
    voidable: set[str] = set()
    departed: set[str] = set()
    for fact in facts:
        household = fact.get("household_id")
        if fact["type"] == "household_registered":
            registered.add(household)
        elif household is not None and fact["type"] != "round_planned":
            assert household in registered, fact
        if fact["type"] == "household_departed":
            departed.add(household)
        if fact["type"] == "household_reentered":
            assert household in departed, fact
        if fact["type"] == "fact_voided":
            assert fact["voided_source_id"] in voidable, fact
        voidable.add(fact["source_id"])
    dated = [dt.date.fromisoformat(f["effective_on"]) for f in facts]
    latest, late = dated[0], 0
    for day in dated[1:]:
        late += day < latest
        latest = max(latest, day)
    assert late > 0, "some facts must be dated before facts already recorded"


def test_no_fact_is_dated_after_until_nor_before_2006() -> None:
    for fact in facts_of(generated(1500, 3)):
        assert fact["effective_on"] <= UNTIL.isoformat()
        if "displaced_on" in fact:
            assert fact["displaced_on"] >= "2006-01-01"


def test_official_counts_about_one_point_seven_times_the_operational_idps() -> None:
    bridge = national_bridge(generated(4000, 2014))
    check_identity(bridge)
    official, operational = idp_individuals(bridge, "left"), idp_individuals(bridge, "right")
    assert 1.55 <= official / operational <= 1.85
    # scaled to the default 300,000 households: ~1.7 million and ~1.0 million
    assert 1.5e6 <= official * 300_000 / 4000 <= 1.9e6
    assert 0.85e6 <= operational * 300_000 / 4000 <= 1.15e6


def test_the_national_gap_is_mostly_pre_cutoff_displacement() -> None:
    bridge = national_bridge(generated(4000, 2014))
    by_reason: dict[str, int] = defaultdict(int)
    for row in bridge.rows:
        for reason, figure in row.reasons.items():
            by_reason[reason] += figure.individuals
    gap = idp_individuals(bridge, "left") - idp_individuals(bridge, "right")
    assert max(by_reason, key=lambda r: abs(by_reason[r])) == "pre_cutoff_displacement"
    assert by_reason["pre_cutoff_displacement"] > 0.5 * gap
    assert "unexplained" not in by_reason
