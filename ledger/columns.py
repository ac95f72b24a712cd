"""A tabular file's header, checked once before any row is read.

The header decides, for every column, the fact field(s) it gives or why it is not read:

* a field of the file's fact type (``--type``, or any fact type when the file has a ``type``
  column): read;
* a column that looks like personal data (:func:`looks_personal`: a name, phone number, ID or
  document number, e-mail, date of birth, address): never read, blanked in the rejects file, and
  named (never its values) in a warning;
* any other column: ignored with one warning naming it (``--strict`` refuses the file instead).

A header that cannot give facts stops the import there, with one message and nothing recorded:
a file of aggregate figures (:data:`AGGREGATE_FIGURES`), a header with no fact field, no fact
type, or no column for a required field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache

from ledger import hxl
from ledger.catalogue import CATALOGUE
from ledger.errors import InvalidFactError

# The file-level message for a table of counts per place. One constant, so that the option that
# imports such figures (`ledger import --reported`, a later issue) can be named here once.
AGGREGATE_FIGURES = (
    "{file} looks like aggregate/reported figures (numbers of households or people per place, in "
    "{columns}), not household facts: `ledger import` reads one fact per row, each naming its "
    "household, site or round; nothing was recorded. To hold it as figures someone published, "
    "import it with --reported SOURCE --dataset NAME (see docs/reported-figures.md)"
)

# Fields that name what a fact is about: a file without one of them holds no facts.
SUBJECT_FIELDS = frozenset({"household_id", "site_id", "round_id", "voided_source_id"})
COUNT_FIELDS = frozenset({"members", "female", "male", "children"})
_COUNT_WORDS = frozenset({"households", "individuals", "hh", "ind", "idps", "idp", "population",
                          "persons", "people", "families", "count", "total", "returnees"})

_PERSONAL_WORDS = frozenset({
    "name", "names", "fullname", "firstname", "lastname", "surname", "forename", "phone",
    "phones", "mobile", "telephone", "tel", "whatsapp", "msisdn", "email", "mail", "passport",
    "dob", "birth", "birthdate", "birthday", "address", "nationalid", "idnumber", "idno",
    "signature",
})
_ID_WORDS = frozenset({"id", "identity", "national", "document", "passport"})
_NUMBER_WORDS = frozenset({"number", "no", "num", "nr", "card", "id"})
# A name of a place, an organisation or a form is not personal data.
_NOT_PERSONAL_WORDS = frozenset({
    "loc", "location", "camp", "site", "place", "governorate", "district", "subdistrict",
    "village", "town", "city", "country", "adm1", "adm2", "adm3", "adm4", "region", "org",
    "organisation", "organization", "agency", "partner", "form", "xform", "round", "registry",
    "file", "sheet", "table", "operation", "cluster",
})
_WORD = re.compile(r"[a-z0-9]+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])")


def _words(column: str) -> set[str]:
    return set(_WORD.findall(_CAMEL.sub("_", column).lower()))


def looks_personal(column: str) -> bool:
    """Whether a column's name or hashtag says it holds personal data.

    Only for columns that are not fields of the fact type: a field the model has (a site's
    ``name``, or the personal fields a protected store may add) is read by the model's rules.
    """
    words = _words(column)
    if words & _NOT_PERSONAL_WORDS:
        return False
    if words & _PERSONAL_WORDS:
        return True
    return any(a != b for a in words & _ID_WORDS for b in words & _NUMBER_WORDS)


@dataclass
class Notes:
    """What a read found about the file as a whole, reported once as warnings."""

    ignored: list[str] = field(default_factory=list)
    personal: list[str] = field(default_factory=list)

    def add_personal(self, column: str) -> None:
        if column not in self.personal:
            self.personal.append(column)

    def warnings(self) -> list[str]:
        found = []
        if self.ignored:
            found.append(f"ignored {len(self.ignored)} column(s) that are not fact fields: "
                         f"{', '.join(self.ignored)} (--strict refuses such a file)")
        if self.personal:
            found.append(f"column(s) {', '.join(self.personal)} look like personal data: not read, "
                         "and stored nowhere (not in the ledger, the rejects file or the logs)")
        return found


@dataclass(frozen=True)
class ColumnPlan:
    """Per column, the fields it may give (empty: not read); which columns are blanked in rejects."""

    candidates: tuple[tuple[str, ...], ...]
    personal: frozenset[int]
    type_column: int | None
    notes: Notes


@cache
def _all_fields() -> frozenset[str]:
    return frozenset(name for t in CATALOGUE.recordable for name in CATALOGUE[t].names)


@cache
def _common_required() -> frozenset[str]:
    sets = [_required(t) for t in CATALOGUE.recordable]
    return frozenset.intersection(*sets)


def _required(fact_type: str) -> frozenset[str]:
    return frozenset(name for name, info in CATALOGUE[fact_type].model.model_fields.items()
                     if info.is_required() and name != "type")


def _label(title: str, tag: str) -> str:
    return f"{tag} ({title})" if title and tag else tag or title


def plan_columns(file: str, names: Sequence[str], tags: Sequence[str] | None,
                 fact_type: str | None, *, strict: bool = False) -> ColumnPlan:
    """Resolve a header (names, and HXL tags when the file has a tag row) against the fact type.

    Raises ``InvalidFactError`` with one message when the header cannot give facts.
    """
    allowed = CATALOGUE[fact_type].names if fact_type else _all_fields()
    width = max(len(names), len(tags or ()))
    titles = [str(names[i]).strip() if i < len(names) and names[i] is not None else ""
              for i in range(width)]
    tag_cells = [str(tags[i]).strip() if tags and i < len(tags) and tags[i] is not None else ""
                 for i in range(width)]
    notes = Notes()
    candidates: list[tuple[str, ...]] = []
    personal: set[int] = set()
    counts: list[str] = []
    miscounted: list[str] = []  # count tags used as ids (`#affected+hh+id`, earlier exports)
    type_column: int | None = None
    for index, (title, tag) in enumerate(zip(titles, tag_cells, strict=True)):
        fields = _fields_of(title, tag, tags is not None)
        read = tuple(f for f in fields if f in allowed)
        label = _label(title, tag)
        if fields == ("type",):
            type_column = index
        if _is_count(title, tag, tags is not None, read):
            counts.append(label)
            if _claims_identifier(tag):
                miscounted.append(label)
        if read:
            candidates.append(read)
            if looks_personal(tag or title):
                personal.add(index)  # read for the types that have it, blanked for the others
            continue
        candidates.append(())
        if title in ("_line", "_error") or not (title or tag):
            continue
        if looks_personal(tag) or looks_personal(title):
            personal.add(index)
            notes.add_personal(label)
        elif tag or tags is None:
            notes.ignored.append(label)  # HXL: an untagged column is a note for people
    given = {f for c in candidates for f in c}
    if miscounted and not given & SUBJECT_FIELDS:
        raise InvalidFactError(
            f"{file}: column(s) {', '.join(miscounted)} give ids under a count hashtag: #affected "
            "is a count in HXL, never an identifier; tag household ids #beneficiary+hh+id "
            "(docs/formats.md); nothing was recorded")
    _check(file, given, counts, [_label(t, g) for t, g in zip(titles, tag_cells, strict=True)],
           fact_type, type_column is not None, hxl_file=tags is not None)
    if strict and (notes.ignored or notes.personal):
        raise InvalidFactError(
            f"{file}: column(s) {', '.join(notes.ignored + notes.personal)} are not fields of "
            f"{fact_type or 'any fact type'}; --strict refuses unknown columns (without it they "
            "are ignored with a warning); nothing was recorded")
    return ColumnPlan(tuple(candidates), frozenset(personal), type_column, notes)


def _fields_of(title: str, tag: str, tagged: bool) -> tuple[str, ...]:
    if tagged:
        return hxl.candidates(tag) if tag else ()
    return (title,) if title in _all_fields() else ()


def _is_count(title: str, tag: str, tagged: bool, read: tuple[str, ...]) -> bool:
    if tagged:
        parsed = hxl.parse_hashtag(tag) if tag else None
        return parsed is not None and parsed.tag in hxl.COUNT_TAGS
    return bool(set(read) & COUNT_FIELDS) or bool(_words(title) & _COUNT_WORDS)


def _claims_identifier(tag: str) -> bool:
    parsed = hxl.parse_hashtag(tag) if tag else None
    return parsed is not None and bool(parsed.attributes & {"id", "code"})


def _check(file: str, given: set[str], counts: list[str], labels: Iterable[str],
           fact_type: str | None, has_type_column: bool, *, hxl_file: bool) -> None:
    if counts and not given & SUBJECT_FIELDS:
        raise InvalidFactError(AGGREGATE_FIGURES.format(file=file, columns=", ".join(counts)))
    if not given - {"type"}:
        what = "hashtag is one the ledger reads" if hxl_file else "column is a fact field"
        raise InvalidFactError(
            f"{file}: no {what} (columns: {_listed(labels)}); expected SPEC §2 field names such "
            "as household_id, or HXL hashtags, as in docs/formats.md; nothing was recorded")
    if fact_type is None and not has_type_column:
        raise InvalidFactError(
            f"{file}: no fact type: the file has no `type` column (HXL: #meta+type) and no --type "
            "was given; expected one of them; nothing was recorded", field="type")
    required = _required(fact_type) if fact_type else _common_required()
    missing = sorted(required - given)
    if missing:
        wanted = ", ".join(f"{m} ({_fact_tag(m)})" if hxl_file else m for m in missing)
        raise InvalidFactError(
            f"{file}: no column for required field(s) {wanted} of {fact_type or 'every fact type'} "
            f"(columns: {_listed(labels)}); nothing was recorded")


def _listed(labels: Iterable[str], most: int = 20) -> str:
    shown = [label for label in labels if label]
    more = f", ... ({len(shown) - most} more)" if len(shown) > most else ""
    return ", ".join(shown[:most]) + more


def _fact_tag(name: str) -> str:
    return next((tag for tag, fields in hxl.FACT_TAGS if name in fields), "no hashtag")
