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
"""

from __future__ import annotations

import csv
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson

from ledger import hxl
from ledger.cells import unescape_spreadsheet_text
from ledger.errors import InvalidFactError
from ledger.facts import LIST_FIELDS
from ledger.kobo import KoboMapping, KoboTable

FORMATS = (".jsonl", ".csv", ".xlsx")
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


def file_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InvalidFactError(
            f"{path.name}: unsupported file type '{suffix}'; expected one of {', '.join(FORMATS)}"
        )
    return suffix


def read_records(path: Path, *, fact_type: str | None = None,
                 kobo: KoboMapping | None = None) -> Iterator[RawRecord]:
    fmt = file_format(path)
    if fmt == ".jsonl":
        yield from _read_jsonl(path, fact_type)
        return
    layout = layout_of(path, kobo=kobo)
    rows = _rows(path, layout)
    for _ in layout.header_rows:
        next(rows, None)
    first_line = len(layout.header_rows) + 1
    if layout.shape == "kobo":
        assert kobo is not None
        table = KoboTable(kobo, [str(h) for h in layout.header_rows[0]], _repeat_sheets(path))
        yield from _read_kobo(rows, table, first_line)
    elif layout.shape == "hxl":
        yield from _read_hxl(rows, list(layout.header_rows[-1]), fact_type, first_line)
    else:
        header = [str(h).strip() if h is not None else "" for h in layout.header_rows[0]]
        yield from _read_named(rows, header, fact_type, first_line)


def layout_of(path: Path, *, kobo: KoboMapping | None = None) -> Layout:
    """Tell the shape of a tabular file from its first two rows."""
    delimiter = _delimiter(path) if file_format(path) == ".csv" else ","
    rows = _rows(path, Layout("fields", delimiter=delimiter))
    first = tuple(next(rows, []))
    second = tuple(next(rows, []))
    rows.close()
    if hxl.is_tag_row(list(first)):
        return Layout("hxl", (first,), delimiter)
    if hxl.is_tag_row(list(second)):
        return Layout("hxl", (first, second), delimiter)
    names = {str(c).strip() for c in first if c is not None}
    if kobo is not None:
        return Layout("kobo", (first,), delimiter)
    if "_uuid" in names:
        raise InvalidFactError(
            f"{path.name} looks like a KoboToolbox export (it has a _uuid column): import it with "
            "--kobo-form registration|departure, or --kobo-mapping PATH for your own form")
    return Layout("fields", (first,), delimiter)


def _delimiter(path: Path) -> str:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        sample = handle.readline()
    counts = {d: sample.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def _rows(path: Path, layout: Layout) -> Generator[list[Any], None, None]:
    if file_format(path) == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as handle:
            for row in csv.reader(handle, delimiter=layout.delimiter):
                yield [unescape_spreadsheet_text(cell) for cell in row]
    else:
        yield from _xlsx_rows(path)


def _read_jsonl(path: Path, fact_type: str | None) -> Iterator[RawRecord]:
    with path.open("rb") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            text = line.decode("utf-8", errors="replace").rstrip("\r\n")
            try:
                data = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                yield RawRecord(number, {}, text, InvalidFactError(f"not valid JSON: {exc}"))
                continue
            if not isinstance(data, dict):
                yield RawRecord(number, {}, text,
                                InvalidFactError("expected a JSON object with the fact's fields"))
                continue
            if fact_type and "type" not in data:
                data["type"] = fact_type
            yield RawRecord(number, data, text)


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
    if name in LIST_FIELDS and isinstance(cell, str):
        return [item.strip() for item in cell.replace("|", ";").split(";") if item.strip()]
    return cell


def _no_type() -> InvalidFactError:
    return InvalidFactError("no fact type: the file has no `type` column (HXL: #meta+type) and "
                            "no --type was given; expected one of them", field="type")


def _data_rows(rows: Iterator[list[Any]], first_line: int) -> Iterator[tuple[int, list[Any]]]:
    for number, row in enumerate(rows, start=first_line):
        if any(_cell(v) is not None for v in row):
            yield number, row


def _read_named(rows: Iterator[list[Any]], header: list[str], fact_type: str | None,
                first_line: int) -> Iterator[RawRecord]:
    for number, row in _data_rows(rows, first_line):
        fields: dict[str, Any] = {}
        for name, value in zip(header, row, strict=False):
            cell = _cell(value)
            if not name or cell is None or name in REJECT_COLUMNS:
                continue
            fields[name] = _list_value(name, cell)
        if fact_type and "type" not in fields:
            fields["type"] = fact_type
        yield RawRecord(number, fields, list(row), None if "type" in fields else _no_type())


def _read_hxl(rows: Iterator[list[Any]], tags: list[Any], fact_type: str | None,
              first_line: int) -> Iterator[RawRecord]:
    columns = [hxl.candidates(str(t)) if t is not None else () for t in tags]
    type_column = next((i for i, c in enumerate(columns) if c == ("type",)), None)
    for number, row in _data_rows(rows, first_line):
        row_type = _cell(row[type_column]) if type_column is not None and type_column < len(row) \
            else None
        row_type = row_type or fact_type
        fields: dict[str, Any] = {}
        error: InvalidFactError | None = None
        for index, (candidates, value) in enumerate(zip(columns, row, strict=False)):
            cell = _cell(value)
            if not candidates or cell is None:
                continue
            name = hxl.field_for(candidates, row_type)
            if name in fields:
                error = InvalidFactError(
                    f"two columns give field '{name}' (hashtag {tags[index]!s} in column "
                    f"{index + 1}); expected one column per field", field=name)
            fields[name] = _list_value(name, cell)
        if row_type and "type" not in fields:
            fields["type"] = row_type
        if "type" not in fields:
            error = _no_type()
        yield RawRecord(number, fields, list(row), error)


def _read_kobo(rows: Iterator[list[Any]], table: KoboTable, first_line: int) -> Iterator[RawRecord]:
    for number, row in _data_rows(rows, first_line):
        fields = {k: _list_value(k, v) for k, v in table.fields([_cell(v) for v in row]).items()}
        yield RawRecord(number, fields, list(row))


def _xlsx_rows(path: Path, sheet_index: int = 0) -> Iterator[list[Any]]:
    from openpyxl import load_workbook  # noqa: PLC0415  (only xlsx imports pay for openpyxl)

    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[sheet_index]
        for row in sheet.iter_rows(values_only=True):
            yield list(row)
    finally:
        workbook.close()


def _repeat_sheets(path: Path) -> dict[str, list[dict[str, Any]]]:
    """An XLSX Kobo export's repeat groups: every sheet after the first, as rows of dicts."""
    if file_format(path) != ".xlsx":
        return {}
    from openpyxl import load_workbook  # noqa: PLC0415

    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        sheets: dict[str, list[dict[str, Any]]] = {}
        for sheet in workbook.worksheets[1:]:
            rows = sheet.iter_rows(values_only=True)
            header = [str(h) for h in next(rows, ())]
            sheets[sheet.title] = [dict(zip(header, row, strict=False)) for row in rows]
        return sheets
    finally:
        workbook.close()


def header_rows_of(path: Path, *, kobo: KoboMapping | None = None) -> tuple[tuple[Any, ...], ...]:
    """The rows above the data of a tabular file (for writing rejects in the same shape)."""
    return layout_of(path, kobo=kobo).header_rows

