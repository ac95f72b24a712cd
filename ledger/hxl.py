"""HXL hashtags (https://hxlstandard.org): the tag row humanitarian spreadsheets already carry.

A tabular file may have, under its header row, a row of HXL hashtags (every non-empty cell
starting with ``#``). The importer then reads columns by their hashtag, not their title. A
hashtag is ``#tag`` followed by ``+attribute``\\ s in any order; a column matches the entry of
:data:`FACT_TAGS` (from the catalogue's field vocabulary) with the same tag whose attributes are
all present, the most specific one winning (``#affected+ind+f`` is ``female``,
``#affected+ind`` is ``members``). Extra attributes (a language, ``+v_kobo``...) are allowed;
columns with no hashtag or an unknown one are ignored, as HXL asks. ``#affected`` and
``#population`` are numbers of people or households, never identifiers (:data:`COUNT_TAGS`): a
household's id comes only from an identifier tag (``#beneficiary+hh+id``). Where one hashtag
means different fields in different fact types (``#adm2+code`` is ``location_pcode`` of a
registration and ``pcode`` of a returnee registration) the row's fact type decides. The table is
documented in ``docs/formats.md``; exports write the first tag listed for each field, so an
export reads back as it was written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from ledger.catalogue import CATALOGUE, hashtag_entries
from ledger.catalogue import tag_of_field as fact_field_tag

HASHTAG = re.compile(r"^#[A-Za-z][A-Za-z0-9_]*(\s*\+\s*[A-Za-z][A-Za-z0-9_]*)*$")

# (hashtag, fields in order of preference: the first one the row's fact type has), from the
# catalogue's field vocabulary.
FACT_TAGS: tuple[tuple[str, tuple[str, ...]], ...] = hashtag_entries()

# HXL's count hashtags: numbers of people or households, never identifiers. A file whose only
# figures are counts and that names no household, site or round is a table of aggregate figures.
COUNT_TAGS = frozenset({"#affected", "#population", "#inneed", "#targeted", "#reached"})

# Tags of exported figures and audit trails (exports only; the importer reads facts).
FIGURE_TAGS: dict[str, str] = {
    "rulebook": "#meta+rulebook",
    "left_rulebook": "#meta+rulebook+left",
    "right_rulebook": "#meta+rulebook+right",
    "as_of": "#date+asof",
    "known_at": "#date+knownat",
    "status": "#status",
    "place": "#loc+code",
    "place_name": "#loc+name",
    "households": "#affected+hh",
    "individuals": "#affected+ind",
    "reason": "#meta+reason",
    "valid_from": "#date+start",
    "valid_to": "#date+end",
    "recorded_at": "#date+recorded",
    "position": "#meta+position",
    "voided": "#meta+voided",
    "details": "#meta+details",
    "household_id": "#meta+id+household",
}


@dataclass(frozen=True, slots=True)
class Hashtag:
    tag: str
    attributes: frozenset[str]

    def __str__(self) -> str:
        return self.tag + "".join(f"+{a}" for a in sorted(self.attributes))


def parse_hashtag(text: str) -> Hashtag | None:
    """``#adm2 +code +dest`` -> Hashtag('#adm2', {'code', 'dest'}); None when not a hashtag."""
    text = text.strip()
    if not HASHTAG.match(text):
        return None
    tag, *attributes = (part.strip().lower() for part in text.split("+"))
    return Hashtag(tag, frozenset(attributes))


def is_tag_row(cells: list[object]) -> bool:
    """A row of HXL hashtags: at least one cell, and every non-empty cell, starts with '#'."""
    values = [str(c).strip() for c in cells if c is not None and str(c).strip()]
    return bool(values) and all(v.startswith("#") for v in values)


@cache
def _entries() -> tuple[tuple[Hashtag, tuple[str, ...]], ...]:
    entries = []
    for text, fields in FACT_TAGS:
        parsed = parse_hashtag(text)
        assert parsed is not None, text
        entries.append((parsed, fields))
    return tuple(entries)


def candidates(cell: str) -> tuple[str, ...]:
    """The fields a tag-row cell may stand for (empty: not a hashtag we read)."""
    hashtag = parse_hashtag(cell)
    if hashtag is None:
        return ()
    best: tuple[str, ...] = ()
    best_size = -1
    for entry, fields in _entries():
        if entry.tag == hashtag.tag and entry.attributes <= hashtag.attributes \
                and len(entry.attributes) > best_size:
            best, best_size = fields, len(entry.attributes)
    return best


def field_for(fields: tuple[str, ...], fact_type: object) -> str:
    """Of a hashtag's candidate fields, the one the fact type has (the first when unknown)."""
    entry = CATALOGUE.get(fact_type)
    if entry is not None:
        for name in fields:
            if name in entry.names:
                return name
    return fields[0]


def tag_of_field(name: str) -> str:
    """The hashtag an export writes for a fact field or a figure column ('' when none)."""
    if name in FIGURE_TAGS:
        return FIGURE_TAGS[name]
    return fact_field_tag(name)
