"""``ledger import``: a file of facts in, an honest account out.

Records are validated and recorded in file order (a household registered on line 3 can depart
on line 9), in atomic batches. Every rejected record goes to the rejects file with its line
number and reason, in the input's own format (the same header rows, HXL hashtags and CSV
separator, so it can be corrected and imported again), and the totals add up:
``total == recorded + already_recorded + rejected``.
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

import orjson

from ledger import hxl
from ledger.application import Outcome
from ledger.catalogue import parse_fact
from ledger.cells import guard_xlsx_cell, safe_csv_row
from ledger.errors import LedgerError, StoreError
from ledger.facts import FactInput
from ledger.kobo import KoboMapping
from ledger.outputs import OutputPath, Stage, check_output, remove_stale, staged
from ledger.readers import RawRecord, file_format, layout_of, open_source
from ledger.reported import ReportedReader, site_name_key
from ledger.reported import load_mapping as load_reported_mapping
from ledger.store.failures import failures, store_failure

if TYPE_CHECKING:
    from ledger.workspace import Workspace

ProgressFn = Callable[[int], None]


@dataclass
class ImportReport:
    file: str
    total: int = 0
    recorded: int = 0
    already_recorded: int = 0
    rejected: int = 0
    rejects_file: str | None = None
    first_rejections: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # about the file as a whole (its columns)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class RejectsWriter:
    """Writes rejected records in the input's format, each with its line number and reason.

    The file is written beside its target and renamed into place when the import ends
    (``ledger.outputs``); an import that records no reject removes the rejects file a previous
    run left, and one that fails half-way leaves the previous file as it was.
    """

    def __init__(self, path: Path | OutputPath, source: Path, kobo: KoboMapping | None = None) -> None:
        self.output = path if isinstance(path, OutputPath) else check_output(
            path, "rejects", protected=[source])
        self.path = self.output.target
        self._stage = ExitStack()
        self._staged: Stage | None = None
        self.format = file_format(source)
        self.source = source
        self.kobo = kobo
        self.count = 0
        self._handle: IO[str] | None = None
        self._writer: Any = None
        self._rows: list[list[Any]] = []

    def write(self, record: RawRecord, error: LedgerError) -> None:
        self.count += 1
        if self.format == ".jsonl":
            self._open().write(orjson.dumps({
                "line": record.line, "field": error.field, "error": str(error),
                "record": record.raw,
            }).decode() + "\n")
        elif self.format == ".csv":
            if self._writer is None:
                layout = layout_of(self.source, kobo=self.kobo)
                self._writer = csv.writer(self._open(), delimiter=layout.delimiter)
                self._writer.writerows(self._header_rows())
            self._writer.writerow(safe_csv_row([record.line, str(error), *record.raw]))
        else:
            self._rows.append([record.line, str(error), *record.raw])

    def _header_rows(self) -> list[list[Any]]:
        """The input's header rows, with a title (and an empty hashtag) for line and error."""
        rows = layout_of(self.source, kobo=self.kobo).header_rows
        return [["_line", "_error", *row] if not is_tags else ["", "", *row]
                for row, is_tags in ((list(r), hxl.is_tag_row(list(r))) for r in rows)]

    def _staged_path(self) -> Path:
        if self._staged is None:
            self._staged = self._stage.enter_context(staged(self.output))
        return self._staged.path

    def _open(self) -> IO[str]:
        if self._handle is None:
            # A CSV that came with a UTF-8 byte-order mark (Excel's way to know the file is
            # UTF-8, so Arabic names open right on Windows) gets its rejects with one too.
            # surrogateescape: a row rejected for bytes that are not UTF-8 is kept as it was.
            encoding = "utf-8-sig" if self.format == ".csv" and _has_bom(self.source) else "utf-8"
            self._handle = self._staged_path().open("w", encoding=encoding, newline="",
                                                    errors="surrogateescape")
        return self._handle

    def close(self, *, completed: bool = True) -> None:
        """Publish the rejects (or remove a stale file when there are none); discard them when
        the import did not complete."""
        with self._stage:
            if self._handle is not None:
                self._handle.close()
            if not completed and self._staged is not None:
                self._staged.discard()
            if completed:
                self._save()
        if completed and self.count == 0:
            remove_stale(self.output)

    def _save(self) -> None:
        if self.format == ".xlsx" and self._rows:
            from openpyxl import Workbook  # noqa: PLC0415
            from openpyxl.cell import WriteOnlyCell  # noqa: PLC0415

            workbook = Workbook(write_only=True)
            sheet = workbook.create_sheet("rejects")
            for header in self._header_rows():
                sheet.append(header)
            for row in self._rows:
                sheet.append([guard_xlsx_cell(WriteOnlyCell(sheet, value=v)) for v in row])
            workbook.save(self._staged_path())


def _has_bom(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(3) == b"\xef\xbb\xbf"


def default_rejects_path(source: Path) -> Path:
    return source.with_name(f"{source.stem}.rejects{source.suffix}")


def import_file(
    record_many: Callable[[Iterator[FactInput | LedgerError]], Iterator[Outcome]],
    path: Path,
    *,
    rejects_path: Path | OutputPath | None = None,
    fact_type: str | None = None,
    kobo: KoboMapping | None = None,
    progress: ProgressFn | None = None,
    strict: bool = False,
    records: Iterable[RawRecord] | None = None,
) -> ImportReport:
    """Import one file. A header that cannot give facts raises ``InvalidFactError`` before
    anything is recorded; ``strict`` refuses unknown columns instead of ignoring them.
    ``records`` are the file's records read otherwise (reported figures), its header checked."""
    report = ImportReport(file=str(path))
    source = open_source(path, fact_type=fact_type, kobo=kobo, strict=strict) if records is None else None
    rejects = RejectsWriter(rejects_path or default_rejects_path(path), path, kobo)
    pending: deque[RawRecord] = deque()
    completed = False

    def parsed() -> Iterator[FactInput | LedgerError]:
        for record in source.records if source is not None else records or ():
            pending.append(record)
            if record.error is not None:
                yield record.error
                continue
            try:
                yield parse_fact(record.fields)
            except LedgerError as exc:
                yield exc

    try:
        for outcome in record_many(parsed()):
            record = pending.popleft()
            report.total += 1
            if outcome.status == "recorded":
                report.recorded += 1
            elif outcome.status == "already_recorded":
                report.already_recorded += 1
            else:
                assert outcome.error is not None
                report.rejected += 1
                rejects.write(record, outcome.error)
                if len(report.first_rejections) < 20:
                    report.first_rejections.append(
                        {"line": record.line, "field": outcome.error.field, "error": str(outcome.error)}
                    )
            if progress is not None:
                progress(1)
        completed = True
    except failures() as exc:
        failure = store_failure(exc)
        if failure is None:
            raise
        raise StoreError(f"{failure} ({report.recorded:,} facts of {path.name} were recorded "
                         "before it)") from None
    finally:
        rejects.close(completed=completed)
    report.rejects_file = str(rejects.path) if rejects.count else None
    report.warnings = source.notes.warnings() if source is not None else []
    return report


@dataclass(frozen=True)
class ReportedTable:
    """A file of figures someone published (``import --reported``), not of household facts."""

    source: str
    dataset: str
    as_of: dt.date | None  # for a file with no #date column
    mapping: Path | None  # a hashtag mapping of one's own


@dataclass(frozen=True)
class Imported:
    report: ImportReport
    views_behind: str | None  # why the views are not up to date with what was recorded, if so


def import_into(ws: Workspace, path: Path, *, rejects_path: Path | OutputPath | None = None,
                fact_type: str | None = None, kobo: KoboMapping | None = None,
                strict: bool = False, reported: ReportedTable | None = None,
                progress: ProgressFn | None = None) -> Imported:
    """``ledger import``: the file's facts recorded in a store, then its views brought up to
    date (the facts stay recorded if that fails)."""
    records = None
    if reported is not None:
        ws.catch_up()  # reported places are named as the ledger's sites are
        sites = ws.views.sites()
        known = {site_id: site_id for site_id in sites}
        known.update({site_name_key(info.name): site_id for site_id, info in sites.items()})
        mapping = load_reported_mapping(reported.mapping) if reported.mapping else None
        records = ReportedReader(path, source=reported.source, dataset=reported.dataset,
                                 as_of=reported.as_of, sites=known, mapping=mapping).records()
    report = import_file(ws.record_without_views, path, rejects_path=rejects_path,
                         fact_type=fact_type, kobo=kobo, progress=progress, strict=strict,
                         records=records)
    return Imported(report, ws.catch_up_after_writing())
