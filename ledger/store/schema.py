"""``ledger init``: create or upgrade the store. Running it again changes nothing.

On PostgreSQL it also creates the schema named in the URL and, with ``--roles``, the roles a
deployment grants to its login roles (see :func:`refresh_roles` and docs/deployment.md), so
that even a bug cannot update a stored fact and a login that records facts cannot edit a view.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.sql import SQL, Identifier

from ledger.errors import StoreError
from ledger.fact_kinds import REFERENCE_FACTS
from ledger.store.db import Database
from ledger.store.settings import FACTS_TABLE, LOCK_FUNCTION, StoreSettings

SCHEMA_VERSION = 1


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


WRITER_ROLE = "ledger_writer"
READER_ROLE = "ledger_reader"
AUDITOR_ROLE = "ledger_auditor"
PROTECTION_ROLE = "ledger_protection"
PROJECTOR_ROLE = "ledger_projector"
ROLES = (WRITER_ROLE, READER_ROLE, AUDITOR_ROLE, PROTECTION_ROLE, PROJECTOR_ROLE)
VIEW_READERS = (WRITER_ROLE, READER_ROLE, AUDITOR_ROLE)
VAULT_RECORDS, VAULT_KEYS, ACCESS_LOG = "vault_records", "vault_keys", "vault_access_log"
FIGURES_VIEW = "ledger_figures"
REFERENCE_VIEW = "ledger_reference_facts"
HEAD_FUNCTION = "ledger_head"


def create_functions(db: Database) -> None:
    """(PostgreSQL) what the roles use instead of rights on the tables themselves.

    ``ledger_head()`` tells a login that may not read facts (ledger_reader) how far the ledger
    goes, so it can say how far behind the views are; ``ledger_figures`` shows the published
    figures (and nothing else of the log) to the same login, and ``ledger_reference_facts``
    the facts about no household that ``views show`` and ``reconcile`` read (rulebook versions,
    sites and their voids), in the columns of :func:`ledger.store.reading.select_facts`. All run
    with their owner's rights.
    """
    if not db.is_postgres:
        return
    schema = Identifier(db.settings.schema)
    conn = db.connection()
    with conn.transaction():
        conn.execute(SQL(
            "CREATE OR REPLACE FUNCTION {schema}.{name}() RETURNS bigint LANGUAGE sql STABLE "
            "SECURITY DEFINER SET search_path = pg_catalog, pg_temp "
            "AS $$ SELECT max(notification_id) FROM {schema}.{facts} $$"
        ).format(schema=schema, name=Identifier(HEAD_FUNCTION), facts=Identifier(FACTS_TABLE)))
        conn.execute(SQL("REVOKE ALL ON FUNCTION {}.{}() FROM PUBLIC").format(
            schema, Identifier(HEAD_FUNCTION)))
        conn.execute(SQL(
            "CREATE OR REPLACE VIEW {schema}.{view} AS SELECT f.notification_id, f.source_id, "
            "f.subject_id, f.effective_on, f.recorded_at, f.chain_hash, e.state "
            "FROM {schema}.{facts} f JOIN {schema}.{events} e "
            "ON e.notification_id = f.notification_id WHERE f.fact_type = 'figure_published'"
        ).format(schema=schema, view=Identifier(FIGURES_VIEW), facts=Identifier(FACTS_TABLE),
                 events=Identifier(db.events_table)))
        conn.execute(SQL(
            "CREATE OR REPLACE VIEW {schema}.{view} AS SELECT f.notification_id, f.recorded_at, "
            "f.source_id, f.fact_type, f.subject_id, f.effective_on, e.state, f.household_id "
            "FROM {schema}.{facts} f JOIN {schema}.{events} e "
            "ON e.notification_id = f.notification_id "
            "WHERE f.household_id IS NULL AND f.fact_type IN (" + ", ".join(
                f"'{t}'" for t in REFERENCE_FACTS) + ")"
        ).format(schema=schema, view=Identifier(REFERENCE_VIEW), facts=Identifier(FACTS_TABLE),
                 events=Identifier(db.events_table)))


def refresh_roles(db: Database, view_tables: Sequence[str], *, create: bool) -> list[str]:
    """(PostgreSQL) the ledger's roles and exactly their rights; returns the roles that exist.

    ``create``: create the missing roles (``ledger init --roles``; needs CREATEROLE). Without
    it, only the roles that already exist get their rights refreshed, so running ``ledger
    init`` again (for example once the vault tables exist) grants what is new. Every right is
    revoked and granted again, so a right given by an older version is taken away.

    * ledger_writer: read and append facts (SELECT, INSERT, and EXECUTE on the function that
      takes the events table's EXCLUSIVE lock: LOCK TABLE itself would need UPDATE), append
      vault records and keys (INSERT only), read the views. No UPDATE, DELETE or TRUNCATE
      anywhere, no write on a view table, no vault read.
    * ledger_reader: the views, the published figures (``ledger_figures``) and the facts about
      no household that views are read with (``ledger_reference_facts``: rulebook versions,
      sites); no other fact, no vault.
    * ledger_auditor: facts, views, figures and the vault's access log; no vault records or keys.
    * ledger_protection: the vault: SELECT on its records, SELECT and DELETE on its keys (erasure
      deletes a household's keys, the one deletion the store allows), INSERT and SELECT on
      its access log.
    * ledger_projector: owns the view tables (a rebuild creates and swaps tables) and reads the
      facts: the only role that can change a view row. ``ledger views follow`` runs as it.
    """
    if not db.is_postgres:
        return []
    conn = db.connection()
    with conn.transaction():
        existing = _roles(conn)
        if create:
            for role in ROLES:
                if role not in existing:
                    _create_role(conn, role)
            existing = _roles(conn)
        _grant(db, conn, existing, view_tables)
    return [r for r in ROLES if r in existing]


def grant_writer_role(db: Database, view_tables: list[str]) -> None:
    """Kept for callers of earlier versions: create every role and grant its rights."""
    refresh_roles(db, view_tables, create=True)


def _roles(conn: psycopg.Connection[Any]) -> set[str]:
    rows = conn.execute("SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", (list(ROLES),))
    return {r[0] for r in rows.fetchall()}


def _create_role(conn: psycopg.Connection[Any], role: str) -> None:
    try:
        with conn.transaction():
            conn.execute(SQL("CREATE ROLE {} NOLOGIN").format(Identifier(role)))
    except psycopg.errors.DuplicateObject:
        pass  # created meanwhile by a concurrent init
    except psycopg.errors.InsufficientPrivilege:
        raise StoreError(f"cannot create role {role}: `ledger init --roles` must run as a login "
                         "with CREATEROLE (the owner of the database)") from None


def _grant(db: Database, conn: psycopg.Connection[Any], existing: set[str],
           view_tables: Sequence[str]) -> None:
    schema = db.settings.schema
    present = {t for t in (VAULT_RECORDS, VAULT_KEYS, ACCESS_LOG) if db.table_exists(t)}
    facts = (db.events_table, FACTS_TABLE)
    rights: dict[str, list[tuple[str, Sequence[str]]]] = {
        # The writer writes vault records and keys, and reads a key (to seal a household's next
        # record with it) and the records' digests (to tell a repeated import), never a plaintext.
        WRITER_ROLE: [("SELECT, INSERT", facts), ("SELECT", ("ledger_schema", *view_tables)),
                      ("INSERT", [t for t in (VAULT_RECORDS, VAULT_KEYS) if t in present]),
                      ("SELECT", [t for t in (VAULT_KEYS,) if t in present]),
                      ("SELECT (source_id, personal_digest, household_id, registry)",
                       [t for t in (VAULT_RECORDS,) if t in present])],
        READER_ROLE: [("SELECT", ("ledger_schema", FIGURES_VIEW, REFERENCE_VIEW, *view_tables))],
        AUDITOR_ROLE: [("SELECT", (*facts, "ledger_schema", FIGURES_VIEW, *view_tables,
                                   *[t for t in (ACCESS_LOG,) if t in present]))],
        PROTECTION_ROLE: [("SELECT", [*facts, *[t for t in (VAULT_RECORDS,) if t in present]]),
                          ("SELECT, DELETE", [t for t in (VAULT_KEYS,) if t in present]),
                          ("SELECT, INSERT", [t for t in (ACCESS_LOG,) if t in present])],
        PROJECTOR_ROLE: [("SELECT", (*facts, "ledger_schema"))],
    }
    functions = {WRITER_ROLE: (LOCK_FUNCTION, HEAD_FUNCTION), READER_ROLE: (HEAD_FUNCTION,),
                 AUDITOR_ROLE: (HEAD_FUNCTION,), PROJECTOR_ROLE: (HEAD_FUNCTION,)}
    every_table = [*facts, "ledger_schema", FIGURES_VIEW, REFERENCE_VIEW, *view_tables,
                   *sorted(present)]
    s = Identifier(schema)
    for role in sorted(existing):
        r = Identifier(role)
        conn.execute(SQL("GRANT USAGE ON SCHEMA {} TO {}").format(s, r))
        # The projector owns the view tables: revoking from it would revoke from the owner.
        for table in every_table if role != PROJECTOR_ROLE else set(every_table) - set(view_tables):
            conn.execute(SQL("REVOKE ALL ON {}.{} FROM {}").format(s, Identifier(table), r))
        for privileges, tables in rights[role]:
            for table in tables:
                conn.execute(SQL("GRANT " + privileges + " ON {}.{} TO {}").format(
                    s, Identifier(table), r))
        for function in (LOCK_FUNCTION, HEAD_FUNCTION):
            verb = "GRANT" if function in functions.get(role, ()) else "REVOKE"
            preposition = "TO" if verb == "GRANT" else "FROM"
            conn.execute(SQL(verb + " EXECUTE ON FUNCTION {}.{}() " + preposition + " {}").format(
                s, Identifier(function), r))
        if role in (WRITER_ROLE, PROTECTION_ROLE):
            # nextval: the events' notification ids (and any serial column of the vault).
            conn.execute(SQL("GRANT USAGE ON ALL SEQUENCES IN SCHEMA {} TO {}").format(s, r))
    if PROJECTOR_ROLE in existing:
        conn.execute(SQL("GRANT USAGE, CREATE ON SCHEMA {} TO {}").format(
            s, Identifier(PROJECTOR_ROLE)))
    with conn.cursor() as raw:
        grant_view_tables(raw, schema, view_tables, existing)


def grant_view_tables(raw: psycopg.Cursor[Any], schema: str, tables: Sequence[str],
                      existing: set[str] | None = None) -> None:
    """The view tables owned by ledger_projector and readable by the roles that read views (for
    the roles that exist); run by init and after a rebuild swaps new tables in."""
    if existing is None:
        existing = {r[0] for r in raw.execute(
            "SELECT rolname FROM pg_roles WHERE rolname = ANY(%s)", (list(ROLES),)).fetchall()}
    for table in tables:
        name = SQL("{}.{}").format(Identifier(schema), Identifier(table))
        if PROJECTOR_ROLE in existing:
            raw.execute(SQL("ALTER TABLE {} OWNER TO {}").format(name, Identifier(PROJECTOR_ROLE)))
        for role in VIEW_READERS:
            if role in existing:
                raw.execute(SQL("GRANT SELECT ON {} TO {}").format(name, Identifier(role)))


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
