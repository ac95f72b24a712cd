"""``ledger init``: create or upgrade the store. Running it again changes nothing.

On PostgreSQL it also creates the schema named in the URL and a role ``ledger_writer`` that
may only SELECT and INSERT on the ledger's two tables (events and fact index): deployments
connect with a login role that is a member of it, so even a bug cannot update a stored fact.
"""

from __future__ import annotations

import psycopg
from psycopg.sql import SQL, Identifier

from ledger.errors import StoreError
from ledger.store.db import Database
from ledger.store.recorders import FACTS_TABLE
from ledger.store.settings import StoreSettings

SCHEMA_VERSION = 1
WRITER_ROLE = "ledger_writer"


def create_schema_if_missing(settings: StoreSettings) -> None:
    if settings.kind != "postgres":
        if settings.sqlite_path is not None and not settings.sqlite_path.parent.exists():
            raise StoreError(f"directory {settings.sqlite_path.parent} does not exist")
        return
    try:
        with psycopg.connect(host=settings.host, port=settings.port, user=settings.user,
                             password=settings.password, dbname=settings.dbname,
                             autocommit=True, connect_timeout=10) as conn:
            conn.execute(SQL("CREATE SCHEMA IF NOT EXISTS {}").format(Identifier(settings.schema)))
    except psycopg.OperationalError as exc:
        raise StoreError(f"cannot connect to {settings.describe()}: {exc}".strip()) from None


def grant_writer_role(db: Database, view_tables: list[str]) -> None:
    """(PostgreSQL) the INSERT+SELECT-only role on the ledger, full rights on the views."""
    if not db.is_postgres:
        return
    schema = Identifier(db.settings.schema)
    role = Identifier(WRITER_ROLE)
    conn = db.connection()
    with conn.transaction():
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (WRITER_ROLE,)).fetchone()
        if not exists:
            try:
                with conn.transaction():
                    conn.execute(SQL("CREATE ROLE {} NOLOGIN").format(role))
            except psycopg.errors.DuplicateObject:
                pass  # created meanwhile by a concurrent init
        conn.execute(SQL("GRANT USAGE ON SCHEMA {} TO {}").format(schema, role))
        for table in (db.events_table, FACTS_TABLE):
            conn.execute(SQL("REVOKE ALL ON {}.{} FROM {}").format(schema, Identifier(table), role))
            conn.execute(SQL("GRANT SELECT, INSERT ON {}.{} TO {}").format(
                schema, Identifier(table), role))
        conn.execute(SQL("GRANT USAGE ON ALL SEQUENCES IN SCHEMA {} TO {}").format(schema, role))
        for table in view_tables:
            conn.execute(SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON {}.{} TO {}").format(
                schema, Identifier(table), role))


def record_version(db: Database) -> int:
    with db.transaction() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS ledger_schema (version INTEGER NOT NULL, "
                    "applied_at TEXT NOT NULL)")
        cur.execute("SELECT max(version) FROM ledger_schema")
        row = cur.fetchone()
        current = row[0] if row and row[0] is not None else 0
        if current < SCHEMA_VERSION:
            cur.execute("INSERT INTO ledger_schema VALUES (%s, CURRENT_TIMESTAMP)", (SCHEMA_VERSION,))
        return SCHEMA_VERSION


def is_initialised(db: Database) -> bool:
    return db.table_exists(FACTS_TABLE) and db.table_exists("ledger_schema")
