"""Nothing stored is ever updated or deleted, even by SQL run behind the ledger's back."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from psycopg.sql import SQL, Identifier

from ledger.store.db import Database
from ledger.store.schema import WRITER_ROLE, refresh_roles
from ledger.store.settings import StoreSettings
from ledger.writer import Writer
from tests.factdicts import parsed, registration, site

Sql = Callable[..., list[tuple[Any, ...]]]
REFUSED = (sqlite3.DatabaseError, psycopg.Error)


def events_table(settings: StoreSettings) -> str:
    return "ledger_events" if settings.kind == "postgres" else "stored_events"


@pytest.fixture
def stored(ledger_app: Writer, sql: Sql, store_settings: StoreSettings) -> dict[str, Any]:
    """Two facts recorded; returns a snapshot of both tables to compare with afterwards."""
    for fact_in in parsed(site("CHAMISHKU"), registration("H1")):
        ledger_app.record(fact_in)
    return snapshot(sql, store_settings)


def snapshot(sql: Sql, settings: StoreSettings) -> dict[str, Any]:
    return {
        "events": sql(f"SELECT originator_id, originator_version, topic, state "
                      f"FROM {events_table(settings)} ORDER BY originator_id, originator_version"),
        "facts": sql("SELECT * FROM ledger_facts ORDER BY notification_id"),
    }


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE {events} SET topic = 'tampered'",
        "DELETE FROM {events}",
        "DELETE FROM {events} WHERE originator_version = 1",
        "UPDATE ledger_facts SET effective_on = '2000-01-01'",
        "UPDATE ledger_facts SET chain_hash = 'x' WHERE notification_id = 1",
        "DELETE FROM ledger_facts",
    ],
)
def test_stored_facts_cannot_be_updated_or_deleted(
    stored: dict[str, Any], sql: Sql, store_settings: StoreSettings, statement: str
) -> None:
    with pytest.raises(REFUSED, match="append-only"):
        sql(statement.format(events=events_table(store_settings)))

    assert snapshot(sql, store_settings) == stored
    assert len(stored["facts"]) == 2


@pytest.mark.postgres
@pytest.mark.parametrize("table", ["ledger_events", "ledger_facts"])
def test_postgres_refuses_truncate(pg_app: Writer, pg_settings: StoreSettings,
                                   pg_sql: Sql, table: str) -> None:
    for fact_in in parsed(site("CHAMISHKU")):
        pg_app.record(fact_in)

    with pytest.raises(psycopg.Error, match="append-only"):
        pg_sql(f"TRUNCATE {table}")

    assert pg_sql(f"SELECT count(*) FROM {table}") == [(1,)]


@pytest.mark.postgres
@pytest.mark.parametrize("table", ["ledger_events", "ledger_facts"])
def test_the_writer_role_may_only_read_and_append(
    pg_app: Writer, pg_settings: StoreSettings, table: str
) -> None:
    for fact_in in parsed(site("CHAMISHKU")):
        pg_app.record(fact_in)
    with Database(pg_settings) as db:
        refresh_roles(db, [], create=True)  # what `ledger init --roles` does
    qualified = f"{pg_settings.schema}.{table}"

    s = pg_settings
    with psycopg.connect(host=s.host, port=s.port, user=s.user, dbname=s.dbname,
                         autocommit=True) as conn:
        conn.execute(SQL("SET search_path = {}").format(Identifier(pg_settings.schema)))
        privileges = {
            p: conn.execute("SELECT has_table_privilege(%s, %s, %s)",
                            (WRITER_ROLE, qualified, p)).fetchone()[0]  # type: ignore[index]
            for p in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE")
        }
        with conn.transaction():
            conn.execute(SQL("SET LOCAL ROLE {}").format(Identifier(WRITER_ROLE)))
            readable = conn.execute(SQL("SELECT count(*) FROM {}").format(Identifier(table)))
            assert readable.fetchone() == (1,)
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="permission denied"):
                conn.execute(SQL("UPDATE {} SET originator_version = 99").format(Identifier(table)))

    assert privileges == {"SELECT": True, "INSERT": True, "UPDATE": False, "DELETE": False,
                          "TRUNCATE": False}
