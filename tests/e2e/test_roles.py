"""The PostgreSQL deployment of the README, by real logins (issue 11 item 3, issue 13 item 5).

The owner runs `ledger init --roles`; login roles are granted the ledger's roles; then the login
granted ledger_writer imports, records and publishes while a login granted ledger_projector runs
`ledger views follow`, and each login is checked, by connecting as it, for what it may and may
not do: nobody but the projector changes a view row, nobody changes a stored fact, only the
protection role reads the vault.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.sql import SQL, Identifier

from ledger.demo import worked_example
from ledger.store.settings import StoreSettings
from tests.conftest import PG_DSN
from tests.e2e.conftest import LEDGER, Cli, start_follower, stop_process, write_jsonl
from tests.factdicts import departure

pytestmark = pytest.mark.postgres
EXAMPLE = list(worked_example())

GRANTS = {"writer": "ledger_writer", "projector": "ledger_projector", "reader": "ledger_reader",
          "auditor": "ledger_auditor", "protection": "ledger_protection"}


@pytest.fixture
def logins(pg_settings: StoreSettings) -> Iterator[dict[str, str]]:
    """One login role per ledger role, unique to this test, dropped afterwards."""
    tag = uuid.uuid4().hex[:8]
    names = {kind: f"t_{kind}_{tag}" for kind in GRANTS}
    with psycopg.connect(**PG_DSN, autocommit=True) as conn:
        for name in names.values():
            conn.execute(SQL("CREATE ROLE {} LOGIN").format(Identifier(name)))
    yield names
    with psycopg.connect(**PG_DSN, autocommit=True) as conn:
        for name in names.values():
            conn.execute(SQL("DROP OWNED BY {}").format(Identifier(name)))
            conn.execute(SQL("DROP ROLE {}").format(Identifier(name)))


def url_as(settings: StoreSettings, login: str) -> str:
    return f"postgresql://{login}@{settings.host}:{settings.port}/{settings.dbname}?schema={settings.schema}"


def connect_as(settings: StoreSettings, login: str) -> psycopg.Connection[Any]:
    conn = psycopg.connect(host=settings.host, port=settings.port, user=login,
                           dbname=settings.dbname, autocommit=True)
    conn.execute(SQL("SET search_path = {}").format(Identifier(settings.schema)))
    return conn


def allowed(conn: psycopg.Connection[Any], statement: str) -> bool:
    """Run a statement in a transaction rolled back afterwards; False when permission is denied."""
    try:
        with conn.transaction():
            conn.execute(statement)
            raise _RolledBackError
    except _RolledBackError:
        return True
    except psycopg.errors.InsufficientPrivilege:
        return False


class _RolledBackError(Exception):
    pass


@pytest.fixture
def deployed(pg_settings: StoreSettings, logins: dict[str, str], tmp_path: Path) -> dict[str, Cli]:
    owner = Cli(pg_settings.url, tmp_path)
    owner.ok("init")  # creates the vault's tables too (ledger/store/vault_tables.py)
    first = owner.json("init", "--roles")
    assert set(GRANTS.values()) <= set(first["roles"])
    owner.ok("init", "--roles")  # idempotent
    with psycopg.connect(**PG_DSN, autocommit=True) as conn:
        for kind, role in GRANTS.items():
            conn.execute(SQL("GRANT {} TO {}").format(Identifier(role), Identifier(logins[kind])))
    clis = {kind: Cli(url_as(pg_settings, login), tmp_path) for kind, login in logins.items()}
    clis["owner"] = owner
    return clis


def test_the_readme_deployment_works_as_login_roles(deployed: dict[str, Cli], tmp_path: Path,
                                                     pg_settings: StoreSettings) -> None:
    writer, projector = deployed["writer"], deployed["projector"]
    follower = start_follower(projector.env(), tmp_path)
    try:
        imported = writer.json("import", write_jsonl(tmp_path / "example.jsonl", EXAMPLE))
        assert imported["recorded"] == len(EXAMPLE)
        assert writer.json("views", "status")["behind"] == 0, "the views reflect the import"

        recorded = writer.json("record", "household_departed", "--source-id", "late-H5",
                               "--effective-on", "2026-03-10", "--household-id", "H5",
                               "--from-site-id", "CHAMISHKU", "--pathway", "return",
                               "--to-pcode", "IQG15Q07", "--departure-letter-ref", "L-3")
        assert recorded["status"] == "recorded"
        status = writer.json("views", "status")
        assert status["behind"] == 0
        published = writer.json("publish", "--rulebook", "official", "--as-of", "2026-05-01")
        assert published["figure_id"]

        shown = deployed["reader"].json("views", "show", "--rulebook", "official",
                                        "--as-of", "2026-05-01", "--by", "national")
        assert shown["rows"], "the reader reads the views"
        assert deployed["auditor"].json("verify")["ok"] is True
    finally:
        _out, err = stop_process(follower)
    assert "Traceback" not in err, err


def test_a_writer_without_a_running_projector_is_told_the_views_are_behind(
    deployed: dict[str, Cli], tmp_path: Path,
) -> None:
    writer = deployed["writer"]
    writer_env = writer.env() | {"LEDGER_VIEWS_WAIT": "0.5"}
    done = subprocess.run([str(LEDGER), "import", str(write_jsonl(tmp_path / "f.jsonl",
                                                                  EXAMPLE))],
                          env=writer_env, cwd=tmp_path, capture_output=True, text=True,
                          check=False, timeout=120)
    assert done.returncode == 1
    assert str(len(EXAMPLE)) in done.stdout, "the report of what was recorded comes first"
    assert "behind" in done.stderr
    assert "ledger_projector" in done.stderr
    assert "Traceback" not in done.stderr
    recorded = subprocess.run(
        [str(LEDGER), "record", "household_departed", "--source-id", "late-H5",
         "--effective-on", "2026-03-10", "--household-id", "H5", "--from-site-id", "CHAMISHKU",
         "--pathway", "return", "--to-pcode", "IQG15Q07"],
        env=writer_env, cwd=tmp_path, capture_output=True, text=True, check=False, timeout=120)
    assert recorded.returncode == 1
    assert "the facts are recorded, but the views are" in recorded.stderr
    assert "Traceback" not in recorded.stderr
    following = writer("views", "follow", "--max-seconds", "1")
    assert following.code == 1
    assert "ledger_projector" in following.stderr
    assert "Traceback" not in following.stderr

    assert deployed["projector"].json("views", "catch-up")["applied"] == len(EXAMPLE) + 1
    assert writer.json("views", "status")["behind"] == 0


def test_each_role_may_do_exactly_its_part(deployed: dict[str, Cli], logins: dict[str, str],
                                           pg_settings: StoreSettings, tmp_path: Path) -> None:
    deployed["owner"].ok("import", write_jsonl(tmp_path / "example.jsonl",
                                                [*EXAMPLE, departure("H5")]))
    checks = {
        "read facts": "SELECT count(*) FROM ledger_facts",
        "read events": "SELECT count(*) FROM ledger_events",
        "change a fact": "UPDATE ledger_facts SET fact_type = fact_type",
        "delete a fact": "DELETE FROM ledger_events",
        "truncate facts": "TRUNCATE ledger_facts",
        "lock the events": "SELECT ledger_lock_events()",
        "read views": "SELECT count(*) FROM view_states",
        "edit a view": "UPDATE view_signatures SET individuals = individuals * 10",
        "delete view rows": "DELETE FROM view_states",
        "insert a view row": "INSERT INTO view_sites VALUES ('X', 'x', 'camp', 'IQG09', NULL, 0)",
        "move the views": "UPDATE view_position SET position = 0",
        "read figures": "SELECT count(*) FROM ledger_figures",
        "read the vault": "SELECT ciphertext FROM vault_records",
        "read the digests": "SELECT source_id, personal_digest FROM vault_records",
        "write the vault": "INSERT INTO vault_records (household_id, registry, source_id, key_id, "
                           "nonce, ciphertext, personal_digest, recorded_at) VALUES ('H1', "
                           "'official', 'role-check', 'k', '\\x00', '\\x00', 'd', 'now')",
        "add a key": "INSERT INTO vault_keys (household_id, key_id, wrap_nonce, wrapped_key, "
                     "created_at) VALUES ('role-check', 'role-check', '\\x00', '\\x00', 'now')",
        "read the keys": "SELECT wrapped_key FROM vault_keys",
        "erase keys": "DELETE FROM vault_keys",
        "change the vault": "UPDATE vault_records SET registry = registry",
        "read the access log": "SELECT count(*) FROM vault_access_log",
        "log an access": "INSERT INTO vault_access_log (at, who, action, household_id, purpose) "
                         "VALUES ('now', 'me', 'read', 'H1', 'why')",
        "change the access log": "DELETE FROM vault_access_log",
    }
    may = {
        # The writer seals a household's records with its (wrapped) key and tells a repeated
        # import by the records' digests; it never reads a ciphertext.
        "writer": {"read facts", "read events", "lock the events", "read views", "write the vault",
                   "add a key", "read the keys", "read the digests"},
        "reader": {"read views", "read figures"},
        "auditor": {"read facts", "read events", "read views", "read figures",
                    "read the access log"},
        # Protection finds the household and its erasure in the facts (`people show`).
        "protection": {"read facts", "read events", "read the vault", "read the digests",
                       "read the keys", "erase keys", "read the access log", "log an access"},
        "projector": {"read facts", "read events", "read views", "edit a view", "delete view rows",
                      "insert a view row", "move the views"},
    }
    found = {}
    for kind, login in logins.items():
        with connect_as(pg_settings, login) as conn:
            found[kind] = {name for name, statement in checks.items() if allowed(conn, statement)}
    assert found == may


def test_no_login_changes_a_stored_fact_even_with_the_lock_it_needs(
    deployed: dict[str, Cli], logins: dict[str, str], pg_settings: StoreSettings, tmp_path: Path,
) -> None:
    deployed["owner"].ok("import", write_jsonl(tmp_path / "example.jsonl", EXAMPLE))
    with connect_as(pg_settings, logins["writer"]) as conn:
        for statement in ("UPDATE ledger_events SET originator_version = 99",
                          "DELETE FROM ledger_facts", "TRUNCATE ledger_events",
                          "LOCK TABLE ledger_events IN EXCLUSIVE MODE"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege), conn.transaction():
                conn.execute(statement)


def test_init_by_a_login_that_is_not_the_owner_is_one_line(deployed: dict[str, Cli]) -> None:
    for kind in ("writer", "reader"):
        result = deployed[kind]("init")
        assert result.code == 1
        assert "database owner" in result.stderr
        assert "Traceback" not in result.stderr
