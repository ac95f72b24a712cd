"""The catalogue of facts: every fact type declared once, and everything else derived from it.

An entry (:class:`FactType`) names a fact type's input model (``ledger.facts``), the aggregate it
is recorded on (``ledger.domain``), the fields naming its subject and its household, the other
aggregates it refers to, and the domain method that records it. The field vocabulary
(:data:`FIELDS`) gives each field name, whatever the fact type, its help text and its HXL
hashtags. From these come:

* parsing (:func:`parse_fact`): one discriminated union of every model;
* ``ledger record TYPE`` (one sub-command per recordable type, one option per field, with help);
* the file readers' column mapping and the HXL reader (:func:`hashtag_fields`), and the hashtag
  exports write (:func:`tag_of_field`);
* the service's dispatch: the subject and references it loads, the method it calls
  (``ledger.application``);
* the fact index's subject and household of a fact, and the read side's sets of fact types
  (:meth:`Catalogue.about`).

Adding a fact type is an entry here, a method on its aggregate and a clause in the fold
(``docs/adding-a-fact-type.md``); ``tests/unit/test_catalogue.py`` checks that every entry can
be recorded, imported and folded.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, get_args

from pydantic import Field, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails

from ledger import fact_kinds
from ledger import facts as f
from ledger.domain.base import FactAggregate
from ledger.domain.departure_round import DepartureRound
from ledger.domain.household import Household
from ledger.domain.published_figure import PublishedFigure
from ledger.domain.reported_figure import ReportedFigure
from ledger.domain.rulebook import RulebookDefinition
from ledger.domain.site import Site
from ledger.errors import InvalidFactError

# ---- the field vocabulary ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldSpec:
    """What one field name means, whatever fact type carries it.

    ``tags``: the HXL hashtags a file may give the field by, the first being the one exports
    write. Where one hashtag stands for several fields (``#adm2+code`` is a registration's
    ``location_pcode`` and a returnee registration's ``pcode``), the fact type decides, in the
    order the fields are declared here.
    """

    help: str
    tags: tuple[str, ...] = ()
    is_list: bool = False


FIELDS: Mapping[str, FieldSpec] = {
    "type": FieldSpec("The fact type.", ("#meta+type",)),
    "source_id": FieldSpec("Unique id of the source record (form uuid, letter number, row key).",
                           ("#meta+id",)),
    "voided_source_id": FieldSpec("The source_id of the fact that was wrong.", ("#meta+id+voided",)),
    "effective_on": FieldSpec("Date the real-world thing happened, YYYY-MM-DD (not in the future).",
                              ("#date+occurred",)),
    "recorded_by": FieldSpec("Organisation or user that supplied the fact.", ("#org+reporting",)),
    "source_document": FieldSpec("Reference to the paper trail (letter number, form, list).",
                                 ("#meta+source",)),
    "site_id": FieldSpec("The camp or informal site (its site_id).", ("#loc+camp+code",)),
    "from_site_id": FieldSpec("The site the household leaves.", ("#loc+camp+code+from",)),
    "from_site_ids": FieldSpec("Sites the round departs from, comma-separated.",
                               ("#loc+camp+code+from",), is_list=True),
    "to_site_id": FieldSpec("The site a camp-to-camp transfer goes to (pathway relocation).",
                            ("#loc+camp+code+dest",)),
    "name": FieldSpec("The site's name.", ("#loc+camp+name",)),
    "kind": FieldSpec("camp or informal_site.", ("#loc+type",)),
    "location_pcode": FieldSpec("OCHA p-code (district IQGnnQmm or sub-district IQGnnQmmNkk).",
                                ("#adm2+code", "#adm3+code")),
    "pcode": FieldSpec("OCHA p-code of the place (district or sub-district).",
                       ("#adm2+code", "#adm3+code")),
    "to_pcode": FieldSpec("OCHA p-code the household goes to (district or sub-district).",
                          ("#adm2+code+dest", "#adm3+code+dest")),
    "destination_pcodes": FieldSpec("Destination p-codes, comma-separated.",
                                    ("#adm2+code+dest", "#adm3+code+dest"), is_list=True),
    "origin_pcode": FieldSpec("OCHA p-code the household was displaced from.",
                              ("#adm2+code+origin", "#adm3+code+origin")),
    "authority_adm1": FieldSpec("Governorate whose authority runs the site (default: the location's).",
                                ("#adm1+code+authority",)),
    "household_id": FieldSpec("The household (the same id in both registries).",
                              ("#meta+id+household", "#beneficiary+hh+id", "#beneficiary+id")),
    "members": FieldSpec("Number of members, 1-60.", ("#affected+ind",)),
    "female": FieldSpec("Female members (with male, adds up to members).", ("#affected+ind+f",)),
    "male": FieldSpec("Male members (with female, adds up to members).", ("#affected+ind+m",)),
    "children": FieldSpec("Members under 18.", ("#affected+ind+children",)),
    "registry": FieldSpec("official (MoMD, camp authorities) or operational (IOM DTM, UNHCR CCCM).",
                          ("#meta+registry",)),
    "registration_ref": FieldSpec("The registry's own reference of the registration.",
                                  ("#meta+registration+ref",)),
    "displaced_on": FieldSpec("Date of first displacement, YYYY-MM-DD.", ("#date+displaced",)),
    "pathway": FieldSpec("return, relocation or local_integration.", ("#meta+pathway",)),
    "round_id": FieldSpec("The FVM departure round.", ("#activity+round+code",)),
    "departure_letter_ref": FieldSpec("Official departure letter number; omit when none was issued.",
                                      ("#meta+letter+ref",)),
    "amount_iqd": FieldSpec("Amount paid, in Iraqi dinars.", ("#value+iqd",)),
    "reason": FieldSpec("Why (a short reason; no names, phone or ID numbers).", ("#meta+reason",)),
    "planned_on": FieldSpec("Date the round is planned to leave, YYYY-MM-DD.", ("#date+planned",)),
    # figure_reported: a figure someone else published
    "source": FieldSpec("Who published the figure: DTM, MoMD, CCCM, ... (letters, digits, . _ -)."),
    "dataset": FieldSpec("The publication, e.g. 'DTM Master List Round 13'."),
    "as_of": FieldSpec("The date the figure describes, YYYY-MM-DD (effective_on defaults to it)."),
    "place": FieldSpec("A registered site id, an OCHA p-code (IQGnn, IQGnnQmm, IQGnnQmmNkk) or IRQ."),
    "status": FieldSpec("idp (in and out of camp, the default), idp_in_camp, idp_out_of_camp, "
                        "returnee or locally_integrated."),
    "location": FieldSpec("The source's own location, when the figure is for only a part of --place."),
    "households": FieldSpec("Households (families) counted, if the source gives them."),
    "individuals": FieldSpec("Individuals counted."),
    # personal fields: validated, then kept only in the encrypted vault (ledger.vault)
    "head_name": FieldSpec("Head of household's name (personal: kept encrypted in the vault, never "
                           "logged)."),
    "head_sex": FieldSpec("Head of household's sex: female, male or other (personal)."),
    "head_birth_year": FieldSpec("Head of household's year of birth (personal)."),
    "phone": FieldSpec("Contact phone number (personal)."),
    "id_document_type": FieldSpec("national_id, unified_nationality_card, passport or other (personal)."),
    "id_document_number": FieldSpec("ID document number (personal; the fact keeps only a keyed hash)."),
    "members_names": FieldSpec("Members' names, comma-separated (personal).", is_list=True),
    "id_document_hash": FieldSpec("Keyed hash of the ID document (computed by the ledger)."),
    # facts only the ledger records
    "figure_id": FieldSpec("The published figure."),
    "rulebook": FieldSpec("The rulebook's name."),
    "level": FieldSpec("cell, adm2, adm1 or national."),
    "known_at": FieldSpec("What the ledger knew: the recorded time of its head."),
    "ledger_digest": FieldSpec("The chain digest of the ledger's head."),
    "head_position": FieldSpec("The position of the ledger's head."),
    "rulebook_digest": FieldSpec("The rulebook's parameters, fingerprinted."),
    "rulebook_version": FieldSpec("The version of the rulebook counted with."),
    "values": FieldSpec("The published cells."),
    "public_min_households": FieldSpec("The smallest number of households a published cell counts."),
    "suppressed": FieldSpec("The cells suppressed in what was published."),
    "version": FieldSpec("The rulebook's version."),
    "definition": FieldSpec("The rulebook's full TOML text."),
    "digest": FieldSpec("The SHA-256 of the definition."),
}


# ---- the fact types ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Ref:
    """A field naming another aggregate that must exist (and be live) for the fact to be recorded.

    ``param``: the keyword the domain method takes it by; None when it is only checked.
    ``attribute``: the model attribute that gives the key, when it is not the field itself
    (a reported figure's ``place`` names a site only when it is not a p-code: ``site_id``).
    """

    field: str
    aggregate: type[FactAggregate]
    param: str | None = None
    attribute: str | None = None

    def keys(self, fact: f.FactInput) -> list[str]:
        """The keys the fact names (none when the field is empty; several for a list)."""
        value = getattr(fact, self.attribute or self.field)
        if value is None:
            return []
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]


@dataclass(frozen=True, slots=True)
class FactType:
    """One fact type, declared once.

    ``aggregate`` is the aggregate its event belongs to (None for ``fact_voided``: the voided
    fact's); ``subject`` the model attribute that keys it; ``household`` the attribute naming the
    household the fact is about (None: about no household). ``method`` is the aggregate's method
    that records it, taking the validated fact and ``refs`` by their ``param``; when ``creates``,
    a subject not recorded yet is created by ``aggregate.create(fact, ...)`` instead. ``internal``
    names the command that records it when only the ledger itself does.
    """

    name: str
    model: type[f.FactInput]
    aggregate: type[FactAggregate] | None
    subject: str
    method: str
    household: str | None = None
    refs: tuple[Ref, ...] = ()
    creates: bool = False
    internal: str | None = None
    # Every field name of the model (``type`` too), read once: asking pydantic's ``model_fields``
    # per cell of a file costs more than the cell.
    names: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "names", frozenset(self.model.model_fields))

    @property
    def summary(self) -> str:
        """The first line of the model's docstring, or a plain sentence."""
        lines = (self.model.__doc__ or "").strip().splitlines()
        return lines[0] if lines else f"A {self.name} fact."

    @property
    def fields(self) -> tuple[str, ...]:
        """The fields a user gives (``type`` and the ledger's own computed fields left out)."""
        return tuple(name for name in self.model.model_fields
                     if name != "type" and name not in f.DERIVED_FIELDS)

    def required(self) -> frozenset[str]:
        return frozenset(name for name, info in self.model.model_fields.items()
                         if info.is_required() and name != "type")

    def subject_of(self, fact: f.FactInput) -> str:
        return str(getattr(fact, self.subject))

    def household_of(self, fact: f.FactInput) -> str | None:
        return None if self.household is None else str(getattr(fact, self.household))


def _about_household(name: str, model: type[f.FactInput], method: str, *, refs: tuple[Ref, ...] = (),
                     creates: bool = False, internal: str | None = None) -> FactType:
    """A fact recorded on a household's own stream (its subject and household: household_id)."""
    return FactType(name, model, Household, "household_id", method, household="household_id",
                    refs=refs, creates=creates, internal=internal)


_ROUND_REF = Ref("round_id", DepartureRound, "departure_round")


class Catalogue:
    def __init__(self, *entries: FactType) -> None:
        self._entries = {entry.name: entry for entry in entries}
        for entry in entries:  # an entry's name is its model's `type` literal
            assert get_args(entry.model.model_fields["type"].annotation) == (entry.name,), entry.name
        self.names: tuple[str, ...] = tuple(self._entries)
        self.recordable: tuple[str, ...] = tuple(e.name for e in entries if e.internal is None)
        self.list_fields = frozenset(name for name, spec in FIELDS.items() if spec.is_list)
        missing = {n for e in entries for n in e.model.model_fields} - set(FIELDS)
        assert not missing, f"fields missing from the vocabulary: {sorted(missing)}"

    def __getitem__(self, name: str) -> FactType:
        return self._entries[name]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[FactType]:
        return iter(self._entries.values())

    def get(self, name: object) -> FactType | None:
        return self._entries.get(name) if isinstance(name, str) else None

    def about(self, *aggregates: type[FactAggregate]) -> tuple[str, ...]:
        """The fact types recorded on these aggregates, in catalogue order."""
        return tuple(e.name for e in self if e.aggregate in aggregates)

    def about_households(self) -> tuple[str, ...]:
        """The fact types about a household (its own, and a round's manifest entries)."""
        return tuple(e.name for e in self if e.household is not None)

    def internal_commands(self) -> dict[str, str]:
        return {e.name: e.internal for e in self if e.internal is not None}


CATALOGUE = Catalogue(
    FactType("site_registered", f.SiteRegistered, Site, "site_id", "register_again", creates=True),
    FactType("site_closed", f.SiteClosed, Site, "site_id", "close"),
    _about_household("household_registered", f.HouseholdRegistered, "register", creates=True,
                     refs=(Ref("site_id", Site),)),
    _about_household("composition_changed", f.CompositionChanged, "change_composition"),
    _about_household("household_departed", f.HouseholdDeparted, "depart",
                     refs=(Ref("from_site_id", Site), Ref("to_site_id", Site), _ROUND_REF)),
    _about_household("household_reentered", f.HouseholdReentered, "reenter",
                     refs=(Ref("site_id", Site),)),
    _about_household("returnee_registered", f.ReturneeRegistered, "register_as_returnee"),
    _about_household("grant_disbursed", f.GrantDisbursed, "disburse_grant"),
    _about_household("registration_closed", f.RegistrationClosed, "close_registration"),
    FactType("round_planned", f.RoundPlanned, DepartureRound, "round_id", "plan_again", creates=True,
             refs=(Ref("from_site_ids", Site),)),
    FactType("household_manifested", f.HouseholdManifested, DepartureRound, "round_id", "manifest",
             household="household_id", refs=(Ref("household_id", Household, "household"),)),
    FactType("household_withdrawn", f.HouseholdWithdrawn, DepartureRound, "round_id", "withdraw",
             household="household_id"),
    FactType("round_closed", f.RoundClosed, DepartureRound, "round_id", "close"),
    FactType("fact_voided", f.FactVoided, None, "voided_source_id", "void"),
    _about_household("personal_data_erased", f.PersonalDataErased, "erase_personal_data",
                     internal="ledger people erase"),
    FactType("figure_published", f.FigurePublished, PublishedFigure, "figure_id", "publish_again",
             creates=True, internal="ledger publish"),
    FactType("figure_reported", f.FigureReported, ReportedFigure, "key", "report_again",
             creates=True, refs=(Ref("place", Site, attribute="site_id"),)),
    FactType("figure_retracted", f.FigureRetracted, PublishedFigure, "figure_id", "retract",
             internal="ledger figures retract"),
    FactType("rulebook_defined", f.RulebookDefined, RulebookDefinition, "rulebook", "define",
             creates=True, internal="ledger rulebooks add"),
)

HOUSEHOLD_FACTS = CATALOGUE.about(Household)


def _check_fact_kinds() -> None:
    """The read side takes the site, round and rulebook facts by name from ledger.fact_kinds
    (no catalogue to load): they must be the ones recorded on those aggregates."""
    for name, aggregate in (("SITE_FACTS", Site), ("ROUND_FACTS", DepartureRound),
                            ("RULEBOOK_FACTS", RulebookDefinition)):
        named, recorded = getattr(fact_kinds, name), CATALOGUE.about(aggregate)
        if named != recorded:
            raise TypeError(f"ledger.fact_kinds.{name} is {named}, but the catalogue records "
                            f"{recorded} on that aggregate: make them the same")


_check_fact_kinds()


# ---- parsing -------------------------------------------------------------------------------
def _union() -> Any:
    """Every model, told apart by its ``type`` (a pydantic discriminated union)."""
    models: Any = functools.reduce(operator.or_, (entry.model for entry in CATALOGUE))
    return Annotated[models, Field(discriminator="type")]


_ADAPTER: TypeAdapter[f.FactInput] = TypeAdapter(_union())


def _describe(error: ErrorDetails) -> tuple[str | None, str]:
    loc = [str(part) for part in error["loc"] if not str(part).startswith("function-after")]
    if loc and loc[0] in CATALOGUE:
        loc = loc[1:]
    field = ".".join(loc) or None
    if field is not None and (len(field) > f.SHOWN_LENGTH or f.CONTROL_CHARACTERS.search(field)):
        field = f.shown(field)
    original = error.get("ctx", {}).get("error")
    if isinstance(original, f.FieldProblem):
        field = original.field
    message = str(error["msg"]).removeprefix("Value error, ")
    if error["type"] == "missing":
        message = "is required but missing"
    elif error["type"] == "extra_forbidden":
        entry = CATALOGUE.get(str(error["loc"][0])) if error["loc"] else None
        fields = ", ".join(entry.fields) if entry else ""
        message = "is not a field of this fact type" + (f"; expected one of: {fields}" if fields else "")
    elif error["type"].startswith("date_"):
        message = f"{f.shown(error.get('input'))} is not a date; expected YYYY-MM-DD"
    elif error["type"] == "string_pattern_mismatch":
        message = (
            f"{f.shown(error['input'])} is not a valid identifier; expected 1-128 characters of "
            "letters, digits and . _ : / - starting with a letter or digit"
        )
    elif "input" in error and error["type"] not in {"value_error", "assertion_error"}:
        message = f"{message} (got {f.shown(error['input'])})"
    return field, message


def parse_fact(data: dict[str, Any], *, internal: bool = False) -> f.FactInput:
    """Validate one fact given as a mapping of field names to values.

    Raises ``InvalidFactError`` naming the first field that is wrong and what is expected.
    ``internal`` admits the fact types only the ledger records itself (published figures).
    """
    fact_type = data.get("type")
    expected = ", ".join(CATALOGUE.recordable)
    if fact_type is None:
        raise InvalidFactError("field 'type' is required; expected one of " + expected, field="type")
    if not isinstance(fact_type, str):
        raise InvalidFactError(
            f"field 'type': {f.shown(fact_type)} is not a fact type; expected one of {expected}",
            field="type")
    entry = CATALOGUE.get(fact_type)
    if entry is not None and entry.internal is not None and not internal:
        raise InvalidFactError(f"field 'type': {fact_type} facts are recorded only by `{entry.internal}`",
                               field="type")
    derived = f.DERIVED_FIELDS & data.keys()
    if derived and not internal:
        name = min(derived)
        raise InvalidFactError(f"field '{name}': is computed by the ledger from "
                               "id_document_number; give the number, never a hash", field=name)
    if entry is None:
        raise InvalidFactError(
            f"field 'type': unknown fact type {f.shown(fact_type)}; expected one of {expected}",
            field="type",
        )
    try:
        # The adapter's core validator itself: the wrapper's checks cost a quarter of the call.
        fact: f.FactInput = _ADAPTER.validator.validate_python(data)
    except ValidationError as exc:
        problems = [_describe(e) for e in exc.errors(include_url=False)]
        text = "; ".join(f"field '{name}': {m}" if name else m for name, m in problems)
        raise InvalidFactError(text, field=problems[0][0]) from None
    return fact


# ---- HXL hashtags --------------------------------------------------------------------------


def hashtag_entries() -> tuple[tuple[str, tuple[str, ...]], ...]:
    """Every hashtag of the vocabulary with the fields it may stand for, in declaration order."""
    by_tag: dict[str, list[str]] = {}
    for name, spec in FIELDS.items():
        for tag in spec.tags:
            by_tag.setdefault(tag, []).append(name)
    return tuple((tag, tuple(names)) for tag, names in by_tag.items())


def tag_of_field(name: str) -> str:
    """The hashtag an export writes for a fact field ('' when it has none)."""
    spec = FIELDS.get(name)
    return spec.tags[0] if spec is not None and spec.tags else ""
