"""Reading published figures (DTM, MoMD, CCCM camp lists) into ``figure_reported`` facts.

``ledger import FILE --reported SOURCE --dataset NAME [--as-of D]`` reads an HXL-tagged CSV or
XLSX through the mapping ``ledger/data/reported/hxl.toml`` (editable: ``--reported-mapping``).
Each row gives one figure per status its count columns carry. The file's header is checked
once, before anything is recorded: no hashtag row, no count column or no place column is one
message. Each row's ``source_id`` is derived from its content (source, dataset, place, status,
as-of and values), so importing the same file again records nothing new, and a corrected file
is refused until the old figure is voided.
"""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from ledger import hxl
from ledger.errors import InvalidFactError
from ledger.pcodes import NATIONAL, admin_units, check_pcode, name_of
from ledger.readers import RawRecord, Unreadable, layout_of, table_rows

DTM_PCODE = re.compile(r"^IR?Q-?G(\d{2})((?:Q\d{2})(?:N\d{2})?)?$")
PLACE_KINDS = ("site", "site_name", "adm3", "adm2", "adm1", "country")


@dataclass(frozen=True)
class ReportedMapping:
    place: dict[str, tuple[hxl.Hashtag, ...]]
    total_names: frozenset[str]
    dates: tuple[hxl.Hashtag, ...]
    counts: dict[str, tuple[hxl.Hashtag, ...]]
    statuses: dict[str, str]


def _tags(values: list[str]) -> tuple[hxl.Hashtag, ...]:
    tags = []
    for text in values:
        tag = hxl.parse_hashtag(text)
        if tag is None:
            raise InvalidFactError(f"reported-figures mapping: {text!r} is not an HXL hashtag")
        tags.append(tag)
    return tuple(tags)


def load_mapping(path: Path | None = None) -> ReportedMapping:
    if path is None:
        text = resources.files("ledger.data").joinpath("reported/hxl.toml").read_text("utf-8")
    else:
        text = path.read_text("utf-8")
    try:
        data = tomllib.loads(text)
        place = data["place"]
        return ReportedMapping(
            place={kind: _tags(place.get(kind, [])) for kind in PLACE_KINDS},
            total_names=frozenset(n.casefold() for n in place.get("total_names", [])),
            dates=_tags(data["date"]["as_of"]),
            counts={measure: _tags(data["counts"][measure]) for measure in ("households", "individuals")},
            statuses=dict(data.get("status", {})),
        )
    except (tomllib.TOMLDecodeError, KeyError, TypeError) as exc:
        raise InvalidFactError(f"reported-figures mapping {path or 'hxl.toml'}: {exc}") from None


def _best(tag: hxl.Hashtag, entries: Mapping[str, tuple[hxl.Hashtag, ...]]) -> tuple[str, int] | None:
    best: tuple[str, int] | None = None
    for name, candidates in entries.items():
        for entry in candidates:
            if entry.tag == tag.tag and entry.attributes <= tag.attributes and (
                    best is None or len(entry.attributes) > best[1]):
                best = (name, len(entry.attributes))
    return best


@dataclass(frozen=True)
class Column:
    index: int
    role: str  # a place kind, "as_of", or "count"
    measure: str | None = None
    status: str | None = None


def columns_of(tags: list[Any], mapping: ReportedMapping) -> list[Column]:
    columns = []
    for index, cell in enumerate(tags):
        tag = hxl.parse_hashtag(str(cell)) if cell is not None else None
        if tag is None:
            continue
        counted = _best(tag, mapping.counts)
        if counted is not None and not tag.attributes & {"id", "code"}:
            statuses = [mapping.statuses[a] for a in sorted(tag.attributes) if a in mapping.statuses]
            columns.append(Column(index, "count", counted[0], statuses[0] if statuses else "idp"))
            continue
        placed = _best(tag, mapping.place)
        dated = _best(tag, {"as_of": mapping.dates})
        if placed is not None and (dated is None or placed[1] >= dated[1]):
            columns.append(Column(index, placed[0]))
        elif dated is not None:
            columns.append(Column(index, "as_of"))
    return columns


def normalise_pcode(text: str) -> str:
    """An OCHA p-code from OCHA's or DTM's spelling; raises with the closest known code."""
    code = text.strip().upper()
    match = DTM_PCODE.match(code)
    if match:
        code = f"IQG{match.group(1)}{match.group(2) or ''}"
    problem = check_pcode(code, min_level=1)
    if problem is None:
        return code
    known = list(admin_units())
    close = difflib.get_close_matches(code, known, n=1, cutoff=0.5)
    hint = f"; the closest known p-code is {close[0]} ({name_of(close[0])})" if close else ""
    raise InvalidFactError(f"p-code {text!r}: {problem}{hint}", field="place")


def _as_of(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y", "%Y/%m/%d"):
        try:
            return dt.datetime.strptime(text[:10], pattern).date().isoformat()
        except ValueError:
            continue
    raise InvalidFactError(f"{text!r} is not a date; expected YYYY-MM-DD", field="as_of")


def _count(value: Any, measure: str) -> int:
    if isinstance(value, bool):
        raise InvalidFactError(f"{value!r} is not a count", field=measure)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    text = str(value).strip().replace(",", "").replace("\u066c", "")
    if text.isdigit():
        return int(text)
    raise InvalidFactError(f"{value!r} is not a whole number of {measure}", field=measure)


def site_name_key(name: str) -> str:
    """A camp's name as lists spell it differently: 'Chamishku camp', 'CHAMISHKU', 'Chamishku IDP Camp'."""
    words = re.sub(r"[^\w]+", " ", name.casefold()).split()
    return " ".join(w for w in words if w not in ("camp", "idp", "site")) or name.casefold()


def source_id_of(fields: Mapping[str, Any]) -> str:
    content = "|".join(str(fields.get(k)) for k in (
        "source", "dataset", "place", "status", "location", "as_of", "households", "individuals"))
    return f"rep:{fields['source']}:{hashlib.sha256(content.encode()).hexdigest()[:20]}"


class ReportedReader:
    """Rows of one HXL table of published figures, as ``figure_reported`` records."""

    def __init__(self, path: Path, *, source: str, dataset: str, as_of: dt.date | None,
                 sites: Mapping[str, str], mapping: ReportedMapping | None = None) -> None:
        """``sites``: the ledger's site ids, and :func:`site_name_key` of their names, to ids."""
        self.path, self.source, self.dataset, self.as_of = path, source, dataset, as_of
        self.sites = sites
        self.mapping = mapping or load_mapping()
        self.layout = layout_of(path)
        if self.layout.shape != "hxl":
            raise InvalidFactError(
                f"{path.name} has no row of HXL hashtags: --reported reads HXL-tagged tables "
                "(#adm1+code, #loc+name, #affected+idps+ind ...; see docs/formats.md)")
        self.columns = columns_of(list(self.layout.header_rows[-1]), self.mapping)
        roles = {c.role for c in self.columns}
        if "count" not in roles:
            raise InvalidFactError(
                f"{path.name} has no count column: expected a households or individuals hashtag "
                "such as #affected+idps+hh or #affected+idps+ind")
        if not roles & set(PLACE_KINDS):
            raise InvalidFactError(
                f"{path.name} has no place column: expected #loc+code, #loc+name, #adm3+code, "
                "#adm2+code, #adm1+code or #country+code")
        if "as_of" not in roles and as_of is None:
            raise InvalidFactError(f"{path.name} has no #date column: give --as-of YYYY-MM-DD")

    def records(self) -> Iterator[RawRecord]:
        first_line = len(self.layout.header_rows) + 1
        for number, row in table_rows(self.path, self.layout, first_line):
            if isinstance(row, Unreadable):
                yield row.record(number)
                continue
            try:
                figures = self._figures(row)
            except InvalidFactError as exc:
                yield RawRecord(number, {}, list(row), exc)
                continue
            for fields in figures:
                yield RawRecord(number, fields, list(row))

    def _cell(self, row: list[Any], column: Column) -> Any:
        value = row[column.index] if column.index < len(row) else None
        if isinstance(value, str):
            value = value.strip() or None
        return value

    def _place(self, row: list[Any]) -> tuple[str, str | None]:
        """The figure's place, and the source's location when that is only a part of it."""
        given = {c.role: self._cell(row, c) for c in self.columns if c.role in PLACE_KINDS
                 and self._cell(row, c) is not None}
        site = given.get("site")
        if site is not None and str(site) in self.sites:
            return str(site), None
        name = given.get("site_name")
        if name is not None and site_name_key(str(name)) in self.sites:
            return self.sites[site_name_key(str(name))], None
        location = str(site if site is not None else name)[:200] if (site or name) else None
        for kind in ("adm3", "adm2", "adm1"):
            if kind in given:
                return normalise_pcode(str(given[kind])), location
        country = given.get("country")
        if country is not None:
            if str(country).strip().upper() in (NATIONAL, "IQ"):
                return NATIONAL, location
            raise InvalidFactError(f"country {country!r}: expected IRQ", field="place")
        texts = [str(v).strip().casefold() for v in row if isinstance(v, str) and v.strip()]
        if texts and texts[0] in self.mapping.total_names:
            return NATIONAL, None
        if site is not None or name is not None:
            raise InvalidFactError(
                f"place {site or name!r} is not a site registered in the ledger and the row has "
                "no p-code; expected a registered site id or name, or an #adm1/#adm2/#adm3 code",
                field="place")
        raise InvalidFactError("the row gives no place", field="place")

    def _figures(self, row: list[Any]) -> list[dict[str, Any]]:
        place, location = self._place(row)
        as_of = next((self._cell(row, c) for c in self.columns if c.role == "as_of"
                      and self._cell(row, c) is not None), None)
        day = _as_of(as_of) if as_of is not None else (self.as_of.isoformat() if self.as_of else None)
        if day is None:
            raise InvalidFactError("the row has no #date and no --as-of was given", field="as_of")
        by_status: dict[str, dict[str, int]] = {}
        for column in self.columns:
            value = self._cell(row, column)
            if column.role != "count" or value is None:
                continue
            assert column.measure is not None
            assert column.status is not None
            counts = by_status.setdefault(column.status, {})
            if column.measure in counts:
                raise InvalidFactError(f"two columns give {column.measure} for status "
                                       f"{column.status}", field=column.measure)
            counts[column.measure] = _count(value, column.measure)
        if not by_status:
            raise InvalidFactError("the row gives no count", field="individuals")
        figures = []
        for status, counts in by_status.items():
            if "individuals" not in counts:
                raise InvalidFactError(f"status {status}: households without individuals; the "
                                       "ledger counts individuals", field="individuals")
            fields: dict[str, Any] = {
                "type": "figure_reported", "source": self.source, "dataset": self.dataset,
                "as_of": day, "place": place, "status": status, **counts,
            }
            if location is not None:
                fields["location"] = location
            fields["source_id"] = source_id_of(fields)
            figures.append(fields)
        return figures
