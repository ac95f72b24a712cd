"""Personal data (issue 13) through the `ledger` command, on SQLite and PostgreSQL.

A registration list with names, phones and ID numbers imports from CSV and a Kobo XLSX; no
personal value is anywhere in clear: every table (raw SQL), the raw SQLite files, every JSON
log line, every output and export. The service-level tests (tests/integration/
test_personal_data.py) cover erasure and matching in depth; these run the commands.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from openpyxl import Workbook

from ledger.store.db import Database
from ledger.store.settings import StoreSettings
from ledger.vault_keys import new_key
from tests.e2e.conftest import Cli, Result, assert_no_traceback, write_jsonl

SITES = [{"type": "site_registered", "source_id": "site-khanke", "effective_on": "2025-12-01",
          "site_id": "KHANKE", "name": "Khanke", "kind": "camp", "location_pcode": "IQG09Q04",
          "recorded_by": "CCCM cluster"}]
# Distinctive values: none of them may appear in clear anywhere but `people show`.
PEOPLE = [
    {"head_name": "Xarazade Qendilova", "phone": "+964 751 246 8013", "id_document_number": "QX4471902",
     "id_document_type": "passport", "members_names": "Hevin Qendilova;Rojan Qendilova",
     "head_sex": "female", "head_birth_year": "1983"},
    {"head_name": "Mirzo Baravikov", "phone": "+964 770 918 3354", "id_document_number": "ZK8830417",
     "id_document_type": "passport", "members_names": "Pervin Baravikova",
     "head_sex": "male", "head_birth_year": "1975"},
]
KOBO_PEOPLE = [
    {"head/head_name": "Tavgeen Shexanova", "head/phone": 9647503317786,
     "head/id_document_type": "civil_id", "head/id_document_number": 199204417731,
     "household/members_names": "Dilvin Shexanova", "head/head_sex": "f"},
]
SECRETS = [p[k] for p in PEOPLE for k in ("head_name", "phone", "id_document_number")] + [
    "Hevin Qendilova", "Rojan Qendilova", "Pervin Baravikova", "Tavgeen Shexanova", "9647503317786",
    "199204417731", "Dilvin Shexanova", "7512468013", "QX4471902".lower(),
]


class VaultCli(Cli):
    def __init__(self, url: str, cwd: Path, extra: dict[str, str]) -> None:
        super().__init__(url, cwd)
        self.extra = extra
        self.outputs: list[str] = []

    def env(self) -> dict[str, str]:
        return {**super().env(), **self.extra}

    def __call__(self, *args: str | Path, timeout: float = 120) -> Result:
        result = super().__call__(*args, timeout=timeout)
        self.outputs += [result.stdout, result.stderr]
        return result


@pytest.fixture
def key() -> str:
    return new_key()


@pytest.fixture
def vcli(store_settings: StoreSettings, tmp_path: Path, key: str) -> VaultCli:
    runner = VaultCli(store_settings.url, tmp_path, {"LEDGER_VAULT_KEY": key, "LEDGER_USER": "pm-officer-2",
                                                     "LEDGER_LOG_LEVEL": "debug"})
    runner.ok("init")
    runner.ok("import", write_jsonl(tmp_path / "sites.jsonl", SITES))
    return runner


def registration_csv(path: Path, registry: str = "official", prefix: str = "H") -> Path:
    header = ["type", "source_id", "effective_on", "household_id", "registry", "registration_ref",
              "site_id", "members", *PEOPLE[0].keys()]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for n, person in enumerate(PEOPLE, start=1):
            writer.writerow(["household_registered", f"{registry}-{n}", "2026-01-10", f"{prefix}{n}",
                             registry, f"REF-{registry}-{n}", "KHANKE", 4, *person.values()])
    return path


def kobo_xlsx(path: Path) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    columns = ["location/camp", "household/household_id", "household/registration_ref",
               "household/members", *KOBO_PEOPLE[0].keys(), "_id", "_uuid", "_submission_time",
               "_xform_id_string", "_index"]
    sheet.append(columns)
    for n, person in enumerate(KOBO_PEOPLE, start=1):
        sheet.append(["khanke", f"K{n}", f"CCCM-KHK-{n}", 3, *person.values(), 4100 + n,
                      f"6f1c2a1e-9a59-4c2e-9f0b-1a2b3c4d5e{n:02d}", "2026-02-01T06:05:49",
                      "aRegForm2026", n])
    workbook.save(path)
    return path


def stored_values(settings: StoreSettings) -> list[bytes]:
    """Every value of every table of the store, as bytes (raw SQL, behind the ledger's back)."""
    values: list[bytes] = []
    with Database(settings) as db, db.cursor() as cur:
        if db.is_postgres:
            tables = [r[0] for r in cur.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
                (settings.schema,)).fetchall()]
        else:
            tables = [r[0] for r in cur.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()]
        assert {"vault_records", "vault_keys", "vault_access_log", "ledger_facts"} <= set(tables)
        for table in tables:
            for row in cur.execute(f'SELECT * FROM "{table}"').fetchall():
                values += [v if isinstance(v, bytes) else bytes(v) if isinstance(v, memoryview)
                           else str(v).encode() for v in row]
    return values


def raw_files(settings: StoreSettings) -> list[bytes]:
    if settings.kind != "sqlite":
        return []
    assert settings.sqlite_path is not None
    return [p.read_bytes() for p in settings.sqlite_path.parent.glob(settings.sqlite_path.name + "*")]


def assert_nothing_personal(blobs: list[bytes], texts: list[str]) -> None:
    for secret in SECRETS:
        needle = secret.encode()
        assert not any(needle in b or needle.lower() in b.lower() for b in blobs), secret
        assert not any(secret.lower() in t.lower() for t in texts), secret


def test_a_list_with_personal_columns_imports_and_no_log_line_output_or_table_holds_them(
        vcli: VaultCli, store_settings: StoreSettings, tmp_path: Path) -> None:
    source = registration_csv(tmp_path / "registrations.csv")
    assert vcli.json("import", source)["recorded"] == 2
    assert vcli.json("import", kobo_xlsx(tmp_path / "kobo.xlsx"), "--kobo-form", "registration")[
        "recorded"] == 1
    assert vcli.json("import", source)["already_recorded"] == 2
    vcli.json("views", "show", "--rulebook", "operational")
    vcli.json("audit", "household", "H1")
    exports = tmp_path / "exports"
    exports.mkdir()
    vcli.ok("export", "audit", "household", "K1", "-o", exports / "k1.xlsx")
    vcli.ok("export", "view", "--rulebook", "official", "-o", exports / "view.csv")
    exported = [p.read_bytes() for p in exports.iterdir()]
    assert any("facts_imported" in o for o in vcli.outputs)  # the JSON log lines are scanned too
    assert_nothing_personal(stored_values(store_settings) + raw_files(store_settings) + exported,
                            vcli.outputs)
    shown = vcli.json("people", "show", "K1", "--purpose", "protection case follow-up")
    fields = shown["records"][0]["fields"]
    assert (fields["head_name"], fields["phone"], fields["id_document_number"], fields["head_sex"],
            fields["id_document_type"]) == (
        "Tavgeen Shexanova", "9647503317786", "199204417731", "female", "national_id")


def test_people_commands_read_on_record_erase_and_say_so(sqlite_cli: Cli, tmp_path: Path, key: str) -> None:
    runner = VaultCli(sqlite_cli.url, tmp_path, {"LEDGER_VAULT_KEY": key, "LEDGER_USER": "officer-7"})
    runner.ok("import", write_jsonl(tmp_path / "sites.jsonl", SITES))
    runner.ok("import", registration_csv(tmp_path / "official.csv"))
    runner.ok("import", registration_csv(tmp_path / "operational.csv", "operational", "OP"))
    matches = runner.json("households", "matches")["matches"]
    assert [(m["official_household_id"], m["operational_household_id"]) for m in matches] == [
        ("H1", "OP1"), ("H2", "OP2")]
    assert "Xarazade Qendilova" in runner.ok("people", "show", "H1", "--purpose", "referral").stdout
    assert "erased" in runner.ok("people", "erase", "H1", "--reason", "request ER-7").stdout
    after = runner.ok("people", "show", "H1", "--purpose", "check")
    assert after.stdout.startswith("The personal data of household H1 were erased on")
    assert "request ER-7" in after.stdout
    log = runner.json("people", "access-log")["entries"]
    assert [(e["who"], e["action"], e["purpose"]) for e in log] == [
        ("officer-7", "read", "referral"), ("officer-7", "erase", "request ER-7"),
        ("officer-7", "read", "check")]
    trail = runner.json("audit", "household", "H1")["facts"]
    assert trail[-1]["type"] == "personal_data_erased"
    assert runner.json("verify")["ok"] is True

    runner.extra = {}
    refused = runner("import", registration_csv(tmp_path / "again.csv", "official", "N"))
    assert refused.code == 1
    assert "LEDGER_VAULT_KEY" in refused.stderr
    assert "ledger vault new-key" in refused.stderr
    contact = runner("record", "household_registered", "--source-id", "r9", "--effective-on",
                     "2026-01-10", "--household-id", "H9", "--registry", "official",
                     "--registration-ref", "R9", "--site-id", "KHANKE", "--members", "3",
                     "--recorded-by", "Ahmed Ali Hassan, phone +964 750 123 4567")
    assert contact.code == 1
    assert "phone" in contact.stderr
    assert_no_traceback(contact)
    assert len(runner.ok("vault", "new-key").stdout.strip()) == 44


def test_public_outputs_state_their_rule_and_household_level_ones_refuse_it(sqlite_cli: Cli) -> None:
    facts = [*SITES] + [
        {"type": "household_registered", "source_id": f"r{n}", "effective_on": "2026-01-10",
         "household_id": f"H{n}", "registry": "official", "registration_ref": f"R{n}",
         "site_id": "KHANKE", "members": 3} for n in range(3)]
    sqlite_cli.ok("import", write_jsonl(sqlite_cli.cwd / "facts.jsonl", facts))
    view = sqlite_cli.json("views", "show", "--rulebook", "official", "--public")
    assert view["rows"][0]["households"] is None
    assert view["disclosure"]["min_households"] == 5
    assert set(view["disclosure"]) == {"public", "min_households", "rule", "suppressed_cells"}
    assert view["disclosure"]["suppressed_cells"] == view["public"]["suppressed"] == 4
    assert sqlite_cli.json("views", "show", "--rulebook", "official", "--public", "--min-households",
                           "2")["rows"][0]["households"] == 3
    bridge = sqlite_cli.ok("reconcile", "--public")
    assert "cells of fewer than 5 households are suppressed" in bridge.stdout
    bridged = sqlite_cli.json("reconcile", "--public")
    assert bridged["disclosure"]["rule"] == bridged["public"]["rule"]
    assert bridged["disclosure"]["suppressed_cells"] == bridged["public"]["suppressed"] > 0
    sqlite_cli.ok("export", "view", "--rulebook", "official", "--public", "-o", sqlite_cli.cwd / "v.csv")
    with (sqlite_cli.cwd / "v.csv").open(encoding="utf-8") as handle:
        exported = list(csv.DictReader(handle))[1:]  # after the HXL row
    assert [(r["status"], r["place"], r["households"], r["suppressed"]) for r in exported] == [
        ("idp_in_camp", "KHANKE", "", "1"), ("idp_in_camp", "*", "", "1"), ("*", "KHANKE", "", "1"),
        ("*", "*", "", "1")]  # the cell and every total it lies on
    published = sqlite_cli.json("publish", "--rulebook", "official", "--public")
    assert published["values"] == [{"status": "idp_in_camp", "place": "KHANKE", "households": None,
                                    "individuals": None, "suppressed": True}]
    assert published["disclosure"]["suppressed_cells"] == 1
    audit = sqlite_cli.json("audit", "figure", published["figure_id"])  # the exact values re-derive
    assert audit["cells"][0]["published"]["households"] == 3
    assert sqlite_cli.json("verify")["ok"] is True
    count = ("audit", "count", "--rulebook", "official", "--status", "idp_in_camp", "--place", "KHANKE")
    for args in (("audit", "household", "H1"), count, ("export", "audit", "household", "H1", "-o", "h.csv")):
        refused = sqlite_cli(*args, "--public")
        assert refused.code == 2
        assert "never public" in refused.stderr
