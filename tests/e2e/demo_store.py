"""One `ledger demo` store per engine, shared by a test module that only reads it (the demo takes
seconds; exporting and querying it many times does not need it recorded anew each time).

Import the fixture into a test module: ``from tests.e2e.demo_store import demo_cli  # noqa: F401``.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import PG_URL, drop_pg_schema, fresh_pg_schema
from tests.e2e.conftest import Cli


@pytest.fixture(scope="module", params=[
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
])
def demo_store(request: pytest.FixtureRequest,
               tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cli]:
    """The command on a store holding `ledger demo`'s facts (SQLite file, fresh PG schema)."""
    work = tmp_path_factory.mktemp(f"demo-{request.param}")
    schema = fresh_pg_schema()
    url = f"sqlite:///{work / 'ledger.db'}" if request.param == "sqlite" \
        else f"{PG_URL}?schema={schema}"
    cli = Cli(url, work)
    cli.ok("init")
    cli.ok("demo", "--no-html")
    yield cli
    if request.param == "postgres":
        drop_pg_schema(schema)
