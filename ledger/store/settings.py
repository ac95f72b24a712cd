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
from urllib.parse import parse_qs, unquote, urlparse

from ledger.errors import StoreError

DEFAULT_URL = "sqlite:///ledger.db"
APPLICATION_NAME = "ledger"
SCHEMA_PATTERN = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


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
            if not SCHEMA_PATTERN.match(schema):
                raise StoreError(f"schema {schema!r}: expected lower-case letters, digits and _")
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

    def eventsourcing_env(self) -> dict[str, str]:
        """The library's settings for this store (with our recorders, which chain every fact)."""
        if self.kind == "sqlite":
            assert self.sqlite_path is not None
            return {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": str(self.sqlite_path),
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
