"""The input models of every fact type (SPEC §2): the shape of input is checked here, at the edge.

Business rules (a household departs only from a site it is in, ...) live in ``ledger.domain``;
these models only answer "is this a well-formed fact?". Every model is frozen and forbids
unknown fields, so a misspelt column is an error rather than a silently dropped value.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from functools import cache, lru_cache
from typing import Annotated, Any, ClassVar, Literal, Self

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from ledger.pcodes import NATIONAL, check_pcode, level

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$"
# C0 controls but tab and newline, DEL and the C1 controls: PostgreSQL cannot store NUL in text,
# and the others are invisible in every table, export and terminal the figures end up in.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def _no_control_characters(value: str) -> str:
    found = CONTROL_CHARACTERS.search(value)
    if found:
        raise ValueError(
            f"contains the control character U+{ord(found.group()):04X} at position "
            f"{found.start() + 1}; text may hold tab and newline but no other control character")
    return value


Identifier = Annotated[str, StringConstraints(strip_whitespace=True, pattern=ID_PATTERN)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500),
                 AfterValidator(_no_control_characters)]
Registry = Literal["official", "operational"]


# ---- free text that must not carry a person (issue 13, item 7) -----------------------------
# A phone number: an international prefix (+964 / 00964) or an Iraqi mobile (07xx), or any run
# of 9+ digits broken only by spaces, dots, dashes or brackets ("750 123 4567").
_PHONE = re.compile(r"(?:\+|\b00)\d[\d ().-]{6,}\d|\b07[3-9]\d[ .-]?\d{3}[ .-]?\d{4}\b"
                    r"|\d(?:[ ().-]?\d){9,}")
# An identity document: a 12-digit national / unified card number, or a passport-like
# letter(s)+7-8 digits ("A12345678").
_ID_DOCUMENT = re.compile(r"\b[A-Za-z]{1,2}\d{7,8}\b|\b\d{12}\b")
_EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[A-Za-z]{2,}")


@lru_cache(maxsize=4096)  # the same organisations and references come on fact after fact
def personal_problem(value: str, *, contact: bool = False) -> str | None:
    """Why ``value`` looks like personal data, or None. ``contact``: e-mail addresses too."""
    if _ID_DOCUMENT.search(value):
        return ("looks like an identity document number; free text goes into the immutable log "
                "and every export: give it as id_document_type / id_document_number on "
                "household_registered, which keeps it in the encrypted vault")
    if _PHONE.search(value):
        return ("looks like a phone number; free text goes into the immutable log and every "
                "export: give it as the phone field of household_registered, which keeps it "
                "in the encrypted vault")
    if contact and _EMAIL.search(value):
        return "looks like an e-mail address; recorded_by names an organisation or a user id"
    return None


def _no_personal(value: str) -> str:
    problem = personal_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _no_contact(value: str) -> str:
    problem = personal_problem(value, contact=True)
    if problem:
        raise ValueError(problem)
    return value


def _bounds(max_length: int) -> StringConstraints:
    return StringConstraints(strip_whitespace=True, min_length=1, max_length=max_length)


# The limits are what each field is for (docs/personal-data.md): an organisation or user id,
# a document reference, a short reason, a site's name. Anything longer is a note about people.
_CONTROL = AfterValidator(_no_control_characters)
RecordedBy = Annotated[str, _bounds(80), _CONTROL, AfterValidator(_no_contact)]
DocumentRef = Annotated[str, _bounds(200), _CONTROL, AfterValidator(_no_personal)]
ReasonText = Annotated[str, _bounds(300), _CONTROL, AfterValidator(_no_personal)]
SiteName = Annotated[str, _bounds(120), _CONTROL, AfterValidator(_no_personal)]
Pathway = Literal["return", "relocation", "local_integration"]
SiteKind = Literal["camp", "informal_site"]
CompositionReason = Literal["birth", "death", "split", "merge", "correction"]
ClosureReason = Literal["duplicate", "deceased", "error", "solution_reached", "other"]


@lru_cache(maxsize=8192)  # p-codes are a small vocabulary, checked on nearly every fact
def _pcode_problem(value: str, min_level: int, max_level: int) -> str | None:
    problem = check_pcode(value, min_level=min_level)
    if problem is None and level(value) > max_level:
        problem = f"'{value}' is too fine a p-code here; expected a governorate code IQGnn"
    return problem


def _pcode_checker(min_level: int, max_level: int = 3) -> AfterValidator:
    def check(value: str) -> str:
        problem = _pcode_problem(value, min_level, max_level)
        if problem:
            raise ValueError(problem)
        return value

    return AfterValidator(check)


PCode = Annotated[str, StringConstraints(strip_whitespace=True), _pcode_checker(1)]
PlacePCode = Annotated[str, StringConstraints(strip_whitespace=True), _pcode_checker(2)]
GovernoratePCode = Annotated[str, StringConstraints(strip_whitespace=True), _pcode_checker(1, 1)]
Members = Annotated[int, Field(ge=1, le=60)]
Count = Annotated[int, Field(ge=0, le=60)]


class FieldProblem(ValueError):  # noqa: N818 - pydantic wants a ValueError; it is not ours to name
    """A check across fields, naming the field the user should fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


_checked_today = dt.date.min  # a day known to be today or earlier: time only moves on


def _not_in_future(value: dt.date) -> dt.date:
    global _checked_today  # noqa: PLW0603 - a cache of the clock, so most dates need no clock read
    if value <= _checked_today:
        return value
    _checked_today = dt.datetime.now(dt.UTC).date()
    if value > _checked_today:
        raise ValueError(f"{value.isoformat()} is in the future; a fact records what already happened")
    return value


PastDate = Annotated[dt.date, AfterValidator(_not_in_future)]


class FactInput(BaseModel):
    """Fields every fact carries."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=False)

    # Every field is a plain value (str, int, date, list of str): ``fields`` and ``canonical``
    # may read the instance dict instead of paying for ``model_dump`` (several times slower).
    flat: ClassVar[bool] = True

    type: str
    source_id: Identifier
    effective_on: PastDate
    recorded_by: RecordedBy | None = None
    source_document: DocumentRef | None = None
    # The personal fields of this fact type (``_Personal``): split off into the vault at the
    # edge (``ledger.vault``); never in ``fields()``, ``canonical()`` or the stored event.
    personal_fields: ClassVar[frozenset[str]] = frozenset()

    def fields(self) -> dict[str, Any]:
        """The fact's fields as plain data (a new dict; nested models as dicts), without the
        personal ones."""
        if self.personal_fields:
            values = self.__dict__
            return {k: values[k] for k in _stored_fields(type(self))}
        return dict(self.__dict__) if self.flat else self.model_dump()

    def canonical(self) -> bytes:
        """The fact's content as canonical JSON: what 'the same content' means for a source_id.

        Personal fields take no part: the vault compares them (a keyed digest per fact).
        """
        if self.flat:  # orjson writes dates as YYYY-MM-DD, as model_dump(mode="json") does
            data = {k: v for k, v in self.__dict__.items()
                    if v is not None and k not in self.personal_fields}
        else:
            data = self.model_dump(mode="json", exclude_none=True)
        return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)

    def has_personal_data(self) -> bool:
        """Whether any personal field is given (checked on every fact the ledger records)."""
        values = self.__dict__
        return any(values[k] is not None for k in self.personal_fields)

    def personal_data(self) -> dict[str, Any]:
        """The personal fields given (none for most fact types)."""
        if not self.personal_fields:
            return {}
        return {k: v for k in self.personal_fields if (v := self.__dict__.get(k)) is not None}

    def without_personal(self, document_hash: str | None) -> Self:
        """This fact as the ledger stores it: personal fields dropped, the document's keyed
        hash (``ledger.vault``) in place of its number."""
        update: dict[str, Any] = dict.fromkeys(self.personal_fields)
        if self.personal_fields:
            update["id_document_hash"] = document_hash
        return self.model_copy(update=update)

    def content_hash(self) -> str:
        return hashlib.sha256(self.canonical()).hexdigest()


@cache
def _stored_fields(model: type[FactInput]) -> tuple[str, ...]:
    """A model's fields but the personal ones, in declaration order."""
    return tuple(k for k in model.model_fields if k not in model.personal_fields)


class _Breakdown(BaseModel):
    members: Members
    female: Count | None = None
    male: Count | None = None
    children: Count | None = None

    @model_validator(mode="after")
    def _breakdown_adds_up(self) -> Self:
        if self.female is not None and self.male is not None and self.female + self.male != self.members:
            raise FieldProblem(
                "members", f"female ({self.female}) + male ({self.male}) must equal members ({self.members})"
            )
        for name in ("female", "male", "children"):
            part = getattr(self, name)
            if part is not None and part > self.members:
                raise FieldProblem(name, f"{name} ({part}) cannot exceed members ({self.members})")
        return self


def _as_text(value: Any) -> Any:
    """A spreadsheet cell holding a number (a phone, a document number) read as its digits."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value


PersonName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200),
                     _CONTROL]
Phone = Annotated[str, BeforeValidator(_as_text), StringConstraints(
    strip_whitespace=True, pattern=r"^\+?[0-9][0-9 ().-]{4,28}[0-9]$")]
DocumentNumber = Annotated[str, BeforeValidator(_as_text), StringConstraints(
    strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9 /.-]{0,62}$")]
DocumentType = Literal["national_id", "unified_nationality_card", "passport", "other"]
PERSONAL_FIELDS = frozenset({"head_name", "head_sex", "head_birth_year", "phone",
                             "id_document_type", "id_document_number", "members_names"})
# Computed by the ledger (``ledger.vault``), never accepted from input.
DERIVED_FIELDS = frozenset({"id_document_hash"})


def _not_future_year(value: int) -> int:
    if value > dt.datetime.now(dt.UTC).year:
        raise ValueError(f"{value} is in the future")
    return value


class _Personal(BaseModel):
    """Personal fields as real registration lists carry them (issue 13).

    They are validated here like any field, then split off at the edge: the vault keeps them
    encrypted, the stored fact keeps only ``id_document_hash`` (a keyed hash of the document).
    """

    personal_fields: ClassVar[frozenset[str]] = PERSONAL_FIELDS

    head_name: PersonName | None = None
    head_sex: Literal["female", "male", "other"] | None = None
    head_birth_year: Annotated[int, Field(ge=1900), AfterValidator(_not_future_year)] | None = None
    phone: Phone | None = None
    id_document_type: DocumentType | None = None
    id_document_number: DocumentNumber | None = None
    members_names: Annotated[list[PersonName], Field(max_length=60)] | None = None
    id_document_hash: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None = None

    @model_validator(mode="after")
    def _document_named(self) -> Self:
        if (self.id_document_number is None) != (self.id_document_type is None):
            raise FieldProblem("id_document_type", "give id_document_type and id_document_number "
                               "together (types: national_id, unified_nationality_card, "
                               "passport, other)")
        return self


class SiteRegistered(FactInput):
    type: Literal["site_registered"]
    site_id: Identifier
    name: SiteName
    kind: SiteKind
    location_pcode: PlacePCode
    authority_adm1: GovernoratePCode | None = None


    @property
    def authority(self) -> str:
        """The governorate whose authority runs the site (defaults to the location's)."""
        return self.authority_adm1 or self.location_pcode[:5]


class SiteClosed(FactInput):
    type: Literal["site_closed"]
    site_id: Identifier



class HouseholdRegistered(_Breakdown, _Personal, FactInput):
    type: Literal["household_registered"]
    household_id: Identifier
    registry: Registry
    registration_ref: Identifier
    site_id: Identifier | None = None
    location_pcode: PlacePCode | None = None
    displaced_on: PastDate | None = None
    origin_pcode: PCode | None = None


    @model_validator(mode="after")
    def _one_place(self) -> Self:
        if (self.site_id is None) == (self.location_pcode is None):
            raise FieldProblem(
                "site_id", "give exactly one of site_id (in a camp or site) or location_pcode (out of camp)"
            )
        if self.displaced_on is not None and self.displaced_on > self.effective_on:
            raise FieldProblem(
                "displaced_on",
                f"displaced_on ({self.displaced_on}) is after effective_on ({self.effective_on}); "
                "a household is displaced before it is registered as displaced"
            )
        return self


class CompositionChanged(_Breakdown, _Personal, FactInput):
    type: Literal["composition_changed"]
    household_id: Identifier
    registry: Registry
    reason: CompositionReason



class HouseholdDeparted(FactInput):
    type: Literal["household_departed"]
    household_id: Identifier
    from_site_id: Identifier
    pathway: Pathway
    to_pcode: PlacePCode | None = None
    to_site_id: Identifier | None = None
    round_id: Identifier | None = None
    departure_letter_ref: DocumentRef | None = None


    @model_validator(mode="after")
    def _one_destination(self) -> Self:
        if (self.to_pcode is None) == (self.to_site_id is None):
            raise FieldProblem(
                "to_pcode", "give exactly one of to_pcode or to_site_id (a camp-to-camp transfer)"
            )
        if self.to_site_id is not None and self.pathway != "relocation":
            raise FieldProblem(
                "to_site_id",
                f"to_site_id is a camp-to-camp transfer, which is pathway 'relocation', not '{self.pathway}'"
            )
        if self.to_site_id is not None and self.to_site_id == self.from_site_id:
            raise FieldProblem("to_site_id", "to_site_id is the site the household departs from")
        return self


class HouseholdReentered(FactInput):
    type: Literal["household_reentered"]
    household_id: Identifier
    site_id: Identifier



class ReturneeRegistered(FactInput):
    type: Literal["returnee_registered"]
    household_id: Identifier
    pcode: PlacePCode



class GrantDisbursed(FactInput):
    type: Literal["grant_disbursed"]
    household_id: Identifier
    amount_iqd: Annotated[int, Field(gt=0, le=1_000_000_000)]



class RegistrationClosed(FactInput):
    type: Literal["registration_closed"]
    household_id: Identifier
    registry: Registry
    reason: ClosureReason



class RoundPlanned(FactInput):
    type: Literal["round_planned"]
    round_id: Identifier
    from_site_ids: Annotated[list[Identifier], Field(min_length=1, max_length=200)]
    destination_pcodes: Annotated[list[PCode], Field(min_length=1, max_length=200)]
    planned_on: dt.date



class HouseholdManifested(FactInput):
    type: Literal["household_manifested"]
    round_id: Identifier
    household_id: Identifier



class HouseholdWithdrawn(FactInput):
    type: Literal["household_withdrawn"]
    round_id: Identifier
    household_id: Identifier
    reason: ReasonText



class RoundClosed(FactInput):
    type: Literal["round_closed"]
    round_id: Identifier



class FactVoided(FactInput):
    type: Literal["fact_voided"]
    voided_source_id: Identifier
    reason: ReasonText



class PersonalDataErased(FactInput):
    """A household's personal data erased from the vault (crypto-shredding, ``people erase``).

    Recorded only by the ledger itself; it changes no figure, it stands in the household's
    audit trail as the record of the erasure.
    """

    type: Literal["personal_data_erased"]
    household_id: Identifier
    reason: ReasonText



class FigureValue(BaseModel):
    """One cell of a published figure: households and individuals in (status, place)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    status: Literal["idp_in_camp", "idp_out_of_camp", "returnee", "locally_integrated"]
    place: Identifier
    households: Annotated[int, Field(ge=0)]
    individuals: Annotated[int, Field(ge=0)]


class FigureCell(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    status: str
    place: Identifier


class FigurePublished(FactInput):
    """A figure as it was published: its selectors, its values and the ledger's digest then.

    ``known_at`` is the recorded time of the chain head at ``head_position`` (K: what the ledger
    knew), ``ledger_digest`` that head's chain digest; ``effective_on`` is the publishing day.
    ``rulebook_digest`` fingerprints the rulebook's parameters, so a rulebook replaced later
    shows up as such rather than as a changed fact.
    """

    flat: ClassVar[bool] = False

    type: Literal["figure_published"]
    figure_id: Identifier
    rulebook: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,39}$")]
    level: Literal["cell", "adm2", "adm1", "national"]
    as_of: dt.date
    known_at: Annotated[str, StringConstraints(
        pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?[+-]\d{2}:\d{2}$")]
    ledger_digest: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]
    head_position: Annotated[int, Field(ge=1)]
    rulebook_digest: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")] | None = None
    values: Annotated[list[FigureValue], Field(max_length=100_000)]
    # The version of ``rulebook`` counted with (docs/rulebooks.md); absent on figures published
    # before rulebooks had versions, which were counted with version 1.
    rulebook_version: Annotated[int, Field(ge=1)] | None = None
    # ``publish --public``: the threshold applied and the cells suppressed in what was published
    # (``values`` stay exact, so the figure re-derives; the public figure is values minus these).
    public_min_households: Annotated[int, Field(ge=1)] | None = None
    suppressed: Annotated[list[FigureCell], Field(max_length=100_000)] | None = None



ReportedStatus = Literal["idp", "idp_in_camp", "idp_out_of_camp", "returnee", "locally_integrated"]
SourceName = Annotated[str, StringConstraints(strip_whitespace=True,
                                              pattern=r"^[A-Za-z][A-Za-z0-9._-]{0,39}$")]


def _reported_place(value: str) -> str:
    """A site id, an OCHA p-code (governorate, district or sub-district), or IRQ (national)."""
    if value == NATIONAL or not value.startswith("IQG"):
        return value
    problem = _pcode_problem(value, 1, 3)
    if problem:
        raise ValueError(problem)
    return value


class FigureReported(FactInput):
    """A figure someone else published (DTM, MoMD, a CCCM camp list): an aggregate, not a household.

    ``place`` is a site id (then it must be a registered site), a p-code or ``IRQ``; ``status``
    ``idp`` means in and out of camp together (the default when a file does not say; at a camp
    it is ``idp_in_camp``).
    ``location`` names the source's own location when the figure is for a part of ``place``
    only (a DTM location that is not a camp of the ledger, inside a district); without it the
    figure is for the whole place.
    ``effective_on`` defaults to ``as_of``. A figure is identified by (source, dataset, place,
    status): the same values again are already recorded, other values are a conflict.
    """

    type: Literal["figure_reported"]
    source: SourceName
    dataset: Text
    as_of: PastDate
    place: Annotated[Identifier, AfterValidator(_reported_place)]
    status: ReportedStatus = "idp"
    location: Text | None = None
    households: Annotated[int, Field(ge=0, le=100_000_000)] | None = None
    individuals: Annotated[int, Field(ge=0, le=100_000_000)]

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, data: Any) -> Any:
        """effective_on defaults to as_of; IDPs counted at a camp are IDPs in camp."""
        if not isinstance(data, dict):
            return data
        if data.get("effective_on") is None and data.get("as_of"):
            data = {**data, "effective_on": data["as_of"]}
        place = str(data.get("place") or "")
        if data.get("status", "idp") == "idp" and place and place != NATIONAL \
                and not place.startswith("IQG") and not data.get("location"):
            data = {**data, "status": "idp_in_camp"}
        return data

    @model_validator(mode="after")
    def _households_fit(self) -> Self:
        if self.households is not None and self.households > self.individuals:
            raise FieldProblem("households", f"households ({self.households}) cannot exceed "
                                             f"individuals ({self.individuals})")
        return self

    @property
    def key(self) -> str:
        """The figure's identity: its aggregate's key and its facts' subject."""
        return reported_key(self.source, self.dataset, self.place, self.status, self.location)

    @property
    def site_id(self) -> str | None:
        """The registered site the figure is for, when ``place`` names one (not a p-code)."""
        return None if self.place == NATIONAL or self.place.startswith("IQG") else self.place


def reported_key(source: str, dataset: str, place: str, status: str, location: str | None = None) -> str:
    """The identity of a reported figure (its aggregate's key and its facts' subject)."""
    return f"{source}|{dataset}|{place}|{status}" + (f"|{location}" if location else "")


class FigureRetracted(FactInput):
    """A published figure withdrawn (a typo in its as-of, the wrong rulebook...): it stays in
    the ledger and is re-derived as ever, but ``verify`` no longer fails on it."""

    type: Literal["figure_retracted"]
    figure_id: Identifier
    reason: Text



class RulebookDefined(FactInput):
    """One version of a rulebook: its full TOML text and that text's SHA-256 (docs/rulebooks.md)."""

    type: Literal["rulebook_defined"]
    rulebook: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_-]{0,39}$")]
    version: Annotated[int, Field(ge=1)]
    definition: Annotated[str, StringConstraints(min_length=1, max_length=100_000)]
    digest: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]

    @model_validator(mode="after")
    def _digest_is_of_the_definition(self) -> Self:
        if hashlib.sha256(self.definition.encode("utf-8")).hexdigest() != self.digest:
            raise FieldProblem("digest", "is not the SHA-256 of the definition")
        return self



SHOWN_LENGTH = 60


def shown(value: Any) -> str:
    """A value for a message: its repr (so control characters are visible), cut to a readable
    length. The rejects file keeps the record as it was; messages only echo the start of it."""
    text = repr(value)
    if len(text) <= SHOWN_LENGTH:
        return text
    return f"{text[:SHOWN_LENGTH]}... ({len(str(value)):,} characters)"
