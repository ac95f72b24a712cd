"""The vault's three tables and their SQL (issue 13): personal data apart from the ledger.

* ``vault_keys``: one wrapped data key per household. Erasure deletes its row: the one
  deletion the store allows (UPDATE is refused, DELETE is not).
* ``vault_records``: one encrypted record per fact that carried personal fields (append-only;
  the latest row of a household and registry is its current record), with the record's keyed
  digest (idempotency) and the document's keyed hash (linking).
* ``vault_access_log``: who read or erased which household's data, when, and why
  (append-only).

SQL text serves both engines through ``Database`` (``%s`` placeholders, unqualified names).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from psycopg.sql import SQL, Identifier

from ledger.store.db import Database

KEYS = "vault_keys"
RECORDS = "vault_records"
ACCESS_LOG = "vault_access_log"
VAULT_TABLES = (KEYS, RECORDS, ACCESS_LOG)


def _create_statements(db: Database) -> list[str]:
    blob = "bytea" if db.is_postgres else "BLOB"
    serial = "bigserial PRIMARY KEY" if db.is_postgres else "INTEGER PRIMARY KEY AUTOINCREMENT"
    return [
        f"CREATE TABLE IF NOT EXISTS {KEYS} (household_id TEXT PRIMARY KEY, "
        f"key_id TEXT NOT NULL UNIQUE, wrap_nonce {blob} NOT NULL, wrapped_key {blob} NOT NULL, "
        "created_at TEXT NOT NULL)",
        f"CREATE TABLE IF NOT EXISTS {RECORDS} (record_id {serial}, household_id TEXT NOT NULL, "
        "registry TEXT NOT NULL, source_id TEXT NOT NULL UNIQUE, key_id TEXT NOT NULL, "
        f"nonce {blob} NOT NULL, ciphertext {blob} NOT NULL, personal_digest TEXT NOT NULL, "
        "document_hash TEXT, recorded_at TEXT NOT NULL)",
        f"CREATE INDEX IF NOT EXISTS {RECORDS}_household_idx ON {RECORDS} (household_id, registry)",
        f"CREATE INDEX IF NOT EXISTS {RECORDS}_document_idx ON {RECORDS} (document_hash)",
        f"CREATE TABLE IF NOT EXISTS {ACCESS_LOG} (entry_id {serial}, at TEXT NOT NULL, "
        "who TEXT NOT NULL, db_user TEXT, action TEXT NOT NULL, household_id TEXT NOT NULL, "
        "purpose TEXT NOT NULL)",
    ]


def _refusals(db: Database, table: str, operations: Sequence[str]) -> list[Any]:
    if not db.is_postgres:
        return [
            f"CREATE TRIGGER IF NOT EXISTS {table}_refuse_{op.lower()} BEFORE {op} ON {table} "
            f"BEGIN SELECT RAISE(ABORT, 'the vault is append-only: {op} on {table} refused'); END"
            for op in operations
        ]
    schema = Identifier(db.settings.schema)
    statements: list[Any] = [
        SQL("CREATE OR REPLACE TRIGGER {name} BEFORE {ops} ON {schema}.{table} FOR EACH ROW "
            "EXECUTE FUNCTION {schema}.ledger_refuse_change()").format(
            name=Identifier(f"{table}_refuse_change"), ops=SQL(" OR ".join(operations)),
            schema=schema, table=Identifier(table)),
    ]
    if "DELETE" in operations:
        statements.append(
            SQL("CREATE OR REPLACE TRIGGER {name} BEFORE TRUNCATE ON {schema}.{table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION {schema}.ledger_refuse_change()").format(
                name=Identifier(f"{table}_refuse_truncate"), schema=schema, table=Identifier(table)))
    return statements


def create_vault_tables(db: Database) -> list[str]:
    """Create the vault's tables and triggers (after the ledger's, whose refusal function the
    PostgreSQL triggers share); returns the table names."""
    statements: list[Any] = _create_statements(db)
    statements += _refusals(db, KEYS, ("UPDATE",))
    statements += _refusals(db, RECORDS, ("UPDATE", "DELETE"))
    statements += _refusals(db, ACCESS_LOG, ("UPDATE", "DELETE"))
    conn = db.connection()
    if db.is_postgres:
        with conn.transaction():
            for statement in statements:
                conn.execute(statement)
    else:
        with db.transaction() as cur:
            for statement in statements:
                cur.execute(statement)
    return list(VAULT_TABLES)


@dataclass(frozen=True)
class WrappedKey:
    household_id: str
    key_id: str
    wrap_nonce: bytes
    wrapped_key: bytes


@dataclass(frozen=True)
class StoredRecord:
    record_id: int
    household_id: str
    registry: str
    source_id: str
    key_id: str
    nonce: bytes
    ciphertext: bytes
    personal_digest: str
    document_hash: str | None
    recorded_at: str


_RECORD_COLUMNS = ("record_id, household_id, registry, source_id, key_id, nonce, ciphertext, "
                   "personal_digest, document_hash, recorded_at")


def _record(row: Sequence[Any]) -> StoredRecord:
    return StoredRecord(row[0], row[1], row[2], row[3], row[4], bytes(row[5]), bytes(row[6]),
                        row[7], row[8], row[9])


def keys_of(db: Database, households: Sequence[str]) -> dict[str, WrappedKey]:
    found: dict[str, WrappedKey] = {}
    for start in range(0, len(households), 500):
        condition, params = db.any_of("household_id", households[start:start + 500])
        with db.cursor() as cur:
            for row in cur.execute(f"SELECT household_id, key_id, wrap_nonce, wrapped_key FROM {KEYS} "
                                   f"WHERE {condition}", params):
                found[row[0]] = WrappedKey(row[0], row[1], bytes(row[2]), bytes(row[3]))
    return found


def all_keys(db: Database) -> list[WrappedKey]:
    with db.cursor() as cur:
        rows = cur.execute(f"SELECT household_id, key_id, wrap_nonce, wrapped_key FROM {KEYS}").fetchall()
    return [WrappedKey(r[0], r[1], bytes(r[2]), bytes(r[3])) for r in rows]


def insert_keys(db: Database, keys: Sequence[WrappedKey], at: str) -> None:
    """New keys; a household given a key meanwhile by another writer keeps that one."""
    with db.transaction() as cur:
        cur.executemany(
            f"INSERT INTO {KEYS} (household_id, key_id, wrap_nonce, wrapped_key, created_at) "
            "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (household_id) DO NOTHING",
            [(k.household_id, k.key_id, k.wrap_nonce, k.wrapped_key, at) for k in keys],
        )


def delete_keys(db: Database, household_id: str) -> int:
    """Destroy a household's data key. On SQLite the freed pages are overwritten with zeros
    (``secure_delete``) and the write-ahead log truncated, so the file keeps no copy."""
    if not db.is_postgres:
        with db.cursor() as cur:
            cur.execute("PRAGMA secure_delete = ON")
    with db.transaction() as cur:
        cur.execute(f"DELETE FROM {KEYS} WHERE household_id = %s", (household_id,))
        deleted = int(cur.raw.rowcount or 0)
    if not db.is_postgres:
        with db.cursor() as cur:
            cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return deleted


def digests_by_source(db: Database, source_ids: Sequence[str]) -> dict[str, str]:
    """source_id -> the keyed digest of its personal fields (never the ciphertext: a writer
    needs only these two columns)."""
    found: dict[str, str] = {}
    for start in range(0, len(source_ids), 500):
        condition, params = db.any_of("source_id", source_ids[start:start + 500])
        with db.cursor() as cur:
            for row in cur.execute(f"SELECT source_id, personal_digest FROM {RECORDS} "
                                   f"WHERE {condition}", params):
                found[row[0]] = row[1]
    return found


def records_of(db: Database, household_id: str) -> list[StoredRecord]:
    with db.cursor() as cur:
        rows = cur.execute(f"SELECT {_RECORD_COLUMNS} FROM {RECORDS} WHERE household_id = %s "
                           "ORDER BY record_id", (household_id,)).fetchall()
    return [_record(r) for r in rows]


def insert_records(db: Database, records: Sequence[StoredRecord]) -> None:
    with db.transaction() as cur:
        cur.executemany(
            f"INSERT INTO {RECORDS} (household_id, registry, source_id, key_id, nonce, ciphertext, "
            "personal_digest, document_hash, recorded_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (source_id) DO NOTHING",
            [(r.household_id, r.registry, r.source_id, r.key_id, r.nonce, r.ciphertext,
              r.personal_digest, r.document_hash, r.recorded_at) for r in records],
        )


def document_matches(db: Database) -> list[tuple[str, str, str]]:
    """(official household, operational household, document hash) for every document hash
    both registries hold under different household ids; erased households (no key) left out."""
    query = (
        f"SELECT DISTINCT o.household_id, p.household_id, o.document_hash FROM {RECORDS} o "
        f"JOIN {RECORDS} p ON p.document_hash = o.document_hash "
        f"JOIN {KEYS} ko ON ko.household_id = o.household_id "
        f"JOIN {KEYS} kp ON kp.household_id = p.household_id "
        "WHERE o.registry = 'official' AND p.registry = 'operational' "
        "AND o.household_id <> p.household_id ORDER BY 1, 2"
    )
    with db.cursor() as cur:
        return [(r[0], r[1], r[2]) for r in cur.execute(query).fetchall()]


def log_access(db: Database, entry: tuple[str, str, str | None, str, str, str]) -> None:
    """(at, who, db_user, action, household_id, purpose)"""
    with db.transaction() as cur:
        cur.execute(f"INSERT INTO {ACCESS_LOG} (at, who, db_user, action, household_id, purpose) "
                    "VALUES (%s, %s, %s, %s, %s, %s)", entry)


def access_log(db: Database, household_id: str | None = None) -> list[tuple[Any, ...]]:
    query = f"SELECT entry_id, at, who, db_user, action, household_id, purpose FROM {ACCESS_LOG}"
    params: list[Any] = []
    if household_id is not None:
        query += " WHERE household_id = %s"
        params.append(household_id)
    with db.cursor() as cur:
        return cur.execute(query + " ORDER BY entry_id", params).fetchall()


def db_user(db: Database) -> str | None:
    if not db.is_postgres:
        return None
    with db.cursor() as cur:
        row = cur.execute("SELECT current_user").fetchone()
    return str(row[0]) if row else None


def erasures(db: Database, households: Sequence[str] | None = None) -> dict[str, str]:
    """Households whose personal data were erased -> when the erasure was recorded."""
    query = ("SELECT household_id, recorded_at FROM ledger_facts "
             "WHERE fact_type = 'personal_data_erased'")
    params: list[Any] = []
    if households is not None:
        if not households:
            return {}
        condition, params = db.any_of("household_id", households)
        query += " AND " + condition
    with db.cursor() as cur:
        return {r[0]: str(r[1]) for r in cur.execute(query, params).fetchall()}
