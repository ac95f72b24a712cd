"""A rulebook's versions as facts of the ledger (docs/rulebooks.md): each ``rulebook_defined``
fact carries one version's full TOML text and its digest, and versions only go up by one.

The built-in rulebooks' version 1 ships with the package and is not a fact; their first recorded
version, like that of a rulebook added before rulebooks had versions, is therefore 2. Which
version comes next is the read side's answer (it knows both); this aggregate keeps the rule that
a name's recorded versions follow each other without gaps or repeats.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from eventsourcing.domain import event

from ledger.domain.base import DomainRuleError, FactAggregate, aggregate_id


class RulebookDefinition(FactAggregate):
    @staticmethod
    def create_id(rulebook: str, **_: Any) -> Any:
        return aggregate_id("rulebook", rulebook)

    @event("Defined")
    def __init__(self, *, rulebook: str, version: int, definition: str, digest: str,
                 source_id: str, effective_on: dt.date, recorded_by: str | None,
                 source_document: str | None) -> None:
        self._init_entries()
        self.rulebook = rulebook
        self.version = version
        self._add(source_id, "rulebook_defined", effective_on, version=version, digest=digest)

    def define(self, *, version: int, definition: str, digest: str, source_id: str,
               effective_on: dt.date, recorded_by: str | None, source_document: str | None,
               **_: Any) -> None:
        if version != self.version + 1:
            raise DomainRuleError(
                f"rulebook '{self.rulebook}' is at version {self.version}; the next version is "
                f"{self.version + 1}, not {version}", field="version",
            )
        self._defined_again(rulebook=self.rulebook, version=version, definition=definition, digest=digest,
                            source_id=source_id, effective_on=effective_on,
                            recorded_by=recorded_by, source_document=source_document)

    @event("DefinedAgain")
    def _defined_again(self, *, rulebook: str, version: int, definition: str, digest: str, source_id: str,
                       effective_on: dt.date, recorded_by: str | None,
                       source_document: str | None) -> None:
        self.version = version
        self._add(source_id, "rulebook_defined", effective_on, version=version, digest=digest)

    def void(self, **_: Any) -> None:
        """A version once defined stays defined: figures may have been counted with it."""
        raise DomainRuleError(
            f"rulebook '{self.rulebook}' versions cannot be voided; add a corrected version with "
            "`ledger rulebooks add FILE --new-version`", field="voided_source_id",
        )
