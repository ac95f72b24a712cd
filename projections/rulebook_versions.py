"""Rulebooks as they stood: every version of every rulebook, and which one was known at K.

A rulebook's versions come from three places (docs/rulebooks.md):

- the built-in ``official`` and ``operational`` rulebooks: version 1 is the TOML shipped with
  the package, known from the beginning (no fact records it, so a store keeps its ledger as it
  was; ``rulebooks add`` refuses built-in names);
- a user rulebook stored in ``view_rulebooks`` by a release before rulebooks had versions, and
  never defined since by a fact: version 1, known from when it was added;
- ``rulebook_defined`` facts: one version each, with its full TOML text and digest, known from
  the fact's recorded time.

The materialised views hold the *current* (latest) version of each rulebook. A question about
another version (a known-at before the current version was recorded, or a figure published
under an older version) is answered by the pure fold (:mod:`projections.folded`): such
questions are rare, and a version's views would otherwise cost as much as the current ones.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

from ledger.errors import RulebookError
from ledger.store.chain import parse_time
from ledger.store.db import Database
from ledger.store.reading import reference_facts
from projections.rulebooks import BUILTIN_NAMES, Rulebook, builtin_rulebooks, parse_rulebook
from projections.stored_rulebooks import stored_rulebooks


@dataclass(frozen=True, slots=True)
class RulebookVersion:
    name: str
    version: int
    book: Rulebook
    definition: str  # the TOML text
    digest: str  # SHA-256 of the TOML text
    known_from: dt.datetime | None  # None: from the beginning (built in)
    origin: str  # "built-in", "ledger" (a rulebook_defined fact) or "stored" (before versions)
    source_id: str | None = None

    def as_dict(self) -> dict[str, object]:
        return {"name": self.name, "version": self.version, "digest": self.digest,
                "known_from": self.known_from, "origin": self.origin,
                "source_id": self.source_id}


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class RulebookVersions:
    by_name: Mapping[str, tuple[RulebookVersion, ...]]  # each in version order

    def current(self) -> dict[str, RulebookVersion]:
        return {name: versions[-1] for name, versions in self.by_name.items()}

    def known_at(self, known_at: dt.datetime | None) -> dict[str, RulebookVersion]:
        """The latest version of each rulebook recorded by ``known_at`` (None: now)."""
        found = {}
        for name, versions in self.by_name.items():
            known = [v for v in versions
                     if known_at is None or v.known_from is None or v.known_from <= known_at]
            if known:
                found[name] = known[-1]
        return found

    def at(self, name: str, known_at: dt.datetime | None) -> RulebookVersion:
        """The version of ``name`` known at K. A rulebook not yet defined at K is counted with
        its first version (how it would have counted what was known then); an unknown name is
        a clear error."""
        known = self.known_at(known_at)
        if name in known:
            return known[name]
        if name in self.by_name:
            return self.by_name[name][0]
        raise RulebookError(f"unknown rulebook {name!r}; known: {', '.join(sorted(self.by_name))} "
                            "(add one with `ledger rulebooks add FILE`)")

    def numbers_at(self, known_at: dt.datetime | None) -> dict[str, int]:
        """The version number :meth:`at` uses for each rulebook."""
        return {name: self.at(name, known_at).version for name in self.by_name}

    def is_current(self, version: RulebookVersion) -> bool:
        """Whether the views hold this version (they hold each rulebook's latest)."""
        return self.by_name[version.name][-1].version == version.version

    def find(self, name: str, version: int) -> RulebookVersion | None:
        return next((v for v in self.by_name.get(name, ()) if v.version == version), None)

    def get(self, name: str, version: int | None) -> RulebookVersion:
        if name not in self.by_name:
            raise RulebookError(f"unknown rulebook {name!r}; known: "
                                f"{', '.join(sorted(self.by_name))}")
        if version is None:
            return self.by_name[name][-1]
        found = self.find(name, version)
        if found is None:
            raise RulebookError(f"rulebook {name!r} has no version {version}; its versions are "
                                f"{', '.join(str(v.version) for v in self.by_name[name])}")
        return found


@cache
def _builtin_versions() -> tuple[RulebookVersion, ...]:
    builtins = builtin_rulebooks()
    folder = resources.files("projections").joinpath("rulebooks")
    found = []
    for name in BUILTIN_NAMES:
        text = folder.joinpath(f"{name}.toml").read_text("utf-8")
        found.append(RulebookVersion(name, 1, builtins[name], text, text_digest(text), None,
                                     "built-in"))
    return tuple(found)


def load_versions(db: Database) -> RulebookVersions:
    """Every version of every rulebook this store knows (a handful of rows: read at once)."""
    versions: dict[str, list[RulebookVersion]] = {v.name: [v] for v in _builtin_versions()}
    with db.cursor() as cur:
        defined = reference_facts(cur, db, ("rulebook_defined",))
        stored = stored_rulebooks(cur)
    for fact in defined:
        d = fact.data
        book = parse_rulebook(d["definition"], f"rulebook {d['rulebook']} version {d['version']}")
        versions.setdefault(d["rulebook"], []).append(RulebookVersion(
            d["rulebook"], int(d["version"]), book, d["definition"], d["digest"],
            fact.recorded_at, "ledger", fact.source_id))
    for name, definition, added_at in stored:
        if any(v.version == 1 for v in versions.get(name, ())):
            continue  # (not expected: a stored rulebook's first recorded version is 2)
        book = parse_rulebook(definition, f"stored rulebook {name}")
        versions.setdefault(name, []).append(RulebookVersion(
            name, 1, book, definition, text_digest(definition), parse_time(added_at), "stored"))
    return RulebookVersions({name: tuple(sorted(v, key=lambda x: x.version))
                             for name, v in sorted(versions.items())})
