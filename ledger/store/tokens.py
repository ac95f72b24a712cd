"""API tokens of the HTTP service (``ledger tokens``, ``ledger serve``): only their hashes are stored.

A token is shown once, when it is created; the table keeps its SHA-256, the organisation it
speaks for, its role and, for a recorder, the registry it may write. Revoking sets
``revoked_at``; a revoked token is never valid again. The table is not part of the ledger's
immutable record (it is access control), so revocation is an UPDATE.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass

from psycopg.sql import SQL, Identifier

from ledger.errors import InvalidFactError, NotFoundError, StoreError
from ledger.store.db import Database
from ledger.store.schema import WRITER_ROLE

TOKENS_TABLE = "ledger_tokens"
ROLES = ("recorder", "reader", "auditor", "admin")
REGISTRIES = ("official", "operational")
PREFIX = "mlt_"


@dataclass(frozen=True)
class TokenRecord:
    token_id: str
    org: str
    role: str
    registry: str | None
    created_at: str
    revoked_at: str | None

    def as_dict(self) -> dict[str, str | None]:
        return {"token_id": self.token_id, "org": self.org, "role": self.role,
                "registry": self.registry, "created_at": self.created_at,
                "revoked_at": self.revoked_at}


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_tokens_table(db: Database) -> None:
    """(``ledger init``) the tokens table; on PostgreSQL the writer role may read it."""
    with db.transaction() as cur:
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {TOKENS_TABLE} (token_hash TEXT PRIMARY KEY, "
            "token_id TEXT NOT NULL UNIQUE, org TEXT NOT NULL, role TEXT NOT NULL, registry TEXT, "
            "created_at TEXT NOT NULL, revoked_at TEXT)"
        )
    if db.is_postgres:
        with db.transaction() as cur:
            # The roles exist once `ledger init --roles` made them (docs/deployment.md).
            row = cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (WRITER_ROLE,)).fetchone()
            if row is not None:
                cur.raw.execute(SQL("GRANT SELECT ON {}.{} TO {}").format(
                    Identifier(db.settings.schema), Identifier(TOKENS_TABLE),
                    Identifier(WRITER_ROLE)))


def require_tokens_table(db: Database) -> None:
    """A store initialised before the service existed has no tokens table: say what to run."""
    if not db.table_exists(TOKENS_TABLE):
        raise StoreError(f"the store ({db.settings.describe()}) has no API tokens table yet: run "
                         "`ledger init` again (it keeps everything and adds it)")


def issue_token(db: Database, org: str, role: str, registry: str | None) -> tuple[str, TokenRecord]:
    """A new random token (returned once, in clear) and its stored record."""
    require_tokens_table(db)
    org = org.strip()
    if not org:
        raise InvalidFactError("--org must name an organisation", field="org")
    if role not in ROLES:
        raise InvalidFactError(f"role {role!r}; expected one of {', '.join(ROLES)}", field="role")
    if registry is not None and registry not in REGISTRIES:
        raise InvalidFactError(f"registry {registry!r}; expected one of {', '.join(REGISTRIES)}",
                               field="registry")
    if registry is not None and role != "recorder":
        raise InvalidFactError("--registry scopes a recorder token; other roles cannot write "
                               "registrations at all", field="registry")
    token = PREFIX + secrets.token_urlsafe(32)
    digest = token_hash(token)
    record = TokenRecord(token_id=digest[:12], org=org, role=role, registry=registry,
                         created_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
                         revoked_at=None)
    with db.transaction() as cur:
        cur.execute(f"INSERT INTO {TOKENS_TABLE} (token_hash, token_id, org, role, registry, "
                    "created_at) VALUES (%s, %s, %s, %s, %s, %s)",
                    (digest, record.token_id, org, role, registry, record.created_at))
    return token, record


_COLUMNS = "token_id, org, role, registry, created_at, revoked_at"


def find_token(db: Database, token: str) -> TokenRecord | None:
    """The live (not revoked) record of a token given in clear, or None."""
    with db.cursor() as cur:
        row = cur.execute(f"SELECT {_COLUMNS} FROM {TOKENS_TABLE} WHERE token_hash = %s "
                          "AND revoked_at IS NULL", (token_hash(token),)).fetchone()
    return None if row is None else TokenRecord(*row)


def list_tokens(db: Database) -> list[TokenRecord]:
    require_tokens_table(db)
    with db.cursor() as cur:
        rows = cur.execute(f"SELECT {_COLUMNS} FROM {TOKENS_TABLE} ORDER BY created_at, token_id"
                           ).fetchall()
    return [TokenRecord(*row) for row in rows]


def revoke_token(db: Database, token_id: str) -> TokenRecord:
    """Revoke by id (as `tokens list` shows it); revoking twice keeps the first time."""
    require_tokens_table(db)
    moment = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    with db.transaction() as cur:
        cur.execute(f"UPDATE {TOKENS_TABLE} SET revoked_at = %s WHERE token_id = %s "
                    "AND revoked_at IS NULL", (moment, token_id))
        row = cur.execute(f"SELECT {_COLUMNS} FROM {TOKENS_TABLE} WHERE token_id = %s",
                          (token_id,)).fetchone()
    if row is None:
        raise NotFoundError(f"unknown token id {token_id!r}; `ledger tokens list` shows them")
    return TokenRecord(*row)
