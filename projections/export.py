"""Exports: views, reconciliation bridges and audit trails as CSV (with an HXL tag row) or XLSX.

An export is a few tables plus what they are about (rulebooks with their parameters, as-of date,
known-at time, the ledger digest at export time). XLSX: one sheet per table, each with a header
row and an HXL hashtag row, and an ``about`` sheet. CSV: one file per table (the first at the
path asked for, the others beside it as ``NAME.TABLE.csv``), each with the header and HXL rows;
the rulebooks, as-of date and known-at time are columns of every row, so a CSV stands alone.

Places are tagged by what they are, so HXL tools can join an export to other data: by
governorate ``#adm1+code``, by district ``#adm2+code`` (with its governorate beside it), the
country ``#country+code``; a cell (a camp, or the p-code of people out of camp or returned)
``#loc+code`` with its district (``#adm2+code``) and governorate (``#adm1+code``) beside it.
Household ids are identifiers (``#meta+id+household``), never counts. Every export passes
libhxl's ``hxlvalidate`` with the core schema.

Spreadsheet hygiene (``docs/formats.md``, "Exports"): XLSX cells hold real dates and times
(times in UTC), numbers as numbers, columns sized to fit, the header frozen and an autofilter on
the hashtag row; ``hxl=False`` leaves the hashtag row out. Text that a spreadsheet would run as
a formula (starting with ``=``, ``+``, ``-`` or ``@``) is written as text: with a leading ``'``
in CSV, as a string cell with Excel's quote prefix in XLSX.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ledger.cells import FORMULA_STARTS, guard_xlsx_cell, spreadsheet_text
from ledger.errors import NotFoundError
from ledger.hxl import tag_of_field
from ledger.pcodes import NATIONAL, adm1_of, adm2_of, name_of
from ledger.store.db import Database
from ledger.store.reading import FactRecord, chain_head, facts_of_households
from projections.bridge import REASON_NAMES, Bridge, Level, SiteInfo, place_at
from projections.fold import IDP_IN_CAMP, HouseholdState, timeline
from projections.places import check_places
from projections.public import public_bridge, public_bridge_export, public_view, public_view_export
from projections.queries import ViewResult, now, reconcile, show, totals
from projections.rulebooks import Rulebook
from projections.views import Views

if TYPE_CHECKING:
    from projections.compare import ComparisonAnswer

FORMATS = ("csv", "xlsx")

# The place columns of a table at each level: (column, hashtag).
PLACE_COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "cell": (("place", "#loc+code"), ("place_name", "#loc+name"), ("adm2", "#adm2+code"),
             ("adm2_name", "#adm2+name"), ("adm1", "#adm1+code"), ("adm1_name", "#adm1+name")),
    "adm2": (("place", "#adm2+code"), ("place_name", "#adm2+name"), ("adm1", "#adm1+code"),
             ("adm1_name", "#adm1+name")),
    "adm1": (("place", "#adm1+code"), ("place_name", "#adm1+name")),
    "national": (("place", "#country+code"), ("place_name", "#country+name")),
}


def place_columns(level: Level) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(columns, hashtags) of the place of a row at ``level``."""
    pairs = PLACE_COLUMNS[level]
    return tuple(c for c, _ in pairs), tuple(t for _, t in pairs)


def place_values(status: str, place: str | None, level: Level, sites: Mapping[str, SiteInfo],
                 book: Rulebook | None = None) -> tuple[str, ...]:
    """The values of :func:`place_columns` for one row.

    At cell level a camp's district is where the camp lies, and its governorate follows
    ``book``'s site attribution (so summing the rows by ``adm1`` gives the ``--by adm1``
    figures); without a book (a bridge between two rulebooks) it is where the camp lies. At
    district level the governorate is the district's own.
    """
    name = place_name(place, sites)
    if place is None or level in ("adm1", "national"):
        return (place or "", name) + (("", "") * (len(PLACE_COLUMNS[level]) // 2 - 1))
    if level == "adm2":
        return (place, name, adm1_of(place), name_of(adm1_of(place)))
    site = sites.get(place) if status == IDP_IN_CAMP else None
    if status == IDP_IN_CAMP and site is None:
        return (place, name, "", "", "", "")
    pcode = site.location_pcode if site else place
    governorate = adm1_of(pcode)
    if site is not None and book is not None:
        governorate = place_at(HouseholdState(status=IDP_IN_CAMP, place=place),
                               book, "adm1", sites) or governorate
    district = adm2_of(pcode)
    return (place, name, district, name_of(district), governorate, name_of(governorate))


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
        head = chain_head(cur)
    return head.digest if head is not None else None


def place_name(place: str | None, sites: Mapping[str, SiteInfo]) -> str:
    if place is None:
        return ""
    if place in sites:
        return sites[place].name
    return "Iraq" if place == NATIONAL else name_of(place)


def _moment(value: dt.datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else ""


def _seconds(value: dt.datetime | None) -> dt.datetime | None:
    """A moment to the second: a spreadsheet cell shows what the CSV says."""
    return value.replace(microsecond=0) if value else None


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
    head = (result.rulebook, result.as_of, _seconds(result.known_at))
    places, place_tags = place_columns(result.level)
    columns = ("rulebook", "as_of", "known_at", "status", *places, "households", "individuals")
    table = Table(
        "view", columns,
        [(*head, r.status, *place_values(r.status, r.place, result.level, sites, book),
          r.households, r.individuals) for r in result.rows],
        (*(tag_of_field(c) for c in columns[:4]), *place_tags, "#affected+hh", "#affected+ind"),
    )
    return Export(f"{result.rulebook} view by {result.level}", [table],
                  about_rows([book], result.as_of, result.known_at, digest, result.level,
                             {book.name: result.version}))


def bridge_export(bridge: Bridge, sites: Mapping[str, SiteInfo], books: Sequence[Rulebook],
                  digest: str | None, versions: Mapping[str, int] | None = None) -> Export:
    used = [r for r in REASON_NAMES if any(r in row.reasons for row in bridge.rows)]
    head = (bridge.left, bridge.right, bridge.as_of, _seconds(bridge.known_at))
    figures = ("left", "right", "delta")
    places, place_tags = place_columns(bridge.level)
    columns = ("left_rulebook", "right_rulebook", "as_of", "known_at", "status", *places,
               *(f"{side}_{unit}" for side in figures for unit in ("households", "individuals")),
               *(f"{reason}_{unit}" for reason in used for unit in ("households", "individuals")))
    tags = (*(tag_of_field(c) for c in columns[:5]), *place_tags,
            *(f"#affected+{unit}+{side}" for side in figures for unit in ("hh", "ind")),
            *(f"#affected+{unit}+{reason}" for reason in used for unit in ("hh", "ind")))
    rows = []
    for r in bridge.rows:
        values: list[Any] = [*head, r.status, *place_values(r.status, r.place, bridge.level, sites)]
        for fig in (r.left, r.right, r.delta):
            values += [fig.households, fig.individuals]
        for reason in used:
            part = r.reasons.get(reason)
            values += [part.households if part else 0, part.individuals if part else 0]
        rows.append(tuple(values))
    reasons = Table("reasons", ("status", *places, "reason", "households", "individuals"),
                    [(r.status, *place_values(r.status, r.place, bridge.level, sites), reason,
                      fig.households, fig.individuals)
                     for r in bridge.rows for reason, fig in r.reasons.items()],
                    ("#status", *place_tags, "#meta+reason", "#affected+hh", "#affected+ind"))
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
        (household_id or f.subject_id, f.position, _seconds(f.recorded_at), f.effective_on,
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
            status_rows.append((book.name, interval.valid_from, interval.valid_to,
                                state.status,
                                *place_values(state.status, state.place, "cell", sites, book),
                                state.individuals))
    places, place_tags = place_columns("cell")
    status = Table("status", ("rulebook", "valid_from", "valid_to", "status", *places,
                              "individuals"), status_rows,
                   ("#meta+rulebook", "#date+start", "#date+end", "#status", *place_tags,
                    "#affected+ind"))
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
    places, place_tags = place_columns("cell")
    households = Table("households", ("rulebook", "as_of", "status", *places, "household_id",
                                      "individuals"),
                       [(book.name, as_of, status, *place_values(status, place, "cell", sites, book),
                         h, n) for h, n in counted],
                       ("#meta+rulebook", "#date+asof", "#status", *place_tags,
                        tag_of_field("household_id"), "#affected+ind"))
    rows = [row for h, _ in counted for row in facts_table("facts", facts[h], known_at, h).rows]
    return Export(f"{book.name} {status} at {place}",
                  [households, Table("facts", facts_table("facts", [], None).columns, rows,
                                     facts_table("facts", [], None).tags)],
                  about_rows([book], as_of, known_at, digest))


def _csv_path(path: Path, index: int, table: Table) -> Path:
    return path if index == 0 else path.with_name(f"{path.stem}.{table.name}{path.suffix}")


def csv_value(value: Any) -> Any:
    """A value as a CSV cell: dates and times in ISO 8601, text safe from formula injection."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return spreadsheet_text(value)
    return value


def write_csv(export: Export, path: Path, hxl: bool = True) -> list[Path]:
    written = []
    for index, table in enumerate(export.tables):
        target = _csv_path(path, index, table)
        with target.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(table.columns)
            if hxl:
                writer.writerow(table.hashtags())
            writer.writerows([csv_value(v) for v in row] for row in table.rows)
        written.append(target)
    return written


DATE_FORMAT = "yyyy-mm-dd"
TIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
MAX_WIDTH = 60


def _excel_value(value: Any) -> Any:
    """Excel has no time zones: a moment is written as its UTC wall time."""
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.UTC).replace(tzinfo=None)
    return None if value == "" else value


def _width(value: Any) -> int:
    if isinstance(value, dt.datetime):
        return len(TIME_FORMAT)
    if isinstance(value, dt.date):
        return len(DATE_FORMAT)
    return max((len(line) for line in str(value).splitlines()), default=0)


def _fill_sheet(sheet: Any, header: Sequence[Any], tags: Sequence[str] | None,
                rows: Sequence[Sequence[Any]]) -> None:
    """Header (bold, frozen), hashtag row (the autofilter's row), typed cells, fitting widths."""
    from openpyxl.styles import Font  # noqa: PLC0415
    from openpyxl.utils import get_column_letter  # noqa: PLC0415

    bold = Font(bold=True)
    widths = [len(str(h)) for h in header]
    sheet.append(list(header))
    for cell in sheet[1]:
        cell.font = bold
    if tags is not None:
        sheet.append(list(tags))
        widths = [max(w, len(t)) for w, t in zip(widths, tags, strict=True)]
    for row in rows:
        sheet.append([_excel_value(v) for v in row])
        number = sheet.max_row
        for column, value in enumerate(row, start=1):
            widths[column - 1] = max(widths[column - 1], _width(value))
            if isinstance(value, dt.datetime | dt.date):
                sheet.cell(number, column).number_format = (
                    TIME_FORMAT if isinstance(value, dt.datetime) else DATE_FORMAT)
            elif isinstance(value, str) and value.startswith(FORMULA_STARTS):
                guard_xlsx_cell(sheet.cell(number, column))
    for column, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(column)].width = min(width + 2, MAX_WIDTH)
    first_data = 3 if tags is not None else 2
    sheet.freeze_panes = f"A{first_data}"
    last = get_column_letter(max(len(header), 1))
    sheet.auto_filter.ref = f"A{first_data - 1}:{last}{max(sheet.max_row, first_data - 1)}"


def write_xlsx(export: Export, path: Path, hxl: bool = True) -> list[Path]:
    from openpyxl import Workbook  # noqa: PLC0415  (only xlsx exports pay for openpyxl)

    workbook = Workbook()
    workbook.remove(workbook.active)
    for table in export.tables:
        _fill_sheet(workbook.create_sheet(table.name[:31]), table.columns,
                    table.hashtags() if hxl else None, table.rows)
    _fill_sheet(workbook.create_sheet("about"), ("key", "value"),
                ("#meta+key", "#meta+value") if hxl else None,
                [("title", export.title), *export.about])
    workbook.save(path)
    return [path]


def write_export(export: Export, path: Path, fmt: str, hxl: bool = True) -> list[Path]:
    """Write ``export``; ``hxl=False`` leaves the HXL hashtag row out (for tools that want one
    header row, such as ``pandas.read_excel`` without ``skiprows=[1]``)."""
    return write_xlsx(export, path, hxl) if fmt == "xlsx" else write_csv(export, path, hxl)


# ---- the export commands' answers ---------------------------------------------------------
def view_export_answer(views: Views, rulebook: str, *, as_of: dt.date | None,
                       known_at: dt.datetime | None, level: Level,
                       public: int | None) -> Export:
    """``export view``: one rulebook's figures (``public``: the threshold, safe to publish)."""
    result = show(views, rulebook, as_of=as_of, known_at=known_at, level=level)
    book = views.references.versions().get(result.rulebook, result.version).book
    sites = views.sites()
    export = view_export(result, sites, book, ledger_digest(views.db))
    if public is not None:
        export = public_view_export(public_view(result, book, sites, public),
                                    lambda p: place_name(p, sites), export.about)
    return export


def bridge_export_answer(views: Views, left: str, right: str, *, as_of: dt.date | None,
                         known_at: dt.datetime | None, level: Level,
                         public: int | None) -> Export:
    """``export reconcile``: the bridge (``public``: the threshold, one row per figure)."""
    bridge = reconcile(views, left, right, as_of=as_of, known_at=known_at, level=level)
    versions = views.references.versions()
    used = [versions.at(name, bridge.known_at) for name in (left, right)]
    sites = views.sites()
    export = bridge_export(bridge, sites, [v.book for v in used],
                           ledger_digest(views.db), {v.name: v.version for v in used})
    if public is not None:
        export = public_bridge_export(public_bridge(bridge, used[0].book, used[1].book, sites,
                                                    public),
                                      lambda p: place_name(p, sites), export.about)
    return export


def household_export_answer(views: Views, household_id: str,
                            known_at: dt.datetime | None) -> Export:
    """``export audit household``: every fact of a household and its status over time."""
    books = list(views.rulebooks().values())
    export = household_export(views.db, household_id, books, views.sites(), known_at,
                              ledger_digest(views.db))
    if not export.tables[0].rows:
        raise NotFoundError(f"unknown household {household_id!r}: no fact is recorded about it")
    return export


def count_export_answer(views: Views, rulebook: str, status: str, place: str,
                        as_of: dt.date | None, known_at: dt.datetime | None) -> Export:
    """``export audit count``: the households behind one figure, with their facts."""
    day, moment = as_of or now().date(), known_at or now()
    sites = views.sites()
    check_places([place], sites)
    book = views.rulebook(rulebook)
    counted = [(h, s.individuals) for h, s in
               views.households_in(book.name, day, moment, status, [place])]
    return count_export(views.db, book, status, place, day, moment, counted, sites,
                        ledger_digest(views.db))


def compare_export(answer: ComparisonAnswer) -> Export:
    """``export compare``: one row per compared figure, each reason of the bridge two columns."""
    result, document = answer.comparison, answer.document
    reasons = list(dict.fromkeys(p["reason"] for r in document["rows"] for p in r["explained"]))
    units = ("households", "individuals")
    columns = ("rulebook", "source", "dataset", "as_of", "status", "place", "place_name", "level",
               "reported_as_of",
               *(f"{part}_{unit}" for part in ("reported", "ledger", "difference") for unit in units),
               *(f"{reason}_{unit}" for reason in reasons for unit in units),
               "remainder", "remainder_households", "remainder_individuals",
               "coverage_households", "coverage_individuals")
    tags = ("#meta+rulebook", "#org+source", "#meta+dataset", "#date+asof", "#status", "#loc+code",
            "#loc+name", "#meta+level", "#date+reported",
            *(f"#affected+{u}+{part}" for part in ("reported", "ledger", "difference")
              for u in ("hh", "ind")),
            *(f"#affected+{u}+{reason}" for reason in reasons for u in ("hh", "ind")),
            "#meta+remainder", "#affected+hh+remainder", "#affected+ind+remainder",
            "#indicator+coverage+hh", "#indicator+coverage+ind")
    rows = []
    for row in document["rows"]:
        parts = {p["reason"]: p for p in row["explained"]}
        values: list[Any] = [result.rulebook, result.source, result.dataset or "", result.as_of.isoformat(),
                             row["status"], row["place"], row["place_name"], row["level"],
                             row["reported_as_of"].isoformat()]
        for part in ("reported", "ledger", "difference"):
            values += [row[part]["households"], row[part]["individuals"]]
        for reason in reasons:
            part = parts.get(reason, {"households": 0, "individuals": 0})
            values += [part["households"], part["individuals"]]
        values += [row["remainder"]["label"] or "", row["remainder"]["households"],
                   row["remainder"]["individuals"], row["coverage"]["households"],
                   row["coverage"]["individuals"]]
        rows.append(tuple(values))
    about = about_rows(answer.books, result.as_of, result.known_at, answer.digest, result.level)
    about.append(("reported", f"{result.source}:{result.dataset}" if result.dataset else result.source))
    return Export(f"{result.source} vs {result.rulebook} by {result.level}",
                  [Table("compare", columns, rows, tags)], about)
