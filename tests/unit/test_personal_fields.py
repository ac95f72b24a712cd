"""Personal fields at the edge (issue 13): accepted as real fields, never part of what the
ledger stores; free text bounded and refused when it looks like a phone or an ID number."""

from __future__ import annotations

from pathlib import Path

import pytest

from ledger.catalogue import parse_fact
from ledger.errors import InvalidFactError, StoreError
from ledger.vault import document_hash
from ledger.vault_keys import MasterKey, VaultSettings, new_key
from tests.factdicts import composition, registration, site, voided

PERSONAL = {"head_name": "Xarazade Qendilova", "head_sex": "female", "head_birth_year": "1983",
            "phone": 9647512468013, "id_document_type": "national_id",
            "id_document_number": 199012345678, "members_names": ["Hevin", "Rojan"]}


def test_personal_fields_are_fields_of_the_registration_but_not_of_what_is_stored() -> None:
    fact = parse_fact(registration("H1", source_id="r1", **PERSONAL))
    assert fact.personal_data()["phone"] == "9647512468013"  # a spreadsheet number read as digits
    stored = fact.without_personal("ab" * 32)
    assert stored.personal_data() == {}
    assert set(PERSONAL).isdisjoint(stored.fields())
    assert stored.fields()["id_document_hash"] == "ab" * 32
    assert b"Xarazade" not in stored.canonical()
    plain = parse_fact(registration("H1", source_id="r1"))
    assert fact.canonical() == plain.canonical()  # personal fields take no part in "same content"


def test_composition_changes_accept_personal_fields_too() -> None:
    fact = parse_fact(composition("H1", members_names=["A B"]))
    assert fact.personal_data() == {"members_names": ["A B"]}


@pytest.mark.parametrize(("fields", "field"), [
    ({"id_document_number": "123"}, "id_document_type"),
    ({"id_document_type": "driving_licence", "id_document_number": "1"}, "id_document_type"),
    ({"phone": "call me"}, "phone"),
    ({"head_birth_year": 3000}, "head_birth_year"),
    ({"id_document_hash": "ab" * 32}, "id_document_hash"),
])
def test_malformed_personal_fields_name_the_field(fields: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidFactError) as refused:
        parse_fact(registration("H1", **fields))
    assert refused.value.field == field


@pytest.mark.parametrize(("field", "value", "points_to"), [
    ("recorded_by", "Ahmed Ali Hassan, phone +964 750 123 4567", "phone"),
    ("recorded_by", "Ahmed 0750 123 4567", "phone"),
    ("recorded_by", "ahmed.hassan@example.org", "e-mail"),
    ("source_document", "copy of national ID 199012345678", "id_document_number"),
    ("source_document", "passport A12345678 seen", "id_document_number"),
    ("recorded_by", "x" * 81, "at most 80"),
    ("source_document", "x" * 201, "at most 200"),
])
def test_free_text_that_looks_personal_or_is_too_long_is_refused(field: str, value: str,
                                                                 points_to: str) -> None:
    with pytest.raises(InvalidFactError, match=points_to):
        parse_fact(registration("H1", **{field: value}))


@pytest.mark.parametrize("value", ["UNHCR/IOM CCCM (KoboToolbox)", "user:ahmed.k", "MoMD Duhok",
                                   "KoboToolbox form aRegForm2026, submission 312345678",
                                   "FVM manifest R-2026-03", "MoMD letter 2026/0412 of 2026-03-14"])
def test_organisations_user_ids_and_document_references_pass(value: str) -> None:
    assert parse_fact(registration("H1", recorded_by=value[:80], source_document=value))


def test_reasons_and_site_names_are_bounded_and_checked() -> None:
    with pytest.raises(InvalidFactError, match="phone"):
        parse_fact(voided("x-1", reason="called the head on +964 750 123 4567"))
    with pytest.raises(InvalidFactError, match="at most 300"):
        parse_fact(voided("x-1", reason="r" * 301))
    with pytest.raises(InvalidFactError, match="at most 120"):
        parse_fact(site("KHANKE", name="n" * 121))


def test_the_document_hash_is_keyed_and_ignores_the_numbers_formatting() -> None:
    master = MasterKey.parse(new_key(), "test")
    same = document_hash(master.linking, "passport", "ZK-883-0417")
    assert same == document_hash(master.linking, "passport", "zk 883 0417")
    assert same != document_hash(master.linking, "national_id", "ZK8830417")
    other = MasterKey.parse(new_key(), "test")
    assert same != document_hash(other.linking, "passport", "ZK8830417")


def test_the_master_key_is_32_bytes_of_base64_or_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="ledger vault new-key"):
        VaultSettings.from_env({"LEDGER_VAULT_KEY": "c2hvcnQ="})
    path = tmp_path / "key"
    path.write_text(new_key() + "\n")
    assert VaultSettings.from_env({"LEDGER_VAULT_KEY_FILE": str(path), "LEDGER_USER": "me"}).master
    assert VaultSettings.from_env({}).master is None
