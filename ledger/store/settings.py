"""Where the ledger lives: one setting, ``LEDGER_DATABASE_URL``, read once at the edge.

* unset: ``sqlite:///ledger.db`` in the working directory (the embedded store);
* ``sqlite:///relative/path.db`` or ``sqlite:////absolute/path.db``;
* ``postgresql://user:password@host:port/dbname`` with an optional ``?schema=NAME`` (default
  ``public``; the schema is created by ``ledger init`` when missing).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlparse

from ledger.errors import StoreError

DEFAULT_URL = "sqlite:///ledger.db"
APPLICATION_NAME = "ledger"
# The fact index beside the library's events table, and the function that takes the events
# table's lock (ledger.store.recorders); named here so that a module naming them (the schema,
# read by every command) need not load the library's recorders.
FACTS_TABLE = "ledger_facts"
LOCK_FUNCTION = "ledger_lock_events"
SCHEMA_PATTERN = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
# PostgreSQL's system schemas, and its reserved key words (which the library writes unquoted).
SYSTEM_SCHEMAS = frozenset({"information_schema"})
_RESERVED_TEXT = """
    all analyse analyze and any array as asc asymmetric authorization binary both case cast check
    collate collation column concurrently constraint create cross current_catalog current_date
    current_role current_schema current_time current_timestamp current_user default deferrable
    desc distinct do else end except false fetch for foreign freeze from full grant group having
    ilike in initially inner intersect into is isnull join lateral leading left like limit
    localtime localtimestamp natural not notnull null offset on only or order outer overlaps
    placing primary references returning right select session_user similar some symmetric
    system_user table tablesample then to trailing true union unique user using variadic verbose
    when where window with"""
RESERVED_WORDS = frozenset(_RESERVED_TEXT.split())


def schema_problem(schema: str) -> str | None:
    """Why a PostgreSQL schema name cannot hold a ledger, or None."""
    if not SCHEMA_PATTERN.match(schema):
        return "expected lower-case letters, digits and _ (at most 63), not starting with a digit"
    if schema.startswith("pg_") or schema in SYSTEM_SCHEMAS:
        return "it is one of PostgreSQL's system schemas (pg_..., information_schema)"
    if schema in RESERVED_WORDS:
        return "it is a reserved word of SQL"
    return None


@dataclass(frozen=True)
class StoreSettings:
    url: str
    kind: str  # "sqlite" or "postgres"
    sqlite_path: Path | None = None
    host: str = "127.0.0.1"
    port: int = 5432
    user: str = ""
    password: str = ""
    dbname: str = ""
    schema: str = "public"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> StoreSettings:
        env = os.environ if env is None else env
        return cls.from_url(env.get("LEDGER_DATABASE_URL") or DEFAULT_URL)

    @classmethod
    def from_url(cls, url: str) -> StoreSettings:
        parsed = urlparse(url)
        if parsed.scheme == "sqlite":
            path = url[len("sqlite:///"):] if url.startswith("sqlite:///") else ""
            if not path:
                raise StoreError(
                    f"LEDGER_DATABASE_URL {url!r}: expected sqlite:///path/to/ledger.db"
                )
            return cls(url=url, kind="sqlite", sqlite_path=Path(path))
        if parsed.scheme in {"postgresql", "postgres", "postgresql+psycopg"}:
            schema = parse_qs(parsed.query).get("schema", ["public"])[0]
            problem = schema_problem(schema)
            if problem:
                raise StoreError(f"LEDGER_DATABASE_URL: schema {schema!r} cannot hold a ledger: "
                                 f"{problem}; choose another, e.g. ?schema=ledger")
            dbname = parsed.path.lstrip("/")
            if not dbname:
                raise StoreError(
                    f"LEDGER_DATABASE_URL {url!r}: expected postgresql://user:password@host:port/dbname"
                )
            return cls(
                url=url,
                kind="postgres",
                host=parsed.hostname or "127.0.0.1",
                port=parsed.port or 5432,
                user=unquote(parsed.username or os.environ.get("USER", "postgres")),
                password=unquote(parsed.password or ""),
                dbname=dbname,
                schema=schema,
            )
        raise StoreError(
            f"LEDGER_DATABASE_URL {url!r}: expected sqlite:///path or postgresql://user@host/db"
        )

    def sqlite_read_only(self) -> str | None:
        """How a SQLite store must be opened when it cannot be written; None when it can be
        (or does not exist yet).

        ``"ro"`` when only the file is read-only, or when the folder is too but the WAL's
        ``-wal`` and ``-shm`` files are there (a writer elsewhere has facts not yet copied into
        the main file: a read-only connection reads them through those files);
        ``"immutable"`` when the folder or file system is read-only and there is no WAL, so the
        main file holds everything and SQLite must not try to create ``-shm`` beside it."""
        path = self.sqlite_path
        if self.kind != "sqlite" or path is None or not path.exists():
            return None
        folder = path.resolve().parent
        if os.statvfs(folder).f_flag & os.ST_RDONLY or not os.access(folder, os.W_OK):
            wal = [path.with_name(path.name + suffix).exists() for suffix in ("-wal", "-shm")]
            return "ro" if all(wal) else "immutable"
        return None if os.access(path, os.W_OK) else "ro"

    def sqlite_target(self) -> str:
        """What to open: the file's path, or a read-only URI (``sqlite3.connect(..., uri=True)``)."""
        assert self.sqlite_path is not None
        mode = self.sqlite_read_only()
        if mode is None:
            return str(self.sqlite_path)
        flags = "mode=ro&immutable=1" if mode == "immutable" else "mode=ro"
        return f"file:{quote(str(self.sqlite_path.resolve()))}?{flags}"

    def eventsourcing_env(self) -> dict[str, str]:
        """The library's settings for this store (with our recorders, which chain every fact)."""
        if self.kind == "sqlite":
            assert self.sqlite_path is not None
            return {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": self.sqlite_target(),
                "SQLITE_LOCK_TIMEOUT": "30",
                "APPLICATION_RECORDER_TOPIC": "ledger.store.recorders:LedgerSQLiteRecorder",
                "CREATE_TABLE": "n",
            }
        return {
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": self.dbname,
            "POSTGRES_HOST": self.host,
            "POSTGRES_PORT": str(self.port),
            "POSTGRES_USER": self.user,
            "POSTGRES_PASSWORD": self.password,
            "POSTGRES_SCHEMA": self.schema,
            "POSTGRES_POOL_SIZE": "2",
            "POSTGRES_MAX_OVERFLOW": "4",
            "POSTGRES_LOCK_TIMEOUT": "30",
            # A bulk import holds its transaction open while Python prepares the next batch.
            "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "60",
            "APPLICATION_RECORDER_TOPIC": "ledger.store.recorders:LedgerPostgresRecorder",
            "CREATE_TABLE": "n",
        }

    def describe(self) -> str:
        """For messages: the store without its password."""
        if self.kind == "sqlite":
            return f"SQLite file {self.sqlite_path}"
        return f"PostgreSQL {self.user}@{self.host}:{self.port}/{self.dbname} schema {self.schema}"
