"""ISSUE 12 item 1: every fact type of the catalogue is recordable, importable and folded.

Each entry needs an example here (``EXAMPLES``: what must be recorded before it, and the fact
itself); a new fact type without one fails ``test_every_fact_type_has_an_example``, which is the
reminder docs/adding-a-fact-type.md points to. With it, the fact type must be:

* **recordable**: the service records it on the in-memory store (after its prerequisites), as
  one event on the catalogue's aggregate, indexed under the catalogue's subject and household;
* **importable**: the facts users give read back from a .jsonl file, a field-named .csv and an
  HXL-tagged .csv (every field has a hashtag) as the same fact; the ones only the ledger records
  are refused from files, naming the command that records them;
* **folded**: the fold says what it does with it (``projections.fold.FOLDED``/``NOT_FOLDED``),
  and does it: a folded fact changes the household's state under some rulebook, any other
  leaves every state as it was.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from ledger import catalogue, fact_kinds
from ledger.application import LedgerService
from ledger.catalogue import CATALOGUE, FIELDS, tag_of_field
from ledger.catalogue import parse_fact as parse
from ledger.domain.base import FactAggregate
from ledger.domain.departure_round import DepartureRound
from ledger.domain.rulebook import RulebookDefinition
from ledger.domain.site import Site
from ledger.errors import InvalidFactError
from ledger.readers import open_source
from ledger.reported import ReportedReader
from ledger.store.memory import MemoryFactStore
from ledger.store.reading import FactRecord, decode
from projections.fold import FOLDED, NOT_FOLDED, state_at
from projections.rulebooks import builtin_rulebooks, parse_rulebook
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

IRIS = parse_rulebook('name = "iris"\nregistry = "operational"\ncaseload_start = 2014-01-01\n'
                      'departures_move = "all"\nreentry_counts = true\nreturnee_registration_counts '
                      '= false\nsite_attribution = "location"\nreturn_ends_displacement = false\n', "iris")
BOOKS = [*builtin_rulebooks().values(), IRIS]
BASE = [site("CHAMISHKU", source_id="site-C"), site("ESYAN", source_id="site-E"),
        registration("H1", source_id="reg-H1"),
        registration("H1", registry="operational", source_id="reg-H1-ope"),
        round_planned("R1", source_id="plan-R1")]
MANIFESTED = manifested("H1", source_id="man-H1")
DEPARTED = departure("H1", source_id="dep-H1")
RULEBOOK_TEXT = 'name = "iris"\n'
PUBLISHED = {"type": "figure_published", "source_id": "FIG-1", "effective_on": "2026-05-02",
             "figure_id": "FIG-1", "rulebook": "official", "level": "cell", "as_of": "2026-05-01",
             "known_at": "2026-05-02T10:00:00+00:00", "ledger_digest": "a" * 64,
             "head_position": 5, "values": [{"status": "idp_in_camp", "place": "CHAMISHKU",
                                             "households": 1, "individuals": 6}]}

# fact type -> (what is recorded before it, the fact)
EXAMPLES: dict[str, tuple[list[dict[str, Any]], dict[str, Any]]] = {
    "site_registered": ([], site("KABARTO", name="Kabarto 1", location_pcode="IQG09Q02",
                                 source_document="CCCM site list")),
    "site_closed": ([], fact("site_closed", site_id="ESYAN", effective_on="2020-12-01")),
    "household_registered": ([], registration("H1", site_id="ESYAN", members=7, female=4, male=3,
                                              children=3, effective_on="2016-01-01")),
    "composition_changed": ([], composition("H1", members=8)),
    "household_departed": ([MANIFESTED], departure("H1", round_id="R1", departure_letter_ref="L-1")),
    "household_reentered": ([DEPARTED], reentry("H1")),
    "returnee_registered": ([], fact("returnee_registered", household_id="H1", pcode="IQG15Q07",
                                     effective_on="2026-01-10")),
    "grant_disbursed": ([], fact("grant_disbursed", household_id="H1", amount_iqd=4_000_000,
                                 effective_on="2026-01-25")),
    "registration_closed": ([], fact("registration_closed", household_id="H1", registry="official",
                                     reason="duplicate", effective_on="2020-01-01")),
    "round_planned": ([], round_planned("R2", from_site_ids=["CHAMISHKU", "ESYAN"],
                                        destination_pcodes=["IQG15Q07", "IQG15Q02"])),
    "household_manifested": ([], manifested("H1")),
    "household_withdrawn": ([MANIFESTED], withdrawn("H1")),
    "round_closed": ([], fact("round_closed", round_id="R1", effective_on="2026-03-01")),
    "fact_voided": ([DEPARTED], voided("dep-H1")),
    "personal_data_erased": ([], fact("personal_data_erased", household_id="H1",
                                      reason="request R-1", effective_on="2026-05-03")),
    "figure_published": ([], PUBLISHED),
    "figure_reported": ([], {"type": "figure_reported", "source_id": "dtm-1", "source": "DTM",
                             "dataset": "DTM Master List Round 13", "as_of": "2026-04-30",
                             "place": "CHAMISHKU", "households": 3, "individuals": 19}),
    "figure_retracted": ([PUBLISHED], fact("figure_retracted", figure_id="FIG-1", reason="typo",
                                           effective_on="2026-05-03")),
    "rulebook_defined": ([], fact("rulebook_defined", rulebook="iris", version=1,
                                  definition=RULEBOOK_TEXT, effective_on="2026-05-01",
                                  digest=hashlib.sha256(RULEBOOK_TEXT.encode()).hexdigest())),
}
NAMES = list(CATALOGUE.names)


def internal(name: str) -> bool:
    return CATALOGUE[name].internal is not None


def recorded(*facts: dict[str, Any]) -> LedgerService:
    service = LedgerService(MemoryFactStore())
    for data in facts:
        outcome = service.record(parse(data, internal=internal(data["type"])))
        assert outcome.status == "recorded", (data, outcome)
    return service


def test_every_fact_type_has_an_example() -> None:
    assert set(EXAMPLES) == set(CATALOGUE.names)


def test_every_field_has_help_and_every_list_field_is_a_list() -> None:
    for entry in CATALOGUE:
        for name in entry.fields:
            assert FIELDS[name].help.strip(), name
    assert CATALOGUE.list_fields == {"from_site_ids", "destination_pcodes", "members_names"}


@pytest.mark.parametrize("name", NAMES)
def test_every_fact_type_is_recordable(name: str) -> None:
    entry = CATALOGUE[name]
    before, data = EXAMPLES[name]
    service = recorded(*BASE, *before)
    store = service.store
    assert isinstance(store, MemoryFactStore)

    outcome = service.record(parse(data, internal=internal(name)))

    assert outcome.status == "recorded", outcome
    position, stored, meta = store.log[-1]
    assert meta is not None
    assert (position, meta.fact_type, meta.source_id) == (outcome.position, name, data["source_id"])
    aggregate = store.load([stored.originator_id])[stored.originator_id]  # type: ignore[index]
    expected_class: type[FactAggregate] | None = entry.aggregate
    if expected_class is None:  # a void is recorded on the voided fact's aggregate
        expected_class = CATALOGUE[store.sources[data["voided_source_id"]].fact_type].aggregate
    assert isinstance(aggregate, expected_class)
    assert stored.topic.startswith("ledger:")
    if entry.aggregate is not None:
        assert meta.subject_id == entry.subject_of(parse(data, internal=internal(name)))
    about_household = name in CATALOGUE.about_households() or name == "fact_voided"
    assert meta.household_id == ("H1" if about_household else None)


@pytest.mark.parametrize("name", NAMES)
def test_every_event_carries_exactly_its_classs_fields(name: str) -> None:
    """Events are built directly (ledger.domain.base.built), not by the dataclass's __init__:
    what a fact's event stores must be what its class declares, no field more or less."""
    before, data = EXAMPLES[name]
    service = recorded(*BASE, *before, data)
    store = service.store
    assert isinstance(store, MemoryFactStore)

    event = store.mapper.to_domain_event(store.log[-1][1])

    assert set(vars(event)) == {f.name for f in dataclasses.fields(event)}


def _write_csv(path: Path, rows: list[list[Any]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def _cell(value: Any) -> Any:
    return ";".join(value) if isinstance(value, list) else value


def _read(path: Path) -> list[Any]:
    records = list(open_source(path).records)
    assert all(r.error is None for r in records), [r.error for r in records]
    return [parse(r.fields) for r in records]


@pytest.mark.parametrize("name", [n for n in NAMES if not internal(n)])
def test_every_fact_type_users_give_is_importable(name: str, tmp_path: Path) -> None:
    data = EXAMPLES[name][1]
    expected = parse(data)
    fields = list(data)
    jsonl = tmp_path / "facts.jsonl"
    jsonl.write_text(json.dumps(data) + "\n", encoding="utf-8")
    named = _write_csv(tmp_path / "facts.csv", [fields, [_cell(data[f]) for f in fields]])

    assert _read(jsonl) == [expected]
    if name == "figure_reported":  # a table of figures comes in through `ledger import --reported`
        _assert_reported_table_reads_back(expected, tmp_path)
        return
    assert _read(named) == [expected]
    tagged = _write_csv(tmp_path / "facts.hxl.csv",
                        [[f.replace("_", " ").title() for f in fields],
                         [tag_of_field(f) for f in fields], [_cell(data[f]) for f in fields]])
    assert _read(tagged) == [expected]


def _assert_reported_table_reads_back(expected: Any, tmp_path: Path) -> None:
    table = _write_csv(tmp_path / "figures.hxl.csv", [
        ["Camp", "Reporting date", "IDP families", "IDP individuals"],
        ["#loc+code", "#date+reported", "#affected+idps+hh", "#affected+idps+ind"],
        [expected.place, expected.as_of.isoformat(), expected.households, expected.individuals]])
    reader = ReportedReader(table, source=expected.source, dataset=expected.dataset, as_of=None,
                            sites={"CHAMISHKU": "CHAMISHKU"})
    (record,) = list(reader.records())
    read_back = parse(record.fields)
    assert read_back.model_dump(exclude={"source_id"}) == expected.model_dump(exclude={"source_id"})


@pytest.mark.parametrize("name", [n for n in NAMES if internal(n)])
def test_facts_only_the_ledger_records_are_refused_from_files(name: str) -> None:
    with pytest.raises(InvalidFactError, match=f"recorded only by `{CATALOGUE[name].internal}`"):
        parse(EXAMPLES[name][1])


def _records(service: LedgerService) -> list[FactRecord]:
    """The household H1's stored facts, as the read side decodes them."""
    store = service.store
    assert isinstance(store, MemoryFactStore)
    start = dt.datetime(2026, 5, 4, tzinfo=dt.UTC)
    return [decode((position, start + dt.timedelta(microseconds=position), meta.source_id,
                    meta.fact_type, meta.subject_id, meta.effective_on, stored.state,
                    meta.household_id))
            for position, stored, meta in store.log if meta is not None and meta.household_id == "H1"]


def _states(service: LedgerService) -> list[Any]:
    facts = _records(service)
    return [state_at(facts, book, dt.date(2026, 5, 1)) for book in BOOKS]


@pytest.mark.parametrize("name", NAMES)
def test_every_fact_type_is_folded_or_said_to_change_no_state(name: str) -> None:
    before, data = EXAMPLES[name]
    assert (name in FOLDED) != (name in NOT_FOLDED)
    without = recorded(*BASE, *before)
    with_it = recorded(*BASE, *before, data)

    changed = _states(without) != _states(with_it)

    assert changed == (name in FOLDED or name == "fact_voided"), name


def test_the_fold_names_only_fact_types_of_the_catalogue() -> None:
    assert set(CATALOGUE.names) == FOLDED | NOT_FOLDED


def test_the_read_sides_fact_kinds_are_the_catalogues(monkeypatch: pytest.MonkeyPatch) -> None:
    """``ledger.fact_kinds`` names the site, round and rulebook facts for the read side, which
    does not load the catalogue; the catalogue refuses to load when they disagree."""
    for aggregate, named in ((Site, fact_kinds.SITE_FACTS), (DepartureRound, fact_kinds.ROUND_FACTS),
                             (RulebookDefinition, fact_kinds.RULEBOOK_FACTS)):
        assert tuple(e.name for e in CATALOGUE if e.aggregate is aggregate) == named

    monkeypatch.setattr(fact_kinds, "SITE_FACTS", ("site_registered",))
    with pytest.raises(TypeError, match=r"ledger\.fact_kinds\.SITE_FACTS"):
        catalogue._check_fact_kinds()
