"""Shared fixtures: one parametrised store (SQLite file, PostgreSQL fresh schema) per test."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.sql import SQL, Identifier

# Tests import `tests.factdicts`, and the package may not be installed (no `pip install -e .`).
ROOT = str(Path(__file__).resolve().parent.parent)
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from ledger.store.db import Database  # noqa: E402
from ledger.store.settings import StoreSettings  # noqa: E402
from ledger.workspace import Workspace  # noqa: E402
from ledger.writer import Writer  # noqa: E402

PG_DSN = {"host": "127.0.0.1", "port": 5432, "user": "postgres", "dbname": "test"}
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


def init_store(settings: StoreSettings) -> None:
    """What `ledger init` creates."""
    workspace = Workspace(settings)
    try:
        workspace.init()
    finally:
        workspace.close()


def fresh_pg_schema() -> str:
    return f"t_{uuid.uuid4().hex[:16]}"


def drop_pg_schema(schema: str) -> None:
    with psycopg.connect(**PG_DSN, autocommit=True) as conn:
        conn.execute(SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(Identifier(schema)))


@pytest.fixture
def sqlite_settings(tmp_path: Path) -> StoreSettings:
    return StoreSettings.from_url(f"sqlite:///{tmp_path / 'ledger.db'}")


@pytest.fixture
def pg_settings() -> Iterator[StoreSettings]:
    schema = fresh_pg_schema()
    yield StoreSettings.from_url(f"{PG_URL}?schema={schema}")
    drop_pg_schema(schema)


@pytest.fixture(
    params=[
        pytest.param("sqlite", id="sqlite"),
        pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
    ]
)
def store_settings(request: pytest.FixtureRequest) -> StoreSettings:
    name = "sqlite_settings" if request.param == "sqlite" else "pg_settings"
    settings: StoreSettings = request.getfixturevalue(name)
    return settings


@pytest.fixture
def ledger_app(store_settings: StoreSettings) -> Iterator[Writer]:
    init_store(store_settings)
    app = Writer(store_settings)
    yield app
    app.close()


@pytest.fixture
def pg_app(pg_settings: StoreSettings) -> Iterator[Writer]:
    init_store(pg_settings)
    app = Writer(pg_settings)
    yield app
    app.close()


SQL_RUNNER = Callable[..., list[tuple[Any, ...]]]


def _runner(settings: StoreSettings) -> Iterator[SQL_RUNNER]:
    with Database(settings) as database:

        def run(statement: str, *params: Any) -> list[tuple[Any, ...]]:
            with database.cursor() as cur:
                cur.execute(statement, params)
                return cur.fetchall() if cur.raw.description else []

        yield run


@pytest.fixture
def sql(store_settings: StoreSettings) -> Iterator[SQL_RUNNER]:
    """Plain SQL on the test's store, behind the ledger's back (``%s`` placeholders)."""
    yield from _runner(store_settings)


@pytest.fixture
def pg_sql(pg_settings: StoreSettings) -> Iterator[SQL_RUNNER]:
    yield from _runner(pg_settings)
