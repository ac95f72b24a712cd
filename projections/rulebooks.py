"""Rulebooks are data: a TOML document of parameters, never a code path.

The two built-in rulebooks (``official`` and ``operational``, SPEC §3) ship as package data in
``projections/rulebooks/``; a user rulebook is the same TOML (see ``examples/iris.toml``).
``return_ends_displacement`` is an extension to SPEC §3 (default true): a rulebook following
IRIS sets it false, so a ``return`` departure leaves the household ``idp_out_of_camp`` at the
place of return.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Literal, NoReturn, cast

from ledger.errors import RulebookError

Registry = Literal["official", "operational"]
DeparturesMove = Literal["with_letter", "all", "none"]
SiteAttribution = Literal["authority", "location"]

NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
BUILTIN_NAMES = ("official", "operational")

_CHOICES: dict[str, tuple[str, ...]] = {
    "registry": ("official", "operational"),
    "departures_move": ("with_letter", "all", "none"),
    "site_attribution": ("authority", "location"),
}
_FLAGS = ("reentry_counts", "returnee_registration_counts", "return_ends_displacement")
_REQUIRED = (
    "name",
    "registry",
    "caseload_start",
    "departures_move",
    "reentry_counts",
    "returnee_registration_counts",
    "site_attribution",
)
_OPTIONAL = ("description", "return_ends_displacement")


@dataclass(frozen=True, slots=True)
class Rulebook:
    """How one organisation turns the same facts into a population figure."""

    name: str
    registry: Registry
    caseload_start: dt.date
    departures_move: DeparturesMove
    reentry_counts: bool
    returnee_registration_counts: bool
    site_attribution: SiteAttribution
    return_ends_displacement: bool = True
    description: str = ""

    def applies_departure(self, letter_ref: str | None) -> bool:
        """Whether this rulebook moves a household on a departure with (or without) a letter."""
        if self.departures_move == "all":
            return True
        return self.departures_move == "with_letter" and bool(letter_ref)

    def to_toml(self) -> str:
        """The rulebook as a TOML document that ``parse_rulebook`` reads back unchanged."""
        lines = [
            f"name = {_toml_string(self.name)}",
            f"description = {_toml_string(self.description)}",
            f"registry = {_toml_string(self.registry)}",
            f"caseload_start = {self.caseload_start.isoformat()}",
            f"departures_move = {_toml_string(self.departures_move)}",
            f"reentry_counts = {_toml_bool(self.reentry_counts)}",
            f"returnee_registration_counts = {_toml_bool(self.returnee_registration_counts)}",
            f"site_attribution = {_toml_string(self.site_attribution)}",
            f"return_ends_displacement = {_toml_bool(self.return_ends_displacement)}",
        ]
        return "\n".join(lines) + "\n"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready parameters (the date as ISO text)."""
        return {
            "name": self.name,
            "description": self.description,
            "registry": self.registry,
            "caseload_start": self.caseload_start.isoformat(),
            "departures_move": self.departures_move,
            "reentry_counts": self.reentry_counts,
            "returnee_registration_counts": self.returnee_registration_counts,
            "site_attribution": self.site_attribution,
            "return_ends_displacement": self.return_ends_displacement,
        }


def parse_rulebook(text: str, source: str) -> Rulebook:
    """Read a rulebook from TOML text; ``source`` names the file or table row in errors."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise RulebookError(f"{source}: not valid TOML ({error})") from None
    return rulebook_from_mapping(document, source)


def rulebook_from_mapping(document: Mapping[str, Any], source: str) -> Rulebook:
    """Build a rulebook from already-decoded parameters (TOML or a stored table row)."""
    known = set(_REQUIRED) | set(_OPTIONAL)
    unknown = sorted(set(document) - known)
    if unknown:
        raise RulebookError(
            f"{source}: unknown key {unknown[0]!r}; expected only {', '.join(sorted(known))}",
            field=unknown[0],
        )
    missing = [key for key in _REQUIRED if key not in document]
    if missing:
        raise RulebookError(f"{source}: missing key {missing[0]!r}", field=missing[0])
    for key, choices in _CHOICES.items():
        _check_choice(document[key], key, choices, source)
    for key in _FLAGS:
        if key in document and not isinstance(document[key], bool):
            _bad(source, key, document[key], "true or false")
    return Rulebook(
        name=_check_name(document["name"], source),
        description=_check_description(document.get("description", ""), source),
        registry=cast(Registry, document["registry"]),
        caseload_start=_check_date(document["caseload_start"], source),
        departures_move=cast(DeparturesMove, document["departures_move"]),
        reentry_counts=document["reentry_counts"],
        returnee_registration_counts=document["returnee_registration_counts"],
        site_attribution=cast(SiteAttribution, document["site_attribution"]),
        return_ends_displacement=document.get("return_ends_displacement", True),
    )


def builtin_rulebooks() -> dict[str, Rulebook]:
    """The rulebooks shipped with the product, by name."""
    return dict(_load_builtins())


@cache
def _load_builtins() -> dict[str, Rulebook]:
    folder = resources.files("projections").joinpath("rulebooks")
    books = {}
    for name in BUILTIN_NAMES:
        text = folder.joinpath(f"{name}.toml").read_text("utf-8")
        books[name] = parse_rulebook(text, f"built-in rulebook {name}.toml")
    return books


def _bad(source: str, key: str, value: object, expected: str) -> NoReturn:
    raise RulebookError(f"{source}: {key} is {value!r}; expected {expected}", field=key)


def _check_choice(value: object, key: str, choices: tuple[str, ...], source: str) -> None:
    if value not in choices:
        _bad(source, key, value, "one of " + ", ".join(repr(c) for c in choices))


def _check_name(value: object, source: str) -> str:
    if not isinstance(value, str) or not NAME_PATTERN.match(value):
        _bad(
            source,
            "name",
            value,
            "a lower-case name of 1–40 characters: a letter, then letters, digits, '_' or '-'",
        )
    return value


def _check_description(value: object, source: str) -> str:
    if not isinstance(value, str):
        _bad(source, "description", value, "text")
    return value


def _check_date(value: object, source: str) -> dt.date:
    if isinstance(value, dt.datetime):
        _bad(source, "caseload_start", value, "a date such as 2014-01-01 (no time)")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    _bad(source, "caseload_start", value, "a date such as 2014-01-01")


def _toml_string(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _toml_bool(value: bool) -> str:
    return "true" if value else "false"
