"""KoboToolbox exports: a form's submissions turned into facts by a small, editable mapping file.

A mapping is a TOML file (the shipped ones are ``ledger/data/kobo/registration.toml`` and
``departure.toml``; ``docs/formats.md`` describes the format)::

    fact_type = "household_departed"

    [fields]            # fact field = the form's column (group prefixes may be left out)
    source_id = "_uuid"
    effective_on = "_submission_time"
    household_id = "household/household_id"

    [constants]         # the same value for every submission
    recorded_by = "IOM FVM (KoboToolbox)"

    [templates]         # text built from columns: {column}
    source_document = "KoboToolbox submission {_id}"

    [values.pathway]    # the form's choice names -> the ledger's values
    return_home = "return"

    [summaries]         # repeat groups: count their entries (optionally those matching `where`)
    members = { count = "household/member_roster" }
    female = { count = "household/member_roster", where = { sex = "female" } }

A column is found by its full path (``household/members``), or by the end of its path when the
export left group names out or the mapping did (``members`` finds ``household/members``).
A template naming a column the export lacks is left out. A KoboToolbox export with an HXL row
under its header (Kobo adds one when the form has HXL tags) is read the same way; in a legacy
export ``n/a`` is an empty cell (a repeat slot holding ``n/a`` is not a member).
Repeat groups are ignored unless summarised: in a CSV export their columns look like
``household/member_roster[2]/sex``; in an XLSX export they are sheets named after the group,
joined to the main sheet by ``_parent_index`` = ``_index``. Date fields take the date part of
Kobo's timestamps (``_submission_time`` is UTC).
"""

from __future__ import annotations

import datetime as dt
import re
import string
import tomllib
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from ledger.catalogue import CATALOGUE
from ledger.errors import InvalidFactError

FORMS = ("registration", "departure")
DATE_FIELDS = frozenset({"effective_on", "displaced_on", "planned_on"})
_REPEAT_COLUMN = re.compile(r"^(?P<group>.+?)\[(?P<index>\d+)\]/(?P<field>.+)$")
_TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]")
_SECTIONS = {"fact_type", "fields", "constants", "templates", "values", "summaries", "description"}


@dataclass(frozen=True)
class Summary:
    count: str  # the repeat group's path
    where: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class KoboMapping:
    source: str
    fact_type: str
    fields: dict[str, str]
    constants: dict[str, Any]
    templates: dict[str, str]
    values: dict[str, dict[str, Any]]
    summaries: dict[str, Summary]

    @property
    def required_fields(self) -> set[str]:
        return {"type", *CATALOGUE[self.fact_type].required()}


def builtin_mapping_path(form: str) -> Path:
    if form not in FORMS:
        raise InvalidFactError(f"unknown KoboToolbox form {form!r}; expected one of {', '.join(FORMS)}")
    return Path(str(resources.files("ledger.data").joinpath(f"kobo/{form}.toml")))


def load_mapping(path: Path) -> KoboMapping:
    """Read and check a mapping file; every mistake is named with the file and the key."""
    source = str(path)
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InvalidFactError(f"{source}: not a readable TOML mapping file ({exc})") from None
    return mapping_from_document(document, source)


def mapping_from_document(document: Mapping[str, Any], source: str) -> KoboMapping:
    unknown = set(document) - _SECTIONS
    if unknown:
        raise InvalidFactError(f"{source}: unknown key(s) {', '.join(sorted(unknown))}; expected "
                               f"{', '.join(sorted(_SECTIONS))}")
    fact_type = document.get("fact_type")
    if not isinstance(fact_type, str) or fact_type not in CATALOGUE:
        raise InvalidFactError(f"{source}: fact_type {fact_type!r}; expected one of "
                               f"{', '.join(CATALOGUE.names)}")
    model_fields = CATALOGUE[fact_type].names - {"type"}

    def table(key: str) -> dict[str, Any]:
        value = document.get(key, {})
        if not isinstance(value, dict):
            raise InvalidFactError(f"{source}: [{key}] must be a table")
        for name in value:
            if name not in model_fields:
                raise InvalidFactError(f"{source}: [{key}] {name!r} is not a field of {fact_type}; "
                                       f"expected one of {', '.join(sorted(model_fields))}")
        return value

    fields, templates = table("fields"), table("templates")
    for key, section in (("fields", fields), ("templates", templates)):
        for name, value in section.items():
            if not isinstance(value, str) or not value:
                raise InvalidFactError(f"{source}: [{key}] {name} must be a non-empty string")
    for name, template in templates.items():
        try:
            parts = [part for part in string.Formatter().parse(template) if part[1] is not None]
        except ValueError as exc:
            raise InvalidFactError(f"{source}: [templates] {name}: {exc}; expected text with "
                                   "{column} names") from None
        if any(not column or column.isdigit() or any(c in column for c in ".[]") or spec or conv
               for _, column, spec, conv in parts):
            raise InvalidFactError(f"{source}: [templates] {name}: expected plain {{column}} "
                                   "names, without formats or indexes")
    summaries: dict[str, Summary] = {}
    for name, spec in table("summaries").items():
        if not isinstance(spec, dict) or not isinstance(spec.get("count"), str):
            raise InvalidFactError(f"{source}: [summaries] {name} must be "
                                   "{ count = \"group/path\", where = { column = \"value\" } }")
        summaries[name] = Summary(spec["count"], {str(k): str(v) for k, v in
                                                  dict(spec.get("where", {})).items()})
    values = table("values")
    return KoboMapping(source, fact_type, fields, table("constants"), templates,
                       {k: dict(v) for k, v in values.items()}, summaries)


def _columns_of(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


class _Blank(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def _date_part(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, str) and _TIMESTAMP.match(value):
        return value[:10]
    return value


class KoboTable:
    """A Kobo export's header, resolved against a mapping once; rows in, fact fields out."""

    def __init__(self, mapping: KoboMapping, header: Sequence[str],
                 repeat_rows: Mapping[str, Sequence[dict[str, Any]]] | None = None) -> None:
        self.mapping = mapping
        self.header = list(header)
        self.columns: dict[str, int] = {}
        for name, path in mapping.fields.items():
            index = self._find(path)
            if index is None and name in mapping.required_fields and name not in mapping.summaries:
                raise InvalidFactError(
                    f"KoboToolbox export has no column {path!r} (mapped to {name} by "
                    f"{mapping.source}); its columns: {', '.join(self.header[:40])}")
            if index is not None:
                self.columns[name] = index
        self.repeat_rows = repeat_rows or {}
        # A template naming a column this export lacks is left out, not filled with blanks.
        self.templates = {name: template for name, template in mapping.templates.items()
                          if all(column in self.header for column in _columns_of(template))}

    def _find(self, path: str) -> int | None:
        if path in self.header:
            return self.header.index(path)
        tail = path.rsplit("/", 1)[-1]
        matches = [i for i, name in enumerate(self.header)
                   if name.endswith("/" + path) or name == tail or name.endswith("/" + tail)]
        return matches[0] if len(matches) == 1 else None

    def fields(self, row: Sequence[Any]) -> dict[str, Any]:
        by_name = _Blank({name: "" if value is None else str(value)
                          for name, value in zip(self.header, row, strict=False)})
        out: dict[str, Any] = {"type": self.mapping.fact_type}
        out.update(self.mapping.constants)
        for name, index in self.columns.items():
            value = row[index] if index < len(row) else None
            if value is not None and value != "":
                out[name] = value
        for name, template in self.templates.items():
            out[name] = template.format_map(by_name)
        for name, summary in self.mapping.summaries.items():
            if out.get(name) in (None, ""):
                count = self._count(summary, row, by_name)
                if count is not None:
                    out[name] = count
        for name, choices in self.mapping.values.items():
            if name in out and str(out[name]) in choices:
                out[name] = choices[str(out[name])]
        for name in DATE_FIELDS & out.keys():
            out[name] = _date_part(out[name])
        return out

    def _count(self, summary: Summary, row: Sequence[Any], by_name: Mapping[str, str]) -> int | None:
        group = summary.count.rsplit("/", 1)[-1]
        entries: dict[str, dict[str, str]] = defaultdict(dict)
        flattened = False
        for name, value in zip(self.header, row, strict=False):
            match = _REPEAT_COLUMN.match(name)
            if match and match["group"].rsplit("/", 1)[-1] == group:
                flattened = True
                if value not in (None, ""):
                    entries[match["index"]][match["field"].rsplit("/", 1)[-1]] = str(value)
        if not flattened:
            sheet = self.repeat_rows.get(group)
            if sheet is None:
                return None
            index = by_name.get("_index", "")
            for n, child in enumerate(sheet):
                if str(child.get("_parent_index", "")) == index:
                    entries[str(n)] = {k.rsplit("/", 1)[-1]: "" if v is None else str(v)
                                       for k, v in child.items()}
        return sum(all(entry.get(k) == v for k, v in summary.where.items())
                   for entry in entries.values())
