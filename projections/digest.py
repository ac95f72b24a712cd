"""A cheap digest of the view tables, kept with the projector's position.

The digest is a handful of integer sums per view table (row count, sums of signature numbers
weighted by other columns, day numbers of the valid times, seconds of the recorded times...),
computed by SQL the same way on both engines. The projector keeps it up to date incrementally:
each batch adds what the rows it writes contribute and subtracts what the rows it deletes
contributed (both measured by the same SQL, so the two can never drift apart), and a rebuild
measures its new tables whole before swapping them in. Plain ``ledger verify`` measures the
tables whole (one scan each) and compares: an edit made behind the projector's back (a row
deleted or inserted, a signature's individuals multiplied, a date moved) changes at least one
sum. It is tamper *evidence* for most edits, not proof: an edit that keeps every sum (say, two
households' signatures swapped) is found only by ``ledger verify --views``, which recomputes
every row from the log.

One of the view-table modules, which alone hold the view tables' SQL (docs/sql.md, "Where the
SQL lives"); table names as ``psycopg.sql.Identifier``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import orjson
from psycopg.sql import SQL, Identifier

from ledger.store.db import Cursor, Database

META_KEY = "digest"
Sums = list[int]


def _day(db: Database, column: str) -> str:
    if db.is_postgres:
        return f"({column} - DATE '2000-01-01')"
    return f"CAST(julianday({column}) - 2451544.5 AS INTEGER)"


def _seconds(db: Database, column: str) -> str:
    if db.is_postgres:
        return f"floor(extract(epoch FROM {column}))::bigint"
    return f"CAST(strftime('%s', {column}) AS INTEGER)"


def _expressions(db: Database, table: str) -> list[str]:
    """The summed expressions of one view table (its base name, without a rebuild suffix)."""
    d, s = _day, _seconds
    times = [d(db, "valid_from"), d(db, "valid_to"), s(db, "recorded_from"), s(db, "recorded_to")]
    if table == "view_states":
        return ["1", "sig", "sig * length(household_id)", "sig * length(rulebook)", *times]
    if table == "view_pairs":
        return ["1", "left_sig", "right_sig", "(left_sig + 2 * right_sig) * length(household_id)",
                "length(left_rulebook) + 3 * length(right_rulebook)", *times]
    if table == "view_signatures":
        return ["1", "sig * individuals", "individuals", "sig * coalesce(members, -1)",
                "sig * flags", "sig * length(status)", "sig * length(coalesce(place, ''))",
                "sig * length(coalesce(cause, ''))"]
    if table == "view_sites":
        return ["1", "closed", "length(site_id) * length(name)",
                "length(kind) + 2 * length(location_pcode) + 3 * length(coalesce(authority_adm1, ''))"]
    raise ValueError(table)


DIGESTED = ("view_states", "view_pairs", "view_signatures", "view_sites")


def measure(cur: Cursor, db: Database, table: str, *, suffix: str = "",
            where: str = "", params: Sequence[object] = ()) -> Sums:
    """The sums of ``table`` (rows matching ``where``, a fixed condition with its values in
    ``params``; or all of them)."""
    columns = ", ".join(f"coalesce(sum({e}), 0)" for e in _expressions(db, table))
    query = SQL("SELECT {columns} FROM {table}").format(columns=SQL(columns),
                                                        table=Identifier(table + suffix))
    if where:
        query = SQL("{query} WHERE {where}").format(query=query, where=SQL(where))
    row = cur.execute(query, params).fetchone()
    return [int(v) for v in row] if row else [0] * len(_expressions(db, table))


def measure_all(cur: Cursor, db: Database, *, suffix: str = "") -> dict[str, Sums]:
    return {table: measure(cur, db, table, suffix=suffix) for table in DIGESTED}


def add(total: Sums, part: Sums, sign: int = 1) -> Sums:
    return [a + sign * b for a, b in zip(total, part, strict=True)]


def load(cur: Cursor) -> tuple[int, dict[str, Sums]] | None:
    """The stored digest: (the position it was taken at, the sums by table); None if never kept."""
    row = cur.execute("SELECT value FROM view_meta WHERE key = %s", (META_KEY,)).fetchone()
    if row is None:
        return None
    document = orjson.loads(row[0])
    return int(document["position"]), {k: [int(v) for v in s] for k, s in document["tables"].items()}


def save(cur: Cursor, position: int, tables: Mapping[str, Sums]) -> None:
    cur.execute("DELETE FROM view_meta WHERE key = %s", (META_KEY,))
    cur.execute("INSERT INTO view_meta VALUES (%s, %s)",
                (META_KEY, orjson.dumps({"position": position, "tables": dict(tables)}).decode()))


def differing_tables(cur: Cursor, db: Database) -> tuple[int | None, list[str]]:
    """(the digest's position, the view tables whose sums no longer match it)."""
    stored = load(cur)
    if stored is None:
        return None, []
    position, tables = stored
    now = measure_all(cur, db)
    return position, [t for t in DIGESTED if tables.get(t) != now[t]]
