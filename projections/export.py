"""Exports: views, reconciliation bridges and audit trails as CSV (with an HXL tag row) or XLSX.

An export is a few tables plus what they are about (rulebooks with their parameters, as-of date,
known-at time, the ledger digest at export time). XLSX: one sheet per table, each with a header
row and an HXL hashtag row, and an ``about`` sheet. CSV: one file per table (the first at the
path asked for, the others beside it as ``NAME.TABLE.csv``), each with the header and HXL rows;
the rulebooks, as-of date and known-at time are columns of every row, so a CSV stands alone.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ledger.hxl import tag_of_field
from ledger.pcodes import NATIONAL, name_of
from ledger.store.db import Database
from projections.bridge import REASON_NAMES, Bridge, SiteInfo
from projections.fold import timeline
from projections.queries import ViewResult, totals
from projections.records import FactRecord
from projections.rulebooks import Rulebook
from projections.stored import facts_of_households

FORMATS = ("csv", "xlsx")


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    tags: tuple[str, ...] = ()

    def hashtags(self) -> tuple[str, ...]:
        return self.tags or tuple(tag_of_field(c) for c in self.columns)


@dataclass(frozen=True)
class Export:
    title: str
    tables: list[Table]
    about: list[tuple[str, Any]] = field(default_factory=list)


def ledger_digest(db: Database) -> str | None:
    """The chain hash of the ledger's last fact: one value that pins everything recorded so far."""
    with db.cursor() as cur:
        row = cur.execute(
            "SELECT chain_hash FROM ledger_facts ORDER BY notification_id DESC LIMIT 1"
        ).fetchone()
    return str(row[0]) if row and row[0] is not None else None


def place_name(place: str | None, sites: Mapping[str, SiteInfo]) -> str:
    if place is None:
        return ""
    if place in sites:
        return sites[place].name
    return "Iraq" if place == NATIONAL else name_of(place)


def _moment(value: dt.datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else ""


def about_rows(books: Sequence[Rulebook], as_of: dt.date, known_at: dt.datetime | None,
               digest: str | None, level: str | None = None,
               versions: Mapping[str, int] | None = None) -> list[tuple[str, Any]]:
    """What an export is about; ``versions`` adds each rulebook's version counted with."""
    rows: list[tuple[str, Any]] = [
        ("as_of", as_of.isoformat()),
        ("known_at", _moment(known_at)),
        ("ledger_digest", digest or "(empty ledger)"),
        ("exported_at", _moment(dt.datetime.now(dt.UTC))),
    ]
    if level:
        rows.append(("by", level))
    for book in books:
        parameters = ", ".join(f"{k}={v}" for k, v in book.as_dict().items()
                               if k not in ("name", "description"))
        rows.append((f"rulebook {book.name}", f"{book.description} ({parameters})"))
        if versions is not None and book.name in versions:
            rows.append((f"rulebook {book.name} version", versions[book.name]))
    return rows


def view_export(result: ViewResult, sites: Mapping[str, SiteInfo], book: Rulebook,
                digest: str | None) -> Export:
    head = (result.rulebook, result.as_of.isoformat(), _moment(result.known_at))
    table = Table(
        "view",
        ("rulebook", "as_of", "known_at", "status", "place", "place_name", "households",
         "individuals"),
        [(*head, r.status, r.place, place_name(r.place, sites), r.households, r.individuals)
         for r in result.rows],
    )
    return Export(f"{result.rulebook} view by {result.level}", [table],
                  about_rows([book], result.as_of, result.known_at, digest, result.level,
                             {book.name: result.version}))


def bridge_export(bridge: Bridge, sites: Mapping[str, SiteInfo], books: Sequence[Rulebook],
                  digest: str | None, versions: Mapping[str, int] | None = None) -> Export:
    used = [r for r in REASON_NAMES if any(r in row.reasons for row in bridge.rows)]
    head = (bridge.left, bridge.right, bridge.as_of.isoformat(), _moment(bridge.known_at))
    figures = ("left", "right", "delta")
    columns = ("left_rulebook", "right_rulebook", "as_of", "known_at", "status", "place",
               "place_name",
               *(f"{side}_{unit}" for side in figures for unit in ("households", "individuals")),
               *(f"{reason}_{unit}" for reason in used for unit in ("households", "individuals")))
    tags = (*(tag_of_field(c) for c in columns[:7]),
            *(f"#affected+{unit}+{side}" for side in figures for unit in ("hh", "ind")),
            *(f"#affected+{unit}+{reason}" for reason in used for unit in ("hh", "ind")))
    rows = []
    for r in bridge.rows:
        values: list[Any] = [*head, r.status, r.place, place_name(r.place, sites)]
        for fig in (r.left, r.right, r.delta):
            values += [fig.households, fig.individuals]
        for reason in used:
            part = r.reasons.get(reason)
            values += [part.households if part else 0, part.individuals if part else 0]
        rows.append(tuple(values))
    reasons = Table("reasons", ("status", "place", "place_name", "reason", "households",
                                "individuals"),
                    [(r.status, r.place, place_name(r.place, sites), reason, fig.households,
                      fig.individuals) for r in bridge.rows for reason, fig in r.reasons.items()])
    left, right, total_reasons = totals(bridge.rows)
    summary = Table("totals", ("reason", "households", "individuals"),
                    [(bridge.left, left.households, left.individuals),
                     # Each reason's contribution, left − right, as on every other surface:
                     # the left figure minus them all is the right one.
                     *((reason, fig.households, fig.individuals)
                       for reason, fig in total_reasons.items()),
                     (bridge.right, right.households, right.individuals)],
                    ("#meta+reason", "#affected+hh", "#affected+ind"))
    return Export(f"{bridge.left} vs {bridge.right} by {bridge.level}",
                  [Table("bridge", columns, rows, tags), reasons, summary],
                  about_rows(books, bridge.as_of, bridge.known_at, digest, bridge.level,
                             versions))


def _details(fact: FactRecord) -> str:
    return json.dumps({k: v.isoformat() if isinstance(v, dt.date) else v
                       for k, v in sorted(fact.data.items()) if v is not None}, ensure_ascii=False)


def facts_table(name: str, facts: Sequence[FactRecord], known_at: dt.datetime | None,
                household_id: str | None = None) -> Table:
    voided = {f.data["voided_source_id"]: f.source_id for f in facts if f.type == "fact_voided"
              and (known_at is None or f.recorded_at <= known_at)}
    columns = ("household_id", "position", "recorded_at", "effective_on", "type", "source_id",
               "recorded_by", "source_document", "voided", "details")
    return Table(name, columns, [
        (household_id or f.subject_id, f.position, _moment(f.recorded_at), f.effective_on.isoformat(),
         f.type, f.source_id, f.recorded_by or "", f.source_document or "",
         voided.get(f.source_id, ""), _details(f))
        for f in sorted(facts, key=lambda f: (f.effective_on, f.position))
    ], tuple(tag_of_field(c) if c != "type" else "#meta+type" for c in columns))


def household_export(db: Database, household_id: str, books: Sequence[Rulebook],
                     sites: Mapping[str, SiteInfo], known_at: dt.datetime | None,
                     digest: str | None) -> Export:
    """A household's history: every fact with both times, and its status under each rulebook."""
    with db.cursor() as cur:
        facts = facts_of_households(cur, db, [household_id])[household_id]
    status_rows = []
    for book in books:
        for interval in timeline(facts, book, known_at):
            state = interval.state
            status_rows.append((book.name, interval.valid_from.isoformat(),
                                interval.valid_to.isoformat() if interval.valid_to else "",
                                state.status, state.place or "", place_name(state.place, sites),
                                state.individuals))
    status = Table("status", ("rulebook", "valid_from", "valid_to", "status", "place",
                              "place_name", "individuals"), status_rows)
    as_of = dt.datetime.now(dt.UTC).date()
    return Export(f"household {household_id}",
                  [facts_table("facts", facts, known_at, household_id), status],
                  [("household_id", household_id),
                   *about_rows(books, as_of, known_at, digest)])


def count_export(db: Database, book: Rulebook, status: str, place: str, as_of: dt.date,
                 known_at: dt.datetime, counted: Sequence[tuple[str, int]],
                 sites: Mapping[str, SiteInfo], digest: str | None) -> Export:
    """Count lineage: the households behind one figure, and the facts that put each there."""
    with db.cursor() as cur:
        facts = facts_of_households(cur, db, [h for h, _ in counted])
    households = Table("households", ("rulebook", "as_of", "status", "place", "place_name",
                                      "household_id", "individuals"),
                       [(book.name, as_of.isoformat(), status, place, place_name(place, sites),
                         h, n) for h, n in counted])
    rows = [row for h, _ in counted for row in facts_table("facts", facts[h], known_at, h).rows]
    return Export(f"{book.name} {status} at {place}",
                  [households, Table("facts", facts_table("facts", [], None).columns, rows,
                                     facts_table("facts", [], None).tags)],
                  about_rows([book], as_of, known_at, digest))


def _csv_path(path: Path, index: int, table: Table) -> Path:
    return path if index == 0 else path.with_name(f"{path.stem}.{table.name}{path.suffix}")


def write_csv(export: Export, path: Path) -> list[Path]:
    written = []
    for index, table in enumerate(export.tables):
        target = _csv_path(path, index, table)
        with target.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(table.columns)
            writer.writerow(table.hashtags())
            writer.writerows(table.rows)
        written.append(target)
    return written


def write_xlsx(export: Export, path: Path) -> list[Path]:
    from openpyxl import Workbook  # noqa: PLC0415  (only xlsx exports pay for openpyxl)
    from openpyxl.styles import Font  # noqa: PLC0415

    workbook = Workbook()
    workbook.remove(workbook.active)
    bold = Font(bold=True)
    for table in export.tables:
        sheet = workbook.create_sheet(table.name[:31])
        sheet.append(list(table.columns))
        sheet.append(list(table.hashtags()))
        for cell in sheet[1]:
            cell.font = bold
        for row in table.rows:
            sheet.append(list(row))
        sheet.freeze_panes = "A3"
    about = workbook.create_sheet("about")
    about.append(["key", "value"])
    about.append(["#meta+key", "#meta+value"])
    about.append(["title", export.title])
    for key, value in export.about:
        about.append([key, value])
    workbook.save(path)
    return [path]


def write_export(export: Export, path: Path, fmt: str) -> list[Path]:
    return write_xlsx(export, path) if fmt == "xlsx" else write_csv(export, path)
