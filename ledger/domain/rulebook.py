"""A rulebook's versions as facts of the ledger (docs/rulebooks.md): each ``rulebook_defined``
fact carries one version's full TOML text and its digest, and versions only go up by one.

The built-in rulebooks' version 1 ships with the package and is not a fact; their first recorded
version, like that of a rulebook added before rulebooks had versions, is therefore 2. Which
version comes next is the read side's answer (it knows both); this aggregate keeps the rule that
a name's recorded versions follow each other without gaps or repeats.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ledger.domain.base import DomainRuleError, FactAggregate, FactCreated, FactEvent, payload

if TYPE_CHECKING:
    from ledger.facts import FactVoided, RulebookDefined

_FORMER = "ledger.domain.rulebook:RulebookDefinition."


class RulebookDefinition(FactAggregate):
    TOPIC = "ledger:RulebookDefinition"
    FORMER_TOPICS = ("ledger.domain.rulebook:RulebookDefinition",)
    KIND = "rulebook"
    if TYPE_CHECKING:  # set by the events' apply (a class annotation would be a dataclass field)
        rulebook: str
        version_defined: int

    @classmethod
    def create(cls, fact: RulebookDefined) -> RulebookDefinition:
        return cls._start(Defined, fact.rulebook, **payload(fact))

    def define(self, fact: RulebookDefined) -> None:
        if fact.version != self.version_defined + 1:
            raise DomainRuleError(
                f"rulebook '{self.rulebook}' is at version {self.version_defined}; the next version "
                f"is {self.version_defined + 1}, not {fact.version}", field="version",
            )
        self.trigger_event(DefinedAgain, **payload(fact))

    def void(self, fact: FactVoided) -> None:
        """A version once defined stays defined: figures may have been counted with it."""
        raise DomainRuleError(
            f"rulebook '{self.rulebook}' versions cannot be voided; add a corrected version with "
            "`ledger rulebooks add FILE --new-version`", field="voided_source_id",
        )


class _Definition(FactEvent):
    rulebook: str
    version: int
    definition: str
    digest: str

    def apply(self, book: RulebookDefinition) -> None:
        book.rulebook = self.rulebook
        book.version_defined = self.version
        book.add_entry(self, "rulebook_defined", version=self.version, digest=self.digest)


class Defined(_Definition, FactCreated):
    TOPIC = "ledger:RulebookDefinition.Defined"
    FORMER_TOPICS = (_FORMER + "Defined",)

    def apply(self, book: RulebookDefinition) -> None:
        super().apply(book)
        # The stream's version starts at the rulebook's version, as the release before numbered
        # it: a built-in rulebook's first recorded version is 2, so its stream goes 1, 3, 4...
        # Kept so that those streams replay (each event must be the stream's version + 1).
        book.version = self.version


class DefinedAgain(_Definition):
    TOPIC = "ledger:RulebookDefinition.DefinedAgain"
    FORMER_TOPICS = (_FORMER + "DefinedAgain",)
