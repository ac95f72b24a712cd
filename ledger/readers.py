"""Reading facts from files, streaming: one record at a time, whatever the file's size.

``.jsonl``: one JSON object per line, fields named as in SPEC §2.

``.csv`` / ``.xlsx`` (first sheet) in three shapes, told apart by their first rows:

* *fields*: a header row of field names;
* *HXL*: a row of HXL hashtags (``#meta+id``, ``#affected+ind`` ...), usually under a header row
  of titles; columns are read by hashtag (:mod:`ledger.hxl`), titles are only for people;
* *KoboToolbox*: a form export (a ``_uuid`` column), read through a mapping (:mod:`ledger.kobo`).

One fact type per file (given by the caller or the Kobo mapping) or a ``type`` column. Empty
cells are absent fields. A list field (``from_site_ids``, ``destination_pcodes``) is written with
``;`` (or ``|``) between items. CSV files may be separated by commas, semicolons (Kobo's default)
or tabs. Columns ``_line`` and ``_error`` (those a rejects file adds) are ignored, so a corrected
rejects file can be imported again as it is.

Odd records are rejected one by one, never abort the file: a CSV row that is not valid UTF-8 or
cannot be parsed, a JSON line that is not an object, has a ``type`` that is not text or gives a
key twice. A cell may be up to ``CELL_LIMIT`` characters long (then the fact's own limits
reject it, and the rejects file keeps it whole). A file that cannot be read at all (a header that
is not UTF-8, an ``.xlsx`` that is not a workbook) is one message before anything is recorded.
A UTF-8 byte order mark at the start of any file is skipped.
"""

from __future__ import annotations

import csv
import json
import zipfile
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson

from ledger import hxl
from ledger.catalogue import CATALOGUE
from ledger.cells import unescape_spreadsheet_text
from ledger.columns import ColumnPlan, Notes, looks_personal, plan_columns
from ledger.errors import InvalidFactError
from ledger.facts import shown
from ledger.kobo import KoboMapping, KoboTable

FORMATS = (".jsonl", ".csv", ".xlsx")
CELL_LIMIT = 64 * 1024 * 1024  # csv's default (131,072) would abort the file at one long cell
BOM = b"\xef\xbb\xbf"
REJECT_COLUMNS = ("_line", "_error")
Shape = Literal["jsonl", "fields", "hxl", "kobo"]


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One input record: where it came from, and its fields (or why it could not be read)."""

    line: int
    fields: dict[str, Any]
    raw: Any  # the record as it was in the file (a text line, or a row of cells)
    error: InvalidFactError | None = None


@dataclass(frozen=True, slots=True)
class Layout:
    """How a file is laid out: its shape, and the rows above its data (kept for rejects)."""

    shape: Shape
    header_rows: tuple[tuple[Any, ...], ...] = ()
    delimiter: str = ","


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A row of a CSV file that could not be read: why, and what of it could be read."""

    error: InvalidFactError
    raw: list[Any]

    def record(self, line: int) -> RawRecord:
        return RawRecord(line, {}, self.raw, self.error)


def file_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InvalidFactError(
            f"{path.name}: unsupported file type '{suffix}'; expected one of {', '.join(FORMATS)}"
        )
    return suffix


@dataclass(frozen=True, slots=True)
class Source:
    """A file opened for import: its header already checked, its records still to be read."""

    records: Iterator[RawRecord]
    notes: Notes


def read_records(path: Path, *, fact_type: str | None = None,
                 kobo: KoboMapping | None = None) -> Iterator[RawRecord]:
    return open_source(path, fact_type=fact_type, kobo=kobo).records


def open_source(path: Path, *, fact_type: str | None = None, kobo: KoboMapping | None = None,
                strict: bool = False) -> Source:
    """Check the file's header once (raising one ``InvalidFactError`` for a file that cannot give
    facts, before any record is read), then stream its records."""
    notes = Notes()
    fmt = file_format(path)
    if fmt == ".jsonl":
        return Source(_read_jsonl(path, fact_type, notes, strict), notes)
    layout = layout_of(path, kobo=kobo)
    first_line = len(layout.header_rows) + 1
    if layout.shape == "kobo":
        assert kobo is not None
        table = KoboTable(kobo, [_title(h) for h in layout.header_rows[0]], _repeat_sheets(path))
        for index, name in enumerate(table.header):
            if index not in table.columns.values() and looks_personal(name):
                notes.add_personal(name)
        blank = frozenset(i for i, n in enumerate(table.header) if n in notes.personal)
        return Source(_read_kobo(_body(path, layout), table, blank, first_line), notes)
    if layout.shape == "hxl":
        names = layout.header_rows[0] if len(layout.header_rows) > 1 else ()
        plan = plan_columns(path.name, list(names), list(layout.header_rows[-1]), fact_type,
                            strict=strict)
    else:
        plan = plan_columns(path.name, list(layout.header_rows[0]), None, fact_type, strict=strict)
    return Source(_read_table(_body(path, layout), plan, fact_type, first_line), plan.notes)


def _title(cell: Any) -> str:
    return str(cell).strip() if cell is not None else ""


def _body(path: Path, layout: Layout) -> Iterator[list[Any] | Unreadable]:
    rows = _rows(path, layout)
    for _ in layout.header_rows:
        next(rows, None)
    return rows


def layout_of(path: Path, *, kobo: KoboMapping | None = None) -> Layout:
    """Tell the shape of a tabular file from its first two rows.

    A KoboToolbox export is told first: Kobo puts an HXL row under the header when the form has
    HXL tags, and that row is then one more header row of the export, not the file's shape.
    """
    delimiter = _delimiter(path) if file_format(path) == ".csv" else ","
    rows = _rows(path, Layout("fields", delimiter=delimiter))
    head = [next(rows, []), next(rows, [])]
    rows.close()
    if isinstance(head[0], Unreadable):
        raise InvalidFactError(f"{path.name}: the first row cannot be read ({head[0].error}); "
                               "save the file as CSV UTF-8")
    first, second = tuple(head[0]), tuple(head[1] if isinstance(head[1], list) else [])
    names = {_title(c) for c in first}
    second_is_tags = hxl.is_tag_row(list(second))
    if kobo is not None:
        return Layout("kobo", (first, second) if second_is_tags else (first,), delimiter)
    if "_uuid" in names:
        raise InvalidFactError(
            f"{path.name} looks like a KoboToolbox export (it has a _uuid column): import it with "
            "--kobo-form registration|departure, or --kobo-mapping PATH for your own form")
    if hxl.is_tag_row(list(first)):
        return Layout("hxl", (first,), delimiter)
    if second_is_tags:
        return Layout("hxl", (first, second), delimiter)
    return Layout("fields", (first,), delimiter)


def _delimiter(path: Path) -> str:
    with path.open(newline="", encoding="utf-8-sig", errors="surrogateescape") as handle:
        sample = handle.readline()
    counts = {d: sample.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _rows(path: Path, layout: Layout) -> Generator[list[Any] | Unreadable, None, None]:
    if file_format(path) == ".csv":
        # surrogateescape: a byte that is not UTF-8 is kept (and written back to the rejects
        # file as it was) and the row holding it is rejected, not the file.
        with path.open(newline="", encoding="utf-8-sig", errors="surrogateescape") as handle:
            for row in _csv_rows(handle, layout.delimiter):
                yield row if isinstance(row, Unreadable) else [unescape_spreadsheet_text(c) for c in row]
    else:
        yield from _xlsx_rows(path)


def _csv_rows(handle: Iterator[str], delimiter: str) -> Iterator[list[Any] | Unreadable]:
    csv.field_size_limit(CELL_LIMIT)
    reader = csv.reader(handle, delimiter=delimiter)
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Unreadable(InvalidFactError(f"cannot be read as CSV: {exc}"), [])
            continue
        try:
            "".join(row).encode("utf-8")
        except UnicodeEncodeError as exc:
            byte = exc.object[exc.start].encode("utf-8", "surrogateescape")
            yield Unreadable(InvalidFactError(
                f"not valid UTF-8 text (byte 0x{byte.hex().upper()}); save the file as CSV UTF-8"), row)
            continue
        yield row


def _read_jsonl(path: Path, fact_type: str | None, notes: Notes,
                strict: bool) -> Iterator[RawRecord]:
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if number == 1:
                line = line.removeprefix(BOM)  # noqa: PLW2901 - the mark is not part of the record
            if not line.strip():
                continue
            try:
                text = line.decode("utf-8").rstrip("\r\n")
            except UnicodeDecodeError as exc:
                yield RawRecord(number, {}, line.decode("utf-8", errors="replace").rstrip("\r\n"),
                                InvalidFactError(f"not valid UTF-8 text (byte 0x{line[exc.start]:02X}); "
                                                 "save the file as UTF-8"))
                continue
            try:
                data = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                yield RawRecord(number, {}, text, InvalidFactError(f"not valid JSON: {exc}"))
                continue
            if not isinstance(data, dict):
                yield RawRecord(number, {}, text,
                                InvalidFactError("expected a JSON object with the fact's fields"))
                continue
            twice = _duplicate_key(line, data)
            if twice is not None:
                yield RawRecord(number, {}, text, InvalidFactError(
                    f"the JSON object gives field {shown(twice)} more than once; give each "
                    "field once", field=twice if len(twice) < 64 else None))
                continue
            if fact_type and "type" not in data:
                data["type"] = fact_type
            dropped = _drop_personal(data, notes)
            if dropped:
                text = orjson.dumps(data).decode()  # the rejects file never sees the values
            error = InvalidFactError(
                f"key(s) {', '.join(dropped)} look like personal data and are not fields of this "
                "fact type; --strict refuses them (they were not kept)", field=dropped[0],
            ) if dropped and strict else None
            yield RawRecord(number, data, text, error)


def _duplicate_key(line: bytes, data: dict[str, Any]) -> str | None:
    """A key the JSON object gives twice (orjson silently keeps the last one), or None."""
    if line.count(b":") <= len(data):
        # Every key in the text is followed by a colon: with no more colons than distinct keys,
        # no key was given twice (the usual case, and a count is cheap; parsing again is not).
        return None
    found: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in items]
        if len(set(keys)) < len(keys) and not found:
            found.append(next(k for k in keys if keys.count(k) > 1))
        return dict(items)

    json.loads(line, object_pairs_hook=pairs)
    return found[0] if found else None


def _drop_personal(data: dict[str, Any], notes: Notes) -> list[str]:
    """Remove the keys that are not fields of the record's type and look personal."""
    entry = CATALOGUE.get(data.get("type"))
    dropped = [key for key in data
               if (entry is None or key not in entry.names) and looks_personal(key)]
    for key in dropped:
        del data[key]
        notes.add_personal(key)
    return dropped


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if hasattr(value, "isoformat") and hasattr(value, "hour") and not any(
        (value.hour, value.minute, value.second)
    ):
        return value.date().isoformat()  # spreadsheets store dates as midnight datetimes
    return value


def _list_value(name: str, cell: Any) -> Any:
    if name in CATALOGUE.list_fields and isinstance(cell, str):
        return [item.strip() for item in cell.replace("|", ";").split(";") if item.strip()]
    return cell


def _no_type() -> InvalidFactError:
    return InvalidFactError("no fact type: the file has no `type` column (HXL: #meta+type) and "
                            "no --type was given; expected one of them", field="type")


def _data_rows(rows: Iterator[list[Any] | Unreadable],
               first_line: int) -> Iterator[tuple[int, list[Any] | Unreadable]]:
    for number, row in enumerate(rows, start=first_line):
        if isinstance(row, Unreadable) or any(_cell(v) is not None for v in row):
            yield number, row


def _read_table(rows: Iterator[list[Any] | Unreadable], plan: ColumnPlan, fact_type: str | None,
                first_line: int) -> Iterator[RawRecord]:
    """Rows of a field-named or HXL-tagged file, read through the checked header."""
    for number, row in _data_rows(rows, first_line):
        if isinstance(row, Unreadable):
            yield row.record(number)
            continue
        row_type = _cell(row[plan.type_column]) if plan.type_column is not None \
            and plan.type_column < len(row) else None
        row_type = row_type or fact_type
        entry = CATALOGUE.get(row_type)
        fields: dict[str, Any] = {}
        error: InvalidFactError | None = None
        raw = list(row)
        for index, (candidates, value) in enumerate(zip(plan.candidates, row, strict=False)):
            cell = _cell(value)
            if index in plan.personal and (entry is None or not set(candidates)
                                           & entry.names):
                if index < len(raw):
                    raw[index] = None  # personal data is never kept, not even in rejects
                continue
            if not candidates or cell is None:
                continue
            name = hxl.field_for(candidates, row_type)
            if name in fields:
                error = InvalidFactError(
                    f"two columns give field '{name}' (column {index + 1}); expected one column "
                    "per field", field=name)
            fields[name] = _list_value(name, cell)
        if row_type and "type" not in fields:
            fields["type"] = row_type
        if "type" not in fields:
            error = _no_type()
        yield RawRecord(number, fields, raw, error)


NOT_AVAILABLE = "n/a"  # what legacy Kobo exports write in every empty cell, repeat slots included


def _kobo_cell(value: Any) -> Any:
    cell = _cell(value)
    return None if isinstance(cell, str) and cell.lower() == NOT_AVAILABLE else cell


def _read_kobo(rows: Iterator[list[Any] | Unreadable], table: KoboTable, blank: frozenset[int],
               first_line: int) -> Iterator[RawRecord]:
    for number, row in _data_rows(rows, first_line):
        if isinstance(row, Unreadable):
            yield row.record(number)
            continue
        cells = [_kobo_cell(v) for v in row]
        fields = {k: _list_value(k, v) for k, v in table.fields(cells).items()}
        raw = [None if i in blank else v for i, v in enumerate(row)]
        yield RawRecord(number, fields, raw)


def _xlsx_rows(path: Path, sheet_index: int = 0) -> Iterator[list[Any]]:
    workbook = _open_workbook(path)
    try:
        sheet = workbook.worksheets[sheet_index]
        for row in sheet.iter_rows(values_only=True):
            yield list(row)
    finally:
        workbook.close()


def _open_workbook(path: Path) -> Any:
    from openpyxl import load_workbook  # noqa: PLC0415  (only xlsx imports pay for openpyxl)
    from openpyxl.utils.exceptions import InvalidFileException  # noqa: PLC0415

    try:
        return load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, EOFError) as exc:
        raise InvalidFactError(f"{path.name} cannot be read as an Excel workbook (.xlsx): "
                               f"{shown(str(exc))}; save it again from Excel, or as CSV UTF-8"
                               ) from None


def _repeat_sheets(path: Path) -> dict[str, list[dict[str, Any]]]:
    """An XLSX Kobo export's repeat groups: every sheet after the first, as rows of dicts."""
    if file_format(path) != ".xlsx":
        return {}
    workbook = _open_workbook(path)
    try:
        sheets: dict[str, list[dict[str, Any]]] = {}
        for sheet in workbook.worksheets[1:]:
            rows = sheet.iter_rows(values_only=True)
            header = [str(h) for h in next(rows, ())]
            children = [list(row) for row in rows]
            if children and hxl.is_tag_row(children[0]):
                children = children[1:]  # the repeat sheet's own HXL row
            sheets[sheet.title] = [dict(zip(header, [_kobo_cell(v) for v in row], strict=False))
                                   for row in children]
        return sheets
    finally:
        workbook.close()


def header_rows_of(path: Path, *, kobo: KoboMapping | None = None) -> tuple[tuple[Any, ...], ...]:
    """The rows above the data of a tabular file (for writing rejects in the same shape)."""
    return layout_of(path, kobo=kobo).header_rows



def table_rows(path: Path, layout: Layout,
               first_line: int) -> Iterator[tuple[int, list[Any] | Unreadable]]:
    """The data rows of a tabular file under its header rows, numbered as in the file."""
    rows = _rows(path, layout)
    for _ in layout.header_rows:
        next(rows, None)
    yield from _data_rows(rows, first_line)
