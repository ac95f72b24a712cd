"""Personal data (issue 13) through the service, on SQLite and PostgreSQL: the vault keeps them
encrypted, the ledger never sees them, reading is logged, erasure shreds the key and leaves
every figure and the chain as they were."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.exceptions import InvalidTag

from ledger import people
from ledger.catalogue import parse_fact
from ledger.errors import InvalidFactError, SourceConflictError
from ledger.importing import import_file
from ledger.store import vault_tables
from ledger.store.settings import StoreSettings
from ledger.vault import check_erased_unreadable, decrypt, unwrap
from ledger.vault_keys import MasterKey, VaultSettings, new_key
from ledger.workspace import Workspace
from projections.queries import reconcile, show
from projections.verify import verify
from tests.conftest import init_store

SITE = {"type": "site_registered", "source_id": "site-khanke", "effective_on": "2025-12-01",
        "site_id": "KHANKE", "name": "Khanke", "kind": "camp", "location_pcode": "IQG09Q04"}
PEOPLE = [
    {"head_name": "Xarazade Qendilova", "phone": "+964 751 246 8013", "id_document_type": "passport",
     "id_document_number": "QX4471902", "members_names": "Hevin Qendilova;Rojan Qendilova"},
    {"head_name": "Mirzo Baravikov", "phone": "+964 770 918 3354", "id_document_type": "passport",
     "id_document_number": "ZK-883-0417", "members_names": "Pervin Baravikova"},
]
SECRETS = ["Xarazade Qendilova", "+964 751 246 8013", "QX4471902", "Hevin Qendilova", "Mirzo Baravikov",
           "ZK-883-0417", "Pervin Baravikova", "770 918 3354"]


@pytest.fixture
def key() -> str:
    return new_key()


@pytest.fixture
def ws(store_settings: StoreSettings, key: str) -> Iterator[Workspace]:
    init_store(store_settings)
    workspace = Workspace(store_settings, VaultSettings(MasterKey.parse(key, "test"), "pm-officer-2"))
    workspace.record(parse_fact(SITE))
    yield workspace
    workspace.close()


def registration_csv(path: Path, registry: str = "official", prefix: str = "H",
                     people_rows: list[dict[str, str]] = PEOPLE) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["type", "source_id", "effective_on", "household_id", "registry",
                         "registration_ref", "site_id", "members", *people_rows[0].keys()])
        for n, person in enumerate(people_rows, start=1):
            writer.writerow(["household_registered", f"{registry}-{n}", "2026-01-10", f"{prefix}{n}",
                             registry, f"REF-{registry}-{n}", "KHANKE", 4, *person.values()])
    return path


def registration(household_id: str, **personal: str) -> dict[str, Any]:
    return {"type": "household_registered", "source_id": f"r-{household_id}",
            "effective_on": "2026-01-10", "household_id": household_id, "registry": "official",
            "registration_ref": f"REF-{household_id}", "site_id": "KHANKE", "members": 2, **personal}


def every_stored_value(ws: Workspace) -> list[bytes]:
    """Every value of every table of the store, by raw SQL behind the ledger's back."""
    values: list[bytes] = []
    with ws.db.cursor() as cur:
        if ws.db.is_postgres:
            tables = [r[0] for r in cur.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (ws.settings.schema,)).fetchall()]
        else:
            tables = [r[0] for r in cur.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        assert {"vault_records", "vault_keys", "vault_access_log", "ledger_facts"} <= set(tables)
        for table in tables:
            for row in cur.execute(f'SELECT * FROM "{table}"').fetchall():
                values += [bytes(v) if isinstance(v, bytes | memoryview) else str(v).encode() for v in row]
    if not ws.db.is_postgres:
        path = ws.settings.sqlite_path
        assert path is not None
        values += [p.read_bytes() for p in path.parent.glob(path.name + "*")]
    return values


def clear_secrets(blobs: list[bytes]) -> set[str]:
    return {s for s in SECRETS if any(s.encode().lower() in b.lower() for b in blobs)}


def test_personal_fields_go_to_the_vault_and_no_table_holds_them_in_clear(
        ws: Workspace, tmp_path: Path) -> None:
    source = registration_csv(tmp_path / "list.csv")
    assert import_file(ws.record_many, source).recorded == 2
    again = import_file(ws.record_many, source)
    assert (again.already_recorded, again.rejected) == (2, 0)
    assert clear_secrets(every_stored_value(ws)) == set()
    with ws.db.cursor() as cur:
        assert cur.execute("SELECT count(*) FROM vault_records").fetchone() == (2,)
    shown = people.show(ws, "H2", "case follow-up")
    assert shown["records"][0]["fields"]["id_document_number"] == "ZK-883-0417"
    assert shown["records"][0]["fields"]["members_names"] == ["Pervin Baravikova"]


def test_the_scan_finds_a_value_written_in_clear(ws: Workspace) -> None:
    ws.vault.log_access("read", "H1", SECRETS[0])
    assert clear_secrets(every_stored_value(ws)) == {SECRETS[0]}


def test_the_same_source_with_other_personal_values_is_a_conflict(ws: Workspace, tmp_path: Path) -> None:
    import_file(ws.record_many, registration_csv(tmp_path / "list.csv"))
    changed = [dict(PEOPLE[0], head_name="Someone Else"), PEOPLE[1]]
    report = import_file(ws.record_many, registration_csv(tmp_path / "changed.csv", people_rows=changed))
    assert (report.already_recorded, report.rejected) == (1, 1)
    assert "other personal fields" in report.first_rejections[0]["error"]
    with pytest.raises(SourceConflictError):
        ws.record(parse_fact({"type": "household_registered", "source_id": "official-1",
                              "effective_on": "2026-01-10", "household_id": "H1", "registry": "official",
                              "registration_ref": "REF-official-1", "site_id": "KHANKE", "members": 4,
                              "head_name": "Another Name"}))


def test_without_a_master_key_personal_fields_are_refused_and_the_rest_works(
        store_settings: StoreSettings, tmp_path: Path) -> None:
    init_store(store_settings)
    with Workspace(store_settings) as bare:
        bare.record(parse_fact(SITE))
        report = import_file(bare.record_many, registration_csv(tmp_path / "list.csv"))
        assert report.rejected == 2
        assert "LEDGER_VAULT_KEY" in report.first_rejections[0]["error"]
        with pytest.raises(InvalidFactError, match="ledger vault new-key"):
            bare.record(parse_fact(registration("X1", phone="+964 750 000 1111")))
        assert bare.record(parse_fact(registration("X1"))).status == "recorded"


def test_the_same_document_in_both_registries_is_matched_by_its_keyed_hash_only(
        ws: Workspace, tmp_path: Path) -> None:
    import_file(ws.record_many, registration_csv(tmp_path / "official.csv"))
    other_format = [dict(p, id_document_number=p["id_document_number"].replace("-", " ").lower())
                    for p in PEOPLE]
    import_file(ws.record_many, registration_csv(tmp_path / "operational.csv", "operational", "OP",
                                                 other_format))
    found = ws.vault.matches()
    assert [(m["official_household_id"], m["operational_household_id"]) for m in found] == [
        ("H1", "OP1"), ("H2", "OP2")]
    with ws.db.cursor() as cur:
        states = [bytes(r[0]) for r in cur.execute(f"SELECT state FROM {ws.db.events_table}").fetchall()]
    in_facts = {json.loads(s).get("id_document_hash") for s in states} - {None}
    assert in_facts == {m["document_hash"] for m in found}
    people.erase(ws, "OP1", "erasure request")
    assert [m["operational_household_id"] for m in ws.vault.matches()] == ["OP2"]


def figures(ws: Workspace) -> list[Any]:
    ws.catch_up()
    results: list[Any] = [show(ws.views, r) for r in ("official", "operational")]
    results.append(reconcile(ws.views))
    with ws.db.cursor() as cur:
        results.append(cur.execute("SELECT * FROM view_states ORDER BY 1, 2, 3").fetchall())
    return [repr(r).replace(repr(getattr(r, "known_at", None)), "") for r in results]


def test_reads_are_logged_and_erasure_shreds_the_key_leaving_figures_and_chain_unchanged(
        ws: Workspace, tmp_path: Path, key: str) -> None:
    import_file(ws.record_many, registration_csv(tmp_path / "list.csv"))
    people.show(ws, "H1", "referral to legal aid")
    before, rulebooks = figures(ws), ws.views.rulebooks()
    with ws.db.cursor() as cur:
        chain_before = cur.execute("SELECT notification_id, chain_hash FROM ledger_facts "
                                   "ORDER BY notification_id").fetchall()

    erased = people.erase(ws, "H1", "erasure request ER-2026-07")

    assert erased["keys_destroyed"] == 1
    assert figures(ws) == before
    with ws.db.cursor() as cur:
        chain_after = cur.execute("SELECT notification_id, chain_hash, fact_type FROM ledger_facts "
                                  "ORDER BY notification_id").fetchall()
    assert [r[:2] for r in chain_after[:-1]] == chain_before
    assert chain_after[-1][2] == "personal_data_erased"
    result = verify(ws.db, rulebooks)
    assert (result.breaks, result.facts) == ([], len(chain_before) + 1)
    after = people.show(ws, "H1", "check the erasure")
    assert (after["records"], after["erased"]["reason"]) == ([], "erasure request ER-2026-07")
    assert people.erase(ws, "H1", "erasure request ER-2026-07")["already_erased"] is True
    assert [(e["who"], e["action"], e["household_id"], e["purpose"]) for e in ws.vault.access_log()] == [
        ("pm-officer-2", "read", "H1", "referral to legal aid"),
        ("pm-officer-2", "erase", "H1", "erasure request ER-2026-07"),
        ("pm-officer-2", "read", "H1", "check the erasure"),
        ("pm-officer-2", "erase", "H1", "erasure request ER-2026-07")]
    master = MasterKey.parse(key, "test")
    records = vault_tables.records_of(ws.db, "H1")
    assert records  # the ciphertext stays; no key left in the store opens it
    for wrapped in vault_tables.all_keys(ws.db):
        for record in records:
            with pytest.raises(InvalidTag):
                decrypt(unwrap(master, wrapped), record)
    assert check_erased_unreadable(master, ws.db, "H1")
    assert not check_erased_unreadable(master, ws.db, "H2")
    import_file(ws.record_many, registration_csv(tmp_path / "list.csv"))  # re-import: not stored again
    assert vault_tables.keys_of(ws.db, ["H1"]) == {}


def test_the_erased_key_leaves_no_copy_in_the_sqlite_file(sqlite_settings: StoreSettings, key: str,
                                                          tmp_path: Path) -> None:
    init_store(sqlite_settings)
    with Workspace(sqlite_settings, VaultSettings(MasterKey.parse(key, "test"), "u")) as ws:
        ws.record(parse_fact(SITE))
        import_file(ws.record_many, registration_csv(tmp_path / "list.csv"))
        wrapped = vault_tables.keys_of(ws.db, ["H1"])["H1"].wrapped_key
        assert any(wrapped in blob for blob in every_stored_value(ws))
        people.erase(ws, "H1", "erasure request")
        assert not any(wrapped in blob for blob in every_stored_value(ws))
