"""Reading facts from files, streaming: one record at a time, whatever the file's size.

``.jsonl``: one JSON object per line, fields named as in SPEC §2.
``.csv`` / ``.xlsx``: a header row of field names; a ``type`` column, or one fact type for the
whole file given by the caller. Empty cells are absent fields. A list field
(``from_site_ids``, ``destination_pcodes``) is written with ``;`` (or ``|``) between items.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ledger.errors import InvalidFactError
from ledger.facts import LIST_FIELDS

FORMATS = (".jsonl", ".csv", ".xlsx")


@dataclass(frozen=True, slots=True)
class RawRecord:
    """One input record: where it came from, and its fields (or why it could not be read)."""

    line: int
    fields: dict[str, Any]
    raw: Any  # the record as it was in the file (a text line, or a row of cells)
    error: InvalidFactError | None = None


def file_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise InvalidFactError(
            f"{path.name}: unsupported file type '{suffix}'; expected one of {', '.join(FORMATS)}"
        )
    return suffix


def read_records(path: Path, *, fact_type: str | None = None) -> Iterator[RawRecord]:
    fmt = file_format(path)
    if fmt == ".jsonl":
        yield from _read_jsonl(path, fact_type)
    elif fmt == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as handle:
            yield from _read_rows(csv.reader(handle), fact_type)
    else:
        yield from _read_rows(_xlsx_rows(path), fact_type)


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


def _read_rows(rows: Iterator[list[Any]], fact_type: str | None) -> Iterator[RawRecord]:
    header: list[str] | None = None
    for number, row in enumerate(rows, start=1):
        if header is None:
            header = [str(h).strip() if h is not None else "" for h in row]
            continue
        if not any(_cell(v) is not None for v in row):
            continue
        fields: dict[str, Any] = {}
        for name, value in zip(header, row, strict=False):
            cell = _cell(value)
            if not name or cell is None:
                continue
            if name in LIST_FIELDS and isinstance(cell, str):
                cell = [item.strip() for item in cell.replace("|", ";").split(";") if item.strip()]
            fields[name] = cell
        if fact_type and "type" not in fields:
            fields["type"] = fact_type
        yield RawRecord(number, fields, list(row))


def _xlsx_rows(path: Path) -> Iterator[list[Any]]:
    from openpyxl import load_workbook  # noqa: PLC0415  (only xlsx imports pay for openpyxl)

    workbook = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        for row in sheet.iter_rows(values_only=True):
            yield list(row)
    finally:
        workbook.close()


def header_of(path: Path) -> list[str]:
    """The header row of a tabular file (for writing rejects in the same shape)."""
    if file_format(path) == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as handle:
            return next(csv.reader(handle), [])
    return [str(h) if h is not None else "" for h in next(_xlsx_rows(path), [])]


def csv_line(values: list[Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(values)
    return buffer.getvalue()
